#!/usr/bin/env bash
# Issue 12's memory figures (a benchmark, not a test). Figures go in bench/hardening-memory.md.
#
#   bash bench/adversarial.sh calibrate       peak RSS of `gemini3 vectorize` per image size
#   bash bench/adversarial.sh batch [MB]      peak RSS of `gemini3 serve` at concurrency 4 over
#                                             a mixed adversarial batch, budget MB (default:
#                                             handler.toml's); MIX=burst: 8 real 40 MP images
#                                             then 4 noise images; MIX=formats: every output
#                                             format on pixel-mode checkerboards, noise, gap
#                                             fillers (issue 21)
#   bash bench/adversarial.sh deadline        CPU seconds `serve` spends after answering a job
#                                             TIMED_OUT (a 2048² noise PNG with a wide gap
#                                             filler, deadline_s 3)
#
# Both run on the CPU provider with target/release/gemini3 (built here if missing) and the
# ONNX Runtime in .ort/lib (`make onnxruntime`).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/release/gemini3}
[[ -x "$BIN" ]] || cargo build --release --bin gemini3
export GEMINI3__HARDWARE__DEVICE=cpu
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

peak_kb() { sed -nE 's/^\s*Maximum resident set size \(kbytes\): ([0-9]+)/\1/p' "$1"; }

calibrate() {
    python3 bench/adversarial_inputs.py images "$work/images"
    printf '| image | peak RSS (MiB) |\n|---|---:|\n'
    for image in flat-64 flat-256 flat-512 flat-1024 flat-2048 flat-4096 flat-6300 \
        noise-256 noise-512 noise-1024 noise-2048; do
        /usr/bin/time -v "$BIN" vectorize "$work/images/$image.png" -o "$work/$image.svg" \
            >/dev/null 2>"$work/time.txt" || { echo "$image failed:"; tail -5 "$work/time.txt"; }
        printf '| %s | %d |\n' "$image" $(($(peak_kb "$work/time.txt") / 1024))
    done
}

batch() {
    local budget_mb=${1:-}
    local port=${PORT:-18123}
    python3 bench/adversarial_inputs.py jobs "$work/jobs" "${MIX:-mixed}"
    export GEMINI3_HANDLER__WORKER__CONCURRENCY=4
    [[ -n "$budget_mb" ]] && export GEMINI3_HANDLER__INPUT__MEMORY_BUDGET_MB="$budget_mb"
    if [[ -n "${MOTO:-}" ]]; then
        # Outputs go to an S3 bucket on loopback (MOTO=path/to/moto_server, from PyPI's
        # moto[server]): each file capped by output.max_file_bytes instead of the inline limit.
        "$MOTO" -p 18125 >"$work/moto.log" 2>&1 &
        moto_pid=$!
        trap 'kill "$moto_pid" 2>/dev/null; rm -rf "$work"' EXIT
        until curl -sf -X PUT http://127.0.0.1:18125/bench >/dev/null; do sleep 0.5; done
        export BUCKET_ENDPOINT_URL=http://127.0.0.1:18125/bench
        export BUCKET_ACCESS_KEY_ID=bench BUCKET_SECRET_ACCESS_KEY=bench-secret
    fi
    /usr/bin/time -v "$BIN" serve --port "$port" >"$work/serve.log" 2>"$work/time.txt" &
    local timer=$!
    local url="http://127.0.0.1:$port"
    until curl -sf "$url/health" >/dev/null; do
        kill -0 "$timer" 2>/dev/null || { cat "$work/serve.log" "$work/time.txt"; exit 1; }
        sleep 0.5
    done
    local server
    server=$(pgrep -P "$timer")
    local idle_kb
    idle_kb=$(sed -nE 's/^VmRSS:\s+([0-9]+) kB/\1/p' "/proc/$server/status")
    local ids=()
    for file in "$work"/jobs/*.json; do
        ids+=("$(curl -sf -X POST -H 'content-type: application/json' --data-binary "@$file" \
            "$url/run" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')")
    done
    local lost=0 index=0
    printf '| job | status | error / SVG bytes |\n|---|---|---|\n'
    local names=("$work"/jobs/*.json)
    for id in "${ids[@]}"; do
        local answer
        while :; do
            answer=$(curl -sf "$url/status/$id" || echo '{}')
            case "$answer" in *'"COMPLETED"'* | *'"FAILED"'* | *'"CANCELLED"'* | *'"TIMED_OUT"'*) break ;; esac
            sleep 1
        done
        printf '| %s | %s |\n' "$(basename "${names[$index]}" .json)" "$(printf '%s' "$answer" | python3 -c '
import json, sys
a = json.load(sys.stdin)
out = a.get("output") or {}
err = a.get("error")
if err:
    try:
        report = json.loads(err)
        err = report.get("error_type", "") + ": " + report.get("error_message", "")[:90]
    except ValueError:
        err = str(err)[:100]
files = out.get("outputs") or {}
sizes = ", ".join(k + " " + str(v.get("bytes")) for k, v in files.items())
print(a.get("status"), "|", err if err else (sizes or len(out.get("svg", ""))))')"
        [[ "$answer" == *'"COMPLETED"'* || "$answer" == *'"FAILED"'* ]] || lost=$((lost + 1))
        index=$((index + 1))
    done
    local hwm_kb
    hwm_kb=$(sed -nE 's/^VmHWM:\s+([0-9]+) kB/\1/p' "/proc/$server/status")
    kill -TERM "$server"
    wait "$timer" || true
    echo
    echo "budget: ${budget_mb:-handler.toml} MB; idle RSS after warm-up: $((idle_kb / 1024)) MiB;" \
        "peak RSS: $((hwm_kb / 1024)) MiB (time -v: $(($(peak_kb "$work/time.txt") / 1024)) MiB);" \
        "jobs without an answer: $lost"
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

deadline() {
    local port=${PORT:-18124}
    python3 - "$work/job.json" <<'PY'
import base64, json, sys
sys.path.insert(0, "bench")
from adversarial_inputs import noise
image = base64.b64encode(noise(2048, 2048, 7)).decode()
json.dump({"input": {"image": image, "gap_filler": 20, "formats": ["png", "dxf", "eps"],
                     "deadline_s": 3}}, open(sys.argv[1], "w"))
PY
    "$BIN" serve --port "$port" >"$work/serve.log" 2>&1 &
    local server=$!
    local url="http://127.0.0.1:$port"
    until curl -sf "$url/health" >/dev/null; do sleep 0.5; done
    local hz
    hz=$(getconf CLK_TCK)
    local before
    before=$(cpu_ticks "$server")
    local answer
    answer=$(curl -sf -H 'content-type: application/json' --data-binary "@$work/job.json"         "$url/runsync?wait=60000")
    local at_answer
    at_answer=$(cpu_ticks "$server")
    local health
    health=$(curl -sf "$url/health")
    sleep 10
    local after
    after=$(cpu_ticks "$server")
    kill -TERM "$server"
    wait "$server" || true
    echo "status: $(printf '%s' "$answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
    echo "health at the answer: $health"
    echo "CPU until the answer: $(( (at_answer - before) * 1000 / hz )) ms;" \
        "CPU in the 10 s after it: $(( (after - at_answer) * 1000 / hz )) ms"
}

case "${1:-}" in
calibrate) calibrate ;;
batch) batch "${2:-}" ;;
deadline) deadline ;;
*) sed -n '2,11p' "$0"; exit 2 ;;
esac
