/**
 * Text out of documents, as blocks (headings and paragraphs) that remember their page:
 * - PDF through pdf.js (`unpdf`), one page at a time, so every block has its page number;
 * - DOCX through `mammoth` (to HTML, so Word headings stay headings);
 * - HTML through `htmlparser2` (h1–h6 are headings; p, li, pre, td, blockquote … paragraphs;
 *   script and style dropped);
 * - Markdown: ATX headings (`# …`), paragraphs between blank lines, fenced code kept whole;
 * - plain text: paragraphs between blank lines.
 * A document kielo cannot read (encrypted, damaged or truncated, a scan without a text layer) is a
 * KieloError that names the file and says why.
 */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { Parser } from "htmlparser2";
import mammoth from "mammoth";
import { extractText, getDocumentProxy } from "unpdf";
import { KieloError } from "../util/errors.ts";

export interface Block {
  kind: "heading" | "paragraph";
  text: string;
  /** 1-based page (PDF only). */
  page?: number;
}

export const DOCUMENT_KINDS = [".pdf", ".docx", ".md", ".markdown", ".html", ".htm", ".txt"];

export async function readDocument(path: string): Promise<Block[]> {
  const kind = extname(path).toLowerCase();
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new KieloError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let blocks: Block[];
  if (kind === ".pdf") blocks = await pdfBlocks(path, bytes);
  else if (kind === ".docx") blocks = await docxBlocks(path, bytes);
  else if (kind === ".html" || kind === ".htm") blocks = htmlBlocks(bytes.toString("utf8"));
  else if (kind === ".md" || kind === ".markdown") blocks = markdownBlocks(bytes.toString("utf8"));
  else if (kind === ".txt") blocks = paragraphs(bytes.toString("utf8")).map((text) => ({ kind: "paragraph", text }));
  else throw new KieloError(`${path}: cannot read ${kind || "files without an extension"} documents`, { hint: `kielo reads ${DOCUMENT_KINDS.join(", ")}` });
  if (blocks.every((block) => block.text.trim() === "")) throw new KieloError(`${path}: the document holds no text`);
  return blocks;
}

function paragraphs(text: string): string[] {
  return text
    .replace(/\r\n?/g, "\n")
    .split(/\n[ \t]*\n/)
    .map((part) => part.replace(/[ \t]*\n[ \t]*/g, " ").replace(/[ \t]+/g, " ").trim())
    .filter((part) => part !== "");
}

async function pdfBlocks(path: string, bytes: Buffer): Promise<Block[]> {
  let pages: string[];
  try {
    const pdf = await getDocumentProxy(new Uint8Array(bytes));
    pages = (await extractText(pdf, { mergePages: false })).text as string[];
  } catch (error) {
    const name = (error as { name?: string }).name ?? "";
    if (name === "PasswordException") {
      throw new KieloError(`${path}: the PDF is encrypted (password protected)`, { hint: "save an unprotected copy (e.g. qpdf --decrypt in.pdf out.pdf) and give that" });
    }
    throw new KieloError(`${path}: not a readable PDF (${(error as Error).message}); the file may be truncated or damaged`, {
      hint: "open it in a PDF viewer; re-export or download it again",
    });
  }
  const blocks: Block[] = [];
  pages.forEach((text, i) => {
    for (const paragraph of paragraphs(text)) blocks.push({ kind: "paragraph", text: paragraph, page: i + 1 });
  });
  if (blocks.length === 0) {
    throw new KieloError(`${path}: no text on any of its ${pages.length} pages — a scanned PDF without a text layer?`, {
      hint: "run OCR first (e.g. ocrmypdf in.pdf out.pdf) and give the result",
    });
  }
  return blocks;
}

async function docxBlocks(path: string, bytes: Buffer): Promise<Block[]> {
  try {
    const { value } = await mammoth.convertToHtml({ buffer: bytes });
    return htmlBlocks(value);
  } catch (error) {
    throw new KieloError(`${path}: not a readable .docx (${(error as Error).message}); the file may be truncated or damaged`);
  }
}

const BLOCK_TAGS = new Set(["p", "li", "pre", "td", "th", "blockquote", "dd", "dt", "figcaption", "caption", "div", "section", "article"]);
const SKIP_TAGS = new Set(["script", "style", "noscript", "template", "head"]);

export function htmlBlocks(html: string): Block[] {
  const blocks: Block[] = [];
  let text = "";
  let skip = 0;
  const flush = (kind: Block["kind"]) => {
    const clean = text.replace(/\s+/g, " ").trim();
    if (clean !== "") blocks.push({ kind, text: clean });
    text = "";
  };
  const parser = new Parser(
    {
      onopentag(name) {
        if (SKIP_TAGS.has(name)) skip += 1;
        else if (/^h[1-6]$/.test(name) || BLOCK_TAGS.has(name)) flush("paragraph");
        else if (name === "br") text += "\n";
      },
      ontext(chunk) {
        if (skip === 0) text += chunk;
      },
      onclosetag(name) {
        if (SKIP_TAGS.has(name)) skip = Math.max(0, skip - 1);
        else if (/^h[1-6]$/.test(name)) flush("heading");
        else if (BLOCK_TAGS.has(name)) flush("paragraph");
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  flush("paragraph");
  return blocks;
}

export function markdownBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let paragraph: string[] = [];
  let fence: string[] | undefined;
  const flush = () => {
    const text = paragraph.join(" ").replace(/\s+/g, " ").trim();
    if (text !== "") blocks.push({ kind: "paragraph", text });
    paragraph = [];
  };
  for (const line of markdown.replace(/\r\n?/g, "\n").split("\n")) {
    if (fence !== undefined) {
      fence.push(line);
      if (/^\s*(```|~~~)/.test(line)) {
        blocks.push({ kind: "paragraph", text: fence.join("\n") });
        fence = undefined;
      }
      continue;
    }
    if (/^\s*(```|~~~)/.test(line)) {
      flush();
      fence = [line];
    } else if (/^#{1,6}\s/.test(line)) {
      flush();
      blocks.push({ kind: "heading", text: line.replace(/^#{1,6}\s+/, "").replace(/\s+#+\s*$/, "").trim() });
    } else if (line.trim() === "") {
      flush();
    } else {
      paragraph.push(line.trim());
    }
  }
  if (fence !== undefined) blocks.push({ kind: "paragraph", text: fence.join("\n") });
  flush();
  return blocks;
}
