"""Side by side, for a few held-out icons: the upload, the shipped (pretrained) upscaler's raw
output, the fine-tuned one's, and the reference (the art rendered at 4x). bench/upscale.md.

    .venv-train/bin/python tools/upscale_picture.py BASE.onnx TUNED.onnx OUT.png [--data .train-clean]

Held-out icons of tools/clean_data.py's split (never trained on); each row is one icon, made by
tools/train_upscale.make_pair (odd rows RGBA at 96 px, even rows flattened and JPEG'd at 128 px).
"""

import argparse
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import clean_data as data  # noqa: E402
import train_upscale as tu  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("tuned")
    parser.add_argument("out")
    parser.add_argument("--data", default=os.path.join(ROOT, ".train-clean"))
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--offset", type=int, default=0, help="start of the evenly spaced pick of held-out icons")
    args = parser.parse_args()
    _, held_out = data.load_icons(args.data)
    sessions = [tu.session_for(open(p, "rb").read()) for p in (args.base, args.tuned)]
    rng = np.random.default_rng(3)
    picked = held_out[args.offset :: max(1, len(held_out) // args.count)][: args.count]
    rows = []
    for i, icon in enumerate(picked):
        mode, side = ("rgba", 96) if i % 2 == 0 else ("flattened", 128)
        small, big, mode = tu.make_pair(icon, rng, long_side=side, mode=mode)
        outs = [tu.run_onnx(s, small) for s in sessions]
        up = np.asarray(data.to_pil(small).resize((big.shape[1], big.shape[0]), Image.NEAREST), np.float32) / 255
        scores = [data.psnr(np.rint(o * 255) / 255, big) for o in outs]
        rows.append((icon[0], mode, [up, *outs, big], scores))
        print(f"{icon[0]} ({mode}): shipped {scores[0]:.2f} dB, fine-tuned {scores[1]:.2f} dB")
    cell = 384
    label = 16
    sheet = Image.new("RGB", (4 * cell, len(rows) * (cell + label)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (key, mode, images, scores) in enumerate(rows):
        top = r * (cell + label)
        names = ["upload (nearest)", f"shipped {scores[0]:.1f} dB", f"fine-tuned {scores[1]:.1f} dB", "reference"]
        for c, image in enumerate(images):
            tile = data.to_pil(image)
            tile.thumbnail((cell, cell), Image.LANCZOS)
            sheet.paste(tile, (c * cell, top + label))
            draw.text((c * cell + 2, top + 2), f"{names[c]}" + (f"  {key.split('/')[-1][:36]} ({mode.split()[0]})" if c == 0 else ""), fill="black")
    sheet.save(args.out, optimize=True)


if __name__ == "__main__":
    main()
