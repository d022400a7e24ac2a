#!/usr/bin/env bash
# kielo end to end with the real tiny model (fixtures/models/stories260K/hf), through the CLI and
# the engine, on a GPU host — or on the CPU with KIELO_E2E_DEVICE=cpu (the test here does that).
#
#   bash scripts/gpu/e2e.sh          (from a copy of the repository; run it from anywhere)
#
# Phases, each timed, each with its log:
#   doctor      kielo doctor (on cuda: a GPU must be found)
#   train-sft   kielo train sft: recipes/tiny-sft.yaml with dtype bf16, into a temporary folder
#   train-dpo   kielo train dpo: recipes/tiny-dpo.yaml (bf16), continuing from the SFT adapter
#   generate    kielo generate with the DPO adapter on examples/tiny-train/prompts-fi.jsonl
#   merge       kielo merge of the DPO adapter into full weights
#   load        every output loaded back by transformers/peft; merged logits vs adapter logits
#   translate   kielo translate --backend engine --model <tiny> on English pairs (en → fi)
#   clean       kielo clean on the translations: it must flag them as not Finnish (wrong-language)
#
# Node: node_modules/.bin/node when the checkout has one (the dev machine); otherwise .gpu/node.xz
# is unpacked to /tmp/kielo-node and .gpu/node_modules.tar.xz into the repository (made by
# scripts/gpu/bundle.sh). Python: $KIELO_PYTHON, else .venv/bin/python, else python3.
#
# Environment:
#   KIELO_E2E_DEVICE  cuda (default) or cpu
#   KIELO_E2E_DTYPE   bf16, fp16 or fp32: the training and generation dtype (default: bf16 on cuda;
#                     fp32 on cpu, where bf16 matmuls are some fifty times slower)
#   KIELO_E2E_PHASES  comma-separated subset of the phases above (default: all)
#   OUT               folder for e2e-summary.txt and e2e-logs.tar.gz (default: a temporary folder)
#   KIELO_E2E_NODE_DIR  where the bundled node is unpacked (default /tmp/kielo-node/bin)
#   KIELO_E2E_KEEP    1: keep the work folder (runs, models) even when OUT is given
#
# Prints a table (phase, ok/FAIL/SKIPPED, seconds, key numbers) last; exits 1 if a phase failed.
set -u -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
DEVICE="${KIELO_E2E_DEVICE:-cuda}"
DEFAULT_DTYPE=bf16
[ "$DEVICE" = cpu ] && DEFAULT_DTYPE=fp32
DTYPE="${KIELO_E2E_DTYPE:-$DEFAULT_DTYPE}"
ALL_PHASES="doctor,train-sft,train-dpo,generate,merge,load,translate,clean"
PHASES="${KIELO_E2E_PHASES:-$ALL_PHASES}"
MODEL="$ROOT/fixtures/models/stories260K/hf"
EXAMPLES="$ROOT/examples/tiny-train"

case "$DEVICE" in
  cuda) ;;
  # The trainer picks CUDA whenever torch sees a GPU. One thread: the tiny model gains nothing from
  # more, and on a busy machine competing OpenMP threads make it many times slower.
  cpu) export CUDA_VISIBLE_DEVICES="" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" ;;
  *) echo "e2e.sh: KIELO_E2E_DEVICE must be cuda or cpu, got $DEVICE" >&2; exit 2 ;;
esac
case "$DTYPE" in bf16 | fp16 | fp32) ;; *) echo "e2e.sh: KIELO_E2E_DTYPE must be bf16, fp16 or fp32, got $DTYPE" >&2; exit 2 ;; esac
NAME=e2e
# shellcheck source=scripts/gpu/lib.sh
source "$ROOT/scripts/gpu/lib.sh"
check_phases "$ALL_PHASES"
export KIELO_GPU_NODE_DIR="${KIELO_E2E_NODE_DIR:-/tmp/kielo-node/bin}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kielo-e2e.XXXXXX")"
OUTDIR="${OUT:-$WORK/out}"
mkdir -p "$OUTDIR" "$WORK/logs" "$WORK/info"
export KIELO_DB="$WORK/kielo.db"
echo "e2e: device $DEVICE, dtype $DTYPE, work folder $WORK, results in $OUTDIR"

setup_python || exit 1
setup_node || exit 1

# ---- phases --------------------------------------------------------------------------------------

# A recipe of recipes/ with absolute paths, the e2e dtype, and its output in the work folder.
variant_recipe() {
  sed -e "s#\.\./runs/#$WORK/runs/#g" -e "s#\.\./#$ROOT/#g" -e "s#^dtype: .*#dtype: $DTYPE#" "$ROOT/recipes/$1" > "$WORK/$1"
  grep -q "^dtype: $DTYPE" "$WORK/$1" || { echo "recipes/$1 has no top-level dtype line to replace" >&2; return 1; }
  echo "$WORK/$1"
}

