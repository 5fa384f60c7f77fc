"""Trains the learned phase-1 model (models/clean.onnx) and records it in models/manifest.json.

Run through `tools/train_clean.sh` (`make train-clean`): it makes the pinned virtual environment
and pins training to one core. Everything is seeded: the same packages, seeds and step count
give the same model (up to floating-point differences between CPUs).

    train_clean.py [--smoke] [--steps N] [--out DIR] [--data DIR]

--smoke: a few steps on a few images, written to a temporary folder, so CI can check that the
script still runs end to end (fetch, render, degrade, train, export, verify) in well under two
minutes. It never touches models/.
"""

import argparse
import hashlib
import json
import os
import platform
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import clean_data as data  # noqa: E402
import clean_net as net  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

# Architecture (see clean_net.py) and training schedule.
ARCH = {"c1": 16, "c2": 48, "f": 8, "blocks": 3}
SEED = 20261129
PATCH = 96
BATCH = 16
STEPS = 5000
LR_MAX = 7e-4
LR_MIN = 1e-5
WARMUP = 200
POOL = 1536  # patches in the ring buffer
IMAGES_PER_STEP = 2  # fresh images rendered and degraded per step
CROPS_PER_IMAGE = 3
EDGE_WEIGHT = 0.25
LOSS_SCALE = 1000.0  # the loss is logged as 1000 x MSE
VALIDATION_ICONS = 96
VALIDATION_SEED = 7


def versions():
    import importlib.metadata as md

    names = ["jax", "jaxlib", "numpy", "pillow", "resvg-py", "onnx", "onnxruntime"]
    return {name: md.version(name) for name in names} | {"python": platform.python_version()}


def adam(params, grads, state, lr, b1=0.9, b2=0.999, eps=1e-8):
    import jax
    import jax.numpy as jnp

    step = state["step"] + 1
    m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, state["v"], grads)
    c1 = 1 - b1**step
    c2 = 1 - b2**step
    new = jax.tree_util.tree_map(
        lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), params, m, v
    )
    return new, {"step": step, "m": m, "v": v}


def make_step(blocks):
    import jax
    import jax.numpy as jnp

    def loss_fn(params, x, y):
        out = net.forward(params, x, blocks)
        # Squared error (what PSNR scores; an L1/Charbonnier loss learned far more slowly here)
        # plus an edge-aware term: match the target's finite differences, so edges stay crisp
        # and flat areas stay flat (a ripple is a gradient the target does not have).
        pixel = jnp.mean((out - y) ** 2)
        dx = (out[:, :, 1:] - out[:, :, :-1]) - (y[:, :, 1:] - y[:, :, :-1])
        dy = (out[:, 1:] - out[:, :-1]) - (y[:, 1:] - y[:, :-1])
        edge = jnp.mean(dx * dx) + jnp.mean(dy * dy)
        return LOSS_SCALE * (pixel + EDGE_WEIGHT * edge)

    @jax.jit
    def step(params, state, x, y, lr):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        params, state = adam(params, grads, state, lr)
        return params, state, loss

    return step


def learning_rate(step, total):
    if step < WARMUP:
        return LR_MAX * (step + 1) / WARMUP
    t = (step - WARMUP) / max(1, total - WARMUP)
    return LR_MIN + 0.5 * (LR_MAX - LR_MIN) * (1 + np.cos(np.pi * t))


class PatchPool:
    """A ring buffer of (input, target) patches, refreshed with new pairs every step."""

    def __init__(self, icons, rng, size):
        self.icons = icons
        self.rng = rng
        self.x = np.zeros((size, PATCH, PATCH, 3), np.float32)
        self.y = np.zeros((size, PATCH, PATCH, 3), np.float32)
        self.next = 0
        self.filled = 0

    def add_images(self, count):
        for _ in range(count):
            icon = self.icons[int(self.rng.integers(len(self.icons)))]
            try:
                degraded, clean = data.make_pair(icon, self.rng)
            except ValueError:  # an icon resvg cannot render: skip it
                continue
            for x, y in data.crops(degraded, clean, self.rng, PATCH, CROPS_PER_IMAGE):
                self.x[self.next], self.y[self.next] = x, y
                self.next = (self.next + 1) % len(self.x)
                self.filled = min(self.filled + 1, len(self.x))

    def batch(self, size):
        index = self.rng.integers(0, self.filled, size)
        return self.x[index], self.y[index]


