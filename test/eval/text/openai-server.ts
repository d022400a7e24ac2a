/**
 * A real HTTP server on loopback speaking OpenAI's chat-completions API, answering with a function
 * of the request's messages. Used as a stand-in judge and question writer: it counts requests and
 * records what it was sent. `delayMs` holds each reply back that long (a slow model, so that a test
 * can kill its client mid-run).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ChatMessage {
  role: string;
  content: string;
}

export interface OpenAIServer {
  url: string;
  requests: { messages: ChatMessage[]; seed: unknown; temperature: unknown; model: unknown }[];
  close(): Promise<void>;
}

export async function startOpenAIServer(
  answer: (messages: ChatMessage[], arrival: number) => string,
  options: { delayMs?: number } = {},
): Promise<OpenAIServer> {
  const requests: OpenAIServer["requests"] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      if (req.url !== "/v1/chat/completions") {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: `no route ${req.url}` } }));
        return;
      }
      const parsed = JSON.parse(body) as { messages: ChatMessage[]; seed: unknown; temperature: unknown; model: unknown };
      requests.push(parsed);
      const content = answer(parsed.messages, requests.length);
      const reply = () =>
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({ choices: [{ message: { role: "assistant", content }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1 } }),
        );
      if (options.delayMs === undefined) reply();
      else setTimeout(reply, options.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
