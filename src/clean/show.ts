/** The review view of cleaned/translated rows: `kielo clean --show` and `kielo translate --show`. */
import { KieloError } from "../util/errors.ts";
import { renderReview } from "../text/review.ts";
import type { ScaffoldingSource } from "../text/scaffolding.ts";
import { evaluateFile } from "./clean.ts";
import { loadCleanConfig, type CleanConfig } from "./config.ts";

export async function showRows(
  file: string,
  ids: readonly string[],
  options: { source: string | undefined; lang: string | undefined; config?: CleanConfig; scaffolding?: ScaffoldingSource; width?: number },
): Promise<string> {
  const wanted = ids.map((id) => id.trim()).filter((id) => id !== "");
  const { verdicts } = await evaluateFile({
    input: file,
    ...(options.source !== undefined ? { source: options.source } : {}),
    ...(options.lang !== undefined ? { lang: options.lang } : {}),
    config: options.config ?? loadCleanConfig(),
    ...(options.scaffolding !== undefined ? { scaffolding: options.scaffolding } : {}),
    quiet: true,
  });
  const byId = new Map(verdicts.map((verdict) => [verdict.record.id, verdict]));
  const missing = wanted.filter((id) => !byId.has(id));
  if (missing.length > 0) throw new KieloError(`${file}: no row with id ${missing.map((id) => JSON.stringify(id)).join(", ")}`);
  const entries = wanted.map((id) => {
    const verdict = byId.get(id)!;
    return {
      id,
      fields: verdict.fields.map((field) => ({ path: field.path, source: field.source ?? "(source unknown)", target: field.target })),
      findings: verdict.findings.map((finding) => `${finding.rule} (${finding.field}): ${finding.detail}`),
    };
  });
  // Piped output has no terminal width; $COLUMNS (if exported) still says how wide to draw.
  const columns = process.stdout.columns ?? (Number(process.env["COLUMNS"]) || 80);
  return renderReview(entries, options.width ?? columns);
}
