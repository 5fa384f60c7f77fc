"""Fidelity benchmark: gemini3 against VTracer on images that look like users' images.

Run through bench/quality.sh (it fetches the packages and tools into bench/.work). A full run
writes bench/quality.md and bench/quality-grid-<set>.png. Every run works in its own folder,
bench/.work/runs/<UTC time>-<pid>/ (gemini3's SVGs and metadata, summary.json, per-image.json;
for partial runs also quality.md and grids/), so runs at the same time do not meet, and copies
summary.json and per-image.json (and a partial run's quality.md) to bench/.work/, the latest
run's, to diff between runs. Inputs, VTracer's SVGs and VTracer's scores are cached in
bench/.work and shared by runs (written atomically). The committed page only ever comes from a
full run.

Sets (bench/quality-sets.txt holds the chosen images, so the sets are stable):
* outline, flat, logos, flags, glossy: icons from Iconify JSON packages (npm), rendered with
  resvg; glossy also gets a soft drop shadow that this benchmark adds (an SVG filter);
* photos: crops of the colour photos shipped in scikit-image's wheel.
Each image gets one of 128, 256 and 512 px (long side) in rotation.

Variants of each artwork set: clean (the RGBA render), jpeg30 and jpeg50 (the render flattened
over white, saved by Pillow at that quality with 4:2:0 chroma; scored against the clean render
over white) and half (the RGBA render downscaled 2x with Lanczos; scored against the clean
render made directly at half size). Photos: clean only.

Tools, paired per image: gemini3 (one folder run per set and variant, `--metadata`) and VTracer
(its CLI with its defaults, one process per image) on the RGBA input and on the input flattened
over white; "VTracer best" is the configuration with the better median PSNR per set and variant.

Scores (every SVG rendered back with resvg at the input's size, composited on white, against
the clean render composited on white): PSNR, SSIM on grey (luma), mean CIEDE2000, bytes, paths;
alpha coverage IoU (alpha >= 0.5) against the clean render for RGBA inputs; palette conformance
for the fixed 16-colour run.
"""

import argparse
import concurrent.futures
import io
import json
import os
import platform
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import resvg_py
from PIL import Image, ImageDraw
from skimage import color as skcolor
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
NPM = WORK / "npm"
# GEMINI3_BIN: another build to score (e.g. a run's saved gemini3-bin, to compare builds).
GEMINI3 = Path(os.environ.get("GEMINI3_BIN") or ROOT / "target" / "release" / "gemini3")
VTRACER = WORK / "vtracer" / "bin" / "vtracer"
SETS_FILE = ROOT / "bench" / "quality-sets.txt"

# Set name -> Iconify package (under bench/.work/npm/<package>/package, pinned in quality.sh).
PACKAGES = {
    "outline": "streamline-emojis",
    "flat": "flat-color-icons",
    "logos": "logos",
    "flags": "flag",
    "glossy": "fluent-emoji",
}
SET_ORDER = ["outline", "flat", "logos", "flags", "glossy", "photos"]
DESCRIPTION = {
    "outline": "colour emoji with thick dark outlines",
    "flat": "flat colourful icons",
    "logos": "colourful brand logos",
    "flags": "national flags (4:3 and 1:1)",
    "glossy": "gradient emoji with a soft drop shadow added by this benchmark",
    "photos": "crops of scikit-image's bundled colour photos",
}
PER_SET = 40
QUICK_PER_SET = 10
SIZES = [128, 256, 512]
SEED = 20261129
ART_VARIANTS = ["clean", "jpeg30", "jpeg50", "half"]
PHOTO_VARIANTS = ["clean"]
# Colour photos shipped in scikit-image's wheel (skimage/data), read directly: no downloads.
PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "ihc.png",
          "motorcycle_left.png", "retina.jpg", "rocket.jpg"]

# PICO-8's 16 colours: a well-known fixed palette that neither tool was tuned for.
FIXED16 = [
    "000000", "1d2b53", "7e2553", "008751", "ab5236", "5f574f", "c2c3c7", "fff1e8",
    "ff004d", "ffa300", "ffec27", "00e436", "29adff", "83769c", "ff77a8", "ffccaa",
]
FIXED16_SET = {"#" + h for h in FIXED16}

# VTracer's configurations per setting: on the input as given (rgba) and flattened over white
# (flat); under the fixed palette both with their fills snapped to it (rgba, flat) and with
# VTracer's own `--palette` (rgbapal, flatpal).
VT_CONFIGS = {"auto": ["rgba", "flat"], "fixed16": ["rgba", "flat", "rgbapal", "flatpal"]}

# Design targets (DESIGN.md section 9).
TARGET_DPSNR = 1.0
TARGET_WIN = 0.70
TARGET_IOU = 0.98


# --------------------------------------------------------------------------------------------
# Colour helpers


def srgb_to_oklab(rgb):
    """sRGB in [0, 1] (..., 3) to OKLab, the same arithmetic as gemini3."""
    rgb = np.asarray(rgb, dtype=np.float64)
    linear = np.where(rgb < 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m1 = np.array([[0.4122214708, 0.5363325363, 0.0514459929],
                   [0.2119034982, 0.6806995451, 0.1073969566],
                   [0.0883024619, 0.2817188376, 0.6299787005]])
    m2 = np.array([[0.2104542553, 0.7936177850, -0.0040720468],
                   [1.9779984951, -2.4285922050, 0.4505937099],
                   [0.0259040371, 0.7827717662, -0.8086757660]])
    lms = np.cbrt(np.maximum(linear @ m1.T, 0))
    return lms @ m2.T


def hex_to_rgb(value):
    value = value.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    return [int(value[i:i + 2], 16) for i in (0, 2, 4)]


FIXED16_LAB = srgb_to_oklab(np.array([hex_to_rgb(h) for h in FIXED16]) / 255.0)


def snap_to_fixed16(value):
    lab = srgb_to_oklab(np.array(hex_to_rgb(value)) / 255.0)
    index = int(np.argmin(((FIXED16_LAB - lab) ** 2).sum(axis=1)))
    return "#" + FIXED16[index]


# fill="#abc", fill="#aabbcc" and fill:#aabbcc in a style attribute.
FILL = re.compile(r'(fill(?:="|:\s*))(#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b)')


def fills(svg):
    out = []
    for _, f in FILL.findall(svg):
        f = f.lower()
        out.append(f if len(f) == 7 else "#" + "".join(c * 2 for c in f[1:]))
    return out


def paths_in(svg):
    return svg.count("<path")


# --------------------------------------------------------------------------------------------
# Rendering and scoring


def render(svg_text, width, height):
    png = resvg_py.svg_to_bytes(svg_string=svg_text, width=width, height=height,
                                skip_system_fonts=True)
    image = Image.open(io.BytesIO(bytes(png))).convert("RGBA")
    if image.size != (width, height):
        image = image.resize((width, height), Image.LANCZOS)
    return image


def on_white(image):
    background = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(background, image.convert("RGBA")).convert("RGB"))


def grey(rgb):
    return rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def alpha_iou(reference_alpha, candidate_alpha):
    a = reference_alpha >= 128
    b = candidate_alpha >= 128
    union = np.logical_or(a, b).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(a, b).sum() / union)


