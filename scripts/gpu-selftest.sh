#!/usr/bin/env bash
# GPU self-test for a host with an NVIDIA GPU, normally run inside the production image:
#
#   docker run --rm --gpus all IMAGE /app/scripts/gpu-selftest.sh
#   (on RunPod: a GPU Pod from the same image, see docs/DEPLOY.md, "GPU self-test")
#
# or from a checkout with a release build and the GPU ONNX Runtime libraries
# (`cargo build --release && scripts/fetch-onnxruntime.sh gpu && scripts/gpu-selftest.sh`).
#
# It:
#   1. prints the driver, CUDA version, GPU name, compute capability and memory (nvidia-smi);
#   2. runs `gemini3 check` with hardware.require_gpu = true (a phase on CPU fails start-up);
#   3. runs `gemini3 check --no-cpu-fallback`: every phase session is built with ONNX
#      Runtime's CPU fallback disabled, so even one node placed on CPU is an error;
#   4. times a cold run (fresh TensorRT engine cache: engine build included) and a warm run
#      (cache reused) of `gemini3 vectorize` on generated 512x512 and 1024x1024 images;
#      Each run's metadata gives the time and provider per phase; a model phase on CPU fails;
#   5. reports the peak GPU memory seen by polling nvidia-smi during all of it;
# and exits non-zero if any step failed. The enabled phases run: phase 2 with the shipped
# upscaler (models/upscale_x4.onnx, up to phase2.max_side) unless GEMINI3__PHASE2__MODEL names
# yours; phase 1 only when GEMINI3__PHASE1__ENABLED=true (off by default since issue 19).
#
# Environment:
#   DISABLE_TENSORRT=1     test the CUDA provider alone (no engine builds)
#   GEMINI3_BIN            the binary (default: gemini3 on PATH, else target/release/gemini3)
#   SELFTEST_SIZES         image sides to time (default "512 1024")
#   SELFTEST_OUT           where images, SVGs and logs go (default: a new folder under /tmp)
#   GPU_MODEL, GEMINI3_PROFILE, GEMINI3__*   as for the worker (default GPU_MODEL=RTX_5090)
set -uo pipefail

root="${GEMINI3_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export GEMINI3_ROOT="$root"
export GPU_MODEL="${GPU_MODEL:-RTX_5090}"
export GEMINI3__HARDWARE__REQUIRE_GPU=true
export RUST_LOG="${RUST_LOG:-info,ort=warn}"
out="${SELFTEST_OUT:-$(mktemp -d /tmp/gemini3-selftest.XXXXXX)}"
mkdir -p "$out"
sizes="${SELFTEST_SIZES:-512 1024}"

failures=()
poller_pid=""

