#!/usr/bin/env python3
"""Synthetic geometric logos for phase 4 (issue 20): generate, vectorize, score.

    python bench/geometry.py generate [--count 24] [--seed 1] [--out bench/.work/geometry]
    python bench/geometry.py score --bin target/release/gemini3 [--label NAME] [-- FLAGS...]
    python bench/geometry.py score --vtracer bench/.work/vtracer/bin/vtracer --label vtracer
    python bench/geometry.py compare NEW vtracer

`generate` draws random circles, ellipses, rings, rectangles, rounded rectangles and regular
polygons with known parameters (2 to 5 flat colours, some rotated, on white or transparent
grounds) at 2048 px, reduces them to 512 px by area averaging in premultiplied RGBA (clean
anti-aliasing), and writes 512, 128 and 96 px copies (Lanczos, premultiplied) with a JSON of
the truth in 512 px coordinates. No shape overlaps another, so every circle, ellipse and ring
edge is a whole outline of its own.

`score` runs `gemini3 vectorize` on every copy (learned phases off:
GEMINI3__PHASE1__ENABLED=false and GEMINI3__PHASE2__ENABLED=false: phase 2 upscales small inputs
by default since main merged it), then reports per input size:
- conics: the share of true circles, ellipses and ring edges (each ring is two edges) that
  the SVG writes as an exact conic (`<circle>`, `<ellipse>` or a closed pair of arcs) whose
  centre lies within 5 % of the true radius, radii within 5 %; and for those, the centre and
  radius errors relative to the true radius (median and worst); the share of true
  rectangles and rounded rectangles written as a `<rect>` within 5 %;
- segments: path segments per image (each `c`, `l`, `h`, `v`, `a` command, each `<circle>`,
  `<ellipse>`, `<rect>` element counted as one), median;
- PSNR of the SVG rendered at 512 px (resvg), over white, against the 512 px truth;
- phase 4 milliseconds (metadata), median.
Needs numpy, Pillow and resvg-py (bench/.work/venv, as bench/quality.sh makes it).
"""

import argparse
import io
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import resvg_py
from PIL import Image, ImageDraw

SIZES = (512, 128, 96)
COLOURS = ["#d62828", "#003f88", "#2a9d8f", "#f4a261", "#6a4c93", "#111111", "#e9c46a",
           "#1982c4", "#8ac926", "#ff595e"]


# ------------------------------------------------------------------------------------------
# Generation


def ellipse_points(cx, cy, rx, ry, angle, count=720):
    c, s = math.cos(angle), math.sin(angle)
    return [(cx + rx * math.cos(t) * c - ry * math.sin(t) * s,
             cy + rx * math.cos(t) * s + ry * math.sin(t) * c)
            for t in (2 * math.pi * i / count for i in range(count))]


def rect_points(cx, cy, w, h, angle, radius=0.0):
    """A (rounded) rectangle's outline, rotated by `angle` about its centre."""
    local = []
    if radius <= 0:
        local = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    else:
        for (qx, qy, start) in [(w / 2 - radius, -h / 2 + radius, -math.pi / 2),
                                (w / 2 - radius, h / 2 - radius, 0.0),
                                (-w / 2 + radius, h / 2 - radius, math.pi / 2),
                                (-w / 2 + radius, -h / 2 + radius, math.pi)]:
            for i in range(91):
                t = start + (math.pi / 2) * i / 90
                local.append((qx + radius * math.cos(t), qy + radius * math.sin(t)))
    c, s = math.cos(angle), math.sin(angle)
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in local]


def polygon_points(cx, cy, r, sides, angle):
    return [(cx + r * math.cos(angle + 2 * math.pi * i / sides),
             cy + r * math.sin(angle + 2 * math.pi * i / sides)) for i in range(sides)]