def mean_ciede2000(reference_rgb, rgb):
    """Mean CIEDE2000 over all pixels, converting only the pixels that differ (the others
    add 0), which is most of the work saved on flat artwork."""
    differ = np.any(reference_rgb != rgb, axis=2)
    if not differ.any():
        return 0.0
    a = skcolor.rgb2lab(reference_rgb[differ][None, :, :])
    b = skcolor.rgb2lab(rgb[differ][None, :, :])
    return float(skcolor.deltaE_ciede2000(a, b).sum() / differ.size)


def score(svg_path, reference_rgb, reference_alpha, fixed):
    """Scores one SVG against the clean reference (both on white)."""
    text = svg_path.read_text()
    height, width = reference_rgb.shape[:2]
    try:
        image = render(text, width, height)
    except ValueError:
        image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    rgb = on_white(image)
    psnr = float(peak_signal_noise_ratio(reference_rgb, rgb, data_range=255))
    ssim = float(structural_similarity(grey(reference_rgb), grey(rgb), data_range=255.0))
    de = mean_ciede2000(reference_rgb, rgb)
    fill_list = fills(text)
    result = {
        "psnr": min(psnr, 99.0), "ssim": ssim, "de": de,
        "bytes": len(text.encode()), "paths": paths_in(text), "colors": len(set(fill_list)),
    }
    if reference_alpha is not None:
        alpha = np.asarray(image)[:, :, 3]
        result["iou"] = alpha_iou(reference_alpha, alpha)
        # Soft alpha (shadows, glows) that the 50 % masks do not see: mean |alpha error|, 0..1.
        result["alpha_mae"] = float(np.mean(np.abs(alpha.astype(np.float64) - reference_alpha)) / 255.0)
    if fixed:
        result["conform"] = sum(f in FIXED16_SET for f in fill_list) / max(len(fill_list), 1)
    return result


def score_key(reference, svg, fixed):
    svg = Path(svg)
    stamp = svg.stat().st_mtime_ns if svg.exists() else 0
    return f"{reference}|{Path(reference).stat().st_mtime_ns}|{svg}|{stamp}|{int(fixed)}"


def score_item(task):
    """One image: every candidate SVG scored against its reference. Runs in a worker process."""
    reference = Image.open(task["reference"]).convert("RGBA")
    reference_rgb = on_white(reference)
    reference_alpha = np.asarray(reference)[:, :, 3] if task["rgba"] else None
    out = {}
    for column, svg, fixed in task["candidates"]:
        if not Path(svg).exists():
            out[column] = None
            continue
        out[column] = score(Path(svg), reference_rgb, reference_alpha, fixed)
    return task["id"], out


# --------------------------------------------------------------------------------------------
# Inputs


def load_icons(package):
    data = json.loads((NPM / package / "package" / "icons.json").read_text())
    return data


def package_version(package):
    return json.loads((NPM / package / "package" / "package.json").read_text())["version"]


def icon_svg(data, name, shadow=False):
    icon = data["icons"][name]
    width = icon.get("width", data.get("width", 16))
    height = icon.get("height", data.get("height", 16))
    left = icon.get("left", data.get("left", 0))
    top = icon.get("top", data.get("top", 0))
    body = icon["body"]
    if not shadow:
        return width, height, (f'<svg xmlns="http://www.w3.org/2000/svg" '
                               f'xmlns:xlink="http://www.w3.org/1999/xlink" '
                               f'viewBox="{left} {top} {width} {height}">{body}</svg>')
    # Soft drop shadow, added by this benchmark: the art's alpha blurred, moved down, flooded
    # black at 40 % and merged under the art. The view box grows by 10 % each side for it.
    pad = 0.1 * max(width, height)
    blur = 0.035 * max(width, height)
    offset = 0.04 * max(width, height)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
           f'viewBox="{left - pad} {top - pad} {width + 2 * pad} {height + 2 * pad}">'
           f'<defs><filter id="bench-shadow" x="-25%" y="-25%" width="150%" height="150%" '
           f'color-interpolation-filters="sRGB">'
           f'<feGaussianBlur in="SourceAlpha" stdDeviation="{blur:.3f}"/>'
           f'<feOffset dx="0" dy="{offset:.3f}" result="blur"/>'
           f'<feFlood flood-color="#000000" flood-opacity="0.4"/>'
           f'<feComposite in2="blur" operator="in" result="shadow"/>'
           f'<feMerge><feMergeNode in="shadow"/><feMergeNode in="SourceGraphic"/></feMerge>'
           f'</filter></defs><g filter="url(#bench-shadow)">{body}</g></svg>')
    return width + 2 * pad, height + 2 * pad, svg


def fit(width, height, size):
    """Pixel size with the long side `size`."""
    if width >= height:
        return size, max(1, round(size * height / width))
    return max(1, round(size * width / height)), size


def acceptable(image):
    """Not trivially tiny or monochrome: some coverage and at least two real colours."""
    array = np.asarray(image.convert("RGBA"))
    alpha = array[:, :, 3]
    if (alpha >= 128).mean() < 0.04:
        return False
    opaque = array[alpha >= 250][:, :3] >> 4
    if len(opaque) == 0:
        return False
    keys = (opaque[:, 0].astype(np.int32) << 8) | (opaque[:, 1].astype(np.int32) << 4) | opaque[:, 2]
    counts = np.bincount(keys, minlength=4096)
    return int((counts >= 0.02 * len(keys)).sum()) >= 2


def choose_icons(set_name):
    """PER_SET names: a fixed-seed shuffle of the sorted names, skipping unusable icons."""
    package = PACKAGES[set_name]
    data = load_icons(package)
    names = sorted(n for n, icon in data["icons"].items()
                   if not any(k in icon for k in ("rotate", "hFlip", "vFlip", "hidden")))
    random.Random(f"{SEED}-{set_name}").shuffle(names)
    chosen = []
    for name in names:
        width, height, svg = icon_svg(data, name, shadow=set_name == "glossy")
        w, h = fit(width, height, 64)
        try:
            if acceptable(render(svg, w, h)):
                chosen.append(name)
        except ValueError:
            continue
        if len(chosen) == PER_SET:
            break
    return chosen


def choose_photos():
    """PER_SET crops: for each bundled photo in turn a fixed-seed crop (1:1, 4:3 or 3:4, 45 to
    100 % of the short side)."""
    rng = random.Random(f"{SEED}-photos")
    chosen = []
    for index in range(PER_SET):
        photo = PHOTOS[index % len(PHOTOS)]
        aspect = rng.choice([(1, 1), (4, 3), (3, 4)])
        scale = rng.uniform(0.45, 1.0)
        fx, fy = rng.random(), rng.random()
        chosen.append(f"{photo}:{aspect[0]}x{aspect[1]}:{scale:.3f}:{fx:.3f}:{fy:.3f}")
    return chosen