# One line about a finished training run, from its events.jsonl.
training_summary() {
  "$PY" - "$1" <<'EOF'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
start = next(e for e in events if e["type"] == "start")
done = next((e for e in events if e["type"] == "done"), None)
if done is None:
    err = next((e for e in events if e["type"] == "error"), {})
    sys.exit(f"no done event; error: {err.get('message')}")
steps = [e for e in events if e["type"] == "step"]
unit = "GiB" if done["peak_memory_kind"].startswith("cuda") else "GiB RSS"
parts = [f"{done['step']} steps on {start['device']}", f"loss {steps[0]['loss']:.3f}->{done['loss']:.3f}"]
if done.get("eval_loss") is not None:
    parts.append(f"eval {done['eval_loss']:.3f}")
if "accuracy" in steps[-1]:
    parts.append(f"acc {steps[-1]['accuracy']:.2f}")
parts += [f"{done['tokens_per_s']:.0f} tok/s", f"peak {done['peak_memory_bytes'] / 2**30:.3f} {unit}"]
print(", ".join(parts))
EOF
}

phase_train_sft() {
  local recipe
  recipe="$(variant_recipe tiny-sft.yaml)" || return 1
  kielo train sft "$recipe" --quiet || return 1
  noted training_summary "$WORK/runs/tiny-sft/events.jsonl" || return 1
  [ -f "$WORK/runs/tiny-sft/model/adapter_config.json" ] || { echo "no adapter in runs/tiny-sft/model" >&2; return 1; }
}

phase_train_dpo() {
  local recipe
  recipe="$(variant_recipe tiny-dpo.yaml)" || return 1
  kielo train dpo "$recipe" --quiet || return 1
  noted training_summary "$WORK/runs/tiny-dpo/events.jsonl" || return 1
  [ -f "$WORK/runs/tiny-dpo/model/adapter_config.json" ] || { echo "no adapter in runs/tiny-dpo/model" >&2; return 1; }
}

phase_generate() {
  kielo generate --model "$MODEL" --adapter "$WORK/runs/tiny-dpo/model" --prompts "$EXAMPLES/prompts-fi.jsonl" \
    --out "$WORK/answers.jsonl" --template llama-2 --max-new-tokens 64 --device "$DEVICE" --dtype "$DTYPE" --quiet || return 1
  noted "$PY" - "$WORK/answers.jsonl" "$EXAMPLES/prompts-fi.jsonl" <<'EOF' || return 1
import json, sys
answers = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
prompts = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
assert [a["key"] for a in answers] == [p["key"] for p in prompts], "answers are not one per prompt, in order"
assert all(isinstance(a["response"], str) for a in answers)
nonempty = sum(1 for a in answers if a["response"].strip())
print(f"{len(answers)} answers ({nonempty} non-empty), e.g. {answers[0]['response'][:40]!r}")
EOF
}

phase_merge() {
  kielo merge "$WORK/runs/tiny-dpo/model" --out "$WORK/merged" --dtype "$DTYPE" || return 1
  note "$(du -sh "$WORK/merged" | cut -f1) in $(ls "$WORK/merged" | wc -l) files"
}

phase_load() {
  noted "$PY" - "$MODEL" "$WORK" "$DEVICE" <<'EOF' || return 1
import json, os, sys
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

model_dir, work, device = sys.argv[1], sys.argv[2], sys.argv[3]
ids = torch.tensor([[1, 306, 4966, 304, 29871, 14, 100, 200, 300, 400, 17, 2]]) % 512
def logits(model):
    model.to(device).eval()
    with torch.no_grad():
        out = model(input_ids=ids.to(device)).logits.float().cpu()
    assert torch.isfinite(out).all(), "non-finite logits"
    return out

loaded = []
adapter_logits = {}
for name in ("tiny-sft", "tiny-dpo"):
    folder = os.path.join(work, "runs", name, "model")
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, folder)
    adapter_logits[name] = logits(model)
    AutoTokenizer.from_pretrained(folder if os.path.isfile(os.path.join(folder, "tokenizer.json")) else model_dir)
    loaded.append(f"{name} adapter")
