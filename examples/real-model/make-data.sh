#!/usr/bin/env bash
# Builds the data files of this folder from the real datasets in ../shared/data, with kielo's own
# converters (deterministic: the same inputs give byte-identical files; gzip without timestamps).
# Run from the repository root:  bash examples/real-model/make-data.sh [SHARED_DATA_DIR]
# See SOURCES.md for what each file is and its licence.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
SHARED="${1:-$ROOT/../shared/data}"
HERE="$ROOT/examples/real-model"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
kielo() { node "$ROOT/bin/kielo.js" "$@"; }
export KIELO_DB="$TMP/kielo.db"

# Finnish instructions: Dolly (DeepL), LIMA (machine-translated), OpenAssistant validation trees (DeepL).
kielo data convert "$SHARED/dolly-15k-fi/dolly_en_fi_aligned_first2198.jsonl" --format dolly --lang fi --out "$TMP/dolly.jsonl"
kielo data convert "$SHARED/lima-fi/fin_lima_translated-enhanced-trimmed.jsonl" --format dolly --lang fi \
  --column instruction=question --column response=answer --id-prefix lima-fi --out "$TMP/lima.jsonl"
kielo data convert "$SHARED/oasst1-fi/oasst1_validation_fi_aligned.jsonl" --format oasst --lang fi --out "$TMP/oasst.jsonl"
# Held out: every tenth Dolly record (220 of 2,198); never trained on, only evaluated.
awk 'NR % 10 == 0' "$TMP/dolly.jsonl" > "$TMP/heldout.jsonl"
awk 'NR % 10 != 0' "$TMP/dolly.jsonl" > "$TMP/train.jsonl"
cat "$TMP/lima.jsonl" "$TMP/oasst.jsonl" >> "$TMP/train.jsonl"
gzip -9 -n -c "$TMP/train.jsonl" > "$HERE/sft-fi.train.jsonl.gz"
gzip -9 -n -c "$TMP/heldout.jsonl" > "$HERE/sft-fi.heldout.jsonl.gz"

# English preference pairs: UltraFeedback (binarized); its own train and eval subsets.
kielo data convert "$SHARED/ultrafeedback-binarized/train_clean.jsonl" --format pairs --id-prefix uf-train --out "$TMP/dpo-train.jsonl"
kielo data convert "$SHARED/ultrafeedback-binarized/eval_clean.jsonl" --format pairs --id-prefix uf-eval --out "$TMP/dpo-heldout.jsonl"
gzip -9 -n -c "$TMP/dpo-train.jsonl" > "$HERE/dpo-en.train.jsonl.gz"
gzip -9 -n -c "$TMP/dpo-heldout.jsonl" > "$HERE/dpo-en.heldout.jsonl.gz"

for f in "$HERE"/*.jsonl.gz; do printf '%6d rows  %8d bytes  %s\n' "$(gzip -dc "$f" | wc -l)" "$(stat -c %s "$f")" "${f#"$ROOT"/}"; done
