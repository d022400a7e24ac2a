#!/usr/bin/env bash
# Run on the dev machine, after `npm run setup`: cuts the real model for a GPU host that has no
# network and takes at most 64 MiB per call (working tree included).
#
#   .model-part-1/ .model-part-2/ .model-part-3/   the GGUF (fixtures/models/gguf/, 98,362,432 bytes)
#                   cut into three parts of about 31.3 MiB, one git-ignored folder each, to carry
#                   one per call (docs/gpu.md); scripts/gpu/model-assemble.sh joins them there
#
# The import there also needs the Python package `gguf`, which the GPU image lacks: its wheel is in
# .whl/ (scripts/gpu/wheels.sh). KIELO_GPU_PARTS_DIR writes the part folders elsewhere (the tests do).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
read -r SHA GGUF_NAME < fixtures/models/SHA256SUMS
GGUF="fixtures/models/$GGUF_NAME"
PARTS_DIR="${KIELO_GPU_PARTS_DIR:-$ROOT}"
LIMIT_BYTES=$((33 * 1024 * 1024))

if [ ! -f "$GGUF" ]; then
  echo "model-parts.sh: $GGUF not found: run \`npm run setup\` first" >&2
  exit 1
fi
echo "checking $GGUF"
(cd fixtures/models && sha256sum --quiet -c SHA256SUMS) || { echo "model-parts.sh: $GGUF does not match fixtures/models/SHA256SUMS" >&2; exit 1; }

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