merged_dir = os.path.join(work, "merged")
merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32)
AutoTokenizer.from_pretrained(merged_dir)
merged_logits = logits(merged)
loaded.append("merged")
# The merged weights are stored in the e2e dtype: compare with the fp32 adapter model.
diff = (merged_logits - adapter_logits["tiny-dpo"]).abs().max().item()
scale = adapter_logits["tiny-dpo"].abs().max().item()
agree = (merged_logits.argmax(-1) == adapter_logits["tiny-dpo"].argmax(-1)).float().mean().item()
assert diff <= 0.05 * scale + 1e-4, f"merged logits differ from adapter logits by {diff} (scale {scale})"
print(f"loaded {', '.join(loaded)}; merged vs adapter max|dlogit| {diff:.2e} (of {scale:.1f}), argmax agree {agree:.0%}")
EOF
}

phase_translate() {
  if ! kielo translate --help > /dev/null 2>&1; then
    echo "SKIPPED: translate not available"
    return 3
  fi
  # A few English preference pairs (prompt, chosen and rejected: three segments each).
  local rows=3
  [ "$DEVICE" = cpu ] && rows=1
  head -n "$rows" "$EXAMPLES/pairs-en.jsonl" > "$WORK/pairs-en.jsonl"
  kielo translate "$WORK/pairs-en.jsonl" --from en --to fi --backend engine --model "$MODEL" --device "$DEVICE" \
    --dtype "$DTYPE" --max-tokens 48 --out "$WORK/translated.jsonl" --quiet || return 1
  note "$(wc -l < "$WORK/translated.jsonl") of $rows rows translated"
  "$PY" -c 'import json, sys; r = json.loads(open(sys.argv[1]).readline()); print("e.g.", repr(r["chosen"][:60]))' "$WORK/translated.jsonl"
}

phase_clean() {
  if [ ! -f "$WORK/translated.jsonl" ]; then
    echo "SKIPPED: nothing translated"
    return 3
  fi
  kielo clean "$WORK/translated.jsonl" --out "$WORK/cleaned.jsonl" --report "$WORK/clean-report.json" || return 1
  # The tiny model writes English children's stories, not Finnish: clean must say so.
  grep -q '"wrong-language"' "$WORK/clean-report.json" || { echo "the report has no wrong-language rule" >&2; return 1; }
  noted "$PY" - "$WORK/clean-report.json" <<'EOF' || return 1
import json, sys
report = json.load(open(sys.argv[1], encoding="utf-8"))
wrong = report["rules"]["wrong-language"]["rows"]
fired = ", ".join(f"{k} {v['rows']}" for k, v in report["rules"].items() if v["rows"])
print(f"wrong-language {wrong}/{report['rows_in']} rows (not Finnish); kept {report['rows_kept']}; rules: {fired}")
if wrong < 1:
    sys.exit(f"clean did not flag the tiny model's output as not Finnish: {fired or 'no rule fired'}")
EOF
}

# ---- the run -------------------------------------------------------------------------------------

needs() { # the phases a phase cannot run without
  case "$1" in
    train-dpo) echo train-sft ;;
    generate | merge) echo train-dpo ;;
    load) echo merge ;;
    clean) echo translate ;;
  esac
}

TOTAL_STARTED="$(date +%s.%N)"
for phase in ${ALL_PHASES//,/ }; do run_phase "$phase"; done
TOTAL_SECONDS="$(awk -v a="$TOTAL_STARTED" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"

# Logs, events and reports, in one archive (the device returns at most 8 files).
mkdir -p "$WORK/collect"
cp "$WORK"/logs/*.log "$WORK/collect/" 2>/dev/null
for name in tiny-sft tiny-dpo; do
  [ -f "$WORK/runs/$name/events.jsonl" ] && cp "$WORK/runs/$name/events.jsonl" "$WORK/collect/$name.events.jsonl"
  [ -f "$WORK/$name.yaml" ] && cp "$WORK/$name.yaml" "$WORK/collect/"
done
for file in doctor.json answers.jsonl translated.jsonl clean-report.json; do
  [ -f "$WORK/$file" ] && cp "$WORK/$file" "$WORK/collect/"
done
print_table "kielo e2e: device $DEVICE, dtype $DTYPE, $(date -u +%Y-%m-%dT%H:%M:%SZ), total ${TOTAL_SECONDS}s" > "$WORK/collect/e2e-summary.txt"
cp "$WORK/collect/e2e-summary.txt" "$OUTDIR/e2e-summary.txt"
tar -czf "$OUTDIR/e2e-logs.tar.gz" -C "$WORK" collect

# The work folder holds models and checkpoints; with OUT given, what matters is in OUT.
if [ -n "${OUT:-}" ] && [ "${KIELO_E2E_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi

echo
echo "logs: $OUTDIR/e2e-logs.tar.gz"
cat "$OUTDIR/e2e-summary.txt"
if [ "$FAILED" -ne 0 ]; then
  echo "e2e: FAILED"
  exit 1
fi
echo "e2e: all phases passed"
