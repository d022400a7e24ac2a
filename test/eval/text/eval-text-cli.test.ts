/**
 * `kielo eval text` end to end: real answers, a real kielo.db, CSV/Parquet exports read back,
 * and every scorer kind — VADER, a classifier and an embedding model run by the real engine (a
 * plumbing classifier made from the tiny stories260K model: its scores mean nothing), and an LLM
 * judge on a loopback OpenAI-compatible server.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parquetReadObjects } from "hyparquet";
import { openStore } from "../../../src/store/db.ts";
import { readAnswerMetrics } from "../../../src/store/answer-metrics.ts";
import { answerCorpus } from "./corpus.ts";
import { startOpenAIServer, type OpenAIServer } from "./openai-server.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const KIELO = join(ROOT, "bin/kielo.js");
const PYTHON = process.env["KIELO_PYTHON"] ?? join(ROOT, ".venv/bin/python");
const TINY = join(ROOT, "fixtures/models/stories260K/hf");

function kielo(args: string[], cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [KIELO, ...args], { cwd, env: { ...process.env, KIELO_PYTHON: PYTHON } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("kielo eval text", () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-eval-text-"));
  const answers = join(dir, "answers.jsonl");
  const corpus = answerCorpus(8).filter((c) => c.source !== "m-ifeval-prompt-fr" && c.source !== "m-ifeval-prompt-es");
  let judge: OpenAIServer;

  before(async () => {
    writeFileSync(answers, corpus.map((c, i) => `${JSON.stringify({ key: `${c.source}-${i}`, prompt: c.prompt, response: c.text })}\n`).join(""));
    // A stand-in judge: toxic when the answer says "stupid", and the first reply is not JSON (to be asked again).
    judge = await startOpenAIServer((messages, arrival) => {
      if (arrival === 1) return "Sure! Here is my verdict: toxic-ish";
      const answer = messages.at(-1)!.content.split("ANSWER:\n")[1] ?? "";
      const toxic = /stupid/i.test(answer);
      return `\`\`\`json\n${JSON.stringify({ label: toxic ? "toxic" : "non-toxic", score: toxic ? 0.9 : 0.05, reason: "stand-in" })}\n\`\`\``;
    });
  });
  after(() => judge.close());

  it("stores one row per answer, summarises and exports CSV and Parquet", async () => {
    const result = await kielo(
      ["eval", "text", answers, "--lang", "en", "--tokenizer", TINY, "--label", "m1", "--db", "kielo.db", "--out", "m.parquet", "--json", "s.json", "--quiet"],
      dir,
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /recorded run 1 \(eval-text, label m1\)/);
    const db = openStore(join(dir, "kielo.db"));
    const rows = readAnswerMetrics(db, 1);
    db.close();
    assert.equal(rows.length, corpus.length);
    assert.equal(rows[0]!.model, "m1");
    assert.equal(typeof rows[0]!.metrics["flesch_reading_ease"], "number");
    assert.ok((rows[0]!.metrics["length_tokens"] as number) > 0);
    const finnish = rows.filter((row) => row.answer_key.startsWith("dolly-fi"));
    assert.ok(finnish.filter((row) => row.answer_lang === "fi").length >= 6, JSON.stringify(finnish.map((row) => row.answer_lang)));
    assert.ok(rows.every((row) => row.metrics["in_target_lang"] === (row.answer_lang === "en" ? 1 : 0)));

    const parquet = await parquetReadObjects({ file: new Uint8Array(readFileSync(join(dir, "m.parquet"))).buffer });
    assert.equal(parquet.length, rows.length);
    assert.equal(parquet[3]!["smog_index"], rows[3]!.metrics["smog_index"]);
    assert.equal(parquet[3]!["answer"], rows[3]!.answer);
    const summary = JSON.parse(readFileSync(join(dir, "s.json"), "utf8")) as { metrics: Record<string, { n: number; mean: number; p10: number; p90: number }> };
    const grade = summary.metrics["flesch_kincaid_grade"]!;
    assert.equal(grade.n, rows.length);
    const values = rows.map((row) => row.metrics["flesch_kincaid_grade"]);
    const numpy = spawnSync(PYTHON, ["-c", "import json,sys,numpy as np; v=json.load(sys.stdin); print(json.dumps([float(np.mean(v)), float(np.percentile(v,10)), float(np.percentile(v,90))]))"], {
      input: JSON.stringify(values),
      encoding: "utf8",
    });
    const [mean, p10, p90] = JSON.parse(numpy.stdout) as number[];
    for (const [mine, theirs] of [[grade.mean, mean], [grade.p10, p10], [grade.p90, p90]] as const) assert.ok(Math.abs(mine - theirs!) < 1e-9, `${mine} vs numpy ${theirs}`);

    const again = await kielo(["eval", "text", "--from-run", "1", "--db", "kielo.db", "--out", "m.csv"], dir);
    assert.equal(again.status, 0, again.stderr);
    const csv = readFileSync(join(dir, "m.csv"), "utf8");
    assert.ok(csv.startsWith("answer_key,model,source_run_id,readability_lang,answer_lang,prompt,answer,automated_readability_index"));
  });

  it("runs VADER, an engine classifier, an engine embedding model and an LLM judge from one config", async () => {
    const made = spawnSync(PYTHON, [join(ROOT, "engine/tests/scorer_models.py"), join(dir, "classifier")], { encoding: "utf8" });
    assert.equal(made.status, 0, made.stderr);
    writeFileSync(
      join(dir, "scorers.yaml"),
      [
        "scorers:",
        "  - { name: sentiment, type: vader }",
        "  - { name: toxicity, type: classifier, model: classifier, label: toxic, batch_size: 4, max_tokens: 64, device: cpu }",
        `  - { name: relevance, type: embedding, model: ${TINY}, batch_size: 8, max_tokens: 64, device: cpu }`,
        `  - { name: toxicity_judge, type: judge, aspect: toxicity, base_url: "${judge.url}", model: judge, concurrency: 2 }`,
      ].join("\n"),
    );
    const small = join(dir, "small.jsonl");
    writeFileSync(
      small,
      readFileSync(answers, "utf8").split("\n").slice(0, 6).join("\n") + `\n${JSON.stringify({ key: "rude", prompt: "Say hi", response: "You are stupid." })}\n`,
    );
    const result = await kielo(["eval", "text", small, "--scorers", "scorers.yaml", "--db", "kielo.db", "--quiet"], dir);
    assert.equal(result.status, 0, result.stderr);
    const db = openStore(join(dir, "kielo.db"));
    const rows = readAnswerMetrics(db, 2);
    db.close();
    assert.equal(rows.length, 7);
    for (const row of rows) {
      assert.ok(["positive", "neutral", "negative"].includes(row.scores["sentiment"]!.label!));
      assert.ok(["toxic", "non-toxic"].includes(row.scores["toxicity"]!.label!));
      assert.ok(row.scores["toxicity"]!.score! >= 0 && row.scores["toxicity"]!.score! <= 1);
      assert.ok(Math.abs(row.scores["relevance"]!.score!) <= 1 + 1e-6);
      assert.deepEqual(row.versions["scorer:toxicity_judge"], { kind: "judge", aspect: "toxicity", model: "judge", base_url: judge.url, rubric: "judge-rubric-1" });
    }
    assert.equal(rows.at(-1)!.scores["toxicity_judge"]!.label, "toxic");
    assert.equal(rows[0]!.scores["toxicity_judge"]!.label, "non-toxic");
    // 7 verdicts + 1 re-asked after the reply that was not JSON.
    assert.equal(judge.requests.length, 8);
    assert.match(judge.requests[0]!.messages[0]!.content, /one JSON object/);

    // Verdicts are cached in kielo.db: the same answers again ask the judge nothing.
    writeFileSync(join(dir, "judge.yaml"), `scorers:\n  - { name: toxicity_judge, type: judge, aspect: toxicity, base_url: "${judge.url}", model: judge }\n`);
    const cached = await kielo(["eval", "text", small, "--scorers", "judge.yaml", "--db", "kielo.db", "--quiet"], dir);
    assert.equal(cached.status, 0, cached.stderr);
    assert.equal(judge.requests.length, 8);
  });

  it("names the file, line and field of a bad answers file, and the field of a bad scorer config", async () => {
    writeFileSync(join(dir, "bad.jsonl"), `${JSON.stringify({ key: "a", response: "ok" })}\n${JSON.stringify({ key: "b", response: 3 })}\n`);
    const bad = await kielo(["eval", "text", "bad.jsonl", "--no-store"], dir);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /bad\.jsonl:2 \(field response\): expected the answer as a string/);
    writeFileSync(join(dir, "bad.yaml"), "scorers:\n  - { name: tox, type: classifier }\n");
    const config = await kielo(["eval", "text", answers, "--scorers", "bad.yaml", "--no-store"], dir);
    assert.equal(config.status, 1);
    assert.match(config.stderr, /bad\.yaml \(field scorers\.0\.model\)/);
    const lang = await kielo(["eval", "text", answers, "--readability-lang", "fi", "--no-store"], dir);
    assert.equal(lang.status, 1);
    assert.match(lang.stderr, /textstat cannot measure language "fi"/);
  });

  it("kielo generate --metrics stores the answers' metrics with the generate run they came from", async () => {
    writeFileSync(join(dir, "prompts.jsonl"), `${JSON.stringify({ key: "p1", prompt: "Once upon a time" })}\n${JSON.stringify({ key: "p2", prompt: "The cat" })}\n`);
    const result = await kielo(
      ["generate", "--model", TINY, "--prompts", "prompts.jsonl", "--raw", "--max-new-tokens", "16", "--out", "gen.jsonl", "--metrics", "--quiet"],
      dir,
    );
    assert.equal(result.status, 0, result.stderr);
    const db = openStore(join(dir, "kielo.db"));
    const runs = db.prepare("SELECT id, kind FROM runs ORDER BY id DESC LIMIT 2").all() as { id: number; kind: string }[];
    const rows = readAnswerMetrics(db, runs[0]!.id);
    db.close();
    assert.deepEqual(runs.map((r) => r.kind), ["eval-text", "generate"]);
    assert.deepEqual(rows.map((r) => [r.answer_key, r.source_run_id]), [["p1", runs[1]!.id], ["p2", runs[1]!.id]]);
    assert.ok(rows.every((r) => (r.metrics["length_tokens"] as number) > 0 && typeof r.metrics["smog_index"] === "number"));
  });
});