def make_image(rng):
    count = rng.randint(2, 5)
    grid = 2 if count <= 4 else 3
    cell = 512 / grid
    cells = rng.sample([(i, j) for i in range(grid) for j in range(grid)], count)
    colours = rng.sample(COLOURS, rng.randint(2, 5))
    ground = rng.choice(["white", "transparent"])
    shapes = []
    for index, (i, j) in enumerate(cells):
        kind = rng.choice(["circle", "ellipse", "ring", "rect", "roundrect", "polygon"])
        colour = colours[index % len(colours)]
        size = rng.uniform(0.28, 0.44) * cell
        margin = 0.5 * cell - size - 4
        cx = (i + 0.5) * cell + rng.uniform(-margin, margin)
        cy = (j + 0.5) * cell + rng.uniform(-margin, margin)
        rotated = rng.random() < 0.5
        angle = rng.uniform(0, math.pi) if rotated else 0.0
        shape = {"kind": kind, "colour": colour, "cx": cx, "cy": cy}
        if kind == "circle":
            shape["r"] = size
        elif kind == "ellipse":
            shape.update(rx=size, ry=size * rng.uniform(0.4, 0.8), angle=angle)
        elif kind == "ring":
            shape.update(r=size, inner=size * rng.uniform(0.45, 0.75))
        elif kind in ("rect", "roundrect"):
            w = 2 * size * rng.uniform(0.6, 0.7)
            h = w * rng.uniform(0.5, 1.0)
            shape.update(w=w, h=h, angle=angle,
                         radius=(min(w, h) * rng.uniform(0.12, 0.3) if kind == "roundrect" else 0))
        else:
            shape.update(r=size, sides=rng.randint(3, 8), angle=angle)
        shapes.append(shape)
    return {"ground": ground, "shapes": shapes}


def draw(truth, scale=4, hard=False):
    """The art at 512 px (drawn at `scale ×` and reduced by area averaging), or with `hard`
    drawn at `512 × scale` px as it is (no anti-aliasing: a pixel staircase)."""
    size = round(512 * scale)
    ground = (255, 255, 255, 255) if truth["ground"] == "white" else (0, 0, 0, 0)
    image = Image.new("RGBA", (size, size), ground)
    pen = ImageDraw.Draw(image)
    for shape in truth["shapes"]:
        fill = shape["colour"]
        k = shape["kind"]
        sc = lambda pts: [(x * scale, y * scale) for x, y in pts]
        if k == "circle":
            pen.polygon(sc(ellipse_points(shape["cx"], shape["cy"], shape["r"], shape["r"], 0)), fill=fill)
        elif k == "ellipse":
            pen.polygon(sc(ellipse_points(shape["cx"], shape["cy"], shape["rx"], shape["ry"], shape["angle"])), fill=fill)
        elif k == "ring":
            pen.polygon(sc(ellipse_points(shape["cx"], shape["cy"], shape["r"], shape["r"], 0)), fill=fill)
            pen.polygon(sc(ellipse_points(shape["cx"], shape["cy"], shape["inner"], shape["inner"], 0)), fill=ground)
        elif k in ("rect", "roundrect"):
            pen.polygon(sc(rect_points(shape["cx"], shape["cy"], shape["w"], shape["h"], shape["angle"], shape["radius"])), fill=fill)
        else:
            pen.polygon(sc(polygon_points(shape["cx"], shape["cy"], shape["r"], shape["sides"], shape["angle"])), fill=fill)
    if hard:
        return image
    premultiplied = image.convert("RGBa")
    return premultiplied.reduce(scale).convert("RGBA")


def resize(image, side):
    return image.convert("RGBa").resize((side, side), Image.LANCZOS).convert("RGBA")


def generate(args):
    out = Path(args.out)
    rng = random.Random(args.seed)
    for size in SIZES:
        (out / str(size)).mkdir(parents=True, exist_ok=True)
    truths = {}
    for n in range(args.count):
        truth = make_image(rng)
        name = f"geo{n:03d}"
        full = draw(truth)
        for size in SIZES:
            if size == 512:
                small = full
            elif args.hard:
                # Aliased uploads: drawn at the small size with hard edges.
                small = draw(truth, size / 512, hard=True)
            else:
                small = resize(full, size)
            small.save(out / str(size) / f"{name}.png")
        truths[name] = truth
    (out / "truth.json").write_text(json.dumps(truths, indent=1))
    print(f"{args.count} images in {out}")


