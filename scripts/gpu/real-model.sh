#!/usr/bin/env bash
# The whole post-training loop on the real SmolLM2-135M-Instruct, through kielo's CLI and engine, on a
# GPU host — or at tiny sizes on the CPU with KIELO_RM_DEVICE=cpu (test/gpu/real-model.test.ts).
#
#   bash scripts/gpu/real-model.sh     (from a copy of the repository; run it from anywhere)
#
# Needs the imported model in fixtures/models/smollm2-135m-instruct (`npm run setup`; on a GPU host
# scripts/gpu/model-assemble.sh, docs/gpu.md). Phases, each timed and logged:
#   doctor     kielo doctor (on cuda a GPU must be found)
#   sft-lora   kielo train sft recipes/smollm2-fi-sft-lora.yaml: LoRA on Finnish instructions, held-out eval
#   sft-full   kielo train sft recipes/smollm2-fi-sft-full.yaml: full fine-tune, same data
#   dpo        kielo train dpo recipes/smollm2-dpo.yaml: from the sft-lora adapter, UltraFeedback pairs;
#              held-out reward accuracy
#   heldout    held-out Finnish loss of base, sft-lora and sft-full on the same compiled tokens (before →
#              after; checked against the engine's own eval loss)
#   answers    kielo generate on held-out Finnish prompts, per model: share in Finnish (langdetect),
#              share that loops, share that copies the prompt (scripts/gpu/answer-stats.ts); the
#              same for the held-out records' own answers (the `human` column)
#   ifeval     kielo generate on the English IFEval prompts + kielo eval ifeval, per model: strict
#              prompt- and instruction-level accuracy
#   merge      kielo merge of the DPO adapter
#   load       the merged folder loaded by transformers (model, tokenizer, chat template); its logits
#              vs the adapter's; its answer to one Finnish prompt
#
# Work folder: KIELO_RM_WORK (default runs/real-model in the checkout, git-ignored) keeps the runs
# and every phase's results, so the phases can be split over several calls on a warm GPU host (the
# ifeval phase alone can take minutes per model): a later call reuses earlier runs and the final
# table shows all results so far. KIELO_RM_FRESH=1 empties it first.
#
# Environment (defaults: GPU / CPU rehearsal):
#   KIELO_RM_DEVICE          cuda (default) or cpu
#   KIELO_RM_DTYPE           bf16 / fp32
#   KIELO_RM_PHASES          comma-separated subset of the phases above (default: all)
#   KIELO_RM_ANSWER_MODELS   models for `answers` (default base,sft-lora,sft-full,dpo / base,dpo)
#   KIELO_RM_IFEVAL_MODELS   models for `ifeval` (default base,sft-lora,sft-full,dpo / dpo)
#   KIELO_RM_FI_PROMPTS      held-out Finnish prompts (default 219, all / 2)
#   KIELO_RM_FI_MAX_NEW_TOKENS     (default 512 / 8)
#   KIELO_RM_IFEVAL_PROMPTS        the first N of resources/ifeval/input_data.jsonl (default 541 / 2)
#   KIELO_RM_IFEVAL_MAX_NEW_TOKENS (default 1280 / 8)
#   KIELO_RM_BATCH           generation batch size (default 64 / 4)
#   KIELO_RM_SFT_ROWS, KIELO_RM_DPO_ROWS, KIELO_RM_HELDOUT_ROWS
#                            training/held-out rows used (default all / 2, 2, 2); below "all" the
#                            recipes become one epoch of steps of 2 sequences (micro-batch 1), max
#                            length 384, constant lr without warm-up
#   OUT                      folder for real-model-summary.txt and real-model-logs.tar.gz
#
# Prints the phase table and the results table last; exits 1 if a phase failed, 2 for a bad setting.
set -u -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
NAME=real-model
DEVICE="${KIELO_RM_DEVICE:-cuda}"
ALL_PHASES="doctor,sft-lora,sft-full,dpo,heldout,answers,ifeval,merge,load"
PHASES="${KIELO_RM_PHASES:-$ALL_PHASES}"
ALL_MODELS="base,sft-lora,sft-full,dpo"
case "$DEVICE" in
  cuda)
    DTYPE="${KIELO_RM_DTYPE:-bf16}"
    ANSWER_MODELS="${KIELO_RM_ANSWER_MODELS:-$ALL_MODELS}"; IFEVAL_MODELS="${KIELO_RM_IFEVAL_MODELS:-$ALL_MODELS}"
    FI_PROMPTS="${KIELO_RM_FI_PROMPTS:-219}"; FI_MAX_NEW="${KIELO_RM_FI_MAX_NEW_TOKENS:-512}"
    IFEVAL_PROMPTS="${KIELO_RM_IFEVAL_PROMPTS:-541}"; IFEVAL_MAX_NEW="${KIELO_RM_IFEVAL_MAX_NEW_TOKENS:-1280}"
    BATCH="${KIELO_RM_BATCH:-64}"
    SFT_ROWS="${KIELO_RM_SFT_ROWS:-all}"; DPO_ROWS="${KIELO_RM_DPO_ROWS:-all}"; HELDOUT_ROWS="${KIELO_RM_HELDOUT_ROWS:-all}"
    ;;
  cpu)
    # The trainer picks CUDA whenever torch sees one. One thread: competing OpenMP threads on a busy
    # machine make small models many times slower.
    export CUDA_VISIBLE_DEVICES="" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
    DTYPE="${KIELO_RM_DTYPE:-fp32}"
    ANSWER_MODELS="${KIELO_RM_ANSWER_MODELS:-base,dpo}"; IFEVAL_MODELS="${KIELO_RM_IFEVAL_MODELS:-dpo}"
    FI_PROMPTS="${KIELO_RM_FI_PROMPTS:-2}"; FI_MAX_NEW="${KIELO_RM_FI_MAX_NEW_TOKENS:-8}"
    IFEVAL_PROMPTS="${KIELO_RM_IFEVAL_PROMPTS:-2}"; IFEVAL_MAX_NEW="${KIELO_RM_IFEVAL_MAX_NEW_TOKENS:-8}"
    BATCH="${KIELO_RM_BATCH:-4}"
    SFT_ROWS="${KIELO_RM_SFT_ROWS:-2}"; DPO_ROWS="${KIELO_RM_DPO_ROWS:-2}"; HELDOUT_ROWS="${KIELO_RM_HELDOUT_ROWS:-2}"
    ;;
  *) echo "real-model.sh: KIELO_RM_DEVICE must be cuda or cpu, got $DEVICE" >&2; exit 2 ;;
