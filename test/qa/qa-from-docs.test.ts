/**
 * `kielo data qa-from-docs` end to end on real documents (Dolly records as TurkuNLP laid them out in
 * .docx, English and Finnish; a multi-page PDF with a text layer that the test writes from the
 * English .docx with PDFKit) with a loopback OpenAI-compatible server writing the pairs, then
 * `data compile` on the output; bad documents (a scan without a text layer, PDFs encrypted by qpdf
 * and by PDFKit, a truncated file) each fail with a message naming the file.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startOpenAIServer, type OpenAIServer } from "../eval/text/openai-server.ts";
import { dollyRecordsText, writeTextPdf } from "./build-pdf.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURES = join(ROOT, "test/fixtures/qa");
const TOKENIZER = join(ROOT, "fixtures/models/stories260K/hf");

function kielo(args: string[], cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, "bin/kielo.js"), ...args], { cwd });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("kielo data qa-from-docs", () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-qa-"));
  const pdf = join(dir, "dolly-first-12.pdf");
  let pdfPages = 0;
  let server: OpenAIServer;

  before(async () => {
    // The multi-page PDF: Dolly records 0–11 of the English .docx, written by PDFKit.
    pdfPages = await writeTextPdf(pdf, await dollyRecordsText(join(FIXTURES, "dolly-00000-en.docx"), 12));
    // The stand-in writer asks its questions about the first words of the context, repeats one
    // question per chunk (a near-duplicate to remove) and answers its first request with prose.
    server = await startOpenAIServer((messages, arrival) => {
      if (arrival === 1) return "Here are some questions you could ask!";
      const context = messages.at(-1)!.content.replace(/^CONTEXT:\n/, "");
      const words = context.split(/\s+/).slice(0, 6).join(" ");
      const lang = /in Finnish/.test(messages[0]!.content) ? "fi" : "en";
      const pairs = [
        { question: lang === "fi" ? `Mitä tekstissä kerrotaan aiheesta ${words}?` : `What does the text say about ${words}?`, answer: context.slice(0, 80) },
        { question: "What is the main topic of this passage?", answer: words },
        { question: "What is the main topic of this passage, briefly?", answer: words },
      ];
      return `\`\`\`json\n${JSON.stringify(pairs)}\n\`\`\``;
    });
  });
  after(() => server.close());

  const common = (out: string) => ["--out", out, "--backend", "openai", "--model", "writer", "--tokenizer", TOKENIZER, "--db", "kielo.db", "--quiet"];

  it("writes qa-context records from a PDF (with pages) and a DOCX that data compile takes as they are, and resumes from the cache", async () => {
    assert.ok(pdfPages >= 3, `${pdfPages} pages`);
    const result = await kielo(["data", "qa-from-docs", pdf, ...common("pdf.jsonl"), "--base-url", server.url, "--chunk-tokens", "1024", "--lang", "fi"], dir);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /not a valid JSON list of pairs; asking again/);
    // The first attempts decode as asked (greedy, --seed 0); the one retry samples at seed 1.
    assert.ok(server.requests.slice(0, -1).every((request) => request.seed === 0 && request.temperature === 0));
    assert.deepEqual([server.requests.at(-1)!.seed, server.requests.at(-1)!.temperature], [1, 0.7]);
    const read = (file: string) => readFileSync(join(dir, file), "utf8").trim().split("\n").map((line) => JSON.parse(line) as {
      id: string; lang: string; messages: { role: string; content: string }[]; meta: { source: { file: string; page?: number; pages?: [number, number] }; template: string };
    });
    const records = read("pdf.jsonl");
    const chunks = Number(/→ (\d+) chunks/.exec(result.stdout)![1]);
    // Per chunk one near-duplicate ("… this passage, briefly?"), and the topic question repeats across chunks.
    assert.match(result.stdout, new RegExp(`${3 * chunks} pairs, ${2 * chunks - 1} near-duplicate questions removed → ${chunks + 1} records`));
    const covered = new Set(records.flatMap((r) => {
      const [from, to] = r.meta.source.pages!;
      return Array.from({ length: to - from + 1 }, (_, k) => from + k);
    }));
    assert.deepEqual([...covered].sort((a, b) => a - b), Array.from({ length: pdfPages }, (_, k) => k + 1));
    assert.ok(records.every((r) => r.meta.source.page === r.meta.source.pages![0]));
    const first = records[0]!;
    assert.equal(first.meta.source.file, "dolly-first-12.pdf");
    assert.equal(first.lang, "fi");
    assert.equal(first.meta.template, "qa-context");
    assert.equal(first.messages[0]!.content, "Answer the question based on the context below.");
    assert.match(first.messages[1]!.content, /^\[context\]: Document 0 .*\[\/context\]\n\[question\] {2}Mitä tekstissä kerrotaan/s);

    const docx = join(FIXTURES, "dolly-00000-fi.docx");
    const fromDocx = await kielo(["data", "qa-from-docs", docx, ...common("docx.jsonl"), "--base-url", server.url, "--chunk-tokens", "16000"], dir);
    assert.equal(fromDocx.status, 0, fromDocx.stderr);
    assert.ok(read("docx.jsonl").some((r) => r.meta.source.file === "dolly-00000-fi.docx" && /Asiakirja 0/.test(r.messages[1]!.content)));

    const compiled = await kielo(["data", "compile", "pdf.jsonl", "--tokenizer", TOKENIZER, "--out", "compiled"], dir);
    assert.equal(compiled.status, 0, compiled.stderr);

    // A second run asks the server nothing: every chunk's pairs come from kielo.db.
    const before = server.requests.length;
    const again = await kielo(["data", "qa-from-docs", pdf, ...common("pdf2.jsonl"), "--base-url", server.url, "--chunk-tokens", "1024", "--lang", "fi"], dir);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(server.requests.length, before);
    assert.match(again.stdout, new RegExp(`${chunks} chunks \\(${chunks} from the cache`));
    assert.equal(readFileSync(join(dir, "pdf2.jsonl"), "utf8"), readFileSync(join(dir, "pdf.jsonl"), "utf8"));
  });

  it("reads Markdown, HTML and text with their headings", async () => {
    writeFileSync(join(dir, "notes.md"), "# Saunas\n\nA sauna is a small room heated to 70–100 °C.\n\n## Löyly\n\nWater thrown on the stones makes steam.\n");
    writeFileSync(join(dir, "page.html"), "<html><head><style>p{}</style></head><body><h1>Lakes</h1><p>Finland has 188,000 lakes.</p><script>x()</script></body></html>");
    writeFileSync(join(dir, "plain.txt"), "Helsinki is the capital.\n\nTurku is the oldest city.\n");
    const result = await kielo(["data", "qa-from-docs", "notes.md", "page.html", "plain.txt", ...common("small.jsonl"), "--base-url", server.url, "--chunk-tokens", "64"], dir);
    assert.equal(result.status, 0, result.stderr);
    const contexts = readFileSync(join(dir, "small.jsonl"), "utf8").trim().split("\n").map((line) => (JSON.parse(line) as { messages: { content: string }[] }).messages[1]!.content);
    assert.ok(contexts.some((c) => c.includes("[context]: Löyly\n\nWater thrown on the stones makes steam.")));
    assert.ok(contexts.some((c) => c.includes("[context]: Lakes\n\nFinland has 188,000 lakes.")) && !contexts.some((c) => c.includes("x()")));
  });

  it("names the file of a scanned PDF, an encrypted PDF and a truncated file", async () => {
    const truncated = join(dir, "truncated.pdf");
    writeFileSync(truncated, readFileSync(join(FIXTURES, "dolly-first-12.pdf")).subarray(0, 4000));
    const docx = join(dir, "truncated.docx");
    writeFileSync(docx, readFileSync(join(FIXTURES, "dolly-00000-en.docx")).subarray(0, 5000));
    copyFileSync(join(FIXTURES, "encrypted.pdf"), join(dir, "locked.pdf"));
    await writeTextPdf(join(dir, "locked-pdfkit.pdf"), "Saunas are small rooms heated to 70–100 °C.", { userPassword: "secret" });
    const cases: [string, RegExp][] = [
      [join(FIXTURES, "scanned-no-text.pdf"), /scanned-no-text\.pdf: no text on any of its 2 pages — a scanned PDF without a text layer\?/],
      ["locked.pdf", /locked\.pdf: the PDF is encrypted/],
      ["locked-pdfkit.pdf", /locked-pdfkit\.pdf: the PDF is encrypted/],
      [truncated, /truncated\.pdf: not a readable PDF .*truncated or damaged/],
      [docx, /truncated\.docx: not a readable \.docx/],
    ];
    for (const [file, message] of cases) {
      const result = await kielo(["data", "qa-from-docs", file, ...common("bad.jsonl"), "--base-url", server.url], dir);
      assert.equal(result.status, 1, `${file}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /internal error/);
    }
  });
});
