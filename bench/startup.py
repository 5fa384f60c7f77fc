#!/usr/bin/env python3
"""Start-up benchmark (`make bench-startup`, writes bench/startup.md).

1. One-shot: whole-process wall time of `gemini3 vectorize icon.png -o out.svg` (release
   build, default configuration, CPU) on one 256x256 icon, against VTracer's CLI
   (`vtracer --input icon.png --output out.svg`, default options) on the same icon: the
   median of --runs runs each, alternating, after one untimed run of each (page cache).
2. Worker: per-job time of a long-running `gemini3 serve` (the worker's start-up and
   handler; jobs through the local API's /runsync on loopback) at 256x256 and 512x512: the
   median round trip of --jobs jobs after 3 untimed ones, and the pipeline's own `total_ms`.

With --before BIN [--before-root DIR] the same is measured for an older binary (and the
configs/ and models/ it was built with), side by side. The icon is drawn by
bench/startup_icon.py (no downloaded artwork). Standard library only.

    python3 bench/startup.py [--vtracer PATH] [--before BIN --before-root DIR] [--out FILE]
"""

import argparse
import base64
import datetime
import json
import os
import platform
import re
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work" / "startup"
sys.path.insert(0, str(ROOT / "bench"))
import startup_icon  # noqa: E402


