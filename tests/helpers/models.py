"""Small ONNX segmentation models for tests, built with ``onnx.helper`` (no downloads, no torch).

Shared by several test packages: keep these names and signatures stable.

Every model computes something checkable from colour, so a test can tell whether the runtime
got layout and normalisation right (a wrong normalisation flips some patches of
:func:`color_test_image`):

* ``task="color"`` (4 classes ``COLOR_CLASSES``): with ``p = pixel / 255``, class 0 ("dark")
  when every channel is below 0.5, else 1 + the index of the largest channel (red, green, blue).
* ``task="fg"`` (foreground models): foreground when the red channel is above 0.5. With
  ``prev_mask=True`` the 4th input channel ``m`` (previous foreground probability, raw [0,1])
  is added: foreground when ``p_red + m > 0.5``.

Main entry points:

``make_seg_model(path, ...)``  one model for any I/O convention (see its docstring).
``make_qdq_model(src, dst)``   a QDQ int8 copy of a float model via onnxruntime.quantization.
``write_card(model_path, ...)`` / ``embed_card(model_path, card)``  attach a ModelCard.
``color_test_image(w, h)``     an RGB frame of 8 colour patches (4 x 2 grid).
``expected_patch_labels(task)`` the class of each patch; ``patch_labels(labels)`` reads a
                               label map (any size) at the patch centres in the same order.
``CONVENTIONS``                named keyword sets for ``make_seg_model`` covering every
                               convention the runtime detects, with the expected detection.
``not_a_model(path)``, ``text_as_onnx(path)``, ``truncated_model(src, dst)``  bad files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

COLOR_CLASSES = ["dark", "red", "green", "blue"]
FG_CLASSES = ["background", "foreground"]

# Patches chosen so that each wrong normalisation ([0,1] vs [-1,1] vs ImageNet vs raw) or a
# swapped colour order changes the label of at least one patch.
PATCHES = [
    (40, 40, 40),  # dark
    (200, 60, 50),  # red
    (50, 190, 60),  # green
    (30, 50, 220),  # blue
    (150, 110, 60),  # red, lost if [-1,1] data meets a [0,1] model
    (60, 60, 115),  # dark, turns blue if ImageNet data meets a [-1,1] model
    (40, 40, 153),  # blue, lost if [-1,1] data meets an ImageNet model
    (20, 20, 20),  # dark
]

NORM_MEAN_STD = {
    "0_1": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    "-1_1": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "0_255": ((0.0, 0.0, 0.0), (1 / 255, 1 / 255, 1 / 255)),
}
# uint8 input quantization per normalisation: real = scale * (q - zero_point)
UINT8_QUANT = {"0_1": (1 / 255, 0), "-1_1": (1 / 127.5, 128), "0_255": (1.0, 0)}

K = 20.0  # logit gain: large enough for clear margins, small enough for int8 quantization


def color_test_image(w: int = 96, h: int = 64) -> np.ndarray:
    """(h, w, 3) uint8 RGB frame: the 8 PATCHES in a 4-wide, 2-high grid."""
    img = np.zeros((h, w, 3), np.uint8)
    for i, c in enumerate(PATCHES):
        r, k = divmod(i, 4)
        img[r * h // 2 : (r + 1) * h // 2, k * w // 4 : (k + 1) * w // 4] = c
    return img


def expected_patch_labels(task: str = "color", prev: float = 0.0) -> list[int]:
    """Ground-truth label of each patch for a ``task`` model (``prev``: prev-mask value)."""
    out = []
    for c in PATCHES:
        p = np.asarray(c, np.float64) / 255
        if task == "color":
            out.append(0 if p.max() <= 0.5 else int(np.argmax(p)) + 1)
        else:
            out.append(int(p[0] + prev > 0.5))
    return out


def patch_labels(labels: np.ndarray) -> list[int]:
    """Labels at the centre of each patch of a (H, W) label map of any size."""
    h, w = labels.shape
    out = []
    for i in range(len(PATCHES)):
        r, k = divmod(i, 4)
        out.append(int(labels[int((r + 0.5) * h / 2), int((k + 0.5) * w / 4)]))
    return out


def _const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def make_seg_model(
    path,
    *,
    task: str = "color",
    layout: str = "nchw",
    norm: str = "imagenet",
    input_dtype: str = "float32",
    output: str = "logits",
    size: tuple[int, int] | None = (32, 32),
    out_stride: int = 1,
    output_layout: str | None = None,
    prev_mask: bool = False,
    graph_norm: bool = False,
    metadata: dict | None = None,
    opset: int = 17,
) -> Path:
    """Build and save a segmentation model; returns its path.

    task: "color" (4 classes) or "fg" (foreground = red channel, see module docstring).
    layout: input layout "nchw" | "nhwc". output_layout: layout of 4-D float outputs
        (default: same as the input).
    norm: what the float input holds: "0_1", "-1_1", "imagenet" (mean/std) or "0_255".
        With ``graph_norm=True`` the input is raw 0..255 and the graph normalises it itself
        (Sub/Div by ImageNet constants in pixel units), as many exports do.
    input_dtype: "float32", "float16" (the whole graph in fp16) or "uint8" (quantized input:
        DequantizeLinear with UINT8_QUANT[norm] as scale / zero point).
    output: "logits" | "softmax" | "sigmoid" (1 channel, task fg) | "fg_logit" (1 channel) |
        "argmax" (int64 [1, h, w]) | "argmax_int32_flat" (int32 [1, h*w]).
        For task "fg", "logits"/"softmax" give 2 channels (background, foreground).
    size: (width, height) of a fixed input, or None for dynamic H and W.
    out_stride: output resolution = input / out_stride (an AveragePool before the head).
    prev_mask: add a 4th input channel (previous foreground probability).
    metadata: extra ONNX metadata_props (e.g. {"normalization": "-1_1"}).
    """
    path = Path(path)
    mean, std = NORM_MEAN_STD["imagenet" if graph_norm else norm]
    fdt = np.float16 if input_dtype == "float16" else np.float32
    tp_float = TensorProto.FLOAT16 if input_dtype == "float16" else TensorProto.FLOAT
    cin = 4 if prev_mask else 3
    W, H = size if size is not None else ("W", "H")
    in_shape = [1, cin, H, W] if layout == "nchw" else [1, H, W, cin]
    in_type = {
        "float32": TensorProto.FLOAT,
        "float16": TensorProto.FLOAT16,
        "uint8": TensorProto.UINT8,
    }[input_dtype]
    nodes, inits = [], []
    x = "image"
    if input_dtype == "uint8":
        scale, zp = UINT8_QUANT[norm]
        inits += [_const("in_scale", np.float32(scale)), _const("in_zp", np.uint8(zp))]
        nodes.append(helper.make_node("DequantizeLinear", [x, "in_scale", "in_zp"], ["deq"]))
        x = "deq"
    if layout == "nhwc":
        nodes.append(helper.make_node("Transpose", [x], ["x_nchw"], perm=[0, 3, 1, 2]))
        x = "x_nchw"
    if graph_norm:
        m255 = np.asarray(NORM_MEAN_STD["imagenet"][0], fdt).reshape(1, 3, 1, 1) * 255
        s255 = np.asarray(NORM_MEAN_STD["imagenet"][1], fdt).reshape(1, 3, 1, 1) * 255
        inits += [_const("m255", m255.astype(fdt)), _const("s255", s255.astype(fdt))]
        nodes += [
            helper.make_node("Sub", [x, "m255"], ["x_sub"]),
            helper.make_node("Div", ["x_sub", "s255"], ["x_norm"]),
        ]
        x = "x_norm"
    if out_stride > 1:
        nodes.append(
            helper.make_node(
                "AveragePool",
                [x],
                ["x_pool"],
                kernel_shape=[out_stride, out_stride],
                strides=[out_stride, out_stride],
            )
        )
        x = "x_pool"
    # 1x1 conv = de-normalise to p in [0,1], then K * (p - 0.5) per class.
    if task == "color":
        nout = 4
        w = np.zeros((4, cin, 1, 1), np.float64)
        b = np.zeros(4, np.float64)
        for c in range(3):
            w[c + 1, c] = K * std[c]
            b[c + 1] = K * (mean[c] - 0.5)
    else:
        nout = 1 if output in ("sigmoid", "fg_logit") else 2
        w = np.zeros((nout, cin, 1, 1), np.float64)
        b = np.zeros(nout, np.float64)
        w[nout - 1, 0] = K * std[0]
        b[nout - 1] = K * (mean[0] - 0.5)
        if prev_mask:
            w[nout - 1, 3] = K
    inits += [_const("head_w", w.astype(fdt)), _const("head_b", b.astype(fdt))]
    nodes.append(helper.make_node("Conv", [x, "head_w", "head_b"], ["logits"]))
    y = "logits"
    out_type = tp_float
    if output == "softmax":
        nodes.append(helper.make_node("Softmax", [y], ["probs"], axis=1))
        y = "probs"
    elif output == "sigmoid":
        nodes.append(helper.make_node("Sigmoid", [y], ["fg_prob"]))
        y = "fg_prob"
    elif output in ("argmax", "argmax_int32_flat"):
        nodes.append(helper.make_node("ArgMax", [y], ["labels"], axis=1, keepdims=0))
        y, out_type = "labels", TensorProto.INT64
        if output == "argmax_int32_flat":
            inits.append(_const("flat_shape", np.array([1, -1], np.int64)))
            nodes += [
                helper.make_node("Cast", [y], ["labels32"], to=TensorProto.INT32),
                helper.make_node("Reshape", ["labels32", "flat_shape"], ["labels_flat"]),
            ]
            y, out_type = "labels_flat", TensorProto.INT32
    olayout = output_layout or layout
    if out_type in (TensorProto.FLOAT, TensorProto.FLOAT16) and olayout == "nhwc":
        nodes.append(helper.make_node("Transpose", [y], ["out_nhwc"], perm=[0, 2, 3, 1]))
        y = "out_nhwc"
    graph = helper.make_graph(
        nodes,
        "liveseg_fixture",
        [helper.make_tensor_value_info("image", in_type, in_shape)],
        [helper.make_tensor_value_info(y, out_type, None)],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="liveseg-tests"
    )
    model.ir_version = 8
    for k, v in (metadata or {}).items():
        e = model.metadata_props.add()
        e.key, e.value = str(k), str(v)
    model = onnx.shape_inference.infer_shapes(model)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def calibration_frames(n: int = 4, w: int = 32, h: int = 32) -> list[np.ndarray]:
    """Colour frames (RGB uint8) for PTQ calibration: the test image plus shifted variants."""
    base = color_test_image(w, h)
    return [np.roll(base, shift=i * w // n, axis=1) for i in range(n)]


def make_qdq_model(src, dst, norm: str = "imagenet", layout: str = "nchw") -> Path:
    """QDQ int8 copy of float model ``src`` (static PTQ, onnxruntime.quantization)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    mean, std = (np.asarray(v, np.float32) for v in NORM_MEAN_STD[norm])
    src_model = onnx.load(str(src))
    dims = [d.dim_value for d in src_model.graph.input[0].type.tensor_type.shape.dim]
    H, W = (dims[2], dims[3]) if layout == "nchw" else (dims[1], dims[2])

    class Reader(CalibrationDataReader):
        def __init__(self):
            feeds = []
            for f in calibration_frames(4, W, H):
                x = (f.astype(np.float32) / 255 - mean) / std
                x = x.transpose(2, 0, 1)[None] if layout == "nchw" else x[None]
                feeds.append({"image": np.ascontiguousarray(x, np.float32)})
            self.it = iter(feeds)

        def get_next(self):
            return next(self.it, None)

    quantize_static(
        str(src),
        str(dst),
        Reader(),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    return Path(dst)


# ---- cards ----------------------------------------------------------------------------------
def fixture_card(name: str = "fixture", task: str = "color", **kw):
    """A ModelCard describing a make_seg_model(task=...) model (ImageNet norm by default)."""
    from liveseg.card import ModelCard

    kw.setdefault("classes", COLOR_CLASSES if task == "color" else FG_CLASSES)
    kw.setdefault("input_size", [32, 32])
    return ModelCard(name=name, task="semantic" if task == "color" else "foreground", **kw)


def write_card(model_path, card) -> Path:
    """Write ``card`` as the JSON beside ``model_path``."""
    from liveseg.card import card_path_for

    p = card_path_for(model_path)
    card.save(p)
    return p


def embed_card(model_path, card) -> Path:
    """Embed ``card`` in the ONNX file's metadata (key liveseg.card), in place."""
    m = onnx.load(str(model_path))
    card.embed_in_onnx(m)
    onnx.save(m, str(model_path))
    return Path(model_path)


# ---- bad files --------------------------------------------------------------------------------
def not_a_model(path) -> Path:
    """Random bytes with a model extension."""
    Path(path).write_bytes(
        np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    )
    return Path(path)


def text_as_onnx(path) -> Path:
    Path(path).write_text("this is a text file, not a neural network\n" * 20)
    return Path(path)


def truncated_model(src, dst, keep: float = 0.5) -> Path:
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: max(1, int(len(data) * keep))])
    return Path(dst)


