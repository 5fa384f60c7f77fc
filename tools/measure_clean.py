"""Measures the phase-1 models on held-out icons: learned (models/clean.onnx) vs guided filter
(models/clean_guided.onnx) vs none, and writes bench/clean-model.md.

    .venv-train/bin/python tools/measure_clean.py [--icons 40] [--pipeline-images 8] [--skip-pipeline]

1. Clean-plate PSNR: ~40 held-out icons of the training packages (never trained on), rendered
   on white at a long side in [128, 512], saved as JPEG quality 30 and 50 (4:2:0) and, as the
   clean control, as they are (PNG). Each phase-1 output (8-bit rounded) is scored against the
   clean render; "none" scores the input itself.
2. Model cost: ONNX Runtime CPU wall time at 512² and 1024² (2 threads and 1 thread; median of
   repeated runs after a warm-up) and FLOPs per megapixel.
3. Pipeline: `target/release/gemini3 vectorize` on a folder of 512x512 JPEGs (q50) under the
   `cpu` profile, once per phase-1 variant; phase1 and total ms from `--metadata` (median over
   the images; the engine warms its sessions up before the first image).
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import clean_data as data  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
VARIANTS = [("learned", "models/clean.onnx"), ("guided", "models/clean_guided.onnx"), ("none", None)]
FIXTURE_ICON = "@iconify-json/twemoji/crying-face"


def session(path, threads):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(os.path.join(ROOT, path), options, providers=["CPUExecutionProvider"])


def run(sess, rgb):
    h, w = rgb.shape[:2]
    padded = data.pad_to(rgb, -(-h // 32) * 32, -(-w // 32) * 32)
    out = sess.run(None, {"image": np.ascontiguousarray(padded.transpose(2, 0, 1)[None])})[0]
    return np.rint(out[0].transpose(1, 2, 0)[:h, :w] * 255.0) / 255.0


def icons(count):
    data_dir = os.path.join(ROOT, ".train-clean")
    data.fetch_packages(data_dir)
    _, held_out = data.load_icons(data_dir)
    held_out = [icon for icon in held_out if icon[0] != FIXTURE_ICON]
    stride = max(1, len(held_out) // count)
    return held_out[stride // 2 :: stride][:count]


def jpeg_array(clean, quality):
    return np.asarray(data.jpeg(data.to_pil(clean), quality, 2), np.float32) / 255.0


def plate_psnr(chosen, threads):
    rng = np.random.default_rng(11)
    sessions = {name: session(path, threads) for name, path in VARIANTS if path}
    scores = {}  # (set, variant) -> [dB]
    for icon in chosen:
        long_side = int(rng.integers(128, 513))
        clean = np.asarray(data.to_pil(data.flatten(data.render(icon[1], icon[2], long_side), (1, 1, 1))), np.float32) / 255.0
        inputs = {"jpeg q30": jpeg_array(clean, 30), "jpeg q50": jpeg_array(clean, 50), "clean": clean}
        for set_name, image in inputs.items():
            for name, _ in VARIANTS:
                out = run(sessions[name], image) if name in sessions else image
                scores.setdefault((set_name, name), []).append(data.psnr(out, clean))
    return scores


def model_timing(path, side, threads, repeats):
    sess = session(path, threads)
    x = np.random.default_rng(0).random((1, 3, side, side), dtype=np.float32)
    sess.run(None, {"image": x})
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        sess.run(None, {"image": x})
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def pipeline_ms(chosen, count):
    binary = os.path.join(ROOT, "target", "release", "gemini3")
    if not os.path.exists(binary):
        raise SystemExit(f"{binary} is missing: run `cargo build --release` first")
    work = tempfile.mkdtemp(prefix="clean-measure-")
    images = os.path.join(work, "in")
    os.makedirs(images)
    for i, icon in enumerate(chosen[:count]):
        clean = data.flatten(data.render(icon[1], icon[2], 512), (1, 1, 1))
        canvas = np.ones((512, 512, 3), np.float32)
        canvas[: clean.shape[0], : clean.shape[1]] = clean
        data.to_pil(canvas).save(os.path.join(images, f"{i:02d}.jpg"), quality=50, subsampling=2)
    results = {}
    for name, path in VARIANTS:
        env = dict(os.environ, GEMINI3_PROFILE="cpu")
        if path:
            env["GEMINI3__PHASE1__MODEL"] = path
        else:
            env["GEMINI3__PHASE1__ENABLED"] = "false"
        out, meta = os.path.join(work, f"out-{name}"), os.path.join(work, f"meta-{name}")
        subprocess.run(
            [binary, "vectorize", images, "-o", out, "--metadata", meta],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        phase1, total = [], []
        for file in sorted(glob.glob(os.path.join(meta, "*.json"))):
            with open(file) as f:
                metadata = json.load(f)
            phase1.append(metadata.get("phases", {}).get("phase1", {}).get("ms", 0.0))
            total.append(metadata["total_ms"])
        results[name] = {"phase1_ms": float(np.median(phase1)), "total_ms": float(np.median(total)), "images": len(total)}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--icons", type=int, default=40)
    parser.add_argument("--pipeline-images", type=int, default=8)
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "clean-model.json"))
    args = parser.parse_args()

    chosen = icons(args.icons)
    scores = plate_psnr(chosen, 2)
    report = {"icons": len(chosen), "plate_psnr": {}, "model_ms": {}, "pipeline_512": None}
    for (set_name, name), values in scores.items():
        report["plate_psnr"].setdefault(set_name, {})[name] = {
            "median_db": round(float(np.median(values)), 2),
            "mean_db": round(float(np.mean(values)), 2),
        }
    for name, path in VARIANTS:
        if path:
            for side in (512, 1024):
                for threads in (2, 1):
                    report["model_ms"][f"{name} {side}² {threads}t"] = round(model_timing(path, side, threads, 10), 1)
    if not args.skip_pipeline:
        report["pipeline_512"] = pipeline_ms(chosen, args.pipeline_images)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