# ------------------------------------------------------------------------------------------
# Scoring

NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def path_conics_and_segments(d, polygons=None):
    """(conics, segments) of a path's data as the pipeline writes it (relative commands):
    conics as (cx, cy, rx, ry, angle_deg) from each closed pair of half arcs. Closed subpaths
    of straight segments only (`l h v`) are collected in `polygons` (their corners), when
    given."""
    tokens = re.findall(r"[a-zA-Z]|" + NUMBER.pattern, d)
    arity = {"m": 2, "l": 2, "h": 1, "v": 1, "c": 6, "a": 7, "z": 0, "s": 4, "q": 4, "t": 2}
    x = y = 0.0
    start = (0.0, 0.0)
    command = None
    segments = 0
    conics = []
    pending = None  # the first half arc of a subpath: (from, params)
    corners, straight = [], True
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.isalpha():
            command = t
            i += 1
            if t in "zZ":
                if straight and len(corners) >= 3 and polygons is not None:
                    polygons.append(corners)
                x, y = start
                corners, straight = [(x, y)], True
                pending = None
                command = None
            continue
        lower = command.lower()
        n = arity[lower]
        values = [float(v) for v in tokens[i:i + n]]
        i += n
        relative = command.islower()
        if lower == "m":
            x, y = (x + values[0], y + values[1]) if relative else (values[0], values[1])
            start = (x, y)
            corners, straight = [(x, y)], True
            pending = None
            command = "l" if relative else "L"
            continue
        segments += 1
        if lower not in "lhv":
            straight = False
        if lower == "h":
            x = x + values[0] if relative else values[0]
        elif lower == "v":
            y = y + values[0] if relative else values[0]
        else:
            ex, ey = values[-2], values[-1]
            nx, ny = (x + ex, y + ey) if relative else (ex, ey)
            if lower == "a":
                if pending is None:
                    pending = ((x, y), (nx, ny), values)
                else:
                    (p0, p1, v) = pending
                    conics.append(((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2, v[0], v[1], v[2]))
                    pending = None
            x, y = nx, ny
        if (x, y) != start:
            corners.append((x, y))
    return conics, segments


def svg_geometry(svg_text, polygons=None):
    """All conics (cx, cy, rx, ry, angle_deg) and the segment count of an SVG; straight closed
    subpaths' corners into `polygons` when given (see `path_conics_and_segments`)."""
    conics = []
    segments = 0
    for match in re.finditer(r"<circle ([^>]*)/>", svg_text):
        a = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', match.group(1)))
        r = float(a["r"])
        conics.append((float(a["cx"]), float(a["cy"]), r, r, 0.0))
        segments += 1
    for match in re.finditer(r"<ellipse ([^>]*)/>", svg_text):
        a = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', match.group(1)))
        angle = 0.0
        if "transform" in a:
            angle = float(NUMBER.findall(a["transform"])[0])
        conics.append((float(a["cx"]), float(a["cy"]), float(a["rx"]), float(a["ry"]), angle))
        segments += 1
    segments += len(re.findall(r"<rect ", svg_text))
    for match in re.finditer(r'<path d="([^"]*)"', svg_text):
        found, count = path_conics_and_segments(match.group(1), polygons)
        conics.extend(found)
        segments += count
    return conics, segments


def rect_hits(svg_text, truth, scale):
    """(true rectangles and rounded rectangles, those written as a `<rect>` whose centre and
    sides are within 5 % of the true ones)."""
    rects = []
    for match in re.finditer(r"<rect ([^>]*)/>", svg_text):
        a = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', match.group(1)))
        w, h = float(a["width"]) * scale, float(a["height"]) * scale
        rects.append((float(a["x"]) * scale + w / 2, float(a["y"]) * scale + h / 2, w, h))
    total = hits = 0
    for s in truth["shapes"]:
        if s["kind"] not in ("rect", "roundrect"):
            continue
        total += 1
        for (x, y, w, h) in rects:
            sides = sorted((w, h)), sorted((s["w"], s["h"]))
            if (math.hypot(x - s["cx"], y - s["cy"]) <= 0.05 * min(s["w"], s["h"])
                    and all(abs(a - b) <= 0.05 * b for a, b in zip(*sides))):
                hits += 1
                break
    return total, hits


def true_polygons(truth):
    """The corners (512 px coordinates) of every regular polygon and sharp rectangle."""
    out = []
    for s in truth["shapes"]:
        if s["kind"] == "polygon":
            out.append(polygon_points(s["cx"], s["cy"], s["r"], s["sides"], s["angle"]))
        elif s["kind"] == "rect":
            out.append(rect_points(s["cx"], s["cy"], s["w"], s["h"], s["angle"]))
    return out


def polygon_hits(svg_text, truth, scale, within=0.015):
    """(true polygons and sharp rectangles, those written as straight sides exactly: a closed
    subpath of `l h v` only, or a sharp `<rect>`, with as many corners, each within `within`
    of the image's size (512 px) of a true corner; and the hits' worst corner errors)."""
    written = []
    svg_geometry(svg_text, written)
    for match in re.finditer(r"<rect ([^>]*)/>", svg_text):
        a = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', match.group(1)))
        if float(a.get("rx", 0)) > 0:
            continue
        x, y, w, h = (float(a[k]) for k in ("x", "y", "width", "height"))
        points = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
        if "transform" in a:
            angle, cx, cy = (float(v) for v in NUMBER.findall(a["transform"])[:3])
            c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
            points = [(cx + (px - cx) * c - (py - cy) * s, cy + (px - cx) * s + (py - cy) * c)
                      for px, py in points]
        written.append(points)
    written = [[(x * scale, y * scale) for x, y in w] for w in written]
    total, errors = 0, []
    for true in true_polygons(truth):
        total += 1
        for w in written:
            if len(w) != len(true):
                continue
            worst = max(min(math.hypot(tx - x, ty - y) for x, y in w) for tx, ty in true) / 512
            if worst <= within:
                errors.append(worst)
                break
    return total, errors


def true_conics(truth):
    """(kind, cx, cy, rx, ry) of every circle, ellipse and ring edge."""
    out = []
    for s in truth["shapes"]:
        if s["kind"] == "circle":
            out.append(("circle", s["cx"], s["cy"], s["r"], s["r"]))
        elif s["kind"] == "ellipse":
            out.append(("ellipse", s["cx"], s["cy"], s["rx"], s["ry"]))
        elif s["kind"] == "ring":
            out.append(("ring", s["cx"], s["cy"], s["r"], s["r"]))
            out.append(("ring", s["cx"], s["cy"], s["inner"], s["inner"]))
    return out


def match(true, written, scale):
    """The relative centre and radius errors of the written conic matching `true`, if any."""
    _, cx, cy, rx, ry = true
    best = None
    for (wx, wy, wrx, wry, _) in written:
        wx, wy, wrx, wry = wx * scale, wy * scale, wrx * scale, wry * scale
        long, short = max(wrx, wry), min(wrx, wry)
        centre = math.hypot(wx - cx, wy - cy) / rx
        radius = max(abs(long - max(rx, ry)) / max(rx, ry), abs(short - min(rx, ry)) / min(rx, ry))
        if centre <= 0.05 and radius <= 0.05 and (best is None or centre + radius < sum(best)):
            best = (centre, radius)
    return best


def render(svg_text, side):
    png = resvg_py.svg_to_bytes(svg_string=svg_text, width=side, height=side, skip_system_fonts=True)
    return Image.open(io.BytesIO(bytes(png))).convert("RGBA")


def on_white(image):
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, image).convert("RGB")).astype(np.float64)


