"""Photos: gemini3 spline vs gemini3 pixel mode vs VTracer, side by side in one run.

Run after `make bench-quality` (it needs bench/.work: the venv with scikit-image, resvg-py,
and the VTracer CLI) and a release build:  bench/.work/venv/bin/python bench/photos_pixel.py
Prints a markdown table; its figures are quoted in bench/quality.md ("Photos in pixel mode").
"""
import io, os, subprocess, sys, numpy as np
from PIL import Image
import resvg_py
from skimage.metrics import structural_similarity as ssim, peak_signal_noise_ratio as psnr
D = "bench/.work/venv/lib/python3.11/site-packages/skimage/data"
EXTRA = sys.argv[1:]
photos = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"]
rows = []
for name in photos:
    src = os.path.join(D, name)
    im = Image.open(src).convert("RGB"); w, h = im.size
    ref = np.asarray(im, dtype=np.float64)
    out = {}
    for label, cmd in [
        ("gemini3 spline", ["env", "GEMINI3__PHASE4__MODE=spline", "./target/release/gemini3", "vectorize", src, "-o", "/tmp/p.svg"]),
        ("gemini3 pixel", ["env", "GEMINI3__PHASE4__MODE=pixel", "./target/release/gemini3", "vectorize", src, "-o", "/tmp/p.svg"] + EXTRA),
        ("VTracer 0.6.5", ["bench/.work/vtracer/bin/vtracer", "--input", src, "--output", "/tmp/p.svg"]),
    ]:
        subprocess.run(cmd, check=True, capture_output=True)
        svg = open("/tmp/p.svg").read()
        png = Image.open(io.BytesIO(bytes(resvg_py.svg_to_bytes(svg_string=svg, width=w, height=h)))).convert("RGBA")
        a = np.asarray(png, dtype=np.float64); al = a[..., 3:] / 255
        got = a[..., :3] * al + 255 * (1 - al)
        out[label] = (ssim(ref, got, channel_axis=2, data_range=255), psnr(ref, got, data_range=255), len(svg.encode()))
    rows.append((name, out))
print("| photo | gemini3 spline SSIM / PSNR / bytes | gemini3 pixel SSIM / PSNR / bytes | VTracer SSIM / PSNR / bytes |")
print("|---|---|---|---|")
for name, out in rows:
    cells = [f"{s:.4f} / {p:.2f} / {b}" for s, p, b in (out["gemini3 spline"], out["gemini3 pixel"], out["VTracer 0.6.5"])]
    print(f"| {name} | " + " | ".join(cells) + " |")
med = lambda k, i: float(np.median([out[k][i] for _, out in rows]))
print()
for k in ["gemini3 spline", "gemini3 pixel", "VTracer 0.6.5"]:
    print(f"- {k}: SSIM median {med(k,0):.4f}, PSNR median {med(k,1):.2f} dB, bytes median {med(k,2):.0f}")
