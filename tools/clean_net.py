"""The learned phase-1 network: its JAX forward pass and its ONNX graph, from one description.

`image` [1,3,H,W] (H and W multiples of 4; the pipeline pads to 32) -> `image_clean`, the same
shape: out = clip(image + f(image), 0, 1). Most of the work happens at 1/4 resolution, a little
at 1/2, and a light refinement at full resolution: with c1=16, c2=48, f=8, 3 blocks it is
10.8 k multiply-adds per pixel, about 21.6 GFLOP per megapixel (macs_per_pixel()).
Only fp16-safe ops: Conv, LeakyRelu, Add, DepthToSpace (DCR), Concat, Clip.

Layers (LeakyReLU 0.1 after each conv unless noted; C1 at 1/2, C2 at 1/4, F at full res):
  e1 = conv3x3/2(x, 3->C1); e1 = conv3x3(e1, C1->C1)                  1/2
  e2 = conv3x3/2(e1, C1->C2); B times e2 += conv3x3(act(conv3x3(e2)))  1/4 (no act after add)
  u1 = DTS2(conv1x1(e2, C2->4*C1), no act) + e1; u1 = conv3x3(act(u1))  1/2
  u0 = act(DTS2(conv1x1(u1, C1->4*F)))                                 1
  h = conv3x3(concat(u0, x), F+3->F); d = conv3x3(h, F->3, no act)    1
  out = clip(x + d, 0, 1)
"""

import numpy as np

SLOPE = 0.1


def layer_specs(c1, c2, f, blocks):
    """(name, in, out, kernel, stride) of every conv, in order."""
    specs = [("e1a", 3, c1, 3, 2), ("e1b", c1, c1, 3, 1), ("e2", c1, c2, 3, 2)]
    for b in range(blocks):
        specs += [(f"r{b}a", c2, c2, 3, 1), (f"r{b}b", c2, c2, 3, 1)]
    specs += [
        ("up1", c2, 4 * c1, 1, 1),
        ("d1", c1, c1, 3, 1),
        ("up0", c1, 4 * f, 1, 1),
        ("h", f + 3, f, 3, 1),
        ("out", f, 3, 3, 1),
    ]
    return specs


def init_params(specs, rng):
    """He-normal weights (HWIO), zero biases; the last conv starts at zero (identity model)."""
    params = {}
    for name, cin, cout, k, _ in specs:
        std = np.sqrt(2.0 / (k * k * cin)) if name != "out" else 0.0
        params[name] = {
            "w": (rng.standard_normal((k, k, cin, cout)) * std).astype(np.float32),
            "b": np.zeros((cout,), np.float32),
        }
    return params


def macs_per_pixel(specs):
    """Multiply-accumulates per input pixel."""
    scale = {"e1a": 4, "e1b": 4, "e2": 16, "up1": 16, "d1": 4, "up0": 4, "h": 1, "out": 1}
    total = 0.0
    for name, cin, cout, k, _ in specs:
        total += k * k * cin * cout / scale.get(name, 16)
    return total


# --------------------------------------------------------------------------------------- JAX


def forward(params, x, blocks):
    """x: [N, H, W, 3] float32 in [0, 1] (NHWC) -> same shape."""
    import jax
    import jax.numpy as jnp

    def conv(name, v, stride=1):
        w = params[name]["w"]
        k = w.shape[0]
        pad = (k - 1) // 2
        y = jax.lax.conv_general_dilated(
            v, w, (stride, stride), ((pad, pad), (pad, pad)), dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        return y + params[name]["b"]

    def act(v):
        return jnp.where(v >= 0, v, SLOPE * v)

    def dts(v):
        n, h, w, c = v.shape
        v = v.reshape(n, h, w, 2, 2, c // 4).transpose(0, 1, 3, 2, 4, 5)
        return v.reshape(n, h * 2, w * 2, c // 4)

    e1 = act(conv("e1a", x, 2))
    e1 = act(conv("e1b", e1))
    e2 = act(conv("e2", e1, 2))
    for b in range(blocks):
        e2 = e2 + conv(f"r{b}b", act(conv(f"r{b}a", e2)))
    u1 = dts(conv("up1", e2)) + e1
    u1 = act(conv("d1", act(u1)))
    u0 = act(dts(conv("up0", u1)))
    h = act(conv("h", jnp.concatenate([u0, x], axis=-1)))
    d = conv("out", h)
    return jnp.clip(x + d, 0.0, 1.0)


# -------------------------------------------------------------------------------------- ONNX


def onnx_model(params, blocks, doc):
    """The same network as an ONNX ModelProto (NCHW, opset 17, dynamic H and W)."""
    from onnx import TensorProto, helper, numpy_helper

    inits = []
    nodes = []

    def conv(name, src, dst, stride=1):
        w = np.asarray(params[name]["w"], np.float32)  # HWIO -> OIHW
        k = w.shape[0]
        pad = (k - 1) // 2
        inits.append(numpy_helper.from_array(np.ascontiguousarray(w.transpose(3, 2, 0, 1)), f"{name}.w"))
        inits.append(numpy_helper.from_array(np.asarray(params[name]["b"], np.float32), f"{name}.b"))
        nodes.append(
            helper.make_node(
                "Conv",
                [src, f"{name}.w", f"{name}.b"],
                [dst],
                kernel_shape=[k, k],
                pads=[pad] * 4,
                strides=[stride, stride],
                name=name,
            )
        )
        return dst

    def act(src, dst):
        nodes.append(helper.make_node("LeakyRelu", [src], [dst], alpha=SLOPE))
        return dst

    def dts(src, dst):
        nodes.append(helper.make_node("DepthToSpace", [src], [dst], blocksize=2, mode="DCR"))
        return dst

    def add(a, b, dst):
        nodes.append(helper.make_node("Add", [a, b], [dst]))
        return dst

    e1 = act(conv("e1a", "image", "e1a_c", 2), "e1a_a")
    e1 = act(conv("e1b", e1, "e1b_c"), "e1")
    e2 = act(conv("e2", e1, "e2_c", 2), "e2_0")
    for b in range(blocks):
        inner = act(conv(f"r{b}a", e2, f"r{b}a_c"), f"r{b}a_a")
        e2 = add(e2, conv(f"r{b}b", inner, f"r{b}b_c"), f"e2_{b + 1}")
    u1 = add(dts(conv("up1", e2, "up1_c"), "up1_s"), e1, "u1_sum")
    u1 = act(conv("d1", act(u1, "u1_a"), "d1_c"), "u1")
    u0 = act(dts(conv("up0", u1, "up0_c"), "up0_s"), "u0")
    nodes.append(helper.make_node("Concat", [u0, "image"], ["hx"], axis=1))
    h = act(conv("h", "hx", "h_c"), "h")
    d = conv("out", h, "delta")
    add("image", d, "sum")
    nodes.append(helper.make_node("Clip", ["sum", "zero", "one"], ["image_clean"]))
    inits.append(numpy_helper.from_array(np.float32(0.0), "zero"))
    inits.append(numpy_helper.from_array(np.float32(1.0), "one"))

    def info(name):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, 3, "H", "W"])

    graph = helper.make_graph(nodes, "clean", [info("image")], [info("image_clean")], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    model.producer_name = "gemini3-tools"
    model.producer_version = "1"
    model.doc_string = doc
    return model
