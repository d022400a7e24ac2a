/**
 * `kielo runs [list]`, `kielo runs show ID`, `kielo runs compare A B …`: the runs recorded in
 * kielo.db, with their true status (docs/runs.md).
 */
import type { Command } from "commander";
import { compareRuns } from "../../runs/compare.ts";
import { formatComparison, formatRunDetail, formatRunList } from "../../runs/format.ts";
import { STATUSES, type ShownStatus } from "../../runs/status.ts";
import { listRunItems, runDetail } from "../../runs/views.ts";
import { openStore, type Store } from "../../store/db.ts";
import { KieloError } from "../../util/errors.ts";
import { numberArg } from "../options.ts";

interface ListFlags {
  kind?: string;
  status?: ShownStatus;
  label?: string;
  since?: string;
  limit?: number;
  json?: boolean;
}

function statusArg(value: string): ShownStatus {
  if (!(STATUSES as readonly string[]).includes(value)) {
    throw new KieloError(`--status must be one of ${STATUSES.join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value as ShownStatus;
}

/** `--since 2026-12-01`, `--since 2026-12-01T10:00`, or a span back from now: `--since 3h`, `2d`, `30m`. */
export function sinceArg(value: string, now = Date.now()): string {
  const span = /^(\d+(?:\.\d+)?)([mhd])$/.exec(value.trim());
  if (span) {
    const seconds = Number(span[1]) * { m: 60, h: 3600, d: 86400 }[span[2] as "m" | "h" | "d"];
    return new Date(now - seconds * 1000).toISOString();
  }
  const time = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time)) {
    throw new KieloError(`--since must be a date (2026-12-01, 2026-12-01T10:00Z) or a span back from now (30m, 3h, 2d), got ${JSON.stringify(value)}`);
  }
  return new Date(time).toISOString();
}

function idArg(value: string): number {
  return numberArg("run id", { integer: true, min: 1 })(value);
}

/** Open kielo.db, compute a view, print it as JSON or text. */
function show<T>(json: boolean | undefined, view: (db: Store) => T, text: (value: T) => string): void {
  const db = openStore();
  try {
    const value = view(db);
    process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : text(value));
  } finally {
    db.close();
  }
}

export function registerRuns(program: Command): void {
  const runs = program.command("runs").description("list, show and compare the runs recorded in kielo.db (KIELO_DB)");
  // `list` is the default: `kielo runs --kind sft` lists. (The options live on `list`, not on
  // `runs`, so that `kielo runs show 3 --json` gives --json to `show`.)
  runs
    .command("list", { isDefault: true })
    .description("the runs, newest first: id, kind, label, status, start, duration, key metrics")
    .option("--kind <kind>", "only runs of this kind (sft, dpo, eval-ifeval, eval-text, generate, translate, compile …)")
    .option("--status <status>", `only runs with this status (${STATUSES.join(", ")})`, statusArg)
    .option("--label <text>", "only runs whose label contains this text (case-insensitive)")
    .option("--since <when>", "only runs started since a date (2026-12-01) or a span back from now (30m, 3h, 2d)", (v: string) => sinceArg(v))
    .option("--limit <n>", "at most this many runs (newest first)", numberArg("--limit", { integer: true, min: 1 }))
    .option("--json", "print JSON")
    .action((flags: ListFlags) => show(flags.json, (db) => listRunItems(db, flags), formatRunList));

  runs
    .command("show")
    .description("one run: settings, inputs with their hashes, metrics, artefacts and log paths")
    .argument("<id>", "run id (from `kielo runs`)", idArg)
    .option("--json", "print JSON")
    .action((id: number, flags: { json?: boolean }) => show(flags.json, (db) => runDetail(db, id), formatRunDetail));

  runs
    .command("compare")
    .description("runs side by side: settings that differ, metrics, IFEval per category, text-metric summaries")
    .argument("<ids...>", "two or more run ids", (value: string, previous: number[] | undefined) => [...(previous ?? []), idArg(value)])
    .option("--json", "print JSON")
    .action((ids: number[], flags: { json?: boolean }) => {
      if (ids.length < 2) throw new KieloError("kielo runs compare needs at least two run ids", { hint: "`kielo runs` lists the runs and their ids." });
      show(flags.json, (db) => compareRuns(db, ids), formatComparison);
    });
}