def load_sets():
    """bench/quality-sets.txt: `set name` per line, in order; made when missing."""
    sets = {}
    if SETS_FILE.exists():
        for line in SETS_FILE.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                set_name, name = line.split(None, 1)
                sets.setdefault(set_name, []).append(name.strip())
    missing = [s for s in SET_ORDER if s not in sets]
    if missing:
        for set_name in missing:
            print(f"choosing {PER_SET} images for {set_name}", flush=True)
            sets[set_name] = choose_photos() if set_name == "photos" else choose_icons(set_name)
        lines = ["# The benchmark's images (bench/quality.py): `set name`, in order. Icons are",
                 "# Iconify names; photos are file:aspect:scale:x:y crops. Delete a set's lines",
                 "# to choose it again (fixed seed). Image i gets 128, 256, 512 px (i mod 3)."]
        for set_name in SET_ORDER:
            lines += [f"{set_name} {name}" for name in sets[set_name]]
        SETS_FILE.write_text("\n".join(lines) + "\n")
    return sets


def photo_crop(spec, size):
    photo, aspect, scale, fx, fy = spec.split(":")
    data_dir = Path(__import__("skimage").__file__).parent / "data"
    image = Image.open(data_dir / photo).convert("RGB")
    ax, ay = (int(v) for v in aspect.split("x"))
    short = min(image.width, image.height) * float(scale)
    cw, ch = (short, short * ay / ax) if ax >= ay else (short * ax / ay, short)
    cw, ch = min(cw, image.width), min(ch, image.height)
    x = float(fx) * (image.width - cw)
    y = float(fy) * (image.height - ch)
    crop = image.crop((round(x), round(y), round(x + cw), round(y + ch)))
    return crop.resize(fit(crop.width, crop.height, size), Image.LANCZOS)


def atomic(path):
    """A temporary name next to `path` (same extension) to write and then os.replace, so that
    runs going on at the same time never read a half-written shared file."""
    return path.parent / f".tmp-{os.getpid()}-{path.name}"


def save_image(image, path, **options):
    temporary = atomic(path)
    image.save(temporary, format=None if path.suffix != ".jpg" else "JPEG", **options)
    os.replace(temporary, path)


def write_text(path, text):
    temporary = atomic(path)
    temporary.write_text(text)
    os.replace(temporary, path)


def safe(name):
    """A file stem without dots (gemini3 names its outputs with Path::set_extension)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def prepare(set_name, names, variants):
    """Writes the inputs of one set: per variant a folder of inputs (what the tools get), the
    references (clean renders), and the flattened inputs for VTracer's second configuration.
    Returns items: dicts with id, key, size, variant, input, reference, flat, rgba."""
    base = WORK / "inputs" / set_name
    data = load_icons(PACKAGES[set_name]) if set_name in PACKAGES else None
    items = []
    for index, name in enumerate(names):
        size = SIZES[index % len(SIZES)]
        key = f"{index:02d}-{safe(name.replace(':', '-'))}"[:80]
        clean_path = base / "clean" / f"{key}.png"
        half_ref = base / "half-ref" / f"{key}.png"
        for folder in ("clean", "clean-flat", "jpeg30", "jpeg50", "half", "half-flat", "half-ref"):
            (base / folder).mkdir(parents=True, exist_ok=True)
        if not clean_path.exists():
            if data is None:
                save_image(photo_crop(name, size), clean_path)
            else:
                width, height, svg = icon_svg(data, name, shadow=set_name == "glossy")
                w, h = fit(width, height, size)
                hw, hh = max(1, w // 2), max(1, h // 2)
                save_image(render(svg, hw, hh), half_ref)
                save_image(render(svg, w, h), clean_path)
        clean = Image.open(clean_path).convert("RGBA")
        rgba = data is not None
        for variant in variants:
            if variant == "clean":
                input_path, reference = clean_path, clean_path
            elif variant.startswith("jpeg"):
                input_path, reference = base / variant / f"{key}.jpg", clean_path
                if not input_path.exists():
                    save_image(Image.fromarray(on_white(clean)), input_path,
                               quality=int(variant[4:]), subsampling=2)
            elif variant == "half":
                input_path, reference = base / "half" / f"{key}.png", half_ref
                if not input_path.exists():
                    reference_size = Image.open(half_ref).size
                    save_image(clean.resize(reference_size, Image.LANCZOS), input_path)
            else:
                raise ValueError(variant)
            flat = None
            if rgba and variant in ("clean", "half"):
                flat = base / f"{variant}-flat" / f"{key}.png"
                if not flat.exists():
                    save_image(Image.fromarray(on_white(Image.open(input_path))), flat)
            items.append({
                "id": f"{set_name}/{variant}/{key}", "set": set_name, "variant": variant,
                "key": key, "name": name, "size": Image.open(reference).size,
                "input": input_path, "reference": reference, "flat": flat,
                "rgba": rgba and variant in ("clean", "half"),
            })
    return items


# --------------------------------------------------------------------------------------------
# Tools


def gemini3_env():
    env = dict(os.environ)
    env.update({"GEMINI3_ROOT": str(ROOT), "RUST_LOG": env.get("RUST_LOG", "error")})
    env.setdefault("GEMINI3__HARDWARE__DEVICE", "cpu")
    env.pop("GEMINI3_PROFILE", None)
    env.pop("GPU_MODEL", None)
    return env


def run_gemini3(folder, out, meta, fixed):
    """One folder run: every input of a set and variant in one process."""
    for target in (out, meta):
        if target.exists():
            shutil.rmtree(target)
    command = [str(GEMINI3), "vectorize", str(folder), "-o", str(out), "--metadata", str(meta)]
    if fixed:
        command += ["--palette", ",".join(FIXED16)]
    command += shlex.split(os.environ.get("GEMINI3_FLAGS", ""))
    started = time.perf_counter()
    result = subprocess.run(command, env=gemini3_env(), capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        failures = [l for l in result.stderr.splitlines() if "error" in l.lower()]
        print(f"gemini3 failed on some of {folder}:\n  " + "\n  ".join(failures[:10]), flush=True)
    return wall


def run_vtracer(input_path, output, palette=False):
    """VTracer's CLI with its defaults (and the fixed palette when asked); cached by
    modification time."""
    if output.exists() and output.stat().st_mtime_ns >= input_path.stat().st_mtime_ns:
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = atomic(output)
    command = [str(VTRACER), "--input", str(input_path), "--output", str(temporary)]
    if palette:
        command += ["--palette", ",".join("#" + h for h in FIXED16)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not temporary.exists():
        print(f"vtracer failed on {input_path}: {result.stderr.strip()[:300]}", flush=True)
        temporary.unlink(missing_ok=True)
        return output
    os.replace(temporary, output)
    return output


def snapped(svg_path, output):
    """VTracer's SVG with its fills snapped to the nearest fixed-palette colour (OKLab)."""
    if output.exists() and svg_path.exists() and output.stat().st_mtime_ns >= svg_path.stat().st_mtime_ns:
        return output
    if svg_path.exists():
        text = svg_path.read_text()
        output.parent.mkdir(parents=True, exist_ok=True)
        write_text(output, FILL.sub(lambda m: m.group(1) + snap_to_fixed16(m.group(2)), text))
    return output