def psnr(a, b):
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def score(args):
    folder = Path(args.dir)
    truths = json.loads((folder / "truth.json").read_text())
    out = folder / "out" / args.label
    env = dict(os.environ, GEMINI3__PHASE1__ENABLED="false", GEMINI3__PHASE2__ENABLED="false")
    rows = {}
    for size in SIZES:
        (out / str(size)).mkdir(parents=True, exist_ok=True)
        if args.vtracer:
            # VTracer's CLI with its defaults, image by image.
            for name in sorted(truths):
                subprocess.run([args.vtracer, "--input", str(folder / str(size) / f"{name}.png"),
                                "--output", str(out / str(size) / f"{name}.svg")]
                               + args.flags, check=True, capture_output=True)
        else:
            command = [args.bin, "vectorize", str(folder / str(size)), "-o",
                       str(out / str(size)), "--metadata", str(out / f"{size}-meta")] + args.flags
            subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        found = total = rect_total = rect_found = poly_total = 0
        poly_errors = []
        centre_errors, radius_errors, segments, psnrs, phase4 = [], [], [], [], []
        per_image = []
        for name, truth in sorted(truths.items()):
            svg = (out / str(size) / f"{name}.svg").read_text()
            meta = (None if args.vtracer else
                    json.loads((out / f"{size}-meta" / f"{name}.json").read_text()))
            written, count = svg_geometry(svg)
            segments.append(count)
            t, e = polygon_hits(svg, truth, 512 / size)
            poly_total += t
            poly_errors.extend(e)
            t, h = rect_hits(svg, truth, 512 / size)
            rect_total += t
            rect_found += h
            if meta:
                phase4.append(meta["phases"]["phase4"]["ms"])
            for true in true_conics(truth):
                total += 1
                hit = match(true, written, 512 / size)
                if hit:
                    found += 1
                    centre_errors.append(hit[0])
                    radius_errors.append(hit[1])
            reference = on_white(Image.open(folder / "512" / f"{name}.png").convert("RGBA"))
            value = psnr(reference, on_white(render(svg, 512)))
            psnrs.append(value)
            per_image.append((value, name))
        rows[size] = {
            "conics_exact": found / max(total, 1), "conics_true": total,
            "rects_exact": rect_found / max(rect_total, 1), "rects_true": rect_total,
            "polygons_exact": len(poly_errors) / max(poly_total, 1), "polygons_true": poly_total,
            "polygon_corner_err_max": max(poly_errors) if poly_errors else None,
            "centre_err_median": statistics.median(centre_errors) if centre_errors else None,
            "centre_err_max": max(centre_errors) if centre_errors else None,
            "radius_err_median": statistics.median(radius_errors) if radius_errors else None,
            "radius_err_max": max(radius_errors) if radius_errors else None,
            "segments_median": statistics.median(segments),
            "psnr_median": statistics.median(psnrs), "psnr_mean": statistics.fmean(psnrs),
            "phase4_ms_median": statistics.median(phase4) if phase4 else float("nan"),
            "segments": dict(zip(sorted(truths), segments)),
            "worst": sorted(per_image)[:10],
            "psnr": dict((n, v) for v, n in per_image),
        }
    (folder / f"scores-{args.label}.json").write_text(json.dumps(rows, indent=1))
    if args.grid:
        write_grid(folder, out, rows, Path(args.grid))
    for size, row in rows.items():
        pct = lambda v: "-" if v is None else f"{100 * v:.2f} %"
        print(f"{args.label} {size:>3} px: conics exact {100 * row['conics_exact']:.0f} % of "
              f"{row['conics_true']}; polygons exact {100 * row['polygons_exact']:.0f} % of {row['polygons_true']} (corners within {pct(row['polygon_corner_err_max'])}); rects exact {100 * row['rects_exact']:.0f} % of {row['rects_true']}; centre err median {pct(row['centre_err_median'])} max "
              f"{pct(row['centre_err_max'])}; radius err median {pct(row['radius_err_median'])} "
              f"max {pct(row['radius_err_max'])}; segments median {row['segments_median']}; "
              f"PSNR@512 median {row['psnr_median']:.2f} dB (mean {row['psnr_mean']:.2f}); "
              f"phase 4 median {row['phase4_ms_median']:.1f} ms")


