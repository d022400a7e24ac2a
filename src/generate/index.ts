/** Choosing a generation backend from command-line settings. */
export type { DecodingSettings, GenerationBackend, GenerationRequest, GenerationResult, FinishReason } from "./types.ts";
export { createOpenAIBackend, apiKeyFromEnvironment } from "./openai.ts";
export { createEngineBackend } from "./engine.ts";
