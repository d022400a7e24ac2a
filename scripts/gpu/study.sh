#!/usr/bin/env bash
# The SmolLM2 mini study (studies/smollm2-mini.yaml) on a bare GPU host: Node from the .gpu bundle
# (scripts/gpu/bundle.sh) or the checkout, the engine's Python from KIELO_PYTHON / .venv / python3,
# the model in fixtures/models/smollm2-135m-instruct (npm run setup, or scripts/gpu/model-assemble.sh).
# Runs `kielo study plan`, `kielo study run` and `kielo study report`; the report folder is copied
# to $OUT (the device tool's output folder) or KIELO_STUDY_WORK/report.
#
# Environment:
#   KIELO_STUDY_FILE   the study (default studies/smollm2-mini.yaml)
#   KIELO_STUDY_WORK   its work dir (default runs/study-<name>, git-ignored); a later call continues
#                      where the last one stopped (finished steps are skipped)
#   KIELO_STUDY_ONLY   comma-separated --only globs (default: every step)
#   KIELO_STUDY_TIME_S stop `kielo study run` after this many seconds (SIGINT: running trainings
#                      save a checkpoint) so that status and report still fit in the call; the next
#                      call continues (default: no limit)
# With $OUT set, the report, kielo.db and the step logs also come back as $OUT/study.tar.gz (the
# device tool returns at most 8 files).
# Exits with `kielo study run`'s status (1 when a step failed; the summary names its log).
set -u -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
NAME=study
STUDY="${KIELO_STUDY_FILE:-studies/smollm2-mini.yaml}"
WORK="${KIELO_STUDY_WORK:-$ROOT/runs/study-$(basename "$STUDY" .yaml)}"
mkdir -p "$WORK"
export KIELO_DB="$WORK/kielo.db"
# shellcheck source=scripts/gpu/lib.sh
source "$ROOT/scripts/gpu/lib.sh"
setup_python || exit 1
setup_node || exit 1
if [ ! -f "$ROOT/fixtures/models/smollm2-135m-instruct/model.safetensors" ]; then
  echo "study.sh: no model in fixtures/models/smollm2-135m-instruct: run \`npm run setup\` (or scripts/gpu/model-assemble.sh)" >&2
  exit 1
fi
nvidia-smi -L 2>/dev/null || echo "study.sh: no nvidia-smi; GPU steps will fail" >&2

only=()
if [ -n "${KIELO_STUDY_ONLY:-}" ]; then
  IFS=',' read -r -a globs <<< "$KIELO_STUDY_ONLY"
  for g in "${globs[@]}"; do only+=(--only "$g"); done
fi
started=$(date +%s)
kielo study plan "$STUDY" --work-dir "$WORK" | tail -3
if [ -n "${KIELO_STUDY_TIME_S:-}" ]; then
  timeout --signal=INT --kill-after=60 "$KIELO_STUDY_TIME_S" "$NODE" "$ROOT/bin/kielo.js" study run "$STUDY" --work-dir "$WORK" "${only[@]}"
else
  kielo study run "$STUDY" --work-dir "$WORK" "${only[@]}"
fi
status=$?
echo "study.sh: run took $(( $(date +%s) - started )) s (exit $status)"
kielo study status "$STUDY" --work-dir "$WORK"
kielo study report "$STUDY" --work-dir "$WORK" --out "$WORK/report" && sed -n '1,60p' "$WORK/report/report.md"
if [ -n "${OUT:-}" ]; then
  # Everything but model weights and checkpoints: the report, the store its links point into, logs, results.
  tar -czf "$OUT/study.tar.gz" -C "$WORK" --exclude='*.safetensors' --exclude='*.bin' --exclude='*.pt' --exclude='checkpoint*' --exclude='*.tokens' --exclude=tokenizer.json . \
    && ls -l "$OUT/study.tar.gz"
fi
exit $status