def compare(args):
    """Per input size: median segments of both labels and their ratio (median of the paired
    per-image ratios), median PSNR of both and the median paired difference; and from 96 px
    ours against the ours-from-512 px SVG."""
    folder = Path(args.dir)
    ours = json.loads((folder / f"scores-{args.ours}.json").read_text())
    theirs = json.loads((folder / f"scores-{args.theirs}.json").read_text())
    for size in ours:
        a, b = ours[size], theirs[size]
        names = sorted(a["psnr"])
        ratios = [a["segments"][n] / max(b["segments"][n], 1) for n in names]
        diffs = [a["psnr"][n] - b["psnr"][n] for n in names]
        print(f"{size:>3} px: segments median {a['segments_median']} vs {b['segments_median']} "
              f"(ratio of medians {a['segments_median'] / b['segments_median']:.2f}, paired median "
              f"{statistics.median(ratios):.2f}); PSNR@512 median {a['psnr_median']:.2f} vs "
              f"{b['psnr_median']:.2f} dB (paired median {statistics.median(diffs):+.2f}, "
              f"worst {min(diffs):+.2f})")
    gaps = [ours["512"]["psnr"][n] - ours["96"]["psnr"][n] for n in ours["96"]["psnr"]]
    print(f"{args.ours} from 96 px below {args.ours} from 512 px: median of medians "
          f"{ours['512']['psnr_median'] - ours['96']['psnr_median']:.2f} dB, paired median "
          f"{statistics.median(gaps):.2f} dB")


