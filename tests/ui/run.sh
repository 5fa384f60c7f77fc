#!/usr/bin/env bash
# `make test-ui`: the playground in headless Chromium and RunPod's Python SDK against
# `gemini3 serve`. Needs Debian's chromium and chromium-driver (.ci/run installs them) and
# a built binary (make test-ui builds the release one). Python deps go into .venv-ui.
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in chromium chromedriver; do
  if ! command -v "$tool" >/dev/null; then
    echo "test-ui: $tool is missing; install it with: apt-get install -y chromium chromium-driver" >&2
    exit 1
  fi
done

venv=.venv-ui
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# Reinstall only when the pins change.
stamp="$venv/.requirements"
if ! cmp -s tests/ui/requirements.txt "$stamp"; then
  "$venv/bin/pip" install --quiet -r tests/ui/requirements.txt
  cp tests/ui/requirements.txt "$stamp"
fi

"$venv/bin/python" tests/ui/test_playground.py
"$venv/bin/python" tests/sdk/test_sdk.py