def validation_pairs(held_out, count):
    """Fixed held-out pairs (input, clean), each padded to a multiple of 32 as the pipeline does."""
    rng = np.random.default_rng(VALIDATION_SEED)
    pairs = []
    stride = max(1, len(held_out) // count)
    for icon in held_out[::stride][:count]:
        degraded, clean = data.make_pair(icon, rng, long_side=int(rng.integers(96, 385)))
        pairs.append((degraded, clean))
    return pairs


def run_onnx(session, rgb):
    """The model on one [H, W, 3] image: pad to a multiple of 32 by edge replication, crop back."""
    h, w = rgb.shape[:2]
    padded = data.pad_to(rgb, -(-h // 32) * 32, -(-w // 32) * 32)
    x = np.ascontiguousarray(padded.transpose(2, 0, 1)[None])
    out = session.run(["image_clean"], {"image": x})[0][0].transpose(1, 2, 0)
    return out[:h, :w]


def session_for(model_bytes, threads=1):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def evaluate(session, pairs):
    before, after = [], []
    for degraded, clean in pairs:
        out = run_onnx(session, degraded)
        before.append(data.psnr(degraded, clean))
        after.append(data.psnr(np.rint(out * 255) / 255, clean))
    return {
        "images": len(pairs),
        "psnr_input_median_db": round(float(np.median(before)), 3),
        "psnr_output_median_db": round(float(np.median(after)), 3),
        "psnr_input_mean_db": round(float(np.mean(before)), 3),
        "psnr_output_mean_db": round(float(np.mean(after)), 3),
    }


def verify(params, model, blocks):
    """The ONNX graph computes what the JAX network computes (max abs diff <= 1e-4)."""
    import jax.numpy as jnp

    rng = np.random.default_rng(1)
    x = rng.random((1, 64, 96, 3), dtype=np.float32)
    expected = np.asarray(net.forward(params, jnp.asarray(x), blocks))[0]
    got = session_for(model.SerializeToString()).run(
        ["image_clean"], {"image": np.ascontiguousarray(x.transpose(0, 3, 1, 2))}
    )[0][0].transpose(1, 2, 0)
    diff = float(np.max(np.abs(expected - got)))
    if diff > 1e-4:
        raise SystemExit(f"ONNX export differs from the JAX forward pass: max abs diff {diff}")
    return diff


def save_checkpoint(path, params, step):
    flat = {f"{name}.{key}": np.asarray(value) for name, layer in params.items() for key, value in layer.items()}
    np.savez(path + ".tmp.npz", step=step, **flat)
    os.replace(path + ".tmp.npz", path)


def load_checkpoint(path):
    with np.load(path) as stored:
        params = {}
        for key in stored.files:
            if key != "step":
                name, part = key.split(".")
                params.setdefault(name, {})[part] = stored[key]
        return params, int(stored["step"])


def update_manifest(manifest_path, entry):
    with open(manifest_path) as f:
        manifest = json.load(f)
    models = manifest["models"]
    for i, existing in enumerate(models):
        if existing["name"] == entry["name"]:
            models[i] = entry
            break
    else:
        models.insert(0, entry)
    with open(manifest_path, "w") as out:
        json.dump(manifest, out, indent=2, sort_keys=True)
        out.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few steps on a few images, into a temporary folder")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--out", default=os.path.join(ROOT, "models"))
    parser.add_argument("--data", default=os.path.join(ROOT, ".train-clean"))
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument(
        "--from-checkpoint",
        metavar="NPZ",
        help="skip training: export, verify and record the weights of a checkpoint (.train-clean/checkpoint.npz)",
    )
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp
    import onnx

    steps = args.steps if args.steps is not None else (3 if args.smoke else STEPS)
    out_dir = tempfile.mkdtemp(prefix="train-clean-smoke-") if args.smoke else args.out
    started = time.time()

    provenance = data.fetch_packages(args.data)
    train, held_out = data.load_icons(args.data)
    if args.smoke:
        train, held_out = train[::500], held_out[:4]
    print(f"icons: {len(train)} train, {len(held_out)} held out", flush=True)

    rng = np.random.default_rng(SEED)
    specs = net.layer_specs(ARCH["c1"], ARCH["c2"], ARCH["f"], ARCH["blocks"])
    params = jax.tree_util.tree_map(jnp.asarray, net.init_params(specs, rng))
    state = {
        "step": jnp.zeros((), jnp.float32),
        "m": jax.tree_util.tree_map(jnp.zeros_like, params),
        "v": jax.tree_util.tree_map(jnp.zeros_like, params),
    }
    step_fn = make_step(ARCH["blocks"])
    pool = PatchPool(train, rng, 64 if args.smoke else POOL)
    pool.add_images(8 if args.smoke else POOL // CROPS_PER_IMAGE // 2)
    print(f"pool primed: {pool.filled} patches, {time.time() - started:.0f}s", flush=True)

    losses = []
    if args.from_checkpoint:
        params, steps = load_checkpoint(args.from_checkpoint)
        print(f"weights from {args.from_checkpoint} (step {steps})", flush=True)
    for i in range(0 if args.from_checkpoint else steps):
        pool.add_images(IMAGES_PER_STEP)
        x, y = pool.batch(BATCH)
        params, state, loss = step_fn(params, state, x, y, learning_rate(i, steps))
        losses.append(float(loss))
        if (i + 1) % args.log_every == 0 or i + 1 == steps:
            print(
                f"step {i + 1}/{steps} loss {np.mean(losses[-args.log_every:]):.5f} "
                f"lr {learning_rate(i, steps):.2e} {time.time() - started:.0f}s",
                flush=True,
            )
        if not np.isfinite(losses[-1]):
            raise SystemExit(f"loss is not finite at step {i + 1}")
        if not args.smoke and (i + 1) % 500 == 0:
            save_checkpoint(os.path.join(args.data, "checkpoint.npz"), params, i + 1)

    params = jax.tree_util.tree_map(np.asarray, params)
    macs = net.macs_per_pixel(specs)
    doc = (
        f"learned clean plate: residual CNN c1={ARCH['c1']} c2={ARCH['c2']} f={ARCH['f']} "
        f"blocks={ARCH['blocks']}, trained by tools/train_clean.py"
    )
    model = net.onnx_model(params, ARCH["blocks"], doc)
    onnx.checker.check_model(model, full_check=True)
    diff = verify(params, model, ARCH["blocks"])
    print(f"ONNX matches JAX: max abs diff {diff:.2e}", flush=True)

    session = session_for(model.SerializeToString())
    metrics = evaluate(session, validation_pairs(held_out, VALIDATION_ICONS))
    print(f"validation: {json.dumps(metrics)}", flush=True)

    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "clean.onnx")
    with open(path, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    entry = {
        "name": "clean",
        "phase": "phase1",
        "file": "clean.onnx",
        "opset": 17,
        "generator": "tools/train_clean.py",
        "inputs": [{"name": "image", "dtype": "float", "shape": [1, 3, "H", "W"]}],
        "outputs": [{"name": "image_clean", "dtype": "float", "shape": [1, 3, "H", "W"]}],
        "params": {
            "architecture": "residual CNN, out = clip(image + f(image), 0, 1); see tools/clean_net.py",
            **ARCH,
            "parameters": int(sum(v["w"].size + v["b"].size for v in params.values())),
            "macs_per_pixel": macs,
            "gflop_per_megapixel": round(2 * macs / 1000, 2),
            "hw_multiple_of": 4,
        },
        "training": {
            "command": "make train-clean",
            "seed": SEED,
            "steps": steps,
            "batch": BATCH,
            "patch": PATCH,
            "loss": f"MSE + {EDGE_WEIGHT} x MSE of the finite differences' mismatch",
            "optimizer": f"Adam, lr {LR_MAX} warmup {WARMUP} then cosine to {LR_MIN}",
            "data": {
                "packages": provenance,
                "held_out": f"sha256('package/name')[0] < {data.HELD_OUT_BELOW} (about 5 %)",
                "train_icons": len(train),
                "held_out_icons": len(held_out),
            },
            "degradation": data.RECIPE,
            "versions": versions(),
            "onnx_vs_jax_max_abs_diff": diff,
            "wall_seconds": round(time.time() - started),
        },
        "metrics": {"validation": metrics},
        "sha256": digest,
    }
    if args.smoke:
        if metrics["images"] == 0 or not np.isfinite(metrics["psnr_output_median_db"]):
            raise SystemExit("smoke run produced no validation metrics")
        print(f"smoke run ok: {path}")
        return
    update_manifest(os.path.join(out_dir, "manifest.json"), entry)
    print(f"wrote {path} ({os.path.getsize(path)} bytes, sha256 {digest}) in {time.time() - started:.0f}s")


if __name__ == "__main__":
    main()
