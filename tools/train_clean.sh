#!/usr/bin/env bash
# Trains the learned phase-1 model: models/clean.onnx and its models/manifest.json entry.
# `make train-clean` runs this; `tools/train_clean.sh --smoke` is the few-step check CI runs.
# The virtual environment (.venv-train) and the fetched npm packages (.train-clean) are made
# here and ignored by git. Training uses one core (taskset, single-threaded XLA) so the other
# stays free; the full run takes about 45 minutes on this 2-core machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-train"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# Every version is pinned (and recorded in the manifest entry): CPU-only JAX keeps the
# environment small (PyTorch's Linux wheels pull in gigabytes of CUDA libraries).
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/tools/requirements-train.txt"
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
export OMP_NUM_THREADS=1
pin=()
# `nproc --all`: plain nproc honours OMP_NUM_THREADS (set to 1 above) and would say 1.
if command -v taskset >/dev/null && [ "$(nproc --all)" -gt 1 ]; then
  pin=(taskset -c 1)
fi
exec "${pin[@]}" "$venv/bin/python" "$root/tools/train_clean.py" "$@"
