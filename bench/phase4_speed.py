#!/usr/bin/env python3
"""Phase 4's time (`metadata.phases.phase4.ms`) of two or more gemini3 builds, side by side.

    python bench/phase4_speed.py prepare [--per-set 10] [--npm DIR] [--out DIR]
    python bench/phase4_speed.py time --bin base=/tmp/gemini3-base --bin new=target/release/gemini3
        [--dir DIR] [--reps 3] [--sizes 256,512] [--sets flags,glossy,...]

`prepare` writes the inputs under `--out` (default bench/.work/phase4): for each artwork set of
bench/quality.md the first `--per-set` icons that bench/artwork_check.py chooses (the same
fixed-seed choice, from the Iconify packages in `--npm`), rendered with resvg at 256 and 512 px
(long side); and the geometric set of bench/geometry.py (its 512 px copies, and those reduced
to 256 px by Lanczos in premultiplied RGBA), as `<dir>/<set>/<size>/<name>.png`.

`time` runs `gemini3 vectorize IMG -o OUT --metadata M` for every input, the builds alternating
image by image, `--reps` rounds, with the default configuration for the artwork sets and the
learned phases off for the geometric set (as bench/geometry.py scores it). Per image the median
over the rounds; per set and size the median over the images, and the ratio to the first
build. The machine is shared, so read the ratios, not the milliseconds.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETS = ["outline", "flat", "logos", "flags", "glossy", "geometry"]


def prepare(args):
    sys.dont_write_bytecode = True
    sys.path.insert(0, str(HERE))
    import artwork_check
    from PIL import Image

    if args.npm:
        artwork_check.NPM = Path(args.npm)
    out = Path(args.out)
    for set_name in artwork_check.PACKAGES:
        icons = artwork_check.choose(set_name, args.per_set)
        for size in (256, 512):
            folder = out / set_name / str(size)
            folder.mkdir(parents=True, exist_ok=True)
            for name, width, height, svg in icons:
                image = artwork_check.render(svg, *artwork_check.fit(width, height, size))
                image.save(folder / f"{name}.png")
    geometry = Path(args.geometry) / "512"
    for size in (256, 512):
        folder = out / "geometry" / str(size)
        folder.mkdir(parents=True, exist_ok=True)
        for png in sorted(geometry.glob("*.png")):
            image = Image.open(png).convert("RGBA")
            if size != image.width:
                image = (image.convert("RGBa").resize((size, size), Image.LANCZOS)
                         .convert("RGBA"))
            image.save(folder / png.name)
    print(f"inputs in {out}")


def run_once(binary, image, env, work):
    svg, meta = work / "out.svg", work / "meta.json"
    subprocess.run([binary, "vectorize", str(image), "-o", str(svg), "--metadata", str(meta)],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data = json.loads(meta.read_text())
    return data["phases"]["phase4"]["ms"], data["total_ms"]


def time_builds(args):
    builds = []
    for spec in args.bin:
        label, _, binary = spec.partition("=")
        builds.append((label, binary))
    root = Path(args.dir)
    sizes = [int(s) for s in args.sizes.split(",")]
    sets = args.sets.split(",")
    work = Path(tempfile.mkdtemp(prefix="phase4-speed-"))
    rows = []
    for set_name in sets:
        env = dict(os.environ)
        if set_name == "geometry":
            env["GEMINI3__PHASE1__ENABLED"] = "false"
            env["GEMINI3__PHASE2__ENABLED"] = "false"
        for size in sizes:
            images = sorted((root / set_name / str(size)).glob("*.png"))
            times = {label: [[] for _ in images] for label, _ in builds}
            for _ in range(args.reps):
                for k, image in enumerate(images):
                    for label, binary in builds:
                        times[label][k].append(run_once(binary, image, env, work)[0])
            medians = {label: statistics.median(statistics.median(t) for t in per)
                       for label, per in times.items()}
            first = builds[0][0]
            paired = {label: statistics.median(statistics.median(t) / statistics.median(b)
                                               for t, b in zip(per, times[first]))
                      for label, per in times.items()}
            rows.append((set_name, size, len(images), medians, paired))
            cells = " | ".join(f"{label} {medians[label]:7.1f} ms ({paired[label]:.2f}x)"
                               for label, _ in builds)
            print(f"{set_name:8} {size:>3} px, {len(images):2} images: {cells}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--per-set", type=int, default=10)
    p.add_argument("--npm", help="the Iconify packages (default: bench/.work/npm)")
    p.add_argument("--geometry", default=str(HERE / ".work" / "geometry"))
    p.add_argument("--out", default=str(HERE / ".work" / "phase4"))
    t = sub.add_parser("time")
    t.add_argument("--bin", action="append", required=True, help="LABEL=PATH, first is the base")
    t.add_argument("--dir", default=str(HERE / ".work" / "phase4"))
    t.add_argument("--reps", type=int, default=3)
    t.add_argument("--sizes", default="256,512")
    t.add_argument("--sets", default=",".join(SETS))
    t.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args)
    else:
        time_builds(args)


if __name__ == "__main__":
    main()
