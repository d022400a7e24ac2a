#!/usr/bin/env bash
# Run on the dev machine (which has npm and node_modules): builds the git-ignored folder .gpu/ that
# carries kielo's Node side to a GPU host with no Node, no npm and no network.
#
#   .gpu/node.xz               the pinned Node 24 (node_modules/node/bin/node), xz-compressed;
#                              kept when present, rebuilt only when missing
#   .gpu/node_modules.tar.xz   the runtime node_modules only: package.json's dependencies minus
#                              `node`, with their own dependencies (scripts/gpu/runtime-deps.ts);
#                              for `tokenizers` only the linux-x64-gnu binary; no dev dependencies
#
# On the GPU host `bash scripts/gpu/e2e.sh` unpacks both. The Python side needs nothing from
# here: the engine imports only torch, transformers, peft, safetensors and numpy, which the GPU
# host has. Usage: bash scripts/gpu/bundle.sh  (prints the sizes; .gpu/ must stay under 40 MiB)
# KIELO_GPU_BUNDLE=<dir> writes the bundle there instead of .gpu/ (the tests do).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BUNDLE="${KIELO_GPU_BUNDLE:-.gpu}"
LIMIT_BYTES=$((40 * 1024 * 1024))
# The one native binary of `tokenizers` a Linux x86-64 glibc host loads.
TOKENIZERS_BINARY=tokenizers.linux-x64-gnu.node

NODE_BIN=node_modules/node/bin/node
if [ ! -x "$NODE_BIN" ]; then
  echo "bundle.sh: $NODE_BIN not found: run \`npm ci\` first" >&2
  exit 1
fi
NODE="$ROOT/$NODE_BIN"
mkdir -p "$BUNDLE"

# 1. Node itself.
if [ -s "$BUNDLE/node.xz" ]; then
  echo "kept     $BUNDLE/node.xz"
else
  echo "building $BUNDLE/node.xz (xz -9, takes a minute)"
  xz -9 -T0 -c "$NODE_BIN" > "$BUNDLE/node.xz.tmp"
  mv "$BUNDLE/node.xz.tmp" "$BUNDLE/node.xz"
fi

# 2. The runtime node_modules.
mapfile -t PACKAGES < <("$NODE" scripts/gpu/runtime-deps.ts "$ROOT")
if [ "${#PACKAGES[@]}" -eq 0 ]; then
  echo "bundle.sh: scripts/gpu/runtime-deps.ts found no runtime packages" >&2
  exit 1
fi
LIST="$(mktemp)"
trap 'rm -f "$LIST" "$BUNDLE/node_modules.tar.xz.tmp"' EXIT
for package in "${PACKAGES[@]}"; do
  if [ ! -d "$package" ]; then
    echo "bundle.sh: $package is in package-lock.json but not installed: run \`npm ci\`" >&2
    exit 1
  fi
  if [ "$package" = node_modules/tokenizers ]; then
    find "$package" -type f ! -name '*.node' -print >> "$LIST"
    if [ ! -f "$package/$TOKENIZERS_BINARY" ]; then
      echo "bundle.sh: $package/$TOKENIZERS_BINARY missing" >&2
      exit 1
    fi
    echo "$package/$TOKENIZERS_BINARY" >> "$LIST"
  else
    find "$package" -type f -print >> "$LIST"
  fi
done
# Same inputs, same archive: sorted names, fixed owner and times.
LC_ALL=C sort -o "$LIST" "$LIST"
tar --create --file=- --files-from="$LIST" --owner=0 --group=0 --numeric-owner --mtime='2026-01-01 00:00:00Z' \
  | xz -9 -T0 > "$BUNDLE/node_modules.tar.xz.tmp"
mv "$BUNDLE/node_modules.tar.xz.tmp" "$BUNDLE/node_modules.tar.xz"

# 3. Sizes.
human() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
total=0
echo
echo "packages: ${PACKAGES[*]#node_modules/}"
for file in "$BUNDLE"/node.xz "$BUNDLE"/node_modules.tar.xz; do
  size=$(stat -c %s "$file")
  total=$((total + size))
  printf '%-28s %s\n' "$file" "$(human "$size")"
done
all=$(du -sb "$BUNDLE" | cut -f1)
printf '%-28s %s (limit %s)\n' "$BUNDLE/ in all" "$(human "$all")" "$(human "$LIMIT_BYTES")"
if [ "$all" -gt "$LIMIT_BYTES" ]; then
  echo "bundle.sh: $BUNDLE/ is larger than the limit" >&2
  exit 1
fi