# --------------------------------------------------------------------------------------------
# Aggregation


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def group_summary(rows, setting):
    """Aggregates for the rows of one set and variant (one setting)."""
    ours = [r["scores"].get(f"gemini3_{setting}") for r in rows]
    result = {"images": len(rows), "setting": setting}
    configs = {}
    for config in VT_CONFIGS[setting]:
        column = [r["scores"].get(f"vt_{config}_{setting}") for r in rows]
        if all(c is not None for c in column):
            configs[config] = column
    if not configs or any(o is None for o in ours):
        result["incomplete"] = True
    if not configs:
        return result
    best = max(configs, key=lambda c: median([s["psnr"] for s in configs[c]]))
    vt = configs[best]
    result["vtracer_best"] = best
    for label, column in [("gemini3", ours)] + [(f"vt_{c}", configs[c]) for c in configs]:
        column = [c for c in column if c is not None]
        result[label] = {field: median([c.get(field) for c in column])
                         for field in ("psnr", "ssim", "de", "bytes", "paths", "iou", "alpha_mae", "conform")
                         if any(c.get(field) is not None for c in column)}
        if any("conform" in c for c in column):
            result[label]["conform_mean"] = statistics.fmean(c["conform"] for c in column)
            result[label]["conform_all"] = all(c["conform"] >= 1.0 for c in column)
    pairs = [(o, v) for o, v in zip(ours, vt) if o is not None and v is not None]
    if pairs:
        result["d_psnr"] = median([o["psnr"] - v["psnr"] for o, v in pairs])
        result["d_ssim"] = median([o["ssim"] - v["ssim"] for o, v in pairs])
        result["d_de"] = median([o["de"] - v["de"] for o, v in pairs])
        result["bytes_ratio"] = median([o["bytes"] / max(v["bytes"], 1) for o, v in pairs])
        result["bytes_ratio_of_medians"] = (result["gemini3"]["bytes"] / max(result[f"vt_{best}"]["bytes"], 1))
        result["ssim_win"] = sum(o["ssim"] > v["ssim"] for o, v in pairs) / len(pairs)
        result["ssim_wins"] = sum(o["ssim"] > v["ssim"] for o, v in pairs)
        result["ssim_losses"] = sum(o["ssim"] < v["ssim"] for o, v in pairs)
        result["psnr_win"] = sum(o["psnr"] > v["psnr"] for o, v in pairs) / len(pairs)
    return result


def phase_medians(rows, setting):
    phases = {}
    for r in rows:
        meta = r.get(f"meta_{setting}")
        if not meta:
            continue
        for phase, report in meta.get("phases", {}).items():
            if isinstance(report, dict) and "ms" in report:
                phases.setdefault(phase, []).append(report["ms"])
        phases.setdefault("total", []).append(meta.get("total_ms"))
    return {k: median(v) for k, v in sorted(phases.items())}


# --------------------------------------------------------------------------------------------
# Main


def timing(items, groups):
    """DESIGN.md's CPU targets, as far as this run shows them: gemini3's pipeline milliseconds on
    the clean 512 px artwork (from the folder runs' metadata), and one-shot wall time of one
    process per image for both tools on five clean 256 px icons (process start-up, and for
    gemini3 loading ONNX Runtime and the sessions, included). Machine load shows in these."""
    result = {}
    total_512 = [item["meta_auto"]["total_ms"] for item in items
                 if item["variant"] == "clean" and item["set"] != "photos" and item.get("meta_auto")
                 and max(item["size"]) == 512]
    if total_512:
        result["pipeline_ms_512_median"] = statistics.median(total_512)
        result["pipeline_ms_512_images"] = len(total_512)
    sample = [item for item in items if item["variant"] == "clean" and item["set"] != "photos"
              and max(item["size"]) == 256][:5]
    if sample:
        walls = {"gemini3": [], "gemini3_nowarmup": [], "vtracer": []}
        scratch = WORK / "runs" / f".oneshot-{os.getpid()}"
        scratch.mkdir(parents=True, exist_ok=True)
        for item in sample:
            ours = ([str(GEMINI3), "vectorize", str(item["input"]), "-o", str(scratch / "g.svg")]
                    + shlex.split(os.environ.get("GEMINI3_FLAGS", "")))
            commands = {
                "gemini3": (ours, gemini3_env()),
                "gemini3_nowarmup": (ours, {**gemini3_env(), "GEMINI3__HARDWARE__WARMUP": "false"}),
                "vtracer": ([str(VTRACER), "--input", str(item["input"]), "--output", str(scratch / "v.svg")], None),
            }
            for tool, (command, env) in commands.items():
                started = time.perf_counter()
                result_code = subprocess.run(command, env=env, capture_output=True).returncode
                if result_code == 0:
                    walls[tool].append((time.perf_counter() - started) * 1000)
        shutil.rmtree(scratch, ignore_errors=True)
        for tool, values in walls.items():
            if values:
                result[f"oneshot_256_ms_{tool}"] = statistics.median(values)
        if walls["gemini3"] and walls["vtracer"]:
            result["oneshot_ratio"] = result["oneshot_256_ms_gemini3"] / result["oneshot_256_ms_vtracer"]
        if walls["gemini3_nowarmup"] and walls["vtracer"]:
            result["oneshot_ratio_nowarmup"] = (result["oneshot_256_ms_gemini3_nowarmup"]
                                                / result["oneshot_256_ms_vtracer"])
    return result