def timed(cmd, env, metadata=None):
    """(wall ms, CPU ms user+sys, the pipeline's total_ms or None) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = (time.perf_counter() - started) * 1000.0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000.0
    total = json.loads(Path(metadata).read_text())["total_ms"] if metadata else None
    return elapsed, cpu, total


def one_shot(commands, runs):
    """Medians (wall ms, CPU ms, pipeline ms or None) of each named command, run alternately."""
    samples = {name: [] for name in commands}
    for name, (cmd, env, metadata) in commands.items():
        timed(cmd, env, metadata)  # untimed: page cache
    for _ in range(runs):
        for name, (cmd, env, metadata) in commands.items():
            samples[name].append(timed(cmd, env, metadata))
    medians = {}
    for name, values in samples.items():
        columns = list(zip(*values))
        medians[name] = tuple(
            statistics.median(c) if c[0] is not None else None for c in columns
        )
    return medians


def breakdown(binary, env, icon, runs):
    """Medians of where one `vectorize` run's wall time goes, from its log timestamps
    (RUST_LOG=info): process start to ONNX Runtime loaded, ONNX Runtime's environment,
    building the sessions, then the pipeline, writing the SVG and exit."""
    env = dict(env, RUST_LOG="info,ort=info")
    rows = []
    for _ in range(runs):
        started = time.time()
        run = subprocess.run(
            [binary, "vectorize", icon, "-o", str(WORK / "breakdown.svg")],
            env=env, capture_output=True, text=True, check=True,
        )
        ended = time.time()
        stamps = []
        for line in run.stderr.splitlines():
            match = re.match(r"(\S+Z)\s+\w+\s+\S+: (.*)", line)
            if match:
                when = datetime.datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
                stamps.append((when.timestamp(), match.group(2)))
        loaded = next(t for t, text in stamps if "Loaded ONNX Runtime dylib" in text)
        environment_ready = next(t for t, text in stamps if text.startswith("loaded ONNX Runtime"))
        sessions = [t for t, text in stamps if "Session successfully initialized" in text][-1]
        rows.append((
            (loaded - started) * 1000.0,
            (environment_ready - loaded) * 1000.0,
            (sessions - environment_ready) * 1000.0,
            (ended - sessions) * 1000.0,
            (ended - started) * 1000.0,
        ))
    return [statistics.median(column) for column in zip(*rows)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_jobs(binary, env, icons, jobs):
    """{side: (median round-trip ms, median total_ms)} from one `gemini3 serve`."""
    port = free_port()
    server = subprocess.Popen(
        [binary, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/health", timeout=1).read()
                break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit(f"{binary} serve exited with {server.returncode}")
                time.sleep(0.1)
        results = {}
        for side, path in icons.items():
            body = json.dumps(
                {"input": {"image": base64.b64encode(path.read_bytes()).decode()}}
            ).encode()
            trips, totals = [], []
            for i in range(jobs + 3):
                request = urllib.request.Request(
                    base + "/runsync", data=body, headers={"Content-Type": "application/json"}
                )
                started = time.perf_counter()
                answer = json.loads(urllib.request.urlopen(request, timeout=300).read())
                elapsed = (time.perf_counter() - started) * 1000.0
                if answer.get("status") != "COMPLETED":
                    raise SystemExit(f"job failed: {str(answer)[:300]}")
                if i >= 3:
                    trips.append(elapsed)
                    totals.append(answer["output"]["metadata"]["total_ms"])
            results[side] = (statistics.median(trips), statistics.median(totals))
        return results
    finally:
        server.terminate()
        server.wait(timeout=60)


def environment(root):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI3", "RUST_LOG"))}
    env["GEMINI3_ROOT"] = str(root)
    return env


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(ROOT / "target" / "release" / "gemini3"))
    parser.add_argument("--vtracer", default=str(ROOT / "bench" / ".work" / "vtracer" / "bin" / "vtracer"))
    parser.add_argument("--root", default=str(ROOT), help="the project root (configs/, models/) of --binary")
    parser.add_argument("--before", help="an older gemini3 binary to compare with")
    parser.add_argument("--before-root", help="the project root (configs/, models/) of --before")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--out", default=str(ROOT / "bench" / "startup.md"))
    args = parser.parse_args()

    WORK.mkdir(parents=True, exist_ok=True)
    icons = {}
    for side in (256, 512):
        path = WORK / f"icon{side}.png"
        if not path.exists():
            startup_icon.write_icon(str(path), side)
        icons[side] = path
    icon = str(icons[256])

    builds = [("after", args.binary, Path(args.root))]
    if args.before:
        builds.insert(0, ("before", args.before, Path(args.before_root or ROOT)))

    commands = {}
    for label, binary, root in builds:
        metadata = str(WORK / f"{label}.json")
        commands[f"gemini3 vectorize ({label})"] = (
            [binary, "vectorize", icon, "-o", str(WORK / f"{label}.svg"), "--metadata", metadata],
            environment(root),
            metadata,
        )
    commands["vtracer"] = (
        [args.vtracer, "--input", icon, "--output", str(WORK / "vtracer.svg")],
        dict(os.environ),
        None,
    )
    shot = one_shot(commands, args.runs)

    parts = breakdown(args.binary, environment(Path(args.root)), icon, args.runs)
    jobs = {label: worker_jobs(binary, environment(root), icons, args.jobs) for label, binary, root in builds}

    vt = shot["vtracer"][0]
    load = os.getloadavg()
    version = subprocess.run([args.vtracer, "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Start-up: one-shot `gemini3 vectorize` against VTracer, and the worker's per-job time",
        "",
        f"Made by `make bench-startup` (`bench/startup.py`) on {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}; release build, default configuration "
        "(`hardware.device = auto`, so CPU after TensorRT and CUDA are found unavailable), ONNX Runtime from `.ort/lib`. "
        "The input is one 256×256 icon drawn by `bench/startup_icon.py` (four flat colours, anti-aliased, transparent corners).",
        "",
        "## One image, whole process",
        "",
        f"Median wall time and CPU time (user + system) of {args.runs} runs each, alternating, after one untimed run of each; "
        "for gemini3 also the pipeline's own `total_ms` (from `--metadata`), the rest being process start, "
        f"ONNX Runtime and session building. Load average at the end: {load[0]:.1f} (1 min) on {os.cpu_count()} cores. "
        f"VTracer is `{version}` (`vtracer --input icon256.png --output out.svg`, its default options), "
        "the CLI `bench/quality.sh` builds.",
        "",
        "| command | wall ms | × VTracer | CPU ms | pipeline ms | wall outside the pipeline ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, (ms, cpu, total) in shot.items():
        pipeline = f"{total:.1f}" if total is not None else "—"
        outside = f"{ms - total:.1f}" if total is not None else "—"
        lines.append(f"| `{name}` | {ms:.1f} | {ms / vt:.1f} | {cpu:.1f} | {pipeline} | {outside} |")
    lines += [
        "",
        f"Where the time of one `gemini3 vectorize` (after) goes, from its own log timestamps "
        f"(`RUST_LOG=info`, median of {args.runs} runs; logging itself adds a little):",
        "",
        "| process start → ONNX Runtime loaded | ONNX Runtime environment | sessions built | pipeline, SVG written, exit | whole |",
        "|---|---|---|---|---|",
        "| " + " | ".join(f"{ms:.1f} ms" for ms in parts) + " |",
        "",
        "## The worker, per job",
        "",
        f"`gemini3 serve` (the worker's start-up: sessions built and warmed up), jobs through `/runsync` on loopback, "
        f"one at a time: median of {args.jobs} jobs after 3 untimed ones. Round trip includes base64, HTTP and JSON; "
        "`total_ms` is the pipeline's own figure from the metadata.",
        "",
        "| build | image | round trip p50 (ms) | pipeline total_ms p50 |",
        "|---|---|---|---|",
    ]
    for label, results in jobs.items():
        for side, (trip, total) in results.items():
            lines.append(f"| {label} | {side}×{side} | {trip:.1f} | {total:.1f} |")
    if "before" in jobs:
        lines += ["", "Ratios after / before (1.0 = unchanged):", ""]
        for side in icons:
            b, a = jobs["before"][side], jobs["after"][side]
            lines.append(f"- {side}×{side}: round trip {a[0] / b[0]:.2f}, pipeline {a[1] / b[1]:.2f}")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
