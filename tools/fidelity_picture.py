"""docs/fidelity.png: input, VTracer and gemini3 side by side on benchmark images, for README.

Each item is SET/VARIANT/NAME of `make bench-quality`'s inputs (bench/.work/inputs); VTracer's
SVG is the one that run wrote (bench/.work/vtracer-out) in its better configuration for that
kind of input (flattened over white for RGBA art, as given for JPEGs); gemini3's is made now by
BIN with its defaults. Rendered by resvg on a checkerboard, so transparency shows.

  bench/.work/venv/bin/python tools/fidelity_picture.py BIN OUT.png SET/VARIANT/NAME ...
"""
import io
import subprocess
import sys
import tempfile
from pathlib import Path

import resvg_py
from PIL import Image, ImageDraw

from layouts_picture import on_checker

WORK = Path("bench/.work")
CELL = 200


def render(svg_text, width, height):
    png = resvg_py.svg_to_bytes(svg_string=svg_text, width=width, height=height)
    return Image.open(io.BytesIO(bytes(png))).convert("RGBA")


def main():
    binary, out, items = sys.argv[1], sys.argv[2], sys.argv[3:]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for item in items:
            set_name, variant, name = item.split("/")
            folder = WORK / "inputs" / set_name / variant
            source = next(folder.glob(f"{name}.*"))
            config = "rgba" if variant.startswith("jpeg") else "flat"
            vtracer = (WORK / "vtracer-out" / set_name / variant / config / f"{name}.svg").read_text()
            ours_path = Path(tmp) / f"{name}.svg"
            subprocess.run([binary, "vectorize", str(source), "-o", str(ours_path)], check=True,
                           stdout=subprocess.DEVNULL)
            ours = ours_path.read_text()
            image = Image.open(source).convert("RGBA")
            scale = CELL / max(image.size)
            size = (round(image.size[0] * scale), round(image.size[1] * scale))
            cells = [
                (f"{set_name} {variant}, input {max(image.size)} px",
                 image.resize(size, Image.NEAREST)),
                (f"VTracer ({config}) {len(vtracer.encode()) / 1024:.0f} KiB", render(vtracer, *size)),
                (f"gemini3 {len(ours.encode()) / 1024:.0f} KiB", render(ours, *size)),
            ]
            rows.append([(title, on_checker(cell)) for title, cell in cells])
    pad, head = 8, 16
    width = 3 * (CELL + pad) + pad
    height = len(rows) * (CELL + head + pad) + pad
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for r, row in enumerate(rows):
        top = pad + r * (CELL + head + pad)
        for i, (title, cell) in enumerate(row):
            left = pad + i * (CELL + pad)
            draw.text((left, top), title, fill=(0, 0, 0))
            sheet.paste(cell, (left, top + head))
    sheet.save(out, optimize=True)
    print(f"{out}: {len(rows)} inputs")


if __name__ == "__main__":
    main()
