"""Small and lossy uploads: does phase 2 (the upscaler) recover the art? (bench/upscale.md)

Run after bench/quality.sh has fetched its packages and virtual environment (bench/.work):

    bench/.work/venv/bin/python bench/upscale.py [--per-set N] [--configs a,b] [--variants a,b]

Images: the first N of each artwork set of bench/quality-sets.txt (outline, flat, logos, flags,
glossy; the same pinned Iconify packages). Variants (the reference is always the art rendered at
256 px long side, scored composited on white):

* small: the art rendered at 96 px long side, RGBA;
* small-jpeg: the art rendered at 128 px, flattened over white, JPEG q50 with 4:2:0 chroma;
* jpeg30, jpeg50: the art rendered at 256 px, flattened, JPEG q30 / q50;
* clean: the art rendered at 256 px, RGBA.

Configurations (one `gemini3 vectorize` folder run each, on the CPU provider):

* default: the shipped configuration (phase 2 upscaler x4, phase 1 off), with
  phase2.cpu_max_side raised to 256 so that the 256 px variants run it too;
* off: every learned phase off (phase1.enabled = phase2.enabled = false);
* bicubic: learned phases off, the upload enlarged 4x (SCALE) with plain bicubic (premultiplied);
* p1on: the default with phase 1 (the learned clean plate) on;
* trial: any model file as phase 2 (UPSCALE_TRIAL_MODEL), phase 1 off;
* vtracer: VTracer's CLI with its defaults on the same upload (bench/quality.sh installs it).

Scores: every SVG rendered back with resvg at 256 px, on white, against the reference: PSNR,
SSIM (grey, as bench/quality.md), bytes. Deltas are paired per image; the page gives medians,
and for VTracer also the images where default scores the higher PSNR ("wins").
"""

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality as q  # noqa: E402

ROOT = q.ROOT
# UPSCALE_WORK: another work folder (held-out icons, `--offset`, keep their own inputs).
WORK = Path(os.environ["UPSCALE_WORK"]) if os.environ.get("UPSCALE_WORK") else q.WORK / "upscale"
REFERENCE = 256
SCALE = 4
SETS = ["outline", "flat", "logos", "flags", "glossy"]
VARIANTS = ["small", "small-jpeg", "jpeg30", "jpeg50", "clean"]
CONFIGS = {
    "default": {"GEMINI3__PHASE2__CPU_MAX_SIDE": "256"},
    "off": {"GEMINI3__PHASE1__ENABLED": "false", "GEMINI3__PHASE2__ENABLED": "false"},
    "bicubic": {"GEMINI3__PHASE1__ENABLED": "false", "GEMINI3__PHASE2__ENABLED": "false"},
    "p1on": {"GEMINI3__PHASE2__CPU_MAX_SIDE": "256", "GEMINI3__PHASE1__ENABLED": "true"},
    "vtracer": {},
    "trial": {"GEMINI3__PHASE2__CPU_MAX_SIDE": "256", "GEMINI3__PHASE1__ENABLED": "false",
              "GEMINI3__PHASE2__MODEL": os.environ.get("UPSCALE_TRIAL_MODEL", "models/upscale_x4.onnx")},
}


def prepare(set_name, names, offset=0):
    data = q.load_icons(q.PACKAGES[set_name])
    base = WORK / "inputs"
    items = []
    for index, name in enumerate(names, start=offset):
        key = f"{set_name}-{index:02d}-{q.safe(name.replace(':', '-'))}"[:80]
        width, height, svg = q.icon_svg(data, name, shadow=set_name == "glossy")
        reference = base / "reference" / f"{key}.png"
        if not reference.exists():
            reference.parent.mkdir(parents=True, exist_ok=True)
            q.render(svg, *q.fit(width, height, REFERENCE)).save(reference)
        for variant in VARIANTS:
            folder = base / variant
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / (f"{key}.jpg" if "jpeg" in variant else f"{key}.png")
            if not path.exists():
                if variant == "small":
                    q.render(svg, *q.fit(width, height, 96)).save(path)
                elif variant == "small-jpeg":
                    art = q.render(svg, *q.fit(width, height, 128))
                    Image.fromarray(q.on_white(art)).save(path, quality=50, subsampling=2)
                elif variant.startswith("jpeg"):
                    art = Image.open(reference)
                    Image.fromarray(q.on_white(art)).save(path, quality=int(variant[4:]), subsampling=2)
                else:
                    Image.open(reference).save(path)
            # The bicubic control's input: the upload enlarged SCALE x.
            big = base / f"{variant}-bicubic" / path.name.replace(".jpg", ".png")
            if not big.exists():
                big.parent.mkdir(parents=True, exist_ok=True)
                image = Image.open(path).convert("RGBA")
                size = (image.width * SCALE, image.height * SCALE)
                image.convert("RGBa").resize(size, Image.BICUBIC).convert("RGBA").save(big)
            items.append({"set": set_name, "key": key, "variant": variant, "input": path,
                          "bicubic": big, "reference": reference})
    return items


def run(config, variant, out):
    folder = WORK / "inputs" / (f"{variant}-bicubic" if config == "bicubic" else variant)
    if config == "vtracer":
        started = time.perf_counter()
        for path in sorted(folder.iterdir()):
            q.run_vtracer(path, out / "svg" / f"{path.stem}.svg")
        return time.perf_counter() - started
    env = q.gemini3_env()
    env.update(CONFIGS[config])
    svg_dir, meta_dir = out / "svg", out / "meta"
    command = [str(q.GEMINI3), "vectorize", str(folder), "-o", str(svg_dir), "--metadata", str(meta_dir)]
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        print(result.stderr[-2000:], flush=True)
    return time.perf_counter() - started