def make_unsupported_io_model(path, kind: str = "two_inputs") -> Path:
    """Models liveseg must refuse: "two_inputs", "vector_output" ([1, 10] float),
    "no_channel_dim" (input [1, 7, 32, 32])."""
    nodes, inputs, inits = [], [], []
    if kind == "two_inputs":
        inputs = [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 3, 16, 16]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 3, 16, 16]),
        ]
        nodes = [helper.make_node("Add", ["a", "b"], ["y"])]
    elif kind == "vector_output":
        inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 3, 16, 16])]
        inits = [_const("shape", np.array([1, -1], np.int64))]
        nodes = [
            helper.make_node("GlobalAveragePool", ["a"], ["g"]),
            helper.make_node("Reshape", ["g", "shape"], ["y"]),
        ]
    elif kind == "no_channel_dim":
        inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 7, 32, 32])]
        nodes = [helper.make_node("Relu", ["a"], ["y"])]
    else:
        raise ValueError(kind)
    graph = helper.make_graph(
        nodes, "bad", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return Path(path)


# ---- named conventions --------------------------------------------------------------------------
# name -> (make_seg_model kwargs, expected detection {io field: value}, overrides kwargs or None)
CONVENTIONS = {
    "nchw_imagenet_logits": (
        dict(),
        dict(layout="nchw", output_kind="logits", num_classes=4),
        None,
    ),
    "nhwc_01_softmax_meta": (
        dict(layout="nhwc", norm="0_1", output="softmax", metadata={"normalization": "0_1"}),
        dict(layout="nhwc", output_kind="probs", norm_source="metadata"),
        None,
    ),
    "nhwc_01_default": (
        dict(layout="nhwc", norm="0_1"),
        dict(layout="nhwc", norm_source="default", output_layout="nhwc"),
        None,
    ),
    "nchw_pm1_meta_meanstd": (
        dict(norm="-1_1", metadata={"mean": "127.5,127.5,127.5", "std": "127.5,127.5,127.5"}),
        dict(norm="[-1,1]", norm_source="metadata"),
        None,
    ),
    "nchw_pm1_override": (
        dict(norm="-1_1"),
        dict(norm="[-1,1]", norm_source="override"),
        dict(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    ),
    "graph_norm_0_255": (dict(graph_norm=True), dict(norm="raw 0..255", norm_source="graph"), None),
    "uint8_quant_01_nhwc": (
        dict(layout="nhwc", norm="0_1", input_dtype="uint8"),
        dict(input_dtype="uint8", norm="[0,1]", norm_source="quantization"),
        None,
    ),
    "uint8_quant_pm1_nchw": (
        dict(norm="-1_1", input_dtype="uint8"),
        dict(input_dtype="uint8", norm_source="quantization"),
        None,
    ),
    "fp16_softmax": (
        dict(input_dtype="float16", output="softmax"),
        dict(input_dtype="float16", output_kind="probs"),
        None,
    ),
    "argmax_int64": (
        dict(output="argmax"),
        dict(output_kind="labels", num_classes=4, classes_source="graph (ArgMax input)"),
        None,
    ),
    "argmax_int32_flat_lowres": (
        dict(output="argmax_int32_flat", out_stride=2),
        dict(output_kind="labels", output_size=(16, 16)),
        None,
    ),
    "lowres_logits_stride4": (dict(out_stride=4), dict(output_size=(8, 8)), None),
    "dynamic_logits": (dict(size=None), dict(dynamic_size=True, input_size=(256, 256)), None),
    "dynamic_override_size": (
        dict(size=None, output="softmax"),
        dict(dynamic_size=True, input_size=(48, 32), output_size=(32, 48)),
        dict(input_size=(48, 32)),
    ),
    "fg_sigmoid": (
        dict(task="fg", output="sigmoid"),
        dict(output_kind="fg_prob", num_classes=2, classes=FG_CLASSES),
        None,
    ),
    "fg_logit_nhwc_meta": (
        dict(
            task="fg",
            output="fg_logit",
            layout="nhwc",
            norm="-1_1",
            metadata={"normalization": "[-1,1]"},
        ),
        dict(output_kind="fg_logit", layout="nhwc"),
        None,
    ),
    "fg_two_channel_softmax": (
        dict(task="fg", output="softmax"),
        dict(output_kind="probs", num_classes=2),
        None,
    ),
    "fg_two_channel_logits_nhwc": (
        dict(task="fg", output="logits", layout="nhwc", norm="0_1"),
        dict(output_kind="logits", num_classes=2, output_layout="nhwc"),
        None,
    ),
    "fg_prev_mask": (
        dict(task="fg", output="sigmoid", prev_mask=True),
        dict(prev_mask_input=True, channels=4),
        None,
    ),
}


# ---- TFLite ----------------------------------------------------------------------------------
def make_tflite_model(
    path,
    *,
    task: str = "color",
    norm: str = "0_1",
    input_dtype: str = "float32",
    output: str = "logits",
    size: tuple[int, int] = (32, 32),
    out_stride: int = 1,
    dynamic: bool = False,
) -> Path:
    """A .tflite twin of ``make_seg_model`` (NHWC), written directly as a flatbuffer with the
    schema module ai-edge-litert ships (no TensorFlow needed). Needs ``ai_edge_litert``.

    output: "logits" | "softmax" | "sigmoid" (task fg, 1 channel) | "argmax" (int64 [1,h,w]).
    input_dtype "uint8": quantized input (scale/zero-point UINT8_QUANT[norm]) + DEQUANTIZE.
    dynamic: H and W are -1 in the shape signature (resized at run time).
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as S

    path = Path(path)
    mean, std = NORM_MEAN_STD[norm]
    W, H = size
    buffers = [S.BufferT()]
    tensors = []

    def buf(arr):
        b = S.BufferT()
        b.data = np.frombuffer(np.ascontiguousarray(arr).tobytes(), np.uint8).copy()
        buffers.append(b)
        return len(buffers) - 1

    def tensor(name, shape, ttype, data=None, quant=None, signature=None):
        t = S.TensorT()
        t.name, t.shape, t.type = name, list(shape), ttype
        t.buffer = buf(data) if data is not None else 0
        if signature is not None:
            t.shapeSignature = list(signature)
        if quant is not None:
            q = S.QuantizationParametersT()
            q.scale, q.zeroPoint = [float(quant[0])], [int(quant[1])]
            t.quantization = q
        tensors.append(t)
        return len(tensors) - 1

    codes, ops = [], []

    def op(code, inputs, outputs, opt_type=0, opt=None):
        if code not in [c.builtinCode for c in codes]:
            oc = S.OperatorCodeT()
            oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), 1
            codes.append(oc)
        o = S.OperatorT()
        o.opcodeIndex = [c.builtinCode for c in codes].index(code)
        o.inputs, o.outputs = list(inputs), list(outputs)
        if opt is not None:
            o.builtinOptionsType, o.builtinOptions = opt_type, opt
        ops.append(o)

    F32 = S.TensorType.FLOAT32
    sig = [1, -1, -1, 3] if dynamic else None
    if input_dtype == "uint8":
        x_in = tensor(
            "image", [1, H, W, 3], S.TensorType.UINT8, quant=UINT8_QUANT[norm], signature=sig
        )
        x = tensor("deq", [1, H, W, 3], F32, signature=sig)
        op(S.BuiltinOperator.DEQUANTIZE, [x_in], [x])
    else:
        x_in = x = tensor("image", [1, H, W, 3], F32, signature=sig)
    h, w = H, W
    if out_stride > 1:
        h, w = H // out_stride, W // out_stride
        pooled = tensor("pooled", [1, h, w, 3], F32)
        po = S.Pool2DOptionsT()
        po.padding, po.strideW, po.strideH = S.Padding.VALID, out_stride, out_stride
        po.filterWidth, po.filterHeight = out_stride, out_stride
        op(S.BuiltinOperator.AVERAGE_POOL_2D, [x], [pooled], S.BuiltinOptions.Pool2DOptions, po)
        x = pooled
    if task == "color":
        nout = 4
        wt = np.zeros((4, 1, 1, 3), np.float32)
        bias = np.zeros(4, np.float32)
        for c in range(3):
            wt[c + 1, 0, 0, c] = K * std[c]
            bias[c + 1] = K * (mean[c] - 0.5)
    else:
        nout = 1 if output == "sigmoid" else 2
        wt = np.zeros((nout, 1, 1, 3), np.float32)
        bias = np.zeros(nout, np.float32)
        wt[nout - 1, 0, 0, 0] = K * std[0]
        bias[nout - 1] = K * (mean[0] - 0.5)
    w_t = tensor("head_w", wt.shape, F32, wt)
    b_t = tensor("head_b", bias.shape, F32, bias)
    osig = [1, -1, -1, nout] if dynamic else None
    logits = tensor("logits", [1, h, w, nout], F32, signature=osig)
    co = S.Conv2DOptionsT()
    co.padding, co.strideW, co.strideH = S.Padding.VALID, 1, 1
    op(S.BuiltinOperator.CONV_2D, [x, w_t, b_t], [logits], S.BuiltinOptions.Conv2DOptions, co)
    y = logits
    if output == "softmax":
        y = tensor("probs", [1, h, w, nout], F32, signature=osig)
        so = S.SoftmaxOptionsT()
        so.beta = 1.0
        op(S.BuiltinOperator.SOFTMAX, [logits], [y], S.BuiltinOptions.SoftmaxOptions, so)
    elif output == "sigmoid":
        y = tensor("fg_prob", [1, h, w, 1], F32, signature=osig)
        op(S.BuiltinOperator.LOGISTIC, [logits], [y])
    elif output == "argmax":
        axis = tensor("axis", [1], S.TensorType.INT32, np.array([3], np.int32))
        y = tensor(
            "labels", [1, h, w], S.TensorType.INT64, signature=[1, -1, -1] if dynamic else None
        )
        ao = S.ArgMaxOptionsT()
        ao.outputType = S.TensorType.INT64
        op(S.BuiltinOperator.ARG_MAX, [logits, axis], [y], S.BuiltinOptions.ArgMaxOptions, ao)
    sg = S.SubGraphT()
    sg.tensors, sg.inputs, sg.outputs, sg.operators, sg.name = tensors, [x_in], [y], ops, "main"
    model = S.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, codes, [sg]
    model.buffers, model.description = buffers, "liveseg test fixture"
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(b.Output()))
    return path