def write_grid(folder, out, rows, path, cell=160):
    """The ten images whose 96 px SVG scores worst at 512 px: per row the 512 px truth, the
    SVG from 512 px and the SVG from 96 px, each rendered at 512 and shown at `cell` px, on a
    light checkerboard-free grey so transparent grounds show."""
    worst = [name for _, name in rows[96]["worst"]]
    grid = Image.new("RGB", (3 * cell + 4 * 4, len(worst) * (cell + 4) + 4), (200, 200, 200))
    for row, name in enumerate(worst):
        images = [Image.open(folder / "512" / f"{name}.png").convert("RGBA")]
        for size in (512, 96):
            images.append(render((out / str(size) / f"{name}.svg").read_text(), 512))
        for column, image in enumerate(images):
            white = Image.new("RGBA", image.size, (255, 255, 255, 255))
            tile = Image.alpha_composite(white, image).convert("RGB").resize((cell, cell), Image.LANCZOS)
            grid.paste(tile, (4 + column * (cell + 4), 4 + row * (cell + 4)))
    grid.save(path)
    print(f"worst ten (truth | SVG from 512 px | SVG from 96 px) in {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--count", type=int, default=24)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--out", default="bench/.work/geometry")
    g.add_argument("--hard", action="store_true",
                   help="128 and 96 px copies drawn without anti-aliasing (aliased uploads)")
    s = sub.add_parser("score")
    s.add_argument("--bin", default="target/release/gemini3")
    s.add_argument("--dir", default="bench/.work/geometry")
    s.add_argument("--label", default="gemini3")
    s.add_argument("--grid", help="write the worst ten of the 96 px inputs as a PNG here")
    s.add_argument("--vtracer", help="score this VTracer CLI (its defaults) instead of --bin")
    c = sub.add_parser("compare", help="gemini3 against VTracer: paired ratios of two scores")
    c.add_argument("--dir", default="bench/.work/geometry")
    c.add_argument("ours")
    c.add_argument("theirs")
    s.add_argument("flags", nargs="*", help="extra flags for gemini3 vectorize (after --)")
    args = parser.parse_args()
    {"generate": generate, "score": score, "compare": compare}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
