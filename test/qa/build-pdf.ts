/**
 * Builds the PDFs of the qa-from-docs tests with a real PDF writer, PDFKit (npm `pdfkit`, a
 * devDependency): text set in Times-Roman with a text layer, flowed onto as many A4 pages as it
 * needs, optionally encrypted (AES-256, PDF 1.7 extension level 3).
 */
import { createWriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import mammoth from "mammoth";
import PDFDocument from "pdfkit";

// PDFKit's standard 14 fonts encode text as WinAnsi (Latin-1 and these 27 more); any other
// character would be written as a wrong glyph, so it is written as "?".
const WIN_ANSI_EXTRA = new Set("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ");
const winAnsi = (text: string) => [...text].map((c) => (c.codePointAt(0)! <= 0xff || WIN_ANSI_EXTRA.has(c) ? c : "?")).join("");

/** The text of Dolly records 0 … records − 1 as TurkuNLP laid them out in the .docx. */
export async function dollyRecordsText(docx: string, records: number): Promise<string> {
  const { value } = await mammoth.extractRawText({ path: docx });
  const end = value.indexOf(`Document ${records}\n`);
  if (end < 0) throw new Error(`${docx} has fewer than ${records + 1} records`);
  return value.slice(0, end).replace(/\n{3,}/g, "\n\n").trim();
}

/** Writes `text` as a PDF at `out`; returns its page count. */
export async function writeTextPdf(out: string, text: string, options: { userPassword?: string } = {}): Promise<number> {
  const doc = new PDFDocument({
    size: "A4",
    margin: 72,
    bufferPages: true,
    info: { Title: "Dolly records", Producer: "PDFKit (kielo tests)" },
    ...(options.userPassword === undefined ? {} : { userPassword: options.userPassword, ownerPassword: "owner", pdfVersion: "1.7ext3" as const }),
  });
  const file = createWriteStream(out);
  doc.pipe(file);
  doc.font("Times-Roman").fontSize(11).text(winAnsi(text), { align: "left" });
  const pages = doc.bufferedPageRange().count;
  doc.end();
  await finished(file);
  return pages;
}