def scores(svg_path, reference):
    """(PSNR, SSIM) of the SVG rendered at the reference's size, both on white."""
    ref = q.on_white(Image.open(reference).convert("RGBA"))
    out = q.on_white(q.render(svg_path.read_text(), ref.shape[1], ref.shape[0]))
    mse = ((ref.astype(np.float64) - out.astype(np.float64)) ** 2).mean()
    psnr = 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)
    ssim = float(q.structural_similarity(q.grey(ref), q.grey(out), data_range=255.0))
    return psnr, ssim


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-set", type=int, default=10)
    # Held-out icons: the N icons of each set from this index on (with UPSCALE_WORK elsewhere).
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", default=str(WORK / "results.json"))
    args = parser.parse_args()
    sets = q.load_sets()
    items = []
    for set_name in SETS:
        items += prepare(set_name, sets[set_name][args.offset : args.offset + args.per_set], args.offset)
    variants = args.variants.split(",")
    results = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    for config in args.configs.split(","):
        for variant in variants:
            out = WORK / "runs" / config / variant
            wall = run(config, variant, out)
            print(f"{config} {variant}: {wall:.1f} s", flush=True)
            for item in items:
                if item["variant"] != variant:
                    continue
                stem = Path(item["input"]).stem
                svg = out / "svg" / f"{stem}.svg"
                meta_path = out / "meta" / f"{stem}.json"
                if not svg.exists():
                    print(f"  missing {svg}", flush=True)
                    continue
                meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
                psnr, ssim = scores(svg, item["reference"])
                results[f"{config}|{variant}|{item['key']}"] = {
                    "set": item["set"], "psnr": psnr, "ssim": ssim,
                    "bytes": svg.stat().st_size, "steering": meta.get("steering"),
                    "phases": meta.get("phases"), "total_ms": meta.get("total_ms"),
                }
            Path(args.out).write_text(json.dumps(results, indent=1))
    summarize(results)


def summarize(results):
    by = {}
    for key, row in results.items():
        config, variant, image = key.split("|")
        by[(config, variant, image)] = row
    configs = sorted({k[0] for k in by})
    variants = [v for v in VARIANTS if any(k[1] == v for k in by)]
    lines = []
    for variant in variants:
        lines.append(f"\n### {variant}\n")
        lines.append("| set | n | default PSNR | default - off | default - bicubic | bytes default / bicubic | bytes default / off | "
                     + " | ".join(f"default - {c}" for c in configs if c not in ("default", "off", "bicubic", "vtracer")) + " | gate accepted |")
        lines.append("|---" * (8 + len([c for c in configs if c not in ("default", "off", "bicubic", "vtracer")])) + "|")
        for set_name in SETS:
            images = sorted({k[2] for k in by if k[1] == variant and k[0] == "default" and by[k]["set"] == set_name})
            if not images:
                continue

            def paired(other, field="psnr", ratio=False):
                values = []
                for image in images:
                    a, b = by.get(("default", variant, image)), by.get((other, variant, image))
                    if a and b:
                        values.append(a[field] / b[field] if ratio else a[field] - b[field])
                return statistics.median(values) if values else float("nan")

            default_psnr = statistics.median(by[("default", variant, i)]["psnr"] for i in images)
            accepted = sum(1 for i in images if (by[("default", variant, i)].get("steering") or {}).get("accepted"))
            extra = " | ".join(f"{paired(c):+.2f}" for c in configs if c not in ("default", "off", "bicubic", "vtracer"))
            lines.append(f"| {set_name} | {len(images)} | {default_psnr:.2f} | {paired('off'):+.2f} | {paired('bicubic'):+.2f} | "
                         f"{paired('bicubic', 'bytes', True):.2f} | {paired('off', 'bytes', True):.2f} | {extra} | {accepted}/{len(images)} |")
    if any(k[0] == "vtracer" for k in by):
        lines.append("\n### against VTracer (same upload, its CLI defaults)\n")
        lines.append("| variant | set | n | ΔPSNR | ΔSSIM | bytes default / VTracer | wins |")
        lines.append("|---|---|---|---|---|---|---|")
        for variant in variants:
            for set_name in SETS:
                pairs = [(by[k], by[("vtracer", variant, k[2])]) for k in by
                         if k[0] == "default" and k[1] == variant and by[k]["set"] == set_name
                         and ("vtracer", variant, k[2]) in by and "ssim" in by[k]]
                if not pairs:
                    continue
                dpsnr = statistics.median(a["psnr"] - b["psnr"] for a, b in pairs)
                dssim = statistics.median(a["ssim"] - b["ssim"] for a, b in pairs)
                ratio = statistics.median(a["bytes"] / b["bytes"] for a, b in pairs)
                wins = sum(a["psnr"] > b["psnr"] for a, b in pairs)
                lines.append(f"| {variant} | {set_name} | {len(pairs)} | {dpsnr:+.2f} | {dssim:+.4f} | "
                             f"{ratio:.2f} | {wins}/{len(pairs)} |")
    text = "\n".join(lines)
    print(text)
    (WORK / "summary.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
