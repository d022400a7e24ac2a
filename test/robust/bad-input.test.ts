/**
 * The bad-input suite: what a new user gets wrong, over every command that reads user data. Each
 * case runs the real `kielo` and asserts the exit code, a message that names the file, row and field
 * where there is one (and no "internal error", no stack trace), that the output was not written
 * (or an existing one not touched), and that no temporary file is left.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { bin, dataFixtures, examples, kielo, qwen3, root, temporaries, tempDir, tinyModel, type RunOptions } from "./helpers.ts";

interface Case {
  name: string;
  /** Writes the inputs into `dir`; returns the command line and what to expect. */
  setup(dir: string): {
    args: string[];
    /** stderr must match (the first line is `kielo: …` or commander's `error: …`). */
    expect: RegExp;
    /** Outputs that must not exist afterwards. */
    outputs?: string[];
    /** Files that existed before and must be unchanged afterwards. */
    untouched?: string[];
    run?: RunOptions;
  };
  /** Why this case cannot run here (node:test reports it as skipped, with the reason). */
  skip?: string;
  /** Extra checks after the command. */
  after?(dir: string): void;
}

const dolly = readFileSync(join(dataFixtures, "dolly/dolly_en_fi_first8.jsonl"), "utf8").trim().split("\n");
const sft = readFileSync(join(examples, "sft-fi.jsonl"), "utf8").trim().split("\n");
const pairs = readFileSync(join(examples, "pairs-en.jsonl"), "utf8").trim().split("\n");
const bytes = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));
const write = (dir: string, name: string, data: string | Buffer): string => {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
};
const lines = (...rows: unknown[]): string => rows.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join("\n") + "\n";
const conversation = (id: string, messages: [string, string][]) => ({ kind: "conversation", id, messages: messages.map(([role, content]) => ({ role, content })), meta: {} });
const tinyRecipe = (dir: string, extra = "", train = join(examples, "sft-fi.jsonl")): string =>
  write(dir, "recipe.yaml", `method: sft\nmodel: ${tinyModel}\ndtype: fp32\ndata:\n  train: ${train}\n  template: llama-2\n  max_length: 128\nadapter:\n  type: lora\n  r: 4\ntraining:\n  epochs: 1\n  lr: 1.0e-3\n${extra}`);
/** `dir/ro`, a folder nobody may write to (and `dir` one the unprivileged user may enter). */
const readOnlyFolder = (dir: string): string => {
  chmodSync(dir, 0o777);
  const ro = join(dir, "ro");
  mkdirSync(ro);
  chmodSync(ro, 0o555);
  return ro;
};
const readable = (path: string): string => {
  chmodSync(path, 0o644);
  return path;
};
const asNobody: RunOptions = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
/**
 * Root writes anywhere, so an unwritable folder is tested as the user nobody; that needs a checkout
 * nobody can reach (a clone inside a private folder, e.g. `mktemp -d`'s 0700, is not).
 */
const nobodyBlocked = ((): string | undefined => {
  if (asNobody.uid === undefined) return undefined;
  const probe = spawnSync(process.execPath, [bin, "--version"], { uid: asNobody.uid, gid: asNobody.gid!, encoding: "utf8" });
  if (probe.status === 0) return undefined;
  return `running as root, and the user nobody cannot run ${bin} (${probe.error?.message ?? probe.stderr.trim()}): a folder above the checkout is private`;
})();

