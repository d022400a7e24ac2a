#!/usr/bin/env bash
# Run on the dev machine (which reaches PyPI): fills the git-ignored folder .whl/ with the Python
# wheels that GPU runs need and the GPU image lacks. The GPU host has no network; the wheels travel
# with the device command (carry [".whl"]) and are installed there with
#
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
#
#   liger-kernel 0.8.5   the engine's fused kernels (kernels.py) and the Liger peer of bench_speed.py (needs torch, triton)
#   bitsandbytes 0.50.2  the QLoRA peer of bench_speed.py (needs torch, numpy, packaging: in the image).
#                        Its wheel (43 MB) holds a CUDA library for each of 8 CUDA versions; only the
#                        one the image's torch uses (cu130) and the CPU one are kept, and the wheel's
#                        RECORD is rewritten to match, so that it travels at a few MiB.
#   gguf 0.19.0          `kielo model import` of GGUF files (needs numpy, pyyaml, requests, tqdm: in the image)
#
# Dependencies are checked against the image's package list (the device's KINDS.md): each wheel's
# Requires-Dist is printed so that a new version's new needs show. Prints the sizes; .whl/ must stay
# under 16 MiB (a device command carries at most 64 MiB, the working tree included).
# Usage: bash scripts/gpu/wheels.sh   (KIELO_WHEELS=<dir> writes elsewhere)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
WHEELS="${KIELO_WHEELS:-.whl}"
LIMIT_BYTES=$((16 * 1024 * 1024))
TORCH_CUDA=130 # the GPU image's torch is 2.11.0+cu130
PACKAGES=(liger-kernel==0.8.5 bitsandbytes==0.50.2 gguf==0.19.0)
PYTHON="${PYTHON:-python3}"

mkdir -p "$WHEELS"
DOWNLOAD="$(mktemp -d)"
trap 'rm -rf "$DOWNLOAD"' EXIT
for package in "${PACKAGES[@]}"; do
  name="${package%%==*}"
  wheel_name="${name//-/_}"
  if compgen -G "$WHEELS/${wheel_name}-${package##*==}-*.whl" > /dev/null; then
    echo "kept     $package"
    continue
  fi
  echo "fetching $package"
  "$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    -d "$DOWNLOAD" "$package"
  # One version of each package: two would stop the install there.
  rm -f "$WHEELS/${wheel_name}"-*.whl
  for wheel in "$DOWNLOAD/${wheel_name}"-*.whl; do
    if [ "$name" = bitsandbytes ]; then
      "$PYTHON" - "$wheel" "$WHEELS/$(basename "$wheel")" "$TORCH_CUDA" <<'EOF'
# Keeps libbitsandbytes_cpu.so and libbitsandbytes_cuda<N>.so; drops the other native libraries and
# their RECORD lines. Written to a temporary name, renamed when complete.
import os, re, sys, zipfile
src, dst, cuda = sys.argv[1], sys.argv[2], sys.argv[3]
drop = re.compile(r"bitsandbytes/libbitsandbytes_(?!cpu\.so$|cuda%s\.so$)[^/]+\.so$" % cuda)
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst + ".tmp", "w", zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        if drop.match(item.filename):
            continue
        data = zin.read(item.filename)
        if item.filename.endswith(".dist-info/RECORD"):
            lines = data.decode().splitlines(keepends=True)
            data = "".join(line for line in lines if not drop.match(line.split(",", 1)[0])).encode()
        zout.writestr(item, data)
    kept = [n for n in zout.namelist() if n.endswith(".so")]
if f"bitsandbytes/libbitsandbytes_cuda{cuda}.so" not in kept:
    os.remove(dst + ".tmp")
    sys.exit(f"wheels.sh: {os.path.basename(src)} has no libbitsandbytes_cuda{cuda}.so")
os.replace(dst + ".tmp", dst)
print(f"         kept {', '.join(os.path.basename(n) for n in kept)}")
EOF
    else
      mv "$wheel" "$WHEELS/"
    fi
  done
done

human() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo
for wheel in "$WHEELS"/*.whl; do
  printf '%-62s %s\n' "$wheel" "$(human "$(stat -c %s "$wheel")")"
  unzip -p "$wheel" '*.dist-info/METADATA' | grep '^Requires-Dist' | grep -v 'extra ==' | sed 's/^/    /' || true
done
all=$(du -cb "$WHEELS"/*.whl | tail -1 | cut -f1)
printf '%-62s %s (limit %s)\n' "$WHEELS/ in all" "$(human "$all")" "$(human "$LIMIT_BYTES")"
if [ "$all" -gt "$LIMIT_BYTES" ]; then
  echo "wheels.sh: $WHEELS/ is larger than the limit" >&2
  exit 1
fi
