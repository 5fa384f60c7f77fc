#!/usr/bin/env bash
# Fidelity benchmark against VTracer (`make bench-quality`). Not a test.
#
# Fetches everything it needs into bench/.work (ignored by git): a Python virtual environment
# (numpy, scikit-image for SSIM/PSNR/CIEDE2000 and its bundled photos, Pillow, resvg-py to
# render SVG), the Twemoji SVGs from the npm registry (`npm pack @discordapp/twemoji`), and
# VTracer's CLI from crates.io (`cargo install vtracer`). Builds gemini3 in release, then runs
# bench/quality.py, which writes bench/quality.md and bench/quality-grid.png.
set -euo pipefail

cd "$(dirname "$0")/.."
WORK=bench/.work
TWEMOJI_VERSION=16.0.1
VTRACER_VERSION=0.6.5
mkdir -p "$WORK"

if [[ ! -x "$WORK/venv/bin/python" ]]; then
    python3 -m venv "$WORK/venv"
fi
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check \
    "numpy==2.4.*" "scikit-image==0.26.*" "pillow==13.*" "resvg-py==0.5.*"

if [[ ! -d "$WORK/twemoji/package/dist/svg" ]]; then
    (cd "$WORK" && npm pack "@discordapp/twemoji@$TWEMOJI_VERSION" --silent >/dev/null)
    mkdir -p "$WORK/twemoji"
    tar -xzf "$WORK/discordapp-twemoji-$TWEMOJI_VERSION.tgz" -C "$WORK/twemoji"
fi

if [[ ! -x "$WORK/vtracer/bin/vtracer" ]]; then
    cargo install vtracer --version "$VTRACER_VERSION" --locked --root "$WORK/vtracer"
fi

if [[ ! -e .ort/lib/libonnxruntime.so ]]; then
    bash scripts/fetch-onnxruntime.sh
fi

if [[ ! -x /usr/bin/time ]]; then
    echo "bench-quality needs GNU time for peak RSS: apt-get install time" >&2
    exit 1
fi

cargo build --release --bin gemini3
exec "$WORK/venv/bin/python" bench/quality.py "$@"
