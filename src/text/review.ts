/**
 * The review view: source and translation of chosen rows, side by side on a wide terminal and one
 * above the other on a narrow one, with the cleaning rules each row broke.
 */
export interface ReviewField {
  path: string;
  source: string;
  target: string;
}

export interface ReviewEntry {
  id: string;
  fields: ReviewField[];
  /** `rule (field): detail` lines; empty when the row broke none. */
  findings: string[];
}

export function renderReview(entries: readonly ReviewEntry[], width: number): string {
  const out: string[] = [];
  const sideBySide = width >= 100;
  for (const entry of entries) {
    out.push("═".repeat(Math.min(width, 120)));
    out.push(`${entry.id}  ${entry.findings.length === 0 ? "✓ no rule broken" : `✗ ${entry.findings.length} finding(s)`}`);
    for (const finding of entry.findings) out.push(`  ✗ ${finding}`);
    for (const field of entry.fields) {
      out.push(`── ${field.path} ${"─".repeat(Math.max(0, Math.min(width, 120) - field.path.length - 4))}`);
      if (sideBySide) {
        const column = Math.floor((Math.min(width, 200) - 3) / 2);
        const left = wrap(field.source, column);
        const right = wrap(field.target, column);
        out.push(`${pad("source", column)} │ translation`);
        for (let i = 0; i < Math.max(left.length, right.length); i++) {
          out.push(`${pad(left[i] ?? "", column)} │ ${right[i] ?? ""}`);
        }
      } else {
        out.push("source:");
        out.push(...wrap(field.source, width - 2).map((line) => `  ${line}`));
        out.push("translation:");
        out.push(...wrap(field.target, width - 2).map((line) => `  ${line}`));
      }
    }
  }
  return `${out.join("\n")}\n`;
}

/** Hard-wrap text to `width` columns, keeping its own line breaks. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  const max = Math.max(10, width);
  for (const raw of text.split("\n")) {
    let line = raw;
    if (line === "") lines.push("");
    while (line.length > 0) {
      if ([...line].length <= max) {
        lines.push(line);
        break;
      }
      const chars = [...line];
      let cut = chars.slice(0, max).join("").lastIndexOf(" ");
      if (cut <= 0) cut = chars.slice(0, max).join("").length;
      lines.push(line.slice(0, cut));
      line = line.slice(cut).replace(/^ /, "");
    }
  }
  return lines;
}

function pad(text: string, width: number): string {
  const length = [...text].length;
  return length >= width ? text : text + " ".repeat(width - length);
}
