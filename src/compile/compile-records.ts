/**
 * The compiler core: canonical records → token ids + trained flags, streamed to a DocumentWriter.
 *
 * Records are processed in batches: the chat template renders a batch in JS while the previous
 * batch is being encoded by the Rust tokenizer (`encodeBatch` runs off the JS thread), so templating
 * and flag-marking overlap with tokenisation. Flags come from rendered character spans (see
 * chat/message-spans.ts) mapped to tokens through the tokens' start offsets (tokenize/span-tokens.ts).
 * Only the batches in flight are in memory; every finished document goes to the writer. Between
 * records the loop lets the event loop run, so Ctrl-C and SIGTERM are handled while it is busy.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { ChatTemplateError, loadChatTemplate, type ChatTemplate } from "../chat/chat-template.ts";
import { BUILTIN_TEMPLATES } from "../chat/builtin-templates.ts";
import { renderConversation, type CharSpan } from "../chat/message-spans.ts";
import type { Conversation, KieloRecord, PreferencePair } from "../data/records.ts";
import type { LoadedTokenizer } from "../tokenize/tokenizer-folder.ts";
import { encodeTexts, type TokenizedText } from "../tokenize/encode-texts.ts";
import { markSpanTokens } from "../tokenize/span-tokens.ts";
import { InputError, KieloError } from "../util/errors.ts";
import type { DocumentWriter } from "./document-writer.ts";
import type { Policy } from "./manifest.ts";
import { bestFitDecreasing, type Packing } from "./pack.ts";
import type { RecordLine } from "../data/records-file.ts";
import { fitDocument, type Truncation } from "./truncate.ts";

export interface CompileOptions {
  /** Template spec (see loadChatTemplate). Undefined: a record's `meta.template`, else the model's own. */
  template?: string | undefined;
  policy: Policy;
  maxLength: number | null;
  truncation: Truncation;
  /** Pack documents into sequences of this many tokens (SFT only). */
  pack: number | null;
  /** Records per tokenizer batch. */
  batchSize?: number;
  /** Called after each batch with the totals so far. */
  onProgress?: (rows: number, tokens: number) => void;
  /** Name each row's file in rows.jsonl (records from several files). */
  fileInRows?: boolean;
}

/** Characters of rendered text per tokenizer batch at most (besides the record count). */
const MAX_BATCH_CHARS = 8 << 20;

export const DROP_REASONS = {
  noTrainedTokens: "no-trained-tokens",
  tooLong: "too-long",
  promptNotPrefix: "prompt-not-prefix",
} as const;

export interface TemplateUse {
  template: ChatTemplate;
  rows: number;
}

export interface CompiledRecords {
  kind: "sft" | "preference";
  store: DocumentWriter;
  packing: Packing | null;
  rowsIn: number;
  rowsOut: number;
  dropped: Record<string, number>;
  truncated: number;
  /** Templates used, by name, with the number of rows each rendered. */
  templates: Map<string, TemplateUse>;
}

interface PreparedConversation {
  kind: "sft";
  line: number;
  /** Set when records come from several files (rows.jsonl then names the file). */
  file?: string;
  id: string;
  text: string;
  /** null: policy `all` (every token but the first). */
  spans: CharSpan[] | null;
}

interface PreparedPair {
  kind: "preference";
  line: number;
  file?: string;
  id: string;
  /** null when the rendered prompt is not a prefix of a rendered reply (the pair is dropped). */
  texts: [prompt: string, chosen: string, rejected: string] | null;
}

type Prepared = PreparedConversation | PreparedPair;