const cases: Case[] = [
  // ---- data convert --------------------------------------------------------------------------
  { name: "convert: a missing input file", setup: (d) => ({ args: ["data", "convert", join(d, "nope.jsonl"), "--format", "dolly", "--out", join(d, "o.jsonl")], expect: /^kielo: cannot read .*nope\.jsonl: no such file or folder/, outputs: [join(d, "o.jsonl")] }) },
  {
    name: "convert: invalid UTF-8 in a value",
    setup: (d) => ({ args: ["data", "convert", write(d, "in.jsonl", bytes(dolly[0]!, "\n", '{"instruction": "a", "context": "", "response": "b', [0xff], '"}\n')), "--format", "dolly", "--out", join(d, "o.jsonl")], expect: /^kielo: .*in\.jsonl:2 \(field response\): invalid UTF-8/, outputs: [join(d, "o.jsonl")] }),
  },
  {
    name: "convert: invalid UTF-8 in a key",
    setup: (d) => ({ args: ["data", "convert", write(d, "in.jsonl", bytes('{"instruction', [0xc3], '": "a", "context": "", "response": "b"}\n')), "--format", "dolly", "--out", join(d, "o.jsonl")], expect: /^kielo: .*in\.jsonl:1: invalid UTF-8 .* in the key "instruction\uFFFD"/, outputs: [join(d, "o.jsonl")] }),
  },
  { name: "convert: a line that is not JSON", setup: (d) => ({ args: ["data", "convert", write(d, "in.jsonl", `${dolly[0]}\n{"instruction": \n`), "--format", "dolly", "--out", join(d, "o.jsonl")], expect: /^kielo: .*in\.jsonl:2: malformed JSON/, outputs: [join(d, "o.jsonl")] }) },
  { name: "convert: a missing field", setup: (d) => ({ args: ["data", "convert", write(d, "in.jsonl", lines({ instruction: "a", context: "" })), "--format", "dolly", "--out", join(d, "o.jsonl")], expect: /^kielo: .*in\.jsonl:1 \(field response\)/, outputs: [join(d, "o.jsonl")] }) },
  { name: "convert: a ragged CSV row (its own row number)", setup: (d) => ({ args: ["data", "convert", write(d, "in.csv", "instruction,context,response\na,b,c\nd,e\nf,g,h\n"), "--format", "dolly", "--out", join(d, "o.jsonl")], expect: /^kielo: .*in\.csv:3: malformed CSV/, outputs: [join(d, "o.jsonl")] }) },
  { name: "convert: invalid UTF-8 in a CSV cell", setup: (d) => ({ args: ["data", "convert", write(d, "in.csv", bytes("instruction,context,response\na,b,c\nd,e", [0xe9], ",f\n")), "--format", "dolly", "--out", join(d, "o.jsonl")], expect: /^kielo: .*in\.csv:3 \(field context\): invalid UTF-8/, outputs: [join(d, "o.jsonl")] }) },
  { name: "convert: a JSON array element that is not an object", setup: (d) => ({ args: ["data", "convert", write(d, "in.json", `[${dolly[0]}, 3]`), "--format", "dolly", "--out", join(d, "o.jsonl")], expect: /^kielo: .*in\.json:2: array element 2/, outputs: [join(d, "o.jsonl")] }) },
  {
    name: "convert: invalid UTF-8 in a Parquet value",
    setup: (d) => {
      const data = readFileSync(join(dataFixtures, "parquet/dolly_en_fi_first8.none.parquet"));
      data[data.indexOf("Virgin Australia")] = 0xff;
      return { args: ["data", "convert", write(d, "in.parquet", data), "--format", "dolly", "--out", join(d, "o.jsonl")], expect: /^kielo: .*in\.parquet:1 \(field instruction\): invalid UTF-8/, outputs: [join(d, "o.jsonl")] };
    },
  },
  { name: "convert: a gzip file that is not gzip", setup: (d) => ({ args: ["data", "convert", write(d, "in.jsonl.gz", dolly[0]!), "--format", "dolly", "--out", join(d, "o.jsonl")], expect: /^kielo: cannot read .*in\.jsonl\.gz: not a valid gzip file/, outputs: [join(d, "o.jsonl")] }) },
  {
    name: "convert: OASST messages whose parents form a cycle",
    setup: (d) => ({
      args: ["data", "convert", write(d, "in.jsonl", lines({ message_id: "a", parent_id: "c", text: "hi", role: "prompter" }, { message_id: "b", parent_id: "a", text: "hello", role: "assistant" }, { message_id: "c", parent_id: "b", text: "more", role: "prompter" })), "--format", "oasst", "--out", join(d, "o.jsonl")],
      expect: /^kielo: .*in\.jsonl: no records from 3 rows \(dropped: parent-cycle 3\); nothing written/,
      outputs: [join(d, "o.jsonl")],
    }),
  },
  { name: "convert: an empty input", setup: (d) => ({ args: ["data", "convert", write(d, "in.jsonl", ""), "--format", "dolly", "--out", join(d, "o.jsonl")], expect: /^kielo: .*in\.jsonl holds no rows/, outputs: [join(d, "o.jsonl")] }) },
  {
    name: "convert: --out is a folder (with --force)",
    setup: (d) => {
      mkdirSync(join(d, "out"));
      return { args: ["data", "convert", join(dataFixtures, "dolly/dolly_en_fi_first8.jsonl"), "--format", "dolly", "--out", join(d, "out"), "--force"], expect: /^kielo: .*out is a folder; the output is a file/ };
    },
  },
  {
    name: "convert: --out exists (no --force)",
    setup: (d) => ({ args: ["data", "convert", join(dataFixtures, "dolly/dolly_en_fi_first8.jsonl"), "--format", "dolly", "--out", write(d, "o.jsonl", "keep me\n")], expect: /^kielo: .*o\.jsonl already exists\nhint: Pass --force/, untouched: [join(d, "o.jsonl")] }),
  },
  {
    name: "convert: an unwritable output folder (the run is marked failed)", skip: nobodyBlocked,
    setup: (d) => {
      const ro = readOnlyFolder(d);
      const input = readable(write(d, "in.jsonl", `${dolly[0]}\n`));
      return { args: ["data", "convert", input, "--format", "dolly", "--out", join(ro, "o.jsonl")], expect: /^kielo: cannot write .*ro\/o\.jsonl: permission denied\nhint: /, outputs: [join(ro, "o.jsonl")], run: { ...asNobody, env: { KIELO_DB: join(d, "kielo.db") } } };
    },
    after: (d) => {
      const db = new DatabaseSync(join(d, "kielo.db"));
      const runs = db.prepare("SELECT kind, status FROM runs").all() as { kind: string; status: string }[];
      db.close();
      assert.deepEqual(runs.map((r) => [r.kind, r.status]), [["convert", "failed"]]);
    },
  },
  { name: "convert: an output path through a file", setup: (d) => ({ args: ["data", "convert", join(dataFixtures, "dolly/dolly_en_fi_first8.jsonl"), "--format", "dolly", "--out", join(write(d, "file", "x"), "o.jsonl")], expect: /^kielo: cannot write .*file\/o\.jsonl: .*\/file is a file, not a folder/ }) },
  { name: "convert: a mistyped option", setup: (d) => ({ args: ["data", "convert", join(dataFixtures, "dolly/dolly_en_fi_first8.jsonl"), "--format", "dolly", "--outt", join(d, "o.jsonl")], expect: /^error: unknown option '--outt'\n\(Did you mean --out\?\)/, outputs: [join(d, "o.jsonl")] }) },
  { name: "convert: --limit 0", setup: (d) => ({ args: ["data", "convert", join(dataFixtures, "dolly/dolly_en_fi_first8.jsonl"), "--format", "dolly", "--out", join(d, "o.jsonl"), "--limit", "0"], expect: /^kielo: --limit must be an integer ≥ 1, got "0"/, outputs: [join(d, "o.jsonl")] }) },

  // ---- data compile ----------------------------------------------------------------------------
  { name: "compile: --pack beyond any sequence length", setup: (d) => ({ args: ["data", "compile", join(examples, "sft-fi.jsonl"), "--tokenizer", tinyModel, "--template", "llama-2", "--pack", "99999999999", "--out", join(d, "c")], expect: /^kielo: --pack must be an integer ≥ 2 and ≤ 16777216, got "99999999999"/, outputs: [join(d, "c")] }) },
  { name: "compile: --out is a file (with --force)", setup: (d) => ({ args: ["data", "compile", join(examples, "sft-fi.jsonl"), "--tokenizer", tinyModel, "--template", "llama-2", "--out", write(d, "c", "keep"), "--force"], expect: /^kielo: .*\/c is a file; --out names the folder/, untouched: [join(d, "c")] }) },
  { name: "compile: a line that is not a kielo record", setup: (d) => ({ args: ["data", "compile", write(d, "r.jsonl", lines(conversation("a", [["user", "hei"], ["assistant", "moi"]]), conversation("b", [["robot", "hei"], ["assistant", "moi"]]))), "--tokenizer", qwen3, "--out", join(d, "c")], expect: /^kielo: .*r\.jsonl:2 \(field messages\[0\]\.role\): not a kielo record/, outputs: [join(d, "c")] }) },
  {
    name: "compile: every row dropped",
    setup: (d) => ({ args: ["data", "compile", write(d, "r.jsonl", lines(conversation("a", [["user", "hei"]]))), "--tokenizer", qwen3, "--policy", "assistant", "--out", join(d, "c")], expect: /^kielo: .*r\.jsonl: all 1 rows were dropped \(no-trained-tokens 1\); nothing written\nhint: no-trained-tokens: the rows have no assistant reply/, outputs: [join(d, "c")] }),
  },
  { name: "compile: an empty records file", setup: (d) => ({ args: ["data", "compile", write(d, "r.jsonl", ""), "--tokenizer", qwen3, "--out", join(d, "c")], expect: /^kielo: .*r\.jsonl holds no records/, outputs: [join(d, "c")] }) },
  { name: "compile: a missing tokenizer folder", setup: (d) => ({ args: ["data", "compile", join(examples, "sft-fi.jsonl"), "--tokenizer", join(d, "tok"), "--out", join(d, "c")], expect: /^kielo: tokenizer folder .*\/tok does not exist/, outputs: [join(d, "c")] }) },
  {
    name: "compile: a template that fails on a row",
    setup: (d) => ({ args: ["data", "compile", write(d, "r.jsonl", `${sft[0]}\n`), "--tokenizer", tinyModel, "--template", `file:${write(d, "t.jinja", "{{ raise_exception('no system messages, please') }}")}`, "--out", join(d, "c")], expect: /^kielo: .*r\.jsonl:1 \(field messages\): record dolly:\d+: chat template file:.*t\.jinja failed to render: no system messages, please/, outputs: [join(d, "c")] }),
  },
  { name: "compile: conversations and pairs mixed", setup: (d) => ({ args: ["data", "compile", write(d, "r.jsonl", `${sft[0]}\n${pairs[0]}\n`), "--tokenizer", tinyModel, "--template", "llama-2", "--out", join(d, "c")], expect: /^kielo: .*r\.jsonl:2 \(field kind\): record .* is a preference but earlier records are conversations/, outputs: [join(d, "c")] }) },
  { name: "compile: invalid UTF-8 in a message", setup: (d) => ({ args: ["data", "compile", write(d, "r.jsonl", bytes('{"kind": "conversation", "id": "a", "messages": [{"role": "user", "content": "hei"}, {"role": "assistant", "content": "mo', [0xe4], 'i"}], "meta": {}}\n')), "--tokenizer", qwen3, "--out", join(d, "c")], expect: /^kielo: .*r\.jsonl:1 \(field messages\[1\]\.content\): invalid UTF-8/, outputs: [join(d, "c")] }) },

  // ---- mix ------------------------------------------------------------------------------------
  { name: "mix: a fraction above 1", setup: (d) => ({ args: ["mix", "--base", join(examples, "sft-fi.jsonl"), "--add", join(examples, "sft-fi.jsonl"), "--fraction", "1.5", "--seed", "1", "--out", join(d, "m.jsonl")], expect: /^kielo: --fraction must be a number between 0 and 1 .*got 1\.5\nhint: For 1\.5 %, pass 0\.015\./, outputs: [join(d, "m.jsonl")] }) },
  { name: "mix: a repeated id in the base file", setup: (d) => ({ args: ["mix", "--base", write(d, "b.jsonl", `${sft[0]}\n${sft[0]}\n`), "--add", join(examples, "sft-fi.jsonl"), "--fraction", "0.5", "--seed", "1", "--out", join(d, "m.jsonl")], expect: /^kielo: .*b\.jsonl:2: id "dolly:\d+" is already used on line 1/, outputs: [join(d, "m.jsonl")] }) },
  { name: "mix: an empty added file", setup: (d) => ({ args: ["mix", "--base", join(examples, "sft-fi.jsonl"), "--add", write(d, "a.jsonl", "\n"), "--fraction", "0.5", "--seed", "1", "--out", join(d, "m.jsonl")], expect: /^kielo: .*a\.jsonl holds no records/, outputs: [join(d, "m.jsonl")] }) },
  { name: "mix: a negative seed", setup: (d) => ({ args: ["mix", "--base", join(examples, "sft-fi.jsonl"), "--add", join(examples, "sft-fi.jsonl"), "--fraction", "0.5", "--seed", "-1", "--out", join(d, "m.jsonl")], expect: /^kielo: --seed must be an integer ≥ 0, got "-1"/, outputs: [join(d, "m.jsonl")] }) },

  // ---- translate ------------------------------------------------------------------------------
  { name: "translate: no --model", setup: (d) => ({ args: ["translate", join(examples, "sft-fi.jsonl"), "--to", "fi", "--out", join(d, "t.jsonl"), "--db", join(d, "k.db")], expect: /^kielo: --model is required/, outputs: [join(d, "t.jsonl")] }) },
  { name: "translate: a line that is not a record", setup: (d) => ({ args: ["translate", write(d, "in.jsonl", lines({ kind: "conversation", id: "a", messages: "hei", meta: {} })), "--to", "fi", "--model", "m", "--out", join(d, "t.jsonl"), "--db", join(d, "k.db")], expect: /^kielo: .*in\.jsonl:1 \(field messages\): not a kielo record/, outputs: [join(d, "t.jsonl")] }) },
  { name: "translate: two records with one id", setup: (d) => ({ args: ["translate", write(d, "in.jsonl", `${sft[0]}\n${sft[0]}\n`), "--to", "fi", "--model", "m", "--out", join(d, "t.jsonl"), "--db", join(d, "k.db")], expect: /^kielo: .*in\.jsonl:2 \(field id\): duplicate id "dolly:\d+" \(first on line 1\)/, outputs: [join(d, "t.jsonl")] }) },
  { name: "translate: the engine backend on a missing model folder", setup: (d) => ({ args: ["translate", join(examples, "sft-fi.jsonl"), "--to", "fi", "--backend", "engine", "--model", join(d, "nomodel"), "--out", join(d, "t.jsonl"), "--db", join(d, "k.db")], expect: /^kielo: --model folder .*nomodel does not exist/, outputs: [join(d, "t.jsonl")] }) },
  { name: "translate: an unknown backend", setup: (d) => ({ args: ["translate", join(examples, "sft-fi.jsonl"), "--to", "fi", "--backend", "gpt", "--model", "m", "--out", join(d, "t.jsonl")], expect: /^error: option '--backend <name>' argument 'gpt' is invalid\. Allowed choices are openai, engine\./, outputs: [join(d, "t.jsonl")] }) },

  // ---- clean ----------------------------------------------------------------------------------
  { name: "clean: an empty input", setup: (d) => ({ args: ["clean", write(d, "in.jsonl", ""), "--out", join(d, "c.jsonl")], expect: /^kielo: .*in\.jsonl holds no records/, outputs: [join(d, "c.jsonl")] }) },
  { name: "clean: an unknown rule", setup: (d) => ({ args: ["clean", join(examples, "sft-fi.jsonl"), "--rules", "empty,wrong-langauge", "--out", join(d, "c.jsonl")], expect: /^kielo: --rules: unknown rule "wrong-langauge"/, outputs: [join(d, "c.jsonl")] }) },
  { name: "clean: a record without a language and no --lang", setup: (d) => ({ args: ["clean", write(d, "in.jsonl", lines(conversation("a", [["user", "hei"], ["assistant", "moi"]]))), "--out", join(d, "c.jsonl")], expect: /^kielo: .*in\.jsonl:1 \(field lang\): record has no lang/, outputs: [join(d, "c.jsonl")] }) },

  // ---- train ----------------------------------------------------------------------------------
  { name: "train: fractional epochs", setup: (d) => ({ args: ["train", "sft", tinyRecipe(d), "--set", "training.epochs=1.5", "--out", join(d, "job")], expect: /^kielo: .*recipe\.yaml: invalid recipe:\n {2}--set training\.epochs=1\.5: training\.epochs: must be a whole number of epochs/, outputs: [join(d, "job")] }) },
  { name: "train: a mistyped recipe field", setup: (d) => ({ args: ["train", "sft", tinyRecipe(d, "  warmup_ration: 0.1\n"), "--out", join(d, "job")], expect: /recipe\.yaml:\d+: training\.warmup_ration: unknown field \(did you mean "warmup_ratio"\?\)/, outputs: [join(d, "job")] }) },
  { name: "train: a missing model folder", setup: (d) => ({ args: ["train", "sft", tinyRecipe(d), "--set", `model=${join(d, "nomodel")}`, "--out", join(d, "job")], expect: /^kielo: .*recipe\.yaml: model: .*nomodel does not exist\nhint: `model:` is a local Hugging Face model folder/, outputs: [join(d, "job")] }) },
  { name: "train: a --set value of the wrong type", setup: (d) => ({ args: ["train", "sft", tinyRecipe(d), "--set", "training.lr=fast", "--out", join(d, "job")], expect: /--set training\.lr=fast: training\.lr: Invalid input: expected number, received string/, outputs: [join(d, "job")] }) },
  { name: "train: a missing training file", setup: (d) => ({ args: ["train", "sft", tinyRecipe(d, "", join(d, "nope.jsonl")), "--out", join(d, "job")], expect: /^kielo: .*recipe\.yaml: data\.train: .*nope\.jsonl does not exist/, outputs: [join(d, "job")] }) },
  { name: "train: pairs under an SFT recipe", setup: (d) => ({ args: ["train", "sft", tinyRecipe(d, "", join(examples, "pairs-en.jsonl")), "--out", join(d, "job")], expect: /^kielo: .*pairs-en\.jsonl holds preference pairs, but a SFT recipe needs conversations/, outputs: [join(d, "job")] }) },
  {
    name: "train: a template error names the user's file, not the job folder",
    setup: (d) => ({ args: ["train", "sft", tinyRecipe(d, "", write(d, "data.jsonl", `${sft.slice(0, 8).join("\n")}\n`)), "--set", `data.template=file:${write(d, "t.jinja", "{{ raise_exception('boom') }}")}`, "--set", "data.eval_fraction=0.25", "--out", join(d, "job")], expect: /^kielo: .*\/data\.jsonl:\d+ \(field messages\): record .*: chat template .* failed to render: boom/, outputs: [join(d, "job")] }),
    after: (d) => assert.ok(!readFileSync(join(d, "stderr.txt"), "utf8").includes(".tmp-")),
  },

  // ---- generate -------------------------------------------------------------------------------
  { name: "generate: a missing model folder", setup: (d) => ({ args: ["generate", "--model", join(d, "nomodel"), "--prompts", join(examples, "prompts-fi.jsonl"), "--out", join(d, "a.jsonl")], expect: /^kielo: --model folder .*nomodel does not exist/, outputs: [join(d, "a.jsonl")] }) },
  { name: "generate: a repeated prompt key", setup: (d) => ({ args: ["generate", "--model", tinyModel, "--template", "llama-2", "--prompts", write(d, "p.jsonl", lines({ key: "a", prompt: "x" }, { key: "a", prompt: "y" })), "--out", join(d, "a.jsonl")], expect: /^kielo: .*p\.jsonl:2 \(field key\): duplicate key "a"/, outputs: [join(d, "a.jsonl")] }) },
  { name: "generate: --max-new-tokens 0", setup: (d) => ({ args: ["generate", "--model", tinyModel, "--prompts", join(examples, "prompts-fi.jsonl"), "--max-new-tokens", "0", "--out", join(d, "a.jsonl")], expect: /^kielo: --max-new-tokens must be an integer ≥ 1, got "0"/, outputs: [join(d, "a.jsonl")] }) },
  { name: "generate: a conversation with no user turn", setup: (d) => ({ args: ["generate", "--model", tinyModel, "--template", "llama-2", "--prompts", write(d, "p.jsonl", lines({ key: "a", messages: [{ role: "system", content: "x" }] })), "--out", join(d, "a.jsonl")], expect: /^kielo: .*p\.jsonl:1 \(field messages\): has no user turn to answer/, outputs: [join(d, "a.jsonl")] }) },

  // ---- merge ----------------------------------------------------------------------------------
  { name: "merge: not an adapter folder", setup: (d) => ({ args: ["merge", tinyModel, "--out", join(d, "m")], expect: /^kielo: .* is not an adapter folder \(no adapter_config\.json\)/, outputs: [join(d, "m")] }) },
  {
    name: "merge: --out not empty",
    setup: (d) => {
      mkdirSync(join(d, "adapter"));
      write(d, "adapter/adapter_config.json", JSON.stringify({ base_model_name_or_path: tinyModel }));
      mkdirSync(join(d, "m"));
      return { args: ["merge", join(d, "adapter"), "--out", join(d, "m")], expect: /^kielo: .*\/m exists and is not empty/, untouched: [write(d, "m/keep.txt", "keep")] };
    },
  },
  {
    name: "merge: an unknown dtype",
    setup: (d) => {
      mkdirSync(join(d, "adapter"));
      write(d, "adapter/adapter_config.json", JSON.stringify({ base_model_name_or_path: tinyModel }));
      return { args: ["merge", join(d, "adapter"), "--dtype", "fp8", "--out", join(d, "m")], expect: /^kielo: --dtype must be bf16, fp16 or fp32, got fp8/, outputs: [join(d, "m")] };
    },
  },
  {
    name: "merge: an output path through a file (before the engine starts)",
    setup: (d) => {
      mkdirSync(join(d, "adapter"));
      write(d, "adapter/adapter_config.json", JSON.stringify({ base_model_name_or_path: tinyModel }));
      return { args: ["merge", join(d, "adapter"), "--out", join(write(d, "file", "x"), "m")], expect: /^kielo: cannot write .*file\/m: .*\/file is a file, not a folder/ };
    },
  },

  // ---- model import ---------------------------------------------------------------------------
  // Refused before the engine spends its minute dequantising: any existing file stands in for the GGUF.
  { name: "model import: an output path through a file", setup: (d) => ({ args: ["model", "import", write(d, "m.gguf", "GGUF"), "--out", join(write(d, "file", "x"), "m")], expect: /^kielo: cannot write .*file\/m: .*\/file is a file, not a folder/ }) },
  {
    name: "model import: an unwritable output folder", skip: nobodyBlocked,
    setup: (d) => {
      const ro = readOnlyFolder(d);
      const gguf = readable(write(d, "m.gguf", "GGUF"));
      return { args: ["model", "import", gguf, "--out", join(ro, "m")], expect: /^kielo: cannot write .*ro\/m: permission denied\nhint: /, outputs: [join(ro, "m")], run: asNobody };
    },
  },

  // ---- eval ifeval ----------------------------------------------------------------------------
  {
    name: "eval: a prompt answered twice",
    setup: (d) => {
      const prompt = (JSON.parse(readFileSync(join(root, "test/fixtures/ifeval/sample/prompts.jsonl"), "utf8").split("\n")[0]!) as { prompt: string }).prompt;
      return { args: ["eval", "ifeval", "--prompts", join(root, "test/fixtures/ifeval/sample/prompts.jsonl"), "--responses", write(d, "r.jsonl", lines({ prompt, response: "a" }, { prompt, response: "b" })), "--json", join(d, "e.json"), "--no-store"], expect: /^kielo: .*r\.jsonl:2 \(field prompt\): a second response to the prompt .* \(the first is on line 1\)/, outputs: [join(d, "e.json")] };
    },
  },
  { name: "eval: a response that is not a string", setup: (d) => ({ args: ["eval", "ifeval", "--responses", write(d, "r.jsonl", lines({ prompt: "x", response: 3 })), "--json", join(d, "e.json"), "--no-store"], expect: /^kielo: .*r\.jsonl:1 \(field response\)/, outputs: [join(d, "e.json")] }) },
  { name: "eval: invalid UTF-8 in a response", setup: (d) => ({ args: ["eval", "ifeval", "--responses", write(d, "r.jsonl", bytes('{"prompt": "x", "response": "caf', [0xe9], '"}\n')), "--json", join(d, "e.json"), "--no-store"], expect: /^kielo: .*r\.jsonl:1 \(field response\): invalid UTF-8/, outputs: [join(d, "e.json")] }) },
  { name: "eval: responses missing for prompts", setup: (d) => ({ args: ["eval", "ifeval", "--responses", write(d, "r.jsonl", lines({ prompt: "x", response: "y" })), "--json", join(d, "e.json"), "--no-store"], expect: /^kielo: .*r\.jsonl: no response for 541 of 541 prompts/, outputs: [join(d, "e.json")] }) },
  { name: "eval: a gzipped response file that is damaged", setup: (d) => ({ args: ["eval", "ifeval", "--responses", write(d, "r.jsonl.gz", gzipSync("{}\n").subarray(0, 12)), "--no-store"], expect: /^kielo: cannot read .*r\.jsonl\.gz: not a valid gzip file/ }) },
];

