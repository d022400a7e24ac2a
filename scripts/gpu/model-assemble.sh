#!/usr/bin/env bash
# Run on the GPU host, after the three calls that carried .model-part-1/, -2/ and -3/ (with .whl/)
# there (scripts/gpu/model-parts.sh and wheels.sh made them; docs/gpu.md has the sequence):
#
#   join    concatenate the parts into fixtures/models/gguf/<name>.gguf and check its sha256
#           against fixtures/models/SHA256SUMS
#   import  the engine's GGUF import (python -m kielo_engine import-gguf, bf16) into
#           fixtures/models/smollm2-135m-instruct — skipped when that folder's kielo-import.json
#           already names this sha256; the `gguf` package comes from the carried .whl/ when the
#           host's Python lacks it (its pure-Python wheel unpacked to /tmp/kielo-gguf; its
#           dependencies numpy, pyyaml, requests and tqdm are in the GPU image)
#   check   the imported folder against transformers' own GGUF load (dequantised) on the GPU: max
#           |Δlogit| (bf16 rounding of the weights only) and the answer to one prompt
#
# Prints what it did last and writes it to $OUT/model-assemble.txt. No Node needed.
# KIELO_ASSEMBLE_STEPS: a comma-separated subset of join,import,check (default all).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
STEPS="${KIELO_ASSEMBLE_STEPS:-join,import,check}"
read -r SHA GGUF_NAME < fixtures/models/SHA256SUMS
GGUF="$ROOT/fixtures/models/$GGUF_NAME"
MODEL="$ROOT/fixtures/models/smollm2-135m-instruct"
PY="${KIELO_PYTHON:-python3}"
SUMMARY="$(mktemp)"
trap 'rm -f "$SUMMARY"' EXIT
say() { echo "$*" | tee -a "$SUMMARY"; }
step() { [[ ",$STEPS," == *",$1,"* ]]; }

if step join; then
  if [ -f "$GGUF" ] && [ "$(sha256sum "$GGUF" | cut -d' ' -f1)" = "$SHA" ]; then
    say "join: $GGUF already in place (sha256 $SHA)"
  else
    for i in 1 2 3; do
      compgen -G ".model-part-$i/*" > /dev/null || { echo "model-assemble.sh: .model-part-$i/ is missing or empty: carry it first (docs/gpu.md)" >&2; exit 1; }
    done
    mkdir -p "$(dirname "$GGUF")"
    cat .model-part-1/* .model-part-2/* .model-part-3/* > "$GGUF.partial"
    got="$(sha256sum "$GGUF.partial" | cut -d' ' -f1)"
    if [ "$got" != "$SHA" ]; then
      rm -f "$GGUF.partial"
      echo "model-assemble.sh: the joined parts have sha256 $got, expected $SHA: carry the three parts again" >&2
      exit 1
    fi
    mv "$GGUF.partial" "$GGUF"
    say "join: $GGUF, $(stat -c %s "$GGUF") bytes, sha256 $SHA"
  fi
fi

# The gguf package (import and check need it): the host's, else the carried wheel unpacked (a
# wheel is a zip; pure Python needs no pip).
need_gguf() {
  "$PY" -c "import gguf" 2> /dev/null && return 0
  local wheel
  wheel="$(ls .whl/gguf-*.whl 2> /dev/null | head -n 1)"
  [ -n "$wheel" ] || { echo "model-assemble.sh: $PY has no gguf package and .whl/ has no gguf wheel: run scripts/gpu/wheels.sh and carry .whl" >&2; exit 1; }
  rm -rf /tmp/kielo-gguf
  "$PY" -m zipfile -e "$wheel" /tmp/kielo-gguf
  export PYTHONPATH="/tmp/kielo-gguf${PYTHONPATH:+:$PYTHONPATH}"
  "$PY" -c "import gguf" || { echo "model-assemble.sh: gguf from $wheel does not import (a dependency missing?)" >&2; exit 1; }
}
if step import || step check; then need_gguf; fi
export PYTHONPATH="$ROOT/engine${PYTHONPATH:+:$PYTHONPATH}"

if step import; then
  if [ -f "$MODEL/kielo-import.json" ] && "$PY" -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["sha256"] != sys.argv[2])' "$MODEL/kielo-import.json" "$SHA"; then
    say "import: $MODEL is up to date"
  else
    started=$(date +%s)
    events="$(mktemp)"
    "$PY" -m kielo_engine import-gguf --gguf "$GGUF" --out "$MODEL" --dtype bf16 --force > "$events" \
      || { tail -n 3 "$events" >&2; rm -f "$events"; exit 1; }
    summary="$("$PY" - "$events" <<'PY'
import json, sys
done = [json.loads(line) for line in open(sys.argv[1]) if line.strip()][-1]
tokens = ", ".join("%s %s (%d)" % (k.removesuffix("_token"), v["token"], v["id"]) for k, v in done["special_tokens"].items())
print("%s, %.1fM parameters, %s; special tokens %s" % (done["architecture"], done["params"] / 1e6, done["dtype"], tokens))
PY
)"
    say "import: $MODEL in $(($(date +%s) - started)) s: $summary"
    rm -f "$events"
  fi
fi

if step check; then
  TQDM_DISABLE=1 "$PY" - "$GGUF" "$MODEL" <<'EOF' | tee -a "$SUMMARY"
import os, sys, time
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging

logging.disable_progress_bar()

gguf, model_dir = sys.argv[1], sys.argv[2]
device = "cuda" if torch.cuda.is_available() else "cpu"
tokenizer = AutoTokenizer.from_pretrained(model_dir)
messages = [{"role": "user", "content": "What is the capital of France?"}]
ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)["input_ids"].to(device)
started = time.time()
reference = AutoModelForCausalLM.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf), dtype=torch.float32).to(device).eval()
seconds = time.time() - started
imported = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(device).eval()
with torch.no_grad():
    a, b = reference(ids).logits, imported(ids).logits
    answer = imported.generate(ids, max_new_tokens=32, do_sample=False)[0, ids.shape[1]:]
diff, scale = (a - b).abs().max().item(), a.abs().max().item()
agree = (a.argmax(-1) == b.argmax(-1)).float().mean().item()
text = tokenizer.decode(answer, skip_special_tokens=False)
print(f"check: on {device}: imported vs transformers' GGUF load ({seconds:.0f} s) max|dlogit| {diff:.3f} of {scale:.1f}, argmax agree {agree:.0%}; answer {text!r}")
if diff > 0.05 * scale or agree < 0.9 or not text.endswith("<|im_end|>"):
    sys.exit("check: FAILED (the imported weights or special tokens are off)")
EOF
fi

if [ -n "${OUT:-}" ]; then cp "$SUMMARY" "$OUT/model-assemble.txt"; fi
echo "model-assemble: done"
