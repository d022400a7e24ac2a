/**
 * `kielo eval text --readability-lang auto` on real answers in four languages (Dolly English,
 * M-IFEval's Spanish and French prompts, Dolly and OASST Finnish): each answer's textstat block
 * must be the one the explicit setting of its detected language gives (kielo run with that
 * setting, and the Python textstat package set to it); Finnish, which textstat cannot measure,
 * falls back to en_US as docs/text-metrics.md says.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { TEXT_QUALITY_FIELDS } from "../../../src/eval/text/textstat/textstat.ts";
import { answerCorpus } from "./corpus.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PYTHON = process.env["KIELO_PYTHON"] ?? join(ROOT, ".venv/bin/python");
const PEER = join(ROOT, "test/eval/text/textstat_peer.py");

type Row = Record<string, string | number | null>;

function kielo(args: string[], cwd: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, "bin/kielo.js"), ...args], { cwd });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (status) => resolve({ status, stderr }));
  });
}

function textstatPeer(texts: { text: string; lang: string }[]) {
  return spawnSync(PYTHON, [PEER], { input: JSON.stringify({ texts }), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

describe("eval text --readability-lang auto", () => {
  it("measures each answer in its detected language's setting; Finnish in en_US", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kielo-readability-auto-"));
    const corpus = answerCorpus(4);
    // Interleaved, so that a setting carried over from the previous answer would show.
    const picked = [0, 1, 2, 3].flatMap((i) =>
      ["dolly-en", "m-ifeval-prompt-es", "m-ifeval-prompt-fr", "dolly-fi", "oasst-fi"].map((source) => corpus.filter((c) => c.source === source)[i]!),
    );
    writeFileSync(join(dir, "mixed.jsonl"), picked.map((c, i) => `${JSON.stringify({ key: `${c.source}-${i}`, prompt: c.prompt, response: c.text })}\n`).join(""));
    const run = async (lang: string): Promise<Row[]> => {
      const result = await kielo(["eval", "text", "mixed.jsonl", "--readability-lang", lang, "--no-store", "--quiet", "--out", `${lang}.jsonl`], dir);
      assert.equal(result.status, 0, result.stderr);
      return readFileSync(join(dir, `${lang}.jsonl`), "utf8").trim().split("\n").map((line) => JSON.parse(line) as Row);
    };
    const auto = await run("auto");
    const explicit: Record<string, Row[]> = { en_US: await run("en_US"), es: await run("es"), fr: await run("fr") };

    // The setting auto must pick for each language: textstat's own for es and fr; en_US for
    // English (textstat's default) and for Finnish (Pyphen has no Finnish dictionary).
    const setting: Record<string, string> = { en: "en_US", es: "es", fr: "fr", fi: "en_US" };
    const reference = textstatPeer(picked.map((c) => ({ text: c.text, lang: setting[c.lang]! })));
    assert.equal(reference.status, 0, reference.stderr);
    const python = (JSON.parse(reference.stdout) as { results: Row[] }).results;
    auto.forEach((row, i) => {
      const lang = picked[i]!.lang;
      // The premise: langdetect tells these answers' languages right.
      assert.equal(row["answer_lang"], lang, `${row["answer_key"]}: detected ${row["answer_lang"]}`);
      assert.equal(row["readability_lang"], setting[lang], String(row["answer_key"]));
      for (const field of TEXT_QUALITY_FIELDS) {
        assert.equal(row[field], explicit[setting[lang]!]![i]![field], `${row["answer_key"]} ${field}: auto vs --readability-lang ${setting[lang]}`);
        assert.equal(row[field], python[i]![field], `${row["answer_key"]} ${field}: auto vs textstat.set_lang(${setting[lang]})`);
      }
    });
    // The settings do differ on these texts (syllables by Pyphen, the Flesch constants), so the
    // checks above could tell a wrong choice.
    for (const lang of ["es", "fr"]) {
      const rows = auto.filter((row) => row["answer_lang"] === lang);
      assert.ok(rows.every((row) => row["flesch_reading_ease"] !== explicit["en_US"]!.find((r) => r["answer_key"] === row["answer_key"])!["flesch_reading_ease"]), lang);
    }

    // Finnish: Python's textstat takes set_lang("fi") but fails on the first measure (Pyphen
    // has no fi dictionary), and kielo refuses the explicit setting — auto is the way to score
    // mixed answers, with Finnish measured as en_US.
    const finnish = textstatPeer([{ text: picked.find((c) => c.lang === "fi")!.text, lang: "fi" }]);
    assert.notEqual(finnish.status, 0);
    assert.match(finnish.stderr, /KeyError/);
    const refused = await kielo(["eval", "text", "mixed.jsonl", "--readability-lang", "fi", "--no-store", "--quiet"], dir);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /textstat cannot measure language "fi".*\n.*--readability-lang en_US/);
  });
});