esac
case "$DTYPE" in bf16 | fp32) ;; *) echo "real-model.sh: KIELO_RM_DTYPE must be bf16 or fp32, got $DTYPE" >&2; exit 2 ;; esac
for models in "$ANSWER_MODELS" "$IFEVAL_MODELS"; do
  for m in ${models//,/ }; do
    case ",$ALL_MODELS," in *",$m,"*) ;; *) echo "real-model.sh: unknown model $m (models: $ALL_MODELS)" >&2; exit 2 ;; esac
  done
done
# shellcheck source=scripts/gpu/lib.sh
source "$ROOT/scripts/gpu/lib.sh"
check_phases "$ALL_PHASES"

BASE="$ROOT/fixtures/models/smollm2-135m-instruct"
DATA="$ROOT/examples/real-model"
WORK="${KIELO_RM_WORK:-$ROOT/runs/real-model}"
[ "${KIELO_RM_FRESH:-0}" = 1 ] && rm -rf "$WORK"
mkdir -p "$WORK/results" "$WORK/answers" "$WORK/data"
rm -rf "$WORK/logs" "$WORK/info"
OUTDIR="${OUT:-$WORK/out}"
mkdir -p "$OUTDIR"
export KIELO_DB="$WORK/kielo.db"
echo "real-model: device $DEVICE, dtype $DTYPE, work folder $WORK, results in $OUTDIR"

setup_python || exit 1
setup_node || exit 1
if [ ! -f "$BASE/model.safetensors" ]; then
  echo "real-model.sh: no model in $BASE: run \`npm run setup\` (or scripts/gpu/model-assemble.sh on a GPU host)" >&2
  exit 1
fi

# ---- data and recipes ----------------------------------------------------------------------------

# The first N rows of a gzipped JSONL (N = all: every row) as plain JSONL. sed reads to the end,
# so gzip never dies of a closed pipe (pipefail).
rows() { if [ "$2" = all ]; then gzip -dc "$1"; else gzip -dc "$1" | sed -n "1,${2}p"; fi; }

# The same rows for every phase and call: written once per setting.
prepare_data() {
  rows "$DATA/sft-fi.train.jsonl.gz" "$SFT_ROWS" > "$WORK/data/sft-train.jsonl"
  rows "$DATA/sft-fi.heldout.jsonl.gz" "$HELDOUT_ROWS" > "$WORK/data/sft-heldout.jsonl"
  rows "$DATA/dpo-en.train.jsonl.gz" "$DPO_ROWS" > "$WORK/data/dpo-train.jsonl"
  rows "$DATA/dpo-en.heldout.jsonl.gz" "$HELDOUT_ROWS" > "$WORK/data/dpo-heldout.jsonl"
  rows "$DATA/sft-fi.heldout.jsonl.gz" "$FI_PROMPTS" > "$WORK/data/fi-prompts.jsonl"
  head -n "$IFEVAL_PROMPTS" "$ROOT/resources/ifeval/input_data.jsonl" > "$WORK/data/ifeval-prompts.jsonl"
}

