#!/usr/bin/env python3
"""Quick regression check of two gemini3 builds on the artwork sets of bench/quality.md.

    python bench/artwork_check.py --base BIN [--base-root DIR] --new BIN [--per-set 8]
        [--sizes 256,96]

The first `--per-set` usable icons of each set (the same fixed-seed choice as quality.py, from
the Iconify packages that bench/quality.sh fetches into bench/.work/npm), rendered with resvg
at each size (long side), vectorized by both builds with the default configuration, the SVG
rendered back at the input's size over white and scored by PSNR against the render over white.
Prints the median PSNR and total bytes per set, size and build, and the paired median
difference. `--base-root` is GEMINI3_ROOT for the base build (its own configs/).
"""

import argparse
import io
import json
import math
import os
import random
import statistics
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import resvg_py
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
NPM = ROOT / "bench" / ".work" / "npm"
PACKAGES = {"outline": "streamline-emojis", "flat": "flat-color-icons", "logos": "logos",
            "flags": "flag", "glossy": "fluent-emoji"}
SEED = 20261129


def render(svg, width, height):
    png = resvg_py.svg_to_bytes(svg_string=svg, width=width, height=height, skip_system_fonts=True)
    image = Image.open(io.BytesIO(bytes(png))).convert("RGBA")
    return image if image.size == (width, height) else image.resize((width, height), Image.LANCZOS)


def on_white(image):
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")).astype(float)


def icon_svg(data, name):
    icon = data["icons"][name]
    width = icon.get("width", data.get("width", 16))
    height = icon.get("height", data.get("height", 16))
    left, top = icon.get("left", data.get("left", 0)), icon.get("top", data.get("top", 0))
    return width, height, (f'<svg xmlns="http://www.w3.org/2000/svg" '
                           f'xmlns:xlink="http://www.w3.org/1999/xlink" '
                           f'viewBox="{left} {top} {width} {height}">{icon["body"]}</svg>')


def fit(width, height, size):
    if width >= height:
        return size, max(1, round(size * height / width))
    return max(1, round(size * width / height)), size


def acceptable(image):
    array = np.asarray(image.convert("RGBA"))
    alpha = array[:, :, 3]
    if (alpha >= 128).mean() < 0.04:
        return False
    opaque = array[alpha >= 250][:, :3] >> 4
    if len(opaque) == 0:
        return False
    keys = (opaque[:, 0].astype(np.int32) << 8) | (opaque[:, 1].astype(np.int32) << 4) | opaque[:, 2]
    return int((np.bincount(keys, minlength=4096) >= 0.02 * len(keys)).sum()) >= 2


def choose(set_name, count):
    data = json.loads((NPM / PACKAGES[set_name] / "package" / "icons.json").read_text())
    names = sorted(n for n, icon in data["icons"].items()
                   if not any(k in icon for k in ("rotate", "hFlip", "vFlip", "hidden")))
    random.Random(f"{SEED}-{set_name}").shuffle(names)
    chosen = []
    for name in names:
        width, height, svg = icon_svg(data, name)
        w, h = fit(width, height, 64)
        try:
            if acceptable(render(svg, w, h)):
                chosen.append((name, width, height, svg))
        except ValueError:
            continue
        if len(chosen) == count:
            break
    return chosen


def psnr(a, b):
    mse = float(np.mean((a - b) ** 2))
    return 99.0 if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--base-root")
    parser.add_argument("--new", required=True)
    parser.add_argument("--per-set", type=int, default=8)
    parser.add_argument("--sizes", default="256,96")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="artwork-check-"))
    builds = {"base": (args.base, args.base_root), "new": (args.new, None)}
    sizes = [int(s) for s in args.sizes.split(",")]
    for set_name in PACKAGES:
        icons = choose(set_name, args.per_set)
        for size in sizes:
            folder = work / set_name / str(size)
            folder.mkdir(parents=True)
            for name, width, height, svg in icons:
                render(svg, *fit(width, height, size)).save(folder / f"{name}.png")
            scores = {}
            for label, (binary, root) in builds.items():
                out = work / set_name / f"{size}-{label}"
                env = dict(os.environ)
                if root:
                    env["GEMINI3_ROOT"] = root
                subprocess.run([binary, "vectorize", str(folder), "-o", str(out)], env=env,
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                values, total = [], 0
                for name, *_ in icons:
                    reference = Image.open(folder / f"{name}.png")
                    svg = (out / f"{name}.svg").read_text()
                    total += len(svg.encode())
                    values.append(psnr(on_white(reference), on_white(render(svg, *reference.size))))
                scores[label] = (values, total)
            (b, bb), (n, nb) = scores["base"], scores["new"]
            diff = statistics.median(y - x for x, y in zip(b, n))
            worst_name = min(zip(b, n, icons), key=lambda t: t[1] - t[0])[2][0]
            print(f"{set_name:8} {size:>3} px: base {statistics.median(b):6.2f} dB {bb:>7} B | "
                  f"new {statistics.median(n):6.2f} dB {nb:>7} B | paired median "
                  f"{diff:+.2f} dB, worst {min(y - x for x, y in zip(b, n)):+.2f}, bytes "
                  f"{nb / bb:.3f}x ({worst_name}; {work / set_name})", flush=True)


if __name__ == "__main__":
    main()
