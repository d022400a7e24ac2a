/**
 * Format directives and markup tags on real gettext translations the benchmark does not use
 * (test/fixtures/clean/gettext-heldout.jsonl: apt, coreutils, grep, sed, tar, wget in Japanese and
 * Finnish; gtk20-properties, shared-mime-info, software-properties in Hindi).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadCleanConfig } from "../../src/clean/config.ts";
import { RULE_FUNCTIONS, type FieldContext } from "../../src/clean/rules.ts";
import { anchorDifference, formatAnchors } from "../../src/text/format-anchors.ts";

const rows = readFileSync(fileURLToPath(new URL("../fixtures/clean/gettext-heldout.jsonl", import.meta.url)), "utf8")
  .trim()
  .split("\n")
  .map((line) => JSON.parse(line) as { domain: string; lang: string; en: string; target: string });
const config = loadCleanConfig();
const context = (target: string, source: string, targetLang: string): FieldContext => ({
  path: "text", target, source, targetLang, sourceLang: "en", bounds: undefined, alignment: undefined, translatorIssues: [], scaffolding: [],
});

test("directives, positions dropped; literal percent signs and prose are not directives", () => {
  assert.deepEqual(formatAnchors("%s: option '%s%s' is ambiguous; %2$d of %-5.2f, %(name)s {0} <b>x</b> <key name='a'>"), ["%s", "%s", "%s", "%d", "%-5.2f", "%(name)s", "{0}", "<b>", "</b>", "<key>"]);
  assert.deepEqual(formatAnchors("50% of the 100%% and 20%off"), []);
  assert.deepEqual(anchorDifference("Copy %s to %s", "Kopioi %2$s kohteeseen %1$s"), { missing: [], extra: [] });
  assert.deepEqual(anchorDifference("Copy %s to %s", "Kopioi %s"), { missing: ["%s"], extra: [] });
});

test("real gettext translations keep their directives; a translation cut before one is flagged", () => {
  const rule = (target: string, source: string, lang: string) => RULE_FUNCTIONS.placeholder(context(target, source, lang), config);
  let withDirectives = 0;
  let cutCaught = 0;
  let cuts = 0;
  for (const row of rows) {
    assert.deepEqual(rule(row.target, row.en, row.lang), [], `${row.en} → ${row.target}`);
    const anchors = formatAnchors(row.en);
    if (anchors.length === 0) continue;
    withDirectives += 1;
    // Cut right before the target's last directive: what a translation stopped short there looks like.
    const starts = [...row.target.replace(/%%/g, "  ").matchAll(/%|\{\d+\}|<\/?[A-Za-z][\w:-]*[\s>]/g)].map((match) => match.index);
    const last = starts.length > 0 ? starts[starts.length - 1]! : -1;
    if (last <= 0) continue;
    cuts += 1;
    if (rule(row.target.slice(0, last), row.en, row.lang).length > 0) cutCaught += 1;
  }
  assert.ok(withDirectives >= 80, `${withDirectives} messages with directives`);
  assert.equal(cutCaught, cuts);
});
