#!/usr/bin/env bash
# Fidelity benchmark against VTracer (`make bench-quality`). Not a test.
#
#   bench/quality.sh                      the full run: writes bench/quality.md and the grids
#   bench/quality.sh --quick              10 images per set (page and grids under bench/.work/runs)
#   bench/quality.sh --sets outline,glossy [--variants clean,jpeg30] [--no-fixed16] [--limit N]
#
# Every run works in its own bench/.work/runs/<time>-<pid>/ and copies its summary.json and
# per-image.json to bench/.work/ (the latest run's), to diff between runs. gemini3 reads GEMINI3__SECTION__KEY overrides from the environment; GEMINI3_FLAGS adds
# flags to each `gemini3 vectorize` (e.g. GEMINI3_FLAGS="--config my.toml").
# SKIP_BUILD=1 skips `cargo build --release --bin gemini3`; GEMINI3_BIN=PATH scores another build
# (e.g. an earlier run's saved bench/.work/runs/<run>/gemini3-bin) to compare two builds.
#
# Fetches everything it needs into bench/.work (ignored by git): a Python virtual environment
# (numpy, scikit-image for SSIM/PSNR/CIEDE2000 and its bundled photos, Pillow, resvg-py to
# render SVG), the Iconify icon packages below (`npm pack`), and VTracer's CLI
# (`cargo install vtracer-cli`, in its own target dir). Then runs bench/quality.py.
set -euo pipefail

cd "$(dirname "$0")/.."
WORK=bench/.work
VTRACER_VERSION=1.0.0-alpha.4
# The benchmark's icon packages, pinned (set: package@version).
PACKAGES=(
    "streamline-emojis@1.2.4"  # outline
    "flat-color-icons@1.2.3"   # flat
    "logos@1.2.19"             # logos
    "flag@1.2.12"              # flags
    "fluent-emoji@1.2.7"       # glossy
)
mkdir -p "$WORK/npm"

if [[ ! -x "$WORK/venv/bin/python" ]]; then
    python3 -m venv "$WORK/venv"
fi
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check \
    "numpy==2.4.*" "scikit-image==0.26.*" "pillow==13.*" "resvg-py==0.5.*"

for spec in "${PACKAGES[@]}"; do
    name=${spec%@*}
    version=${spec#*@}
    folder="$WORK/npm/$name"
    if [[ ! -f "$folder/package/icons.json" ]] || ! grep -q "\"version\": \"$version\"" "$folder/package/package.json"; then
        rm -rf "$folder"
        mkdir -p "$folder"
        (cd "$WORK/npm" && npm pack "@iconify-json/$name@$version" --silent >/dev/null)
        tar -xzf "$WORK/npm/iconify-json-$name-$version.tgz" -C "$folder"
    fi
done

if [[ ! -x "$WORK/vtracer/bin/vtracer" ]] || [[ "$("$WORK/vtracer/bin/vtracer" --version 2>/dev/null)" != *"$VTRACER_VERSION"* ]]; then
    CARGO_TARGET_DIR="$WORK/vtracer-target" \
        cargo install vtracer-cli --version "$VTRACER_VERSION" --locked --force --root "$WORK/vtracer"
fi

if [[ ! -e .ort/lib/libonnxruntime.so ]]; then
    bash scripts/fetch-onnxruntime.sh
fi

if [[ -z "${SKIP_BUILD:-}" ]]; then
    cargo build --release --bin gemini3
fi
exec "$WORK/venv/bin/python" bench/quality.py "$@"
