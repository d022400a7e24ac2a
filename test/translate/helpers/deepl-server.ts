/**
 * A real HTTP server on loopback speaking the OpenAI chat-completions (and completions) API. It
 * "translates" by looking up the English it is sent in a table of real English lines and their
 * real DeepL Finnish lines, so a correct client reproduces the reference Finnish exactly.
 *
 * The text to translate is the last user message (chat) or what follows the last `<en>` of the
 * prompt (completions). kielo may have packed several lines into one request and replaced
 * protected spans by ⟦n⟧ markers: the server splits the request at line breaks, matches each line
 * against the table with the markers as wildcards, and puts the markers into the Finnish line
 * where the protected text stands there.
 *
 * It also counts requests, records the most requests in flight, and can fail chosen requests
 * with 429/500 (by arrival number, deterministically), require an API key, or answer 400.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fencedCodeBlocks } from "../../../src/text/fences.ts";

export interface ServerOptions {
  /** Arrival numbers (1-based) answered with 429 (with Retry-After: 0). */
  fail429?: Set<number>;
  /** Arrival numbers answered with 500. */
  fail500?: Set<number>;
  /** If set, requests must carry `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Delay before answering, ms (lets concurrency show). */
  delayMs?: number;
  /** Answer every request with 400 and this message. */
  badRequest?: string;
}

export interface DeeplServer {
  url: string;
  /** Requests received (all, including failed ones). */
  requests: number;
  /** Successful answers per English request text. */
  answered: Map<string, number>;
  maxInFlight: number;
  failures: number;
  /** Authorization headers seen (to check the key is sent). */
  authorizations: Set<string>;
  close(): Promise<void>;
}

const SENTINEL = /⟦(\d+)⟧/g;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** English line → Finnish line, from aligned text pairs (code blocks are never sent). */
export function lineTable(pairs: readonly { en: string; fi: string }[]): Map<string, string> {
  const table = new Map<string, string>();
  for (const { en, fi } of pairs) {
    let proseEn = en;
    let proseFi = fi;
    for (const block of fencedCodeBlocks(en)) proseEn = proseEn.replace(block, "\n");
    for (const block of fencedCodeBlocks(fi)) proseFi = proseFi.replace(block, "\n");
    const linesEn = proseEn.split(/\n\s*/);
    const linesFi = proseFi.split(/\n\s*/);
    if (linesEn.length !== linesFi.length) throw new Error(`fixture pair not line-aligned: ${en.slice(0, 60)}`);
    linesEn.forEach((line, i) => table.set(line.trim(), linesFi[i]!.trim()));
  }
  return table;
}

function translateLine(line: string, table: Map<string, string>): string | undefined {
  if (!/⟦\d+⟧/.test(line)) return table.get(line);
  // A marker stands for a bracketed placeholder or for other text; bracketed first, so that
  // adjacent markers over "[18][19][20]" take one citation each.
  const pattern = new RegExp(`^${escapeRegExp(line).replace(/⟦(\d+)⟧/g, "(\\[[^\\[\\]\\n]+\\]|[^[]+?)")}$`, "s");
  const numbers = [...line.matchAll(SENTINEL)].map((match) => match[0]);
  for (const [en, fi] of table) {
    const match = pattern.exec(en);
    if (match === null) continue;
    // Longest protected text first, so "[10]" is placed before "[1]" could match inside it.
    const values = numbers.map((sentinel, i) => ({ sentinel, value: match[i + 1]! })).sort((a, b) => b.value.length - a.value.length);
    let out = fi;
    for (const { sentinel, value } of values) {
      const at = out.indexOf(value);
      if (at < 0) return undefined;
      out = out.slice(0, at) + sentinel + out.slice(at + value.length);
    }
    return out;
  }
  return undefined;
}

/** Translate a request: every line looked up, separators kept. */
export function translateRequest(text: string, table: Map<string, string>): string | undefined {
  const parts = text.split(/(\n\s*)/);
  let out = "";
  for (const [i, part] of parts.entries()) {
    if (i % 2 === 1 || part.trim() === "") {
      out += part;
      continue;
    }
    const translated = translateLine(part.trim(), table);
    if (translated === undefined) return undefined;
    out += translated;
  }
  return out;
}

function sourceOf(body: { messages?: { role: string; content: string }[]; prompt?: string }): string | undefined {
  if (body.messages !== undefined) return body.messages.filter((message) => message.role === "user").at(-1)?.content;
  if (body.prompt !== undefined) {
    const start = body.prompt.lastIndexOf("<en>\n");
    const end = body.prompt.lastIndexOf("\n</en>");
    return start >= 0 && end > start ? body.prompt.slice(start + 5, end) : undefined;
  }
  return undefined;
}

export async function startDeeplServer(pairs: readonly { en: string; fi: string }[], options: ServerOptions = {}): Promise<DeeplServer> {
  const table = lineTable(pairs);
  let inFlight = 0;
  const state: Omit<DeeplServer, "url" | "close"> = { requests: 0, answered: new Map(), maxInFlight: 0, failures: 0, authorizations: new Set() };
  const send = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    response.writeHead(status, { "content-type": "application/json", ...headers });
    response.end(JSON.stringify(body));
  };
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    state.requests += 1;
    const arrival = state.requests;
    inFlight += 1;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    try {
      let raw = "";
      for await (const chunk of request) raw += chunk;
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      state.authorizations.add(request.headers.authorization ?? "");
      if (options.apiKey !== undefined && request.headers.authorization !== `Bearer ${options.apiKey}`) {
        return send(response, 401, { error: { message: "Incorrect API key provided.", type: "invalid_request_error" } });
      }
      if (options.badRequest !== undefined) return send(response, 400, { error: { message: options.badRequest } });
      if (options.fail429?.has(arrival)) {
        state.failures += 1;
        return send(response, 429, { error: { message: "Rate limit reached" } }, { "retry-after": "0" });
      }
      if (options.fail500?.has(arrival)) {
        state.failures += 1;
        return send(response, 500, { error: { message: "internal error" } });
      }
      const body = JSON.parse(raw) as { model: string; messages?: { role: string; content: string }[]; prompt?: string };
      const source = sourceOf(body);
      const translated = source === undefined ? undefined : translateRequest(source, table);
      if (source === undefined || translated === undefined) {
        return send(response, 400, { error: { message: `no reference translation for: ${JSON.stringify(source?.slice(0, 120))}` } });
      }
      state.answered.set(source, (state.answered.get(source) ?? 0) + 1);
      const usage = { prompt_tokens: raw.length >> 2, completion_tokens: translated.length >> 2 };
      if (request.url?.endsWith("/chat/completions")) {
        return send(response, 200, {
          id: `chatcmpl-${arrival}`,
          object: "chat.completion",
          model: body.model,
          choices: [{ index: 0, message: { role: "assistant", content: translated }, finish_reason: "stop" }],
          usage,
        });
      }
      return send(response, 200, {
        id: `cmpl-${arrival}`,
        object: "text_completion",
        model: body.model,
        choices: [{ index: 0, text: `\n${translated}\n</fi>`, finish_reason: "stop" }],
        usage,
      });
    } finally {
      inFlight -= 1;
    }
  };
  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => send(response, 500, { error: { message: String(error) } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
