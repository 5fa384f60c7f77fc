#!/usr/bin/env bash
# Puts the ONNX Runtime shared library where the binary looks for it (.ort/lib), taken from the
# official Python wheel with `pip download` (the only registry our machines reach; ort's own
# download step cannot reach its CDN). Idempotent: does nothing when the right version is there.
#
#   scripts/fetch-onnxruntime.sh          CPU library from the `onnxruntime` wheel (24 MB)
#   scripts/fetch-onnxruntime.sh gpu      CUDA + TensorRT providers from `onnxruntime-gpu` (256 MB)
set -euo pipefail

variant="${1:-cpu}"
# 1.31.x is what ort 2.0.0-rc.15 (feature api-31) was built against; older libraries are refused.
version="${ORT_VERSION:-1.31.1}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.ort/lib"
stamp="$dest/.installed"

case "$variant" in
  cpu) package="onnxruntime" ;;
  gpu) package="onnxruntime-gpu" ;;
  *) echo "usage: $0 [cpu|gpu]" >&2; exit 2 ;;
esac

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$package==$version" ] && [ -e "$dest/libonnxruntime.so.$version" ]; then
  echo "onnxruntime: $package==$version already in $dest"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "onnxruntime: downloading $package==$version wheel"
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  --platform manylinux_2_28_x86_64 --python-version 3.11 \
  -d "$work" "$package==$version"
wheel="$(ls "$work"/*.whl | head -n 1)"

rm -rf "$dest"
mkdir -p "$dest"
python3 - "$wheel" "$dest" <<'PY'
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as archive:
    for name in archive.namelist():
        base = os.path.basename(name)
        if name.startswith("onnxruntime/capi/") and base.startswith("libonnxruntime") and ".so" in base:
            with open(os.path.join(dest, base), "wb") as out:
                out.write(archive.read(name))
PY
ln -sf "libonnxruntime.so.$version" "$dest/libonnxruntime.so.1"
ln -sf "libonnxruntime.so.1" "$dest/libonnxruntime.so"
echo "$package==$version" > "$stamp"
echo "onnxruntime: installed $(ls "$dest" | tr '\n' ' ')into $dest"