test("the bad-input suite", { concurrency: 3 }, async (t) => {
  assert.ok(cases.length >= 40, `${cases.length} cases`);
  await Promise.all(
    cases.map((c) =>
      t.test(c.name, { skip: c.skip ?? false }, async () => {
      const dir = tempDir("bad-input");
      const { args, expect, outputs = [], untouched = [], run = {} } = c.setup(dir);
      const before = untouched.map((path) => readFileSync(path));
      const result = await kielo(args, { cwd: dir, ...run, env: { KIELO_DB: join(dir, "kielo.db"), ...run.env } });
      writeFileSync(join(dir, "stderr.txt"), result.stderr);
      assert.equal(result.code, 1, `exit code (stderr: ${result.stderr})`);
      // The message, after any progress lines printed before the failure.
      const message = result.stderr.slice(Math.max(0, result.stderr.search(/^(kielo|error): /m)));
      assert.match(message, expect);
      assert.doesNotMatch(result.stderr, /internal error|\n\s+at .*:\d+:\d+/, "no internal error, no stack trace");
      for (const path of outputs) assert.equal(existsSync(path), false, `${path} must not be written`);
      untouched.forEach((path, i) => assert.deepEqual(readFileSync(path), before[i], `${path} must be unchanged`));
      assert.deepEqual(temporaries(dir), [], "no temporary file left");
      c.after?.(dir);
      }),
    ),
  );
});
