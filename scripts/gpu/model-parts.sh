#!/usr/bin/env bash
# Run on the dev machine, after `npm run setup`: prepares the real model for a GPU host that has no
# network and takes at most 64 MiB per call (working tree included).
#
#   .model-part-1/ .model-part-2/ .model-part-3/   the GGUF (fixtures/models/gguf/, 98,362,432 bytes)
#                   cut into three parts of about 31.3 MiB, one git-ignored folder each, to carry
#                   one per call (docs/gpu.md); scripts/gpu/model-assemble.sh joins them there
#   .whl/           the wheel of the Python package `gguf` (pure Python, pinned in
#                   engine/requirements-test.txt), which the GPU host lacks and the import needs
#
# KIELO_GPU_EXTRA_WHEELS="pyyaml==6.0.2 …" downloads more wheels into .whl/ (cp312, manylinux) for a
# host whose Python lacks a dependency of gguf (numpy, pyyaml, tqdm; `requests` is imported only by
# gguf's download helpers). KIELO_GPU_PARTS_DIR writes the part folders elsewhere (the tests do).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
read -r SHA GGUF_NAME < fixtures/models/SHA256SUMS
GGUF="fixtures/models/$GGUF_NAME"
PARTS_DIR="${KIELO_GPU_PARTS_DIR:-$ROOT}"
LIMIT_BYTES=$((33 * 1024 * 1024))
PY="${KIELO_PYTHON:-}"
[ -z "$PY" ] && [ -x .venv/bin/python ] && PY=.venv/bin/python
PY="${PY:-python3}"

if [ ! -f "$GGUF" ]; then
  echo "model-parts.sh: $GGUF not found: run \`npm run setup\` first" >&2
  exit 1
fi
echo "checking $GGUF"
(cd fixtures/models && sha256sum --quiet -c SHA256SUMS) || { echo "model-parts.sh: $GGUF does not match fixtures/models/SHA256SUMS" >&2; exit 1; }

# 1. Three parts, three folders.
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
split -n 3 -d -a 1 --numeric-suffixes=1 "$GGUF" "$TMP/part."
for i in 1 2 3; do
  dir="$PARTS_DIR/.model-part-$i"
  rm -rf "$dir"
  mkdir -p "$dir"
  mv "$TMP/part.$i" "$dir/$(basename "$GGUF").part$i"
  size=$(stat -c %s "$dir/$(basename "$GGUF").part$i")
  if [ "$size" -gt "$LIMIT_BYTES" ]; then
    echo "model-parts.sh: part $i is $size bytes, more than $LIMIT_BYTES" >&2
    exit 1
  fi
  printf '%-48s %s bytes\n' "$dir/$(basename "$GGUF").part$i" "$size"
done
joined="$(cat "$PARTS_DIR"/.model-part-{1,2,3}/* | sha256sum | cut -d' ' -f1)"
[ "$joined" = "$SHA" ] || { echo "model-parts.sh: the parts join to sha256 $joined, not $SHA" >&2; exit 1; }
echo "the three parts join to sha256 $SHA"

# 2. The gguf wheel (and any extra ones).
if [ "${KIELO_GPU_SKIP_WHEELS:-0}" != 1 ]; then
  pin="$(grep -m1 '^gguf==' engine/requirements-test.txt)"
  rm -rf .whl
  "$PY" -m pip download --disable-pip-version-check -q --no-deps --only-binary=:all: --python-version 3.12 -d .whl "$pin"
  if [ -n "${KIELO_GPU_EXTRA_WHEELS:-}" ]; then
    # shellcheck disable=SC2086
    "$PY" -m pip download --disable-pip-version-check -q --no-deps --only-binary=:all: --python-version 3.12 \
      --platform manylinux2014_x86_64 -d .whl $KIELO_GPU_EXTRA_WHEELS
  fi
  ls -l .whl
fi