def new_run_dir():
    """bench/.work/runs/<UTC time>-<pid>: this run's gemini3 outputs, page and summary, so runs
    going on at the same time do not meet. Keeps the 12 newest; older ones go once they are
    two hours old."""
    runs = WORK / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    old = sorted(p for p in runs.iterdir() if p.is_dir())[:-12]
    for path in old:
        if time.time() - path.stat().st_mtime > 7200:
            shutil.rmtree(path, ignore_errors=True)
    run_dir = runs / f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{os.getpid()}"
    run_dir.mkdir()
    return run_dir


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_PER_SET} images per set; report under bench/.work")
    parser.add_argument("--sets", default=",".join(SET_ORDER),
                        help="comma-separated sets (default: all): " + ", ".join(SET_ORDER))
    parser.add_argument("--variants", default=",".join(ART_VARIANTS),
                        help="comma-separated artwork variants (default: all): " + ", ".join(ART_VARIANTS))
    parser.add_argument("--no-fixed16", action="store_true", help="skip the fixed-palette run")
    parser.add_argument("--limit", type=int, help="images per set (overrides --quick's 10)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="scoring processes")
    parser.add_argument("--grids", default="clean",
                        help="variants that get worst-ten grids (default: clean; the full run's page "
                             "shows only clean)")
    return parser.parse_args()


def main():
    global GEMINI3
    args = parse_args()
    started = time.perf_counter()
    for tool in (GEMINI3, VTRACER):
        if not tool.exists():
            sys.exit(f"{tool} is missing: run bench/quality.sh")
    selected = [s.strip() for s in args.sets.split(",") if s.strip()]
    for s in selected:
        if s not in SET_ORDER:
            sys.exit(f"--sets: unknown set {s!r} (known: {', '.join(SET_ORDER)})")
    selected = [s for s in SET_ORDER if s in selected]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    for v in variants:
        if v not in ART_VARIANTS:
            sys.exit(f"--variants: unknown variant {v!r} (known: {', '.join(ART_VARIANTS)})")
    limit = args.limit or (QUICK_PER_SET if args.quick else PER_SET)
    full = (not args.quick and args.limit is None and selected == SET_ORDER
            and variants == ART_VARIANTS and not args.no_fixed16 and args.grids == "clean")
    sets = load_sets()

    # Inputs.
    items = []
    for set_name in selected:
        set_variants = variants if set_name != "photos" else [v for v in PHOTO_VARIANTS]
        items += prepare(set_name, sets[set_name][:limit], set_variants)
    print(f"{len(items)} inputs ready ({time.perf_counter() - started:.0f} s)", flush=True)

    # gemini3: one folder run per set, variant and setting. The folder holds only this run's
    # images (links), so --quick does not convert the whole set.
    run_dir = new_run_dir()
    print(f"this run: {run_dir}", flush=True)
    # A copy of the binary, so that a rebuild by someone else during the run does not mix two
    # builds in one run's figures.
    shutil.copy2(GEMINI3, run_dir / "gemini3-bin")
    GEMINI3 = run_dir / "gemini3-bin"
    groups = {}
    for item in items:
        groups.setdefault((item["set"], item["variant"]), []).append(item)
    settings_for = {}
    for (set_name, variant), group in groups.items():
        settings_for[(set_name, variant)] = ["auto"] + (
            ["fixed16"] if variant == "clean" and not args.no_fixed16 else [])
    gemini3_wall = {}
    for (set_name, variant), group in groups.items():
        folder = run_dir / "inputs" / set_name / variant
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for item in group:
            os.symlink(item["input"].resolve(), folder / item["input"].name)
        for setting in settings_for[(set_name, variant)]:
            out = run_dir / "gemini3" / setting / set_name / variant
            wall = run_gemini3(folder, out / "svg", out / "meta", setting == "fixed16")
            gemini3_wall[f"{set_name}/{variant}/{setting}"] = wall
            print(f"gemini3 {set_name}/{variant}/{setting}: {len(group)} images in {wall:.1f} s", flush=True)

    # VTracer: RGBA input and flattened input (the same for opaque inputs), one process each;
    # with the fixed palette too where the fixed16 setting runs.
    vt_dir = WORK / "vtracer-out"
    vt_jobs = []
    for item in items:
        base = vt_dir / item["set"] / item["variant"]
        with_palette = "fixed16" in settings_for[(item["set"], item["variant"])]
        for config, source in (("rgba", item["input"]), ("flat", item["flat"])):
            for palette in (False, True):
                name = config + ("pal" if palette else "")
                if source is None or (palette and not with_palette):
                    item[f"vt_{name}"] = None
                    continue
                item[f"vt_{name}"] = base / name / f"{item['key']}.svg"
                vt_jobs.append((source, item[f"vt_{name}"], palette))
    vt_started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(lambda job: run_vtracer(*job), vt_jobs))
    print(f"vtracer: {len(vt_jobs)} runs in {time.perf_counter() - vt_started:.1f} s", flush=True)

    # Scoring tasks. VTracer's scores are cached (bench/.work/score-cache.json) by the files'
    # modification times, so repeated runs score only gemini3 again.
    cache_path = WORK / "score-cache.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    cached, keys = {}, {}
    tasks = []
    for item in items:
        candidates = []
        for setting in settings_for[(item["set"], item["variant"])]:
            fixed = setting == "fixed16"
            out = run_dir / "gemini3" / setting / item["set"] / item["variant"]
            candidates.append((f"gemini3_{setting}", str(out / "svg" / f"{item['key']}.svg"), fixed))
            for config in VT_CONFIGS[setting]:
                svg = item[f"vt_{config}"]
                if svg is None:  # opaque input: the flattened run is the RGBA run (copied below)
                    continue
                if fixed and not config.endswith("pal"):
                    svg = snapped(svg, WORK / "vtracer-fixed16" / item["set"] / item["variant"] / config / svg.name)
                column = f"vt_{config}_{setting}"
                key = score_key(item["reference"], svg, fixed)
                if key in cache:
                    cached.setdefault(item["id"], {})[column] = cache[key]
                else:
                    candidates.append((column, str(svg), fixed))
                    keys[(item["id"], column)] = key
            meta = out / "meta" / f"{item['key']}.json"
            item[f"meta_{setting}"] = json.loads(meta.read_text()) if meta.exists() else None
        tasks.append({"id": item["id"], "reference": str(item["reference"]), "rgba": item["rgba"],
                      "candidates": candidates})
    score_started = time.perf_counter()
    scores = {}
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for done, (item_id, result) in enumerate(pool.map(score_item, tasks, chunksize=2), 1):
            scores[item_id] = result
            if done % 100 == 0:
                print(f"scored {done}/{len(tasks)}", flush=True)
    print(f"scored {len(tasks)} images in {time.perf_counter() - score_started:.1f} s", flush=True)
    for item in items:
        item["scores"] = scores[item["id"]]
        for column, result in item["scores"].items():
            if (item["id"], column) in keys and result is not None:
                cache[keys[(item["id"], column)]] = result
        item["scores"].update(cached.get(item["id"], {}))
        if item["vt_flat"] is None:
            for setting in settings_for[(item["set"], item["variant"])]:
                for config in VT_CONFIGS[setting]:
                    if config.startswith("flat"):
                        twin = "rgba" + config[4:]
                        item["scores"][f"vt_{config}_{setting}"] = item["scores"].get(f"vt_{twin}_{setting}")
    on_disk = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    write_text(cache_path, json.dumps({**on_disk, **cache}))

    # Summary.
    describe = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                              capture_output=True, text=True).stdout.strip()
    summary = {"generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "tree": describe,
               "full": full, "limit": limit, "gemini3_flags": os.environ.get("GEMINI3_FLAGS", ""),
               "gemini3_env": {k: v for k, v in os.environ.items() if k.startswith("GEMINI3__")},
               "groups": {}, "phases_ms": {}}
    for (set_name, variant), group in groups.items():
        for setting in settings_for[(set_name, variant)]:
            label = f"{set_name}/{variant}/{setting}"
            summary["groups"][label] = group_summary(group, setting)
            summary["phases_ms"][label] = phase_medians(group, setting)
    summary["timing"] = timing(items, groups)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    WORK.mkdir(exist_ok=True)
    summary["run_dir"] = str(run_dir.relative_to(ROOT))
    for folder in (run_dir, WORK):
        write_text(folder / "summary.json", json.dumps(summary, indent=1, sort_keys=True))
    per_image = {item["id"]: {"size": item["size"], "name": item["name"], "scores": item["scores"]}
                 for item in items}
    for folder in (run_dir, WORK):
        write_text(folder / "per-image.json", json.dumps(per_image, indent=1, sort_keys=True))

    page = ROOT / "bench" / "quality.md" if full else run_dir / "quality.md"
    grid_dir = ROOT / "bench" if full else run_dir / "grids"
    grid_dir.mkdir(parents=True, exist_ok=True)
    grid_variants = [v.strip() for v in args.grids.split(",") if v.strip()]
    grids = write_grids(groups, summary, grid_dir, run_dir, grid_variants)
    write_report(page, summary, groups, settings_for, grids, full, limit, sets)
    if not full:
        write_text(WORK / "quality.md", page.read_text())
    print_headline(summary)
    print(f"wrote {page}, {len(grids)} grids in {grid_dir}, {WORK / 'summary.json'} "
          f"({summary['seconds']:.0f} s)")