say() { printf '\n== %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  failures+=("$*")
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

cleanup() {
  if [ -n "$poller_pid" ]; then
    kill "$poller_pid" 2>/dev/null
    wait "$poller_pid" 2>/dev/null
  fi
}
trap cleanup EXIT

# --- the binary --------------------------------------------------------------------------------
bin="${GEMINI3_BIN:-}"
if [ -z "$bin" ]; then
  if command -v gemini3 >/dev/null 2>&1; then
    bin="$(command -v gemini3)"
  else
    bin="$root/target/release/gemini3"
  fi
fi
if [ ! -x "$bin" ]; then
  echo "gpu-selftest: no gemini3 binary at $bin (build it with cargo build --release, or set GEMINI3_BIN)" >&2
  exit 2
fi

# --- 1. the GPU ------------------------------------------------------------------------------
say "GPU"
if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "gpu-selftest: nvidia-smi not found: no NVIDIA driver visible (docker run needs --gpus all)" >&2
  exit 2
fi
if ! gpu_info="$(nvidia-smi --query-gpu=index,name,driver_version,compute_cap,memory.total --format=csv,noheader)"; then
  echo "gpu-selftest: nvidia-smi failed: no usable GPU" >&2
  exit 2
fi
cuda_version="$(nvidia-smi | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -n 1)"
echo "index, name, driver, compute capability, memory"
echo "$gpu_info"
echo "driver CUDA version: ${cuda_version:-unknown}"
device_id="${GEMINI3__HARDWARE__DEVICE_ID:-0}"
compute_cap="$(nvidia-smi -i "$device_id" --query-gpu=compute_cap --format=csv,noheader | tr -d ' ')"
if [ "$compute_cap" != "12.0" ]; then
  echo "note: GPU $device_id has compute capability $compute_cap, not 12.0 (RTX 5090); the figures below are for this card"
fi
echo "binary: $bin"
echo "profile: GPU_MODEL=$GPU_MODEL GEMINI3_PROFILE=${GEMINI3_PROFILE:-} DISABLE_TENSORRT=${DISABLE_TENSORRT:-0}"
echo "ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-} CUDA_CACHE_PATH=${CUDA_CACHE_PATH:-}"
echo "output folder: $out"

# Peak GPU memory: poll the card every 100 ms for the whole test.
mem_log="$out/gpu-memory.csv"
baseline_mib="$(nvidia-smi -i "$device_id" --query-gpu=memory.used --format=csv,noheader,nounits | tr -d ' ')"
nvidia-smi -i "$device_id" --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 >"$mem_log" 2>/dev/null &
poller_pid=$!

# Phase 2: the shipped upscaler (the default model) unless another one is configured.
export GEMINI3__PHASE2__ENABLED=true

# A fresh TensorRT cache for the timed runs, so that "cold" really includes engine builds and
# the endpoint's cache on the network volume is neither used nor polluted.
fresh_cache() {
  local dir="$out/trt-cache-$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  export GEMINI3__HARDWARE__TENSORRT__ENGINE_CACHE_PATH="$dir/engines"
  export GEMINI3__HARDWARE__TENSORRT__TIMING_CACHE_PATH="$dir/timing"
  export GEMINI3__HARDWARE__TENSORRT__FALLBACK_CACHE_PATH="$dir/fallback"
}

# --- 2. gemini3 check, require_gpu = true --------------------------------------------------------
fresh_cache check
say "gemini3 check (require_gpu = true)"
if "$bin" check 2>&1 | tee "$out/check.log"; then
  echo "ok"
else
  fail "gemini3 check with require_gpu = true (log: $out/check.log)"
fi

# --- 3. every phase with CPU fallback disabled -------------------------------------------------
say "gemini3 check --no-cpu-fallback"
if "$bin" check --no-cpu-fallback 2>&1 | tee "$out/check-no-cpu-fallback.log"; then
  echo "ok"
else
  fail "gemini3 check --no-cpu-fallback: a phase needs the CPU, or the flag is missing (log: $out/check-no-cpu-fallback.log)"
fi

# --- 4. timed runs -------------------------------------------------------------------------------
# A 24-bit BMP of coloured tiles with diagonal bands, written with printf alone (the runtime
# image has no Python or ImageMagick). Sides must be multiples of 8.
# le32 N: N as four little-endian bytes, written as \0NNN escapes for printf %b.
le32() {
  local n=$1
  printf '\\0%03o\\0%03o\\0%03o\\0%03o' $((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)) $((n >> 24 & 255))
}
make_bmp() {
  local side=$1 file=$2 tile=$(($1 / 8)) band column row
  local colours=('\057\062\334' '\322\213\046' '\360\370\372' '\050\050\050' '\000\265\211' '\066\315\365')
  local pixel_bytes=$((side * side * 3))
  {
    printf 'BM'
    # File size, reserved, pixel offset; then the 40-byte info header: width, height,
    # 1 plane, 24 bits, no compression, pixel bytes, 2835 px/m, no colour table.
    printf '%b' "$(le32 $((54 + pixel_bytes)))$(le32 0)$(le32 54)"
    printf '%b' "$(le32 40)$(le32 "$side")$(le32 "$side")" '\01\0\030\0'
    printf '%b' "$(le32 0)$(le32 "$pixel_bytes")$(le32 2835)$(le32 2835)$(le32 0)$(le32 0)"
  } >"$file"
  for ((band = 0; band < 8; band++)); do
    : >"$file.row"
    for ((column = 0; column < 8; column++)); do
      # shellcheck disable=SC2059 # the colour is an escape sequence for printf to expand
      printf "${colours[$(((band + column) % 6))]}%.0s" $(seq "$tile") >>"$file.row"
    done
    for ((row = 0; row < tile; row++)); do
      cat "$file.row"
    done >>"$file"
  done
  rm -f "$file.row"
}

# Prints each phase's time and provider from a run's metadata
# ("phases": {"phase1": {"ms": 12.3, "provider": "tensorrt"}, ...}); a model phase (1-3) that
# ran on CPU is a failure. Phase 4, image tracing, is Rust on the CPU by design.
check_phases() {
  local label=$1 entry phase ms provider
  local entries
  entries="$(tr -d ' \n\t' <"$out/$label.json" | grep -oE '"phase[0-9]":\{[^}]*\}')" || true
  if [ -z "$entries" ]; then
    fail "$label: no per-phase report in $out/$label.json"
    return
  fi
  while read -r entry; do
    phase="$(sed -E 's/^"(phase[0-9])".*/\1/' <<<"$entry")"
    ms="$(sed -nE 's/.*"ms":([0-9.]+).*/\1/p' <<<"$entry")"
    provider="$(sed -nE 's/.*"provider":"([a-z_]+)".*/\1/p' <<<"$entry")"
    printf '  %s %10s ms  on %s\n' "$phase" "${ms:-?}" "${provider:-?}"
    if [ "$phase" != "phase4" ] && [ "$provider" = "cpu" ]; then
      fail "$label: $phase ran on CPU"
    fi
  done <<<"$entries"
}

# Runs `gemini3 vectorize` once; prints and records the wall time in milliseconds.
timings=()
run_vectorize() {
  local label=$1 image=$2 start end
  start=$(now_ms)
  if "$bin" vectorize "$image" -o "$out/$label.svg" --metadata "$out/$label.json" \
    >"$out/$label.log" 2>&1; then
    end=$(now_ms)
    timings+=("$(printf '%-14s %8d ms' "$label" $((end - start)))")
    printf '%s: %d ms\n' "$label" $((end - start))
    if [ ! -s "$out/$label.svg" ]; then
      fail "$label: no SVG written"
    fi
    check_phases "$label"
  else
    fail "gemini3 vectorize $label (log: $out/$label.log)"
    tail -n 20 "$out/$label.log" >&2
  fi
}

for side in $sizes; do
  image="$out/tiles-$side.bmp"
  make_bmp "$side" "$image"
  say "vectorize ${side}x${side}"
  fresh_cache "$side"
  run_vectorize "cold-$side" "$image"
  run_vectorize "warm-$side" "$image"
done

# --- 5. peak memory and summary --------------------------------------------------------------------
cleanup
poller_pid=""
peak_mib="$(sort -n "$mem_log" 2>/dev/null | tail -n 1 | tr -d ' ')"
say "summary"
echo "GPU: $(nvidia-smi -i "$device_id" --query-gpu=name,driver_version,compute_cap --format=csv,noheader)"
echo "providers (gemini3 check, DISABLE_TENSORRT=${DISABLE_TENSORRT:-0}):"
grep -E '^phase[0-9] [a-z]+: .* on [a-z]+$' "$out/check.log" | sed 's/^/  /' || echo "  (none reported)"
echo "wall time per process (ONNX Runtime load, sessions or engine build, warm-up, one image):"
for line in "${timings[@]}"; do
  echo "  $line"
done
if [ -n "$peak_mib" ]; then
  echo "peak GPU memory used: ${peak_mib} MiB (before the test: ${baseline_mib} MiB; this card, all processes)"
else
  fail "no GPU memory samples recorded"
fi
echo "artefacts: $out"
if [ "${#failures[@]}" -gt 0 ]; then
  echo "gpu-selftest: ${#failures[@]} failure(s):" >&2
  printf '  - %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "gpu-selftest: all checks passed"
