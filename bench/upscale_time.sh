#!/usr/bin/env bash
# CPU time of `gemini3 vectorize`, end to end (one process per run: start-up, model loading and
# the job), for a 96 px and a 256 px icon, with the default configuration and with every learned
# phase off, median of RUNS runs (bench/upscale.md). Needs bench/upscale.py's inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
bin=target/release/gemini3
out=$(mktemp -d)
export GEMINI3__HARDWARE__DEVICE=cpu RUST_LOG=error
for input in bench/.work/upscale/inputs/small/outline-00-woman-cook-1.png \
             bench/.work/upscale/inputs/clean/outline-00-woman-cook-1.png; do
  for config in default off p2-at-256; do
    env=()
    case $config in
      off) env=(GEMINI3__PHASE1__ENABLED=false GEMINI3__PHASE2__ENABLED=false) ;;
      p2-at-256) env=(GEMINI3__PHASE2__CPU_MAX_SIDE=256) ;;
    esac
    times=()
    for _ in $(seq "$RUNS"); do
      start=$(date +%s.%N)
      env "${env[@]}" "$bin" vectorize "$input" -o "$out/out.svg" --metadata "$out/meta.json" 2>/dev/null
      end=$(date +%s.%N)
      times+=("$(echo "$end - $start" | bc) $(python3 -c "import json;m=json.load(open('$out/meta.json'));print(m['total_ms'], m['phases'].get('phase2',{}).get('ms','-'))")")
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p" \
      | awk -v i="$(basename "$(dirname "$input")")" -v c="$config" '{printf "%s %s: wall %.2f s, job %.0f ms, phase2 %s ms\n", i, c, $1, $2, $3}'
  done
done
