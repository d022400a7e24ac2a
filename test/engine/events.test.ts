/**
 * The engine's events: one zod definition (src/engine/events.ts), its generated JSON Schema in the
 * engine package (up to date), every defined type emitted by the engine, and parsing that tells
 * events, unknown events and library output apart.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { EVENT_TYPES, eventsJsonSchema, parseLine } from "../../src/engine/events.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const engine = join(root, "engine/kielo_engine");

test("engine/kielo_engine/events.schema.json is generated from src/engine/events.ts and up to date", () => {
  const committed = JSON.parse(readFileSync(join(engine, "events.schema.json"), "utf8")) as unknown;
  assert.deepEqual(committed, JSON.parse(JSON.stringify(eventsJsonSchema())), "run `node scripts/engine-events-schema.ts`");
});

test("every event type defined here is emitted somewhere in the engine, and no other", () => {
  const source = readdirSync(engine)
    .filter((name) => name.endsWith(".py"))
    .map((name) => readFileSync(join(engine, name), "utf8"))
    .join("\n");
  const emitted = new Set([...source.matchAll(/emit\(\s*"([a-z_]+)"/g), ...source.matchAll(/"type":\s*"([a-z_]+)"/g)].map((m) => m[1]!));
  assert.deepEqual([...emitted].sort(), [...EVENT_TYPES].sort());
});

test("a line is an event, an event this CLI does not understand, or plain output", () => {
  const step = parseLine(JSON.stringify({ type: "step", time: 1, step: 3, loss: 1.5, lr: 1e-4, grad_norm: null, tokens: 100, trained_tokens: 40, tokens_per_s: 12.5 }));
  assert.equal(step.kind, "event");
  if (step.kind === "event" && step.event.type === "step") assert.equal(step.event.grad_norm, null);
  const bad = parseLine(JSON.stringify({ type: "step", step: "three" }));
  assert.equal(bad.kind, "invalid");
  assert.equal(parseLine(JSON.stringify({ type: "surprise" })).kind, "invalid");
  assert.equal(parseLine("Loading checkpoint shards: 100%").kind, "output");
  assert.equal(parseLine('{"not": "an event"}').kind, "output");
  const error = parseLine(JSON.stringify({ type: "error", kind: "internal", message: "rank 1: boom", hint: null, rank: 1 }));
  assert.ok(error.kind === "event" && error.event.type === "error" && error.event.rank === 1);
});
