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
"$venv/bin/python" "$root/tools/export_models.py" "${1:-$root/models}"