export async function compileRecords(
  records: AsyncIterable<RecordLine>,
  sourcePath: string,
  tokenizer: LoadedTokenizer,
  options: CompileOptions,
  store: DocumentWriter,
): Promise<CompiledRecords> {
  const batchSize = options.batchSize ?? 256;
  const dropped: Record<string, number> = {};
  const drop = (reason: string): void => {
    dropped[reason] = (dropped[reason] ?? 0) + 1;
  };
  const templates = new Map<string, TemplateUse>();
  const templateCache = new Map<string, ChatTemplate>();
  let kind: "sft" | "preference" | null = null;
  /** The file of the record being prepared (records may come from several files). */
  let file = sourcePath;
  let rowsIn = 0;
  let rowsOut = 0;
  let truncated = 0;

  const resolveTemplate = (spec: string | undefined): ChatTemplate => {
    const key = spec ?? "model";
    let t = templateCache.get(key);
    if (t === undefined) {
      t = loadChatTemplate(spec, tokenizer);
      templateCache.set(key, t);
    }
    return t;
  };

  /** Precedence: --template > the record's meta.template (a built-in name) > the model's own. */
  const templateFor = (line: number, record: KieloRecord): ChatTemplate => {
    let spec = options.template;
    if (spec === undefined) {
      const named = record.meta["template"];
      if (named !== undefined) {
        if (typeof named !== "string" || !Object.hasOwn(BUILTIN_TEMPLATES, named)) {
          throw new InputError(
            { file, line, field: "meta.template" },
            `record ${record.id}: meta.template must name a built-in template (${Object.keys(BUILTIN_TEMPLATES).join(", ")}), got ${JSON.stringify(named)}`,
          );
        }
        spec = named;
      }
    }
    let template: ChatTemplate;
    try {
      template = resolveTemplate(spec);
    } catch (error) {
      if (spec === undefined && error instanceof KieloError) {
        throw new InputError({ file, line }, `record ${record.id}: no chat template: ${error.message}`, {
          hint: error.hint ?? "Pass --template.",
        });
      }
      throw error;
    }
    const use = templates.get(template.name);
    if (use === undefined) templates.set(template.name, { template, rows: 1 });
    else use.rows += 1;
    return template;
  };

  const render = <T>(line: number, record: KieloRecord, field: string, fn: () => T): T => {
    try {
      return fn();
    } catch (error) {
      if (error instanceof ChatTemplateError) {
        throw new InputError(
          { file, line, field },
          `record ${record.id}: chat template ${error.templateName} failed to render: ${error.jinjaMessage}`,
        );
      }
      throw error;
    }
  };

  const prepareConversation = (line: number, record: Conversation): PreparedConversation => {
    const template = templateFor(line, record);
    const selection = options.policy === "all" ? "none" : options.policy;
    const rendered = render(line, record, "messages", () => renderConversation(template, record.messages, selection));
    return { kind: "sft", line, ...(options.fileInRows ? { file } : {}), id: record.id, text: rendered.text, spans: options.policy === "all" ? null : rendered.spans };
  };

  const preparePair = (line: number, record: PreferencePair): PreparedPair => {
    const template = templateFor(line, record);
    const prompt = render(line, record, "prompt", () => template.render(record.prompt, { addGenerationPrompt: true }));
    const chosen = render(line, record, "chosen", () => template.render([...record.prompt, { role: "assistant", content: record.chosen }]));
    const rejected = render(line, record, "rejected", () =>
      template.render([...record.prompt, { role: "assistant", content: record.rejected }]),
    );
    const prefix = chosen.startsWith(prompt) && rejected.startsWith(prompt);
    return { kind: "preference", line, ...(options.fileInRows ? { file } : {}), id: record.id, texts: prefix ? [prompt, chosen, rejected] : null };
  };

  const fileOf = (item: Prepared): { file?: string } => (item.file === undefined ? {} : { file: item.file });

  const finishConversation = (item: PreparedConversation, encoded: TokenizedText): void => {
    const { ids } = encoded;
    const trained = new Uint8Array(ids.length);
    if (item.spans === null) trained.fill(1);
    else markSpanTokens(encoded.starts!, item.text, item.spans, trained);
    const fitted = fitDocument(ids, trained, options.maxLength, options.truncation);
    if (fitted === null) return drop(DROP_REASONS.tooLong);
    if (!fitted.trained.includes(1)) return drop(DROP_REASONS.noTrainedTokens);
    store.add(fitted.ids, fitted.trained, { id: item.id, source: item.line, ...fileOf(item), truncated: fitted.truncated });
    rowsOut += 1;
    if (fitted.truncated) truncated += 1;
  };

  const finishPair = (item: PreparedPair, encodings: [TokenizedText, TokenizedText, TokenizedText]): void => {
    const promptIds = encodings[0].ids;
    const docs = [];
    for (const encoding of [encodings[1], encodings[2]]) {
      const ids = encoding.ids;
      // TRL takes the reply as full[len(prompt_ids):]; that is only the reply if the prompt's tokens
      // are a prefix of the full tokens (a merge across the boundary would change them).
      if (ids.length < promptIds.length || promptIds.some((id, i) => ids[i] !== id)) return drop(DROP_REASONS.promptNotPrefix);
      const trained = new Uint8Array(ids.length);
      trained.fill(1, promptIds.length);
      docs.push(fitDocument(ids, trained, options.maxLength, options.truncation));
    }
    const [chosen, rejected] = docs;
    if (chosen === null || rejected === null || chosen === undefined || rejected === undefined) return drop(DROP_REASONS.tooLong);
    if (!chosen.trained.includes(1) || !rejected.trained.includes(1)) return drop(DROP_REASONS.noTrainedTokens);
    store.add(chosen.ids, chosen.trained, { id: item.id, source: item.line, ...fileOf(item), part: "chosen", truncated: chosen.truncated });
    store.add(rejected.ids, rejected.trained, { id: item.id, source: item.line, ...fileOf(item), part: "rejected", truncated: rejected.truncated });
    rowsOut += 1;
    if (chosen.truncated || rejected.truncated) truncated += 1;
  };

  interface InFlight {
    items: Prepared[];
    encodings: Promise<TokenizedText[]>;
  }

  const encode = (items: Prepared[]): InFlight => {
    const texts: string[] = [];
    const withStarts: boolean[] = [];
    for (const item of items) {
      if (item.kind === "sft") {
        texts.push(item.text);
        withStarts.push(item.spans !== null);
      } else if (item.texts !== null) {
        texts.push(...item.texts);
        withStarts.push(false, false, false);
      }
    }
    const encodings = encodeTexts(tokenizer.tokenizer, texts, withStarts);
    // If rendering a later batch throws first, this promise is never awaited: keep its failure handled.
    encodings.catch(() => {});
    return { items, encodings };
  };

  const finish = async (batch: InFlight): Promise<void> => {
    const encodings = await batch.encodings;
    let next = 0;
    for (const item of batch.items) {
      if (item.kind === "sft") finishConversation(item, encodings[next++]!);
      else if (item.texts === null) drop(DROP_REASONS.promptNotPrefix);
      else {
        finishPair(item, [encodings[next]!, encodings[next + 1]!, encodings[next + 2]!]);
        next += 3;
      }
    }
    options.onProgress?.(rowsIn, store.length);
  };

  let inFlight: InFlight | null = null;
  let batch: Prepared[] = [];
  let batchChars = 0;
  let lastYield = performance.now();
  const submit = async (): Promise<void> => {
    const started = encode(batch);
    batch = [];
    if (inFlight !== null) await finish(inFlight);
    inFlight = started;
  };

  for await (const entry of records) {
    const { line, record } = entry;
    file = entry.file ?? sourcePath;
    rowsIn += 1;
    const recordKind = record.kind === "conversation" ? "sft" : "preference";
    if (kind === null) {
      kind = recordKind;
      if (kind === "preference" && options.pack !== null) {
        throw new KieloError(`${file} holds preference pairs, which are never packed`, { hint: "Leave out --pack." });
      }
    } else if (kind !== recordKind) {
      throw new InputError(
        { file, line, field: "kind" },
        `record ${record.id} is a ${record.kind} but earlier records are ${kind === "sft" ? "conversations" : "preference pairs"}; compile the two kinds separately`,
      );
    }
    const prepared = record.kind === "conversation" ? prepareConversation(line, record) : preparePair(line, record);
    batch.push(prepared);
    batchChars += prepared.kind === "sft" ? prepared.text.length : (prepared.texts?.[1].length ?? 0) * 2;
    // A batch is also cut by size, so that a few huge rows are not held together in memory.
    if (batch.length >= batchSize || batchChars >= MAX_BATCH_CHARS) {
      batchChars = 0;
      await submit();
    }
    if (performance.now() - lastYield > 50) {
      await yieldToEventLoop();
      lastYield = performance.now();
    }
  }
  if (batch.length > 0) await submit();
  if (inFlight !== null) await finish(inFlight);

  let packing: Packing | null = null;
  if (options.pack !== null && store.documentCount > 0) packing = bestFitDecreasing(store.lengths(), options.pack);
  return { kind: kind ?? "sft", store, packing, rowsIn, rowsOut, dropped, truncated, templates };
}
