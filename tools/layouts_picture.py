"""docs/layouts.png: the stacked and cutout layouts side by side, for README.

For each input: the input, the stacked SVG, the cutout SVG, and the cutout SVG "exploded"
(every path drawn alone with a white outline, so each shape's own extent shows: in stacked
shapes reach under their neighbours, in cutout they tile). Rendered by resvg.

  python tools/layouts_picture.py BIN OUT.png INPUT.png [INPUT.png ...]
(BIN: the gemini3 binary; run with bench/.work/venv's python, which has resvg_py and Pillow.)
"""
import io
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import resvg_py
from PIL import Image, ImageDraw

CELL = 300


def vectorize(binary, src, layout, out_dir):
    out = Path(out_dir) / f"{Path(src).stem}-{layout}.svg"
    subprocess.run([binary, "vectorize", src, "-o", str(out), "--layout", layout], check=True,
                   stdout=subprocess.DEVNULL)
    return out.read_text()


def render(svg, size):
    png = resvg_py.svg_to_bytes(svg_string=svg, width=size, height=size)
    return Image.open(io.BytesIO(bytes(png))).convert("RGBA")


def outlined(svg):
    """Every path with a white outline on top of its fill, so overlaps show as hidden edges."""
    return re.sub(r"<path ", '<path stroke="#ffffff" stroke-width="0.6" stroke-opacity="0.9" ', svg)


def on_checker(img):
    board = Image.new("RGBA", img.size, (255, 255, 255, 255))
    draw = ImageDraw.Draw(board)
    step = 12
    for y in range(0, img.size[1], step):
        for x in range(0, img.size[0], step):
            if (x // step + y // step) % 2:
                draw.rectangle([x, y, x + step - 1, y + step - 1], fill=(228, 228, 228, 255))
    board.alpha_composite(img)
    return board.convert("RGB")


def main():
    binary, out, inputs = sys.argv[1], sys.argv[2], sys.argv[3:]
    titles = ["input", "stacked", "cutout", "stacked, outlined", "cutout, outlined"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for src in inputs:
            stacked = vectorize(binary, src, "stacked", tmp)
            cutout = vectorize(binary, src, "cutout", tmp)
            source = Image.open(src).convert("RGBA").resize((CELL, CELL), Image.NEAREST)
            cells = [source, render(stacked, CELL), render(cutout, CELL),
                     render(outlined(stacked), CELL), render(outlined(cutout), CELL)]
            rows.append([on_checker(c) for c in cells])
    pad, head = 8, 24
    width = len(titles) * (CELL + pad) + pad
    height = head + len(rows) * (CELL + pad) + pad
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, title in enumerate(titles):
        draw.text((pad + i * (CELL + pad) + 4, 6), title, fill=(0, 0, 0))
    for r, row in enumerate(rows):
        for i, cell in enumerate(row):
            sheet.paste(cell, (pad + i * (CELL + pad), head + r * (CELL + pad)))
    sheet.save(out, optimize=True)
    print(f"{out}: {len(rows)} inputs")


if __name__ == "__main__":
    main()