# --------------------------------------------------------------------------------------------
# Grids and report


def checkerboard(width, height, square=8):
    y, x = np.mgrid[0:height, 0:width]
    board = np.where(((x // square) + (y // square)) % 2 == 0, 255, 214).astype(np.uint8)
    return Image.fromarray(np.stack([board] * 3, axis=2)).convert("RGBA")


def cell_image(image, cell):
    image = image.convert("RGBA")
    scale = cell / max(image.width, image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # Up with nearest neighbour (pixels stay visible), down with Lanczos.
    image = image.resize(size, Image.NEAREST if scale > 1 else Image.LANCZOS)
    out = checkerboard(cell, cell)
    out.alpha_composite(image, ((cell - image.width) // 2, (cell - image.height) // 2))
    return out.convert("RGB")


def write_grids(groups, summary, grid_dir, run_dir, grid_variants=("clean",)):
    """Per set (and variant in grid_variants): the ten images with the worst ΔPSNR (automatic
    palette), as input | VTracer best | gemini3 over a checkerboard. The clean variant's grid is
    quality-grid-<set>.png, others quality-grid-<set>-<variant>.png."""
    written = []
    for (set_name, variant), group in groups.items():
        if variant not in grid_variants:
            continue
        cell, label_height = (120 if set_name == "photos" else 160), 28
        info = summary["groups"].get(f"{set_name}/{variant}/auto", {})
        best = info.get("vtracer_best")
        if best is None:
            continue
        paired = [(r["scores"]["gemini3_auto"]["psnr"] - r["scores"][f"vt_{best}_auto"]["psnr"], r)
                  for r in group if r["scores"].get("gemini3_auto") and r["scores"].get(f"vt_{best}_auto")]
        paired.sort(key=lambda p: p[0])
        worst = paired[:10]
        if not worst:
            continue
        grid = Image.new("RGB", (3 * cell, len(worst) * (cell + label_height)), "white")
        draw = ImageDraw.Draw(grid)
        for row_index, (delta, item) in enumerate(worst):
            top = row_index * (cell + label_height)
            width, height = item["size"]
            vt_svg = item[f"vt_{best}"] or item["vt_rgba"]
            ours_svg = run_dir / "gemini3" / "auto" / set_name / variant / "svg" / f"{item['key']}.svg"
            panels = [Image.open(item["input"])]
            for svg in (vt_svg, ours_svg):
                try:
                    panels.append(render(Path(svg).read_text(), width, height))
                except (OSError, ValueError):
                    panels.append(Image.new("RGBA", (width, height)))
            s = item["scores"]
            vt, ours = s[f"vt_{best}_auto"], s["gemini3_auto"]
            label = item["name"].split(".")[0] if set_name == "photos" else item["name"]
            texts = [f"{width}x{height} {label}",
                     f"VT {best} {vt['psnr']:.1f} dB {vt['bytes'] / 1024:.0f} KiB",
                     f"gemini3 {ours['psnr']:.1f} dB {ours['bytes'] / 1024:.0f} KiB"]
            for column, (panel, text) in enumerate(zip(panels, texts)):
                grid.paste(cell_image(panel, cell), (column * cell, top + label_height))
                draw.text((column * cell + 3, top + 2), text[:cell // 6], fill="black")
                if column == 2:
                    draw.text((column * cell + 3, top + 14), f"ΔPSNR {delta:+.2f} dB".replace("Δ", "d"), fill="black")
        path = grid_dir / (f"quality-grid-{set_name}.png" if variant == "clean"
                           else f"quality-grid-{set_name}-{variant}.png")
        # Palette PNG to keep the committed files small (photos get fewer colours, dithered).
        if set_name == "photos":
            grid = grid.quantize(colors=48, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
        else:
            grid = grid.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        save_image(grid, path, optimize=True)
        written.append(path)
    return written


def f(value, digits=2, signed=False):
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return str(value)


def pct(value):
    return "–" if value is None else f"{value * 100:.0f} %"


def check(ok):
    return "✅" if ok else "❌"


def print_headline(summary):
    print(f"{'group':<28} {'dPSNR':>7} {'dSSIM':>8} {'bytes×':>7} {'SSIMwin':>7} {'IoU':>6} {'VT':>5}")
    for label, g in summary["groups"].items():
        if "d_psnr" not in g:
            print(f"{label:<28} incomplete")
            continue
        iou = g["gemini3"].get("iou")
        print(f"{label:<28} {g['d_psnr']:>+7.2f} {g['d_ssim']:>+8.4f} {g['bytes_ratio']:>7.2f} "
              f"{g['ssim_win'] * 100:>6.0f}% {f(iou, 3):>6} {g['vtracer_best']:>5}")


def fixed16_ceiling(set_name):
    """Median PSNR of the set's clean renders (on white) with each pixel its nearest FIXED16
    colour (RGB): no picture in those colours only scores more."""
    palette = np.array([[int(h[i:i + 2], 16) for i in (0, 2, 4)] for h in FIXED16], dtype=np.float64)
    scores = []
    for png in sorted((WORK / "inputs" / set_name / "clean").glob("*.png")):
        rgb = on_white(Image.open(png).convert("RGBA")).reshape(-1, 3).astype(np.float64)
        nearest = ((rgb[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        mse = ((palette[nearest] - rgb) ** 2).mean()
        scores.append(10 * np.log10(255.0 ** 2 / mse) if mse > 0 else float("inf"))
    return statistics.median(scores) if scores else None


def write_report(page, summary, groups, settings_for, grids, full, limit, sets):
    lines = []
    add = lines.append
    versions = {s: package_version(p) for s, p in PACKAGES.items() if (NPM / p).exists()}
    vt_version = subprocess.run([str(VTRACER), "--version"], capture_output=True, text=True).stdout.strip()
    add("# Fidelity benchmark: gemini3 against VTracer on users' kinds of images")
    add("")
    add(f"Generated by `make bench-quality` (bench/quality.sh, bench/quality.py) on {summary['generated']}, "
        f"{os.cpu_count()} CPU cores ({platform.machine()}), CPU only, in {summary['seconds'] / 60:.1f} min, "
        f"gemini3 built from the working tree at `{summary.get('tree', '?')}` (`-dirty`: with uncommitted changes). "
        "Figures are as measured in that run." + ("" if full else
                                                  f" **Partial run** ({limit} images per set): not the committed page."))
    if summary["gemini3_flags"] or summary["gemini3_env"]:
        add("")
        add(f"gemini3 settings overridden for this run: flags `{summary['gemini3_flags']}`, environment "
            f"`{summary['gemini3_env']}`.")
    add("")
    add("## Method")
    add("")
    add("Sets, 40 images each (the names are in `bench/quality-sets.txt`, chosen once from the sorted names "
        "with a fixed-seed shuffle, skipping icons under 4 % coverage or with fewer than two colours covering "
        "2 % each). Icons are Iconify JSON packages from the npm registry, each icon's body wrapped in "
        "`<svg viewBox=\"left top width height\">` and rendered with resvg (resvg-py) with alpha; image *i* "
        "of a set gets 128, 256 or 512 px on its long side in rotation (i mod 3), so every set holds all "
        "three sizes.")
    add("")
    add("| set | source | what it is |")
    add("|---|---|---|")
    for s in SET_ORDER:
        source = (f"`@iconify-json/{PACKAGES[s]}` {versions.get(s, '?')}" if s in PACKAGES
                  else "scikit-image 0.26 wheel: " + ", ".join(p.split('.')[0] for p in PHOTOS))
        add(f"| {s} | {source} | {DESCRIPTION[s]} |")
    add("")
    add("- **glossy**: the drop shadow is added by this benchmark, not part of the package: an SVG filter "
        "(the art's alpha blurred with σ = 3.5 % of the icon size, moved down 4 %, flooded black at opacity "
        "0.4, merged under the art; the view box grows by 10 % each side), so each icon has a semi-transparent "
        "soft shadow like a glossy desktop icon.")
    add("- **photos**: 5 fixed-seed crops of each of the 8 colour photos in the wheel (1:1, 4:3 or 3:4, 45–100 % "
        "of the short side), Lanczos-resized to 128, 256 or 512 px; opaque.")
    add("- Variants of each artwork set: **clean** (the RGBA render); **jpeg30** and **jpeg50** (the render "
        "flattened over white, saved by Pillow at that quality with 4:2:0 chroma subsampling; scored against the "
        "clean render over white); **half** (the RGBA render downscaled 2× with Lanczos, as a user's "
        "downscaled upload; scored against the art rendered by resvg directly at half size, so 64, 128 or "
        "256 px). Photos: clean only.")
    add(f"- Tools, paired per image in the same run: gemini3 (release build, default configuration, CPU, one "
        f"`gemini3 vectorize FOLDER --metadata DIR` process per set and variant) and {vt_version or 'VTracer'} "
        "(`vtracer-cli` from crates.io) with its defaults, once on the input as given (RGBA for clean and half) "
        "and once on the input flattened over white (labelled rgba and flat); for JPEG and photos, which are opaque, "
        "the two are the same run. "
        "**VTracer best** is, per set and variant, the configuration with the better median PSNR; ΔPSNR, ΔSSIM, "
        "bytes ratio and wins are paired per image against that configuration.")
    add("- Scores: each SVG rendered back by resvg at the reference's size, composited on white, against the "
        "clean render composited on white: PSNR, SSIM on grey (BT.601 luma, 7×7 window, scikit-image), mean "
        "CIEDE2000, bytes, `<path>` count. Alpha coverage IoU: alpha ≥ 0.5 masks of the SVG render and of the "
        "clean render (RGBA inputs only). Δ = gemini3 − VTracer best, median of the per-image differences; "
        "bytes ratio = median of per-image gemini3 / VTracer bytes; SSIM win = share of images where gemini3's "
        "SSIM is higher.")
    add("- fixed16: both held to PICO-8's 16 colours on the clean sets. gemini3 gets `--palette`; VTracer has "
        "a `--palette` option since 1.0.0-alpha; it runs both with it and with its default output's fills snapped to "
        "the nearest palette colour in OKLab (as this benchmark did before), each on RGBA and flattened input. Conformance: "
        "share of fills that are palette colours.")
    add("")

    def g(label):
        return summary["groups"].get(label, {})

    add("## Headline (automatic palette)")
    add("")
    add("| set | variant | ΔPSNR dB | ΔSSIM | bytes ratio | SSIM win (W/L) | PSNR win | alpha IoU gemini3 / VTracer best | "
        "PSNR gemini3 / VT rgba / VT flat | SSIM gemini3 / VT rgba / VT flat | bytes gemini3 / VT best | VTracer best |")
    add("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (set_name, variant) in groups:
        info = g(f"{set_name}/{variant}/auto")
        if "d_psnr" not in info:
            add(f"| {set_name} | {variant} | incomplete |  |  |  |  |  |  |  |  |  |")
            continue
        ours, best = info["gemini3"], info[f"vt_{info['vtracer_best']}"]
        rgba, flat = info.get("vt_rgba", {}), info.get("vt_flat", {})
        iou = f"{f(ours.get('iou'), 3)} / {f(best.get('iou'), 3)}" if "iou" in ours else "–"
        add(f"| {set_name} | {variant} | {f(info['d_psnr'], 2, True)} | {f(info['d_ssim'], 4, True)} | "
            f"{f(info['bytes_ratio'], 2)} | {pct(info['ssim_win'])} ({info['ssim_wins']}/{info['ssim_losses']}) | {pct(info['psnr_win'])} | {iou} | "
            f"{f(ours['psnr'])} / {f(rgba.get('psnr'))} / {f(flat.get('psnr'))} | "
            f"{f(ours['ssim'], 4)} / {f(rgba.get('ssim'), 4)} / {f(flat.get('ssim'), 4)} | "
            f"{f(ours['bytes'], 0)} / {f(best['bytes'], 0)} | {info['vtracer_best']} |")
    add("")

    fixed_groups = [(s, v) for (s, v) in groups if "fixed16" in settings_for[(s, v)]]
    if fixed_groups:
        add("## Fixed 16-colour palette (PICO-8)")
        add("")
        add("VTracer configurations: rgba and flat with their fills snapped to the palette; rgbapal and flatpal "
            "with VTracer's own `--palette` option (new in 1.0.0-alpha). VTracer best: the one with the better "
            "median PSNR.")
        add("")
        add("Ceiling: the median PSNR of the clean render (on white) with every pixel replaced by its nearest "
            "palette colour in RGB (all 40 images of the set): no picture whose every pixel is a palette "
            "colour scores more. Anti-aliased edges and translucent shapes blend palette colours, which can "
            "add a little (outline's soft shadows); flags are opaque with straight edges, so +1 dB over "
            "VTracer best is out of reach when it exceeds this.")
        add("")
        add("| set | ΔPSNR dB | ΔSSIM | bytes ratio | SSIM win (W/L) | PSNR gemini3 / VT rgba / flat / rgbapal / flatpal | ceiling PSNR | conformance gemini3 (mean, all 100 %) | conformance VTracer best | VTracer best |")
        add("|---|---|---|---|---|---|---|---|---|---|")
        for (set_name, variant) in fixed_groups:
            info = g(f"{set_name}/{variant}/fixed16")
            if "d_psnr" not in info:
                add(f"| {set_name} | incomplete |  |  |  |  |  |  |")
                continue
            ours, best = info["gemini3"], info[f"vt_{info['vtracer_best']}"]
            vt_psnr = " / ".join(f(info.get(f"vt_{c}", {}).get("psnr")) for c in VT_CONFIGS["fixed16"])
            add(f"| {set_name} | {f(info['d_psnr'], 2, True)} | {f(info['d_ssim'], 4, True)} | {f(info['bytes_ratio'], 2)} | "
                f"{pct(info['ssim_win'])} ({info['ssim_wins']}/{info['ssim_losses']}) | {f(ours['psnr'])} / {vt_psnr} | "
                f"{f(fixed16_ceiling(set_name))} | "
                f"{pct(ours.get('conform_mean'))}, {f(ours.get('conform_all'))} | "
                f"{pct(best.get('conform_mean'))} | {info['vtracer_best']} |")
        add("")

    add("## DESIGN.md targets, as measured")
    add("")
    add("Artwork (every artwork set, clean and JPEG; half is reported too): median ΔPSNR ≥ +1 dB, ΔSSIM ≥ 0, "
        "bytes ratio ≤ 1, SSIM better on ≥ 70 % of images, alpha IoU ≥ 0.98 on RGBA inputs. Photos: ΔPSNR ≥ 0 at "
        "bytes ratio ≤ 0.5. Fixed 16 colours: ΔPSNR ≥ +1 dB with 100 % conformance.")
    add("")
    add("| set | variant | PSNR +1 dB | SSIM not lower | bytes not more | SSIM win ≥ 70 % | alpha IoU ≥ 0.98 |")
    add("|---|---|---|---|---|---|---|")
    met = failed = 0
    for (set_name, variant) in groups:
        info = g(f"{set_name}/{variant}/auto")
        if "d_psnr" not in info:
            continue
        iou = info["gemini3"].get("iou")
        if set_name == "photos":
            cells = [f"{check(info['d_psnr'] >= 0)} {f(info['d_psnr'], 2, True)} (photos: ≥ 0)", "–",
                     f"{check(info['bytes_ratio'] <= 0.5)} {f(info['bytes_ratio'])} (photos: ≤ 0.5)", "–", "–"]
            oks = [info["d_psnr"] >= 0, info["bytes_ratio"] <= 0.5]
        else:
            oks = [info["d_psnr"] >= TARGET_DPSNR, info["d_ssim"] >= 0, info["bytes_ratio"] <= 1.0,
                   info["ssim_win"] >= TARGET_WIN]
            cells = [f"{check(oks[0])} {f(info['d_psnr'], 2, True)}", f"{check(oks[1])} {f(info['d_ssim'], 4, True)}",
                     f"{check(oks[2])} {f(info['bytes_ratio'])}", f"{check(oks[3])} {pct(info['ssim_win'])}"]
            if iou is not None:
                oks.append(iou >= TARGET_IOU)
                cells.append(f"{check(oks[-1])} {f(iou, 3)}")
            else:
                cells.append("– (opaque)")
        met += sum(oks)
        failed += len(oks) - sum(oks)
        add(f"| {set_name} | {variant} | " + " | ".join(cells) + " |")
    for (set_name, variant) in fixed_groups:
        info = g(f"{set_name}/{variant}/fixed16")
        if "d_psnr" not in info:
            continue
        oks = [info["d_psnr"] >= TARGET_DPSNR, bool(info["gemini3"].get("conform_all"))]
        met += sum(oks)
        failed += len(oks) - sum(oks)
        add(f"| {set_name} | fixed16 | {check(oks[0])} {f(info['d_psnr'], 2, True)} | – | – | – | "
            f"conformance 100 %: {check(oks[1])} |")
    add("")
    add(f"{met} of {met + failed} target checks met.")
    add("")
    losses = []
    for label, info in summary["groups"].items():
        if "d_psnr" not in info:
            continue
        problems = []
        if info["d_psnr"] < 0:
            problems.append(f"PSNR {f(info['d_psnr'], 2, True)} dB")
        if info["ssim_win"] < 0.5:
            problems.append(f"SSIM lower on {info['ssim_losses']} of {info['images']} images")
        if info["bytes_ratio"] > 1:
            problems.append(f"{f(info['bytes_ratio'])}× the bytes")
        iou = info["gemini3"].get("iou")
        if iou is not None and iou < TARGET_IOU:
            problems.append(f"alpha IoU {f(iou, 3)}")
        if problems:
            losses.append(f"- {label}: " + ", ".join(problems) + ".")
    if losses:
        add("Where gemini3 loses to VTracer best outright (median PSNR lower, SSIM lower on most images, more "
            "bytes, or alpha IoU under 0.98):")
        add("")
        lines.extend(losses)
        add("")

    add("## gemini3 per phase, median milliseconds (from its metadata)")
    add("")
    phases = sorted({p for v in summary["phases_ms"].values() for p in v if p != "total"})
    add("| set | variant | setting | " + " | ".join(phases) + " | total |")
    add("|---|---|---|" + "---|" * (len(phases) + 1))
    for label, values in summary["phases_ms"].items():
        s, v, setting = label.split("/")
        add(f"| {s} | {v} | {setting} | " + " | ".join(f(values.get(p), 1) for p in phases)
            + f" | {f(values.get('total'), 1)} |")
    add("")
    add("Milliseconds are the pipeline's own (`total_ms`: working resolution to SVG, decoding excluded), one "
        "warm process per set and variant, mixed sizes (128–512 px).")
    add("")
    t = summary.get("timing", {})
    if t:
        add(f"- DESIGN.md \"a 512×512 icon end to end under 250 ms warm on 2 cores\": median `total_ms` of the "
            f"{t.get('pipeline_ms_512_images', 0)} clean 512 px artwork images: {f(t.get('pipeline_ms_512_median'), 1)} ms "
            "(warm folder runs, while the machine was shared).")
        add(f"- DESIGN.md \"one-shot `gemini3 vectorize` of a 256 px icon (whole process) within 3× VTracer's CLI\": "
            f"median wall of one process per image on five clean 256 px icons: gemini3 {f(t.get('oneshot_256_ms_gemini3'), 0)} ms "
            f"(default configuration; with `GEMINI3__HARDWARE__WARMUP=false` {f(t.get('oneshot_256_ms_gemini3_nowarmup'), 0)} ms), "
            f"VTracer {f(t.get('oneshot_256_ms_vtracer'), 0)} ms; ratio {f(t.get('oneshot_ratio'), 1)}× "
            f"({f(t.get('oneshot_ratio_nowarmup'), 1)}× without warm-up).")
        add("")

    add("## Colour (median CIEDE2000, lower is better), paths and soft alpha")
    add("")
    add("Alpha MAE: mean |alpha of the SVG render − alpha of the clean render| (0 to 1) on RGBA inputs, which "
        "also sees faint shadows and rims that the 50 % masks of the IoU ignore.")
    add("")
    add("| set | variant | setting | ΔE gemini3 / VT best | paths gemini3 / VT best | alpha MAE gemini3 / VT rgba / VT flat |")
    add("|---|---|---|---|---|---|")
    for label, info in summary["groups"].items():
        if "d_psnr" not in info:
            continue
        s, v, setting = label.split("/")
        best = info[f"vt_{info['vtracer_best']}"]
        mae = "–"
        if info["gemini3"].get("alpha_mae") is not None:
            mae = " / ".join(f(info.get(c, {}).get("alpha_mae"), 4) for c in ("gemini3", "vt_rgba", "vt_flat"))
        add(f"| {s} | {v} | {setting} | {f(info['gemini3']['de'])} / {f(best['de'])} | "
            f"{f(info['gemini3']['paths'], 0)} / {f(best['paths'], 0)} | {mae} |")
    add("")

    add("## Worst ten per set (automatic palette, by ΔPSNR; clean unless named)")
    add("")
    add("input | VTracer best | gemini3, each SVG rendered at the input's size, over a checkerboard.")
    add("")
    for path in grids:
        set_name = path.stem.replace("quality-grid-", "")
        rel = path.name if full else path
        add(f"### {set_name}")
        add("")
        add(f"![{set_name}: input | VTracer best | gemini3]({rel})")
        add("")
    page.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
