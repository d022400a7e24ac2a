/** The `openai` backend against real HTTP servers on loopback: retries, Retry-After, timeouts, usage. */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { createOpenAIBackend } from "../../src/generate/openai.ts";
import { backoffDelay, parseRetryAfter } from "../../src/generate/retry.ts";
import { seededRandom } from "../../src/util/random.ts";
import { KieloError } from "../../src/util/errors.ts";

type Handler = (request: IncomingMessage, body: Record<string, unknown>, arrival: number, response: ServerResponse) => void;

async function withServer(handler: Handler, run: (url: string) => Promise<void>): Promise<void> {
  let arrival = 0;
  const server = createServer((request, response) => {
    let raw = "";
    request.on("data", (chunk: Buffer) => (raw += chunk));
    request.on("end", () => handler(request, JSON.parse(raw) as Record<string, unknown>, ++arrival, response));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const decoding = { maxTokens: 64, temperature: 0.7, topP: 0.9, seed: 11, stop: ["</fi>"] };

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}

test("Retry-After is honoured, retries are counted, results keep request order", async () => {
  const times: number[] = [];
  await withServer(
    (_request, body, arrival, response) => {
      times.push(performance.now());
      if (arrival === 1) return json(response, 429, { error: { message: "slow down" } }, { "retry-after": "0.3" });
      if (arrival === 2) return json(response, 503, "overloaded", { "retry-after": "0" });
      json(response, 200, { choices: [{ text: `echo:${body["prompt"] as string}`, finish_reason: arrival % 2 ? "length" : "stop" }], usage: { prompt_tokens: 3, completion_tokens: 5 } });
    },
    async (url) => {
      const retries: string[] = [];
      const backend = createOpenAIBackend({ baseUrl: url, model: "m", endpoint: "completions", decoding, concurrency: 1, timeoutMs: 5000, onRetry: (line) => retries.push(line) });
      const seen: string[] = [];
      const results = await backend.generate(
        [
          { key: "a", prompt: "one" },
          { key: "b", prompt: "two" },
        ],
        { onResult: (result) => void seen.push(result.key) },
      );
      assert.deepEqual(results.map((result) => [result.key, result.text, result.completionTokens, result.promptTokens]), [
        ["a", "echo:one", 5, 3],
        ["b", "echo:two", 5, 3],
      ]);
      assert.deepEqual(results.map((result) => result.finishReason), ["length", "stop"]);
      assert.deepEqual(seen, ["a", "b"]);
      assert.equal(retries.length, 2);
      assert.match(retries[0]!, /answered 429 Too Many Requests: slow down \(attempt 1\/6, retrying in 0\.3s\)/);
      assert.match(retries[1]!, /answered 503 Service Unavailable: overloaded/);
      assert.ok(times[1]! - times[0]! >= 290, `waited ${times[1]! - times[0]!} ms`);
    },
  );
});

test("the request carries the decoding settings; chat requests carry messages", async () => {
  const bodies: Record<string, unknown>[] = [];
  await withServer(
    (_request, body, _arrival, response) => {
      bodies.push(body);
      json(response, 200, { choices: [{ message: { role: "assistant", content: "Hei" }, finish_reason: "stop" }] });
    },
    async (url) => {
      const backend = createOpenAIBackend({ baseUrl: `${url}/`, model: "poro", endpoint: "chat", decoding: { ...decoding, stop: [] }, concurrency: 2, timeoutMs: 5000 });
      const [result] = await backend.generate([{ key: "k", messages: [{ role: "user", content: "Hello" }] }]);
      assert.equal(result!.text, "Hei");
      assert.equal(result!.completionTokens, undefined);
      assert.deepEqual(bodies[0], { model: "poro", max_tokens: 64, temperature: 0.7, top_p: 0.9, seed: 11, messages: [{ role: "user", content: "Hello" }] });
    },
  );
});

test("a request that times out is retried; one that keeps timing out fails clearly", async () => {
  await withServer(
    (_request, body, arrival, response) => {
      const answer = () => json(response, 200, { choices: [{ text: "ok", finish_reason: "stop" }] });
      if (body["prompt"] === "always-slow" || arrival === 1) setTimeout(answer, 400);
      else answer();
    },
    async (url) => {
      const retry = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 };
      const backend = createOpenAIBackend({ baseUrl: url, model: "m", endpoint: "completions", decoding, concurrency: 1, timeoutMs: 150, retry });
      const [result] = await backend.generate([{ key: "k", prompt: "x" }]);
      assert.equal(result!.text, "ok");
      await assert.rejects(backend.generate([{ key: "k", prompt: "always-slow" }]), (error: unknown) => {
        assert.ok(error instanceof KieloError);
        assert.match(error.message, /giving up after 3 attempts: no answer from http:\/\/127\.0\.0\.1:\d+\/v1\/completions within 150 ms/);
        return true;
      });
    },
  );
});

test("a malformed answer is a clear error, not a retry", async () => {
  await withServer(
    (_request, _body, _arrival, response) => json(response, 200, { choices: [] }),
    async (url) => {
      const backend = createOpenAIBackend({ baseUrl: url, model: "m", endpoint: "chat", decoding, concurrency: 1, timeoutMs: 1000 });
      await assert.rejects(backend.generate([{ key: "k", messages: [{ role: "user", content: "x" }] }]), /answered without choices\[0\]\.message\.content/);
    },
  );
});

test("Retry-After parsing and seeded backoff", () => {
  assert.equal(parseRetryAfter("2"), 2000);
  assert.equal(parseRetryAfter("0.5"), 500);
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("Wed, 21 Oct 2015 07:27:58 GMT")), 2000);
  const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
  const a = [1, 2, 3, 4, 5].map((attempt) => backoffDelay(policy, attempt, seededRandom(3)));
  const b = [1, 2, 3, 4, 5].map((attempt) => backoffDelay(policy, attempt, seededRandom(3)));
  assert.deepEqual(a, b);
  a.forEach((delay, i) => {
    const cap = Math.min(1000, 100 * 2 ** i);
    assert.ok(delay >= cap / 2 && delay <= cap, `attempt ${i + 1}: ${delay}`);
  });
});
