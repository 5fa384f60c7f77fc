"""How much phase 1 can still gain on the JPEG variants: the final SVG of the clean render
flattened over white (what a perfect restoration of the JPEG would hand the rest of the
pipeline) against the learned model's and the guided filter's SVGs of the JPEGs.

Run after two bench-quality runs of the JPEG variants on the same build, one per phase-1 model:

    GEMINI3__PHASE1__MODEL=models/clean_guided.onnx SKIP_BUILD=1 bench/quality.sh \\
        --sets outline,flat,logos,flags,glossy --variants jpeg30,jpeg50 --no-fixed16
    GEMINI3__PHASE1__MODEL=models/clean.onnx SKIP_BUILD=1 bench/quality.sh ...   (same)
    bench/.work/venv/bin/python bench/clean_ceiling.py RUN_GUIDED RUN_LEARNED

(RUN_* are the run folders the two commands print.) Prints a markdown table: per set and
variant, the median PSNR of the learned, guided and ceiling SVGs against the clean render
(all on white), the paired medians learned − guided and ceiling − guided, and the share of
the headroom the learned model takes.
"""

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402  (bench/quality.py: the same rendering and scores)
from PIL import Image  # noqa: E402

SETS = ["outline", "flat", "logos", "flags", "glossy"]
VARIANTS = ["jpeg30", "jpeg50"]
BIN = "target/release/gemini3"


def main():
    guided_run, learned_run = (Path(arg) for arg in sys.argv[1:3])
    guided = json.loads((guided_run / "per-image.json").read_text())
    learned = json.loads((learned_run / "per-image.json").read_text())
    inputs = quality.WORK / "inputs"
    print("| set / variant | learned PSNR | guided PSNR | ceiling PSNR | learned − guided | "
          "ceiling − guided | share of headroom |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for name in SETS:
            flat = inputs / name / "clean-flat"
            out = Path(scratch) / name
            out.mkdir()
            subprocess.run([BIN, "vectorize", str(flat), "-o", str(out)], check=True,
                           capture_output=True)
            ceiling = {}
            for png in sorted(flat.glob("*.png")):
                reference = Image.open(inputs / name / "clean" / png.name).convert("RGBA")
                scored = quality.score(out / (png.stem + ".svg"), quality.on_white(reference),
                                       None, False)
                ceiling[png.stem] = scored["psnr"]
            for variant in VARIANTS:
                rows = []
                for key, entry in learned.items():
                    if not key.startswith(f"{name}/{variant}/"):
                        continue
                    stem = key.rsplit("/", 1)[1]
                    l_psnr = entry["scores"]["gemini3_auto"]["psnr"]
                    g_psnr = guided[key]["scores"]["gemini3_auto"]["psnr"]
                    rows.append((l_psnr, g_psnr, ceiling[stem]))
                med = lambda values: statistics.median(values)  # noqa: E731
                gain = med([l - g for l, g, _ in rows])
                room = med([c - g for _, g, c in rows])
                share = f"{gain / room:.0%}" if room > 0 else "–"
                print(f"| {name} / {variant} | {med([r[0] for r in rows]):.2f} | "
                      f"{med([r[1] for r in rows]):.2f} | {med([r[2] for r in rows]):.2f} | "
                      f"{gain:+.2f} | {room:+.2f} | {share} |", flush=True)


if __name__ == "__main__":
    main()