# recipes/<name>.yaml with this run's model, data, dtype and output (and tiny sizes below "all").
recipe() {
  local name="$1" kind="$2" out="$WORK/$1.yaml"
  local -a overrides=("model=$BASE" "dtype=$DTYPE" "data.train=$WORK/data/$kind-train.jsonl" "data.eval=$WORK/data/$kind-heldout.jsonl"
    "output=$WORK/runs/$name")
  [ "$name" = dpo ] && overrides+=("init_adapter=$WORK/runs/sft-lora/model")
  if [ "$SFT_ROWS" != all ]; then
    # One epoch of two sequences per step, one at a time (a CPU holds a 135M model's activations for
    # one), at full learning rate from the start, so that even one step changes the model.
    overrides+=("training.epochs=1" "training.micro_batch_size=1" "training.global_batch_size=2" "data.max_length=384"
      "training.warmup_ratio=0" "training.schedule=constant")
  fi
  "$NODE" "$ROOT/scripts/gpu/recipe-variant.ts" "$ROOT/recipes/$3" "$out" "${overrides[@]}" || return 1
  echo "$out"
}

# A model by its name in the tables: `--model DIR [--adapter DIR]`.
model_args() {
  case "$1" in
    base) echo "--model $BASE" ;;
    sft-lora) echo "--model $BASE --adapter $WORK/runs/sft-lora/model" ;;
    sft-full) echo "--model $WORK/runs/sft-full/model" ;;
    dpo) echo "--model $BASE --adapter $WORK/runs/dpo/model" ;;
  esac
}
model_ready() {
  case "$1" in
    base) [ -f "$BASE/model.safetensors" ] ;;
    sft-full) [ -f "$WORK/runs/sft-full/model/config.json" ] ;;
    *) [ -f "$WORK/runs/$1/model/adapter_config.json" ] ;;
  esac
}

# ---- phases --------------------------------------------------------------------------------------

# Train one recipe; its summary (from events.jsonl) into results/train-<name>.json and the table.
train() {
  local name="$1" method="$2" kind="$3" file="$4" path
  path="$(recipe "$name" "$kind" "$file")" || return 1
  kielo train "$method" "$path" --quiet --force || return 1
  noted "$PY" "$ROOT/scripts/gpu/real_model_report.py" train-summary "$WORK/runs/$name/events.jsonl" "$WORK/results/train-$name.json"
}
phase_sft_lora() { train sft-lora sft sft smollm2-fi-sft-lora.yaml; }
phase_sft_full() { train sft-full sft sft smollm2-fi-sft-full.yaml; }
phase_dpo() {
  model_ready sft-lora || { echo "no sft-lora adapter in $WORK/runs/sft-lora: run the sft-lora phase first" >&2; return 1; }
  train dpo dpo dpo smollm2-dpo.yaml
}

# The compiled held-out tokens of whichever SFT run exists (both compile the same file the same way).
phase_heldout() {
  local -a models=("base=$BASE")
  local data=""
  if model_ready sft-lora; then models+=("sft-lora=$BASE+$WORK/runs/sft-lora/model"); data="$WORK/runs/sft-lora/data/eval"; fi
  if model_ready sft-full; then models+=("sft-full=$WORK/runs/sft-full/model"); data="${data:-$WORK/runs/sft-full/data/eval}"; fi
  [ -n "$data" ] || { echo "no SFT run in $WORK/runs: run sft-lora or sft-full first" >&2; return 1; }
  "$PY" "$ROOT/scripts/gpu/heldout_loss.py" --data "$data" --device "$DEVICE" --dtype "$DTYPE" "${models[@]}" \
    > "$WORK/results/heldout-raw.json" || return 1
  noted "$PY" "$ROOT/scripts/gpu/real_model_report.py" heldout "$WORK/results/heldout-raw.json" "$WORK/results" "$WORK/results/heldout.json"
}

# kielo generate for one model on one prompt set: answers/<model>.<set>.jsonl.
generate() {
  local model="$1" set="$2" max_new="$3"
  model_ready "$model" || { echo "no $model model in $WORK/runs/$model: run its phase first" >&2; return 1; }
  # shellcheck disable=SC2046
  kielo generate $(model_args "$model") --prompts "$WORK/data/$set-prompts.jsonl" --out "$WORK/answers/$model.$set.jsonl" \
    --max-new-tokens "$max_new" --batch-size "$BATCH" --device "$DEVICE" --dtype "$DTYPE" --label "real-model $model $set" --quiet
}

