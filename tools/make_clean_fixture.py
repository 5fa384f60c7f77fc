"""Writes the learned phase-1 model's test fixture (tests/clean_model.rs):

* tests/fixtures/clean_source.png: twemoji `crying-face` (a held-out icon of a training
  package, so the model never trained on it) rendered by resvg at 128x128 on white;
* tests/fixtures/clean_q30.jpg: the same image as Pillow JPEG quality 30, 4:2:0.

Run with the training environment: .venv-train/bin/python tools/make_clean_fixture.py
(after tools/train_clean.sh has fetched the packages into .train-clean/).
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import clean_data as data  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ICON = "@iconify-json/twemoji/crying-face"


def main():
    data.fetch_packages(os.path.join(ROOT, ".train-clean"))
    _, held_out = data.load_icons(os.path.join(ROOT, ".train-clean"))
    icon = next(entry for entry in held_out if entry[0] == ICON)
    clean = data.to_pil(data.flatten(data.render(icon[1], icon[2], 128), (1.0, 1.0, 1.0)))
    fixtures = os.path.join(ROOT, "tests", "fixtures")
    clean.save(os.path.join(fixtures, "clean_source.png"), optimize=True)
    clean.save(os.path.join(fixtures, "clean_q30.jpg"), quality=30, subsampling=2)
    # Report the flat 12x12 windows (zero spread in the source), for the test's flat region.
    pixels = np.asarray(clean, np.float32)
    for y in range(0, 116, 4):
        for x in range(0, 116, 4):
            window = pixels[y : y + 12, x : x + 12]
            if window.std(axis=(0, 1)).max() == 0 and window[0, 0].tolist() != [255, 255, 255]:
                print(f"flat window at x={x} y={y}: {window[0, 0].tolist()}")


if __name__ == "__main__":
    main()
