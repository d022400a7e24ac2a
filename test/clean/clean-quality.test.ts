/**
 * Cleaning quality on real data (the `npm run bench:clean` set): ≥ 95 % of corrupted rows
 * dropped and ≤ 2 % of uncorrupted ones, for every corruption type separately too.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CORRUPTIONS, formatBench, runBench } from "../../scripts/clean-quality.ts";

for (const seed of [1, 2]) {
  test(`seed ${seed}: the cleaner catches ≥ 95 % of corrupted rows and drops ≤ 2 % of clean ones`, async () => {
    const result = await runBench(seed);
    const table = formatBench(result);
    assert.ok(result.cleanRows >= 150, table);
    assert.ok(result.corruptedRows >= 150, table);
    assert.ok(result.catchRate >= 0.95, table);
    assert.ok(result.falseDropRate <= 0.02, table);
    for (const kind of CORRUPTIONS) {
      const row = result.table.find((entry) => entry.label === kind);
      assert.ok(row !== undefined && row.rows > 0, `no ${kind} rows\n${table}`);
      assert.ok(row.dropped / row.rows >= 0.9, `${kind}: ${row.dropped}/${row.rows}\n${table}`);
    }
    // The rule named after a corruption is the one that catches it (not only a side effect).
    const named = { truncated: "truncated", repetition: "repetition", "wrong-language": "wrong-language", scaffolding: "scaffolding", empty: "empty", untranslated: "untranslated" } as const;
    for (const [kind, rule] of Object.entries(named)) {
      const row = result.table.find((entry) => entry.label === kind)!;
      assert.ok((row.rules[rule] ?? 0) / row.rows >= 0.6, `${kind} caught by ${rule}: ${row.rules[rule]}/${row.rows}\n${table}`);
    }
  });
}