phase_answers() {
  local m summary=""
  # The held-out records' own answers, scored the same way: what a good answer looks like here.
  "$PY" "$ROOT/scripts/gpu/real_model_report.py" human-answers "$WORK/data/fi-prompts.jsonl" "$WORK/answers/human.fi.jsonl" > /dev/null || return 1
  "$NODE" "$ROOT/scripts/gpu/answer-stats.ts" "$WORK/answers/human.fi.jsonl" --lang fi > "$WORK/results/answers-human.json" || return 1
  summary+="$("$PY" "$ROOT/scripts/gpu/real_model_report.py" answers-line human "$WORK/results/answers-human.json"); "
  for m in ${ANSWER_MODELS//,/ }; do
    generate "$m" fi "$FI_MAX_NEW" || return 1
    "$NODE" "$ROOT/scripts/gpu/answer-stats.ts" "$WORK/answers/$m.fi.jsonl" --lang fi > "$WORK/results/answers-$m.json" || return 1
    summary+="$("$PY" "$ROOT/scripts/gpu/real_model_report.py" answers-line "$m" "$WORK/results/answers-$m.json"); "
  done
  note "$summary"
}

phase_ifeval() {
  local m summary=""
  for m in ${IFEVAL_MODELS//,/ }; do
    generate "$m" ifeval "$IFEVAL_MAX_NEW" || return 1
    kielo eval ifeval --prompts "$WORK/data/ifeval-prompts.jsonl" --responses "$WORK/answers/$m.ifeval.jsonl" \
      --json "$WORK/results/ifeval-$m.raw.json" --label "real-model $m" --no-store --quiet || return 1
    summary+="$("$PY" "$ROOT/scripts/gpu/real_model_report.py" ifeval "$m" "$WORK/results/ifeval-$m.raw.json" "$IFEVAL_MAX_NEW" "$WORK/results/ifeval-$m.json"); "
  done
  note "$summary"
}

phase_merge() {
  model_ready dpo || { echo "no DPO adapter in $WORK/runs/dpo: run the dpo phase first" >&2; return 1; }
  rm -rf "$WORK/merged"
  kielo merge "$WORK/runs/dpo/model" --out "$WORK/merged" --dtype "$DTYPE" || return 1
  note "$(du -sh "$WORK/merged" | cut -f1) in $(ls "$WORK/merged" | wc -l) files"
}

phase_load() {
  [ -f "$WORK/merged/config.json" ] || { echo "no merged model in $WORK/merged: run the merge phase first" >&2; return 1; }
  noted "$PY" "$ROOT/scripts/gpu/real_model_report.py" load "$BASE" "$WORK/runs/dpo/model" "$WORK/merged" "$DEVICE" "$DTYPE" "$WORK/results/load.json"
}

# ---- the run -------------------------------------------------------------------------------------

needs() {
  case "$1" in
    dpo) echo sft-lora ;;
    merge) echo dpo ;;
    load) echo merge ;;
  esac
}

prepare_data || exit 1
TOTAL_STARTED="$(date +%s.%N)"
for phase in ${ALL_PHASES//,/ }; do run_phase "$phase"; done
TOTAL_SECONDS="$(awk -v a="$TOTAL_STARTED" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"

# The device returns at most 8 files: the summary, and everything else in one archive.
{
  print_table "kielo real model (SmolLM2-135M-Instruct): device $DEVICE, dtype $DTYPE, $(date -u +%Y-%m-%dT%H:%M:%SZ), this call ${TOTAL_SECONDS}s"
  echo
  "$PY" "$ROOT/scripts/gpu/real_model_report.py" table "$WORK/results"
} > "$WORK/real-model-summary.txt"
cp "$WORK/real-model-summary.txt" "$OUTDIR/real-model-summary.txt"
mkdir -p "$WORK/collect"
cp -r "$WORK/logs" "$WORK/results" "$WORK/answers" "$WORK/collect/" 2>/dev/null
cp "$WORK"/*.yaml "$WORK/doctor.json" "$WORK/collect/" 2>/dev/null
for name in sft-lora sft-full dpo; do
  [ -f "$WORK/runs/$name/events.jsonl" ] && cp "$WORK/runs/$name/events.jsonl" "$WORK/collect/$name.events.jsonl"
done
tar -czf "$OUTDIR/real-model-logs.tar.gz" -C "$WORK" collect
rm -rf "$WORK/collect"

echo
echo "logs: $OUTDIR/real-model-logs.tar.gz"
cat "$OUTDIR/real-model-summary.txt"
if [ "$FAILED" -ne 0 ]; then
  echo "real-model: FAILED"
  exit 1
fi
echo "real-model: all phases passed"
