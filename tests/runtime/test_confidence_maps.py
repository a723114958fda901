"""1-channel confidence maps (issue 13) and the other output layouts, checked against the model
run directly (onnxruntime / LiteRT's Interpreter) with the same resize: liveseg's mask must
agree on >= 99.5% of the pixels.

Generated fixtures always run: uint8 1-channel confidence (ONNX and TFLite, graph-detected and
value-detected), int8 confidence, float confidence, int64 label map flattened to [1, H*W],
2-channel softmax, NHWC int8 input. MediaPipe's selfie segmenters (mediapipe==0.10.14,
Apache-2.0) are used when found: $LIVESEG_MEDIAPIPE_DIR (the folder holding
selfie_segmentation.tflite, or a mediapipe package root), else an installed ``mediapipe``
package; otherwise those tests skip.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from liveseg.cli import main
from liveseg.runtime import OnnxRuntimeEngine, load_model

HAS_LITERT = importlib.util.find_spec("ai_edge_litert") is not None
needs_litert = pytest.mark.skipif(not HAS_LITERT, reason="ai-edge-litert not installed")
MAX_DISAGREE = 0.005


# ---- images and the reference resize ---------------------------------------------------------
def smooth_image(w: int = 203, h: int = 157, seed: int = 0) -> np.ndarray:
    """(h, w, 3) uint8 RGB: a smooth random colour field (soft foreground borders everywhere)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(5, 7, 3)).astype(np.float32)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img, 0, 255).astype(np.uint8)


def reference_resize(img: np.ndarray, W: int, H: int) -> np.ndarray:
    """liveseg's documented resize, re-implemented: exact halvings with INTER_AREA while the
    frame is at least twice the model input, then one INTER_LINEAR resize."""
    h, w = img.shape[:2]
    while w >= 2 * W and h >= 2 * H and w % 2 == 0 and h % 2 == 0:
        w, h = w // 2, h // 2
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    if (w, h) != (W, H):
        img = cv2.resize(img, (W, H), interpolation=cv2.INTER_LINEAR)
    return img


def upsample_nearest(mask_small: np.ndarray, shape) -> np.ndarray:
    h, w = shape[:2]
    if mask_small.shape == (h, w):
        return mask_small
    return cv2.resize(mask_small.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)


def disagreement(model_path, img, reference_small, **load_kw) -> float:
    """Fraction of pixels where liveseg's labels differ from the reference (h, w) mask."""
    m = load_model(model_path, **load_kw)
    labels = m.predict(img).labels()
    ref = upsample_nearest(reference_small, img.shape)
    assert labels.shape == ref.shape
    return float(np.mean(labels != ref))


# ---- ONNX fixtures ---------------------------------------------------------------------------
def _c(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def _save(nodes, inits, inp, out, path, metadata=None):
    graph = helper.make_graph(nodes, "fixture", [inp], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for k, v in (metadata or {}).items():
        e = model.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


# Foreground "confidence" of a pixel p in [0,1]^3: sigmoid(8 r - 6 g + 2 b - 1).
FG_W = np.array([8.0, -6.0, 2.0], np.float32)
FG_B = -1.0


def onnx_confidence_model(path, dtype: str = "uint8", W: int = 64, H: int = 48) -> Path:
    """NHWC float input in [0,1] -> [1, H, W, 1] ``dtype`` confidence without quantization
    parameters: uint8 round(255 p), int8 round(255 p) - 128, float32 p."""
    nodes = [
        helper.make_node("Transpose", ["image"], ["x"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["x", "w", "b"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["p"]),
    ]
    inits = [_c("w", FG_W.reshape(1, 3, 1, 1)), _c("b", np.array([FG_B], np.float32))]
    y = "p"
    if dtype in ("uint8", "int8"):
        inits.append(_c("k255", np.float32(255)))
        nodes += [
            helper.make_node("Mul", ["p", "k255"], ["p255"]),
            helper.make_node("Round", ["p255"], ["r"]),
        ]
        y = "r"
        if dtype == "int8":
            inits.append(_c("k128", np.float32(128)))
            nodes.append(helper.make_node("Sub", ["r", "k128"], ["r8"]))
            y = "r8"
        to = TensorProto.UINT8 if dtype == "uint8" else TensorProto.INT8
        nodes.append(helper.make_node("Cast", [y], ["c"], to=to))
        y = "c"
    nodes.append(helper.make_node("Transpose", [y], ["conf"], perm=[0, 2, 3, 1]))
    ttype = {"uint8": TensorProto.UINT8, "int8": TensorProto.INT8, "float32": TensorProto.FLOAT}[
        dtype
    ]
    return _save(
        nodes,
        inits,
        helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, H, W, 3]),
        helper.make_tensor_value_info("conf", ttype, [1, H, W, 1]),
        path,
        metadata={"normalization": "0_1"},
    )


def onnx_flat_int64_labels(path, W: int = 64, H: int = 48) -> Path:
    """NCHW ImageNet-normalised input -> 3-class arg-max, int64, flattened to [1, H*W]."""
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    # Class scores on p = x * std + mean: k = argmax(r - 0.4, g - 0.4, b - 0.4 + small).
    w = np.zeros((3, 3, 1, 1), np.float32)
    b = np.zeros(3, np.float32)
    for c in range(3):
        w[c, c] = std[c]
        b[c] = mean[c] - 0.4 + 0.01 * c
    nodes = [
        helper.make_node("Conv", ["image", "w", "b"], ["s"]),
        helper.make_node("ArgMax", ["s"], ["am"], axis=1, keepdims=0),
        helper.make_node("Reshape", ["am", "shape"], ["labels"]),
    ]
    inits = [_c("w", w), _c("b", b), _c("shape", np.array([1, -1], np.int64))]
    return _save(
        nodes,
        inits,
        helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, H, W]),
        helper.make_tensor_value_info("labels", TensorProto.INT64, [1, H * W]),
        path,
    )


def onnx_two_channel_softmax(path, W: int = 64, H: int = 48) -> Path:
    """NCHW ImageNet-normalised input -> [1, 2, H, W] softmax (background, foreground)."""
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    w = np.zeros((2, 3, 1, 1), np.float32)
    w[1, :, 0, 0] = FG_W * std
    b = np.array([0.0, FG_B + float(FG_W @ mean)], np.float32)
    nodes = [
        helper.make_node("Conv", ["image", "w", "b"], ["s"]),
        helper.make_node("Softmax", ["s"], ["probs"], axis=1),
    ]
    return _save(
        nodes,
        [_c("w", w), _c("b", b)],
        helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, H, W]),
        helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 2, H, W]),
        path,
    )


INT8_IN_SCALE, INT8_IN_ZP = 1 / 255, -128


def onnx_nhwc_int8_input(path, W: int = 64, H: int = 48) -> Path:
    """NHWC int8 input (DequantizeLinear: p = (q + 128) / 255) -> [1, 1, H, W] float sigmoid."""
    nodes = [
        helper.make_node("DequantizeLinear", ["image", "s", "z"], ["deq"]),
        helper.make_node("Transpose", ["deq"], ["x"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["x", "w", "b"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["p"]),
    ]
    inits = [
        _c("s", np.float32(INT8_IN_SCALE)),
        _c("z", np.int8(INT8_IN_ZP)),
        _c("w", FG_W.reshape(1, 3, 1, 1)),
        _c("b", np.array([FG_B], np.float32)),
    ]
    return _save(
        nodes,
        inits,
        helper.make_tensor_value_info("image", TensorProto.INT8, [1, H, W, 3]),
        helper.make_tensor_value_info("p", TensorProto.FLOAT, [1, 1, H, W]),
        path,
    )


def run_onnx(path, x) -> np.ndarray:
    import onnxruntime as ort

    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x})[0]


def _nhwc01(img, W, H):
    return (reference_resize(img, W, H).astype(np.float32) / 255)[None]


def _nchw_imagenet(img, W, H):
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    x = (reference_resize(img, W, H).astype(np.float32) / 255 - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


# ---- TFLite fixtures -------------------------------------------------------------------------
def _tflite_append_uint8(model, sg, src_tensor: int):
    """Append MUL(255) -> CAST(uint8) after ``src_tensor`` (a [1,H,W,1] float probability) and
    make the uint8 tensor (no quantization parameters) the subgraph's only output."""
    from ai_edge_litert import schema_py_generated as S

    def buffer(arr=None):
        b = S.BufferT()
        if arr is not None:
            b.data = np.frombuffer(np.ascontiguousarray(arr).tobytes(), np.uint8).copy()
        model.buffers.append(b)
        return len(model.buffers) - 1

    def tensor(name, shape, ttype, data=None):
        t = S.TensorT()
        t.name, t.shape, t.type = name.encode(), list(shape), ttype
        t.buffer = buffer(data) if data is not None else 0
        sg.tensors.append(t)
        return len(sg.tensors) - 1

    def opcode(code):
        for i, c in enumerate(model.operatorCodes):
            if c.builtinCode == code and not c.customCode:
                return i
        oc = S.OperatorCodeT()
        oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), 1
        model.operatorCodes.append(oc)
        return len(model.operatorCodes) - 1

    shape = list(sg.tensors[src_tensor].shape)
    k = tensor("k255", [], S.TensorType.FLOAT32, np.float32(255))
    scaled = tensor("conf_f", shape, S.TensorType.FLOAT32)
    out = tensor("conf_u8", shape, S.TensorType.UINT8)
    mul = S.OperatorT()
    mul.opcodeIndex = opcode(S.BuiltinOperator.MUL)
    mul.inputs, mul.outputs = [src_tensor, k], [scaled]
    mul.builtinOptionsType, mul.builtinOptions = S.BuiltinOptions.MulOptions, S.MulOptionsT()
    cast = S.OperatorT()
    cast.opcodeIndex, cast.inputs, cast.outputs = opcode(S.BuiltinOperator.CAST), [scaled], [out]
    sg.operators += [mul, cast]
    sg.outputs = [out]


def _tflite_write(model, path) -> Path:
    import flatbuffers

    b = flatbuffers.Builder(1 << 20)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    Path(path).write_bytes(bytes(b.Output()))
    return Path(path)


def tflite_confidence_model(path, W: int = 64, H: int = 48) -> Path:
    """NHWC float [0,1] input -> CONV 1x1 -> LOGISTIC -> MUL 255 -> CAST: [1,H,W,1] uint8
    without quantization parameters (the layout of issue 13)."""
    from ai_edge_litert import schema_py_generated as S

    model = S.ModelT()
    model.version, model.operatorCodes, model.buffers = 3, [], [S.BufferT()]
    model.description = "liveseg test fixture: uint8 confidence"
    sg = S.SubGraphT()
    sg.tensors, sg.operators, sg.name = [], [], "main"

    def tensor(name, shape, data=None):
        t = S.TensorT()
        t.name, t.shape, t.type, t.buffer = name.encode(), list(shape), S.TensorType.FLOAT32, 0
        if data is not None:
            b = S.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8).copy()
            model.buffers.append(b)
            t.buffer = len(model.buffers) - 1
        sg.tensors.append(t)
        return len(sg.tensors) - 1

    def op(code, inputs, outputs, opt_type=0, opt=None):
        oc = S.OperatorCodeT()
        oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), 1
        model.operatorCodes.append(oc)
        o = S.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = len(model.operatorCodes) - 1, inputs, outputs
        if opt is not None:
            o.builtinOptionsType, o.builtinOptions = opt_type, opt
        sg.operators.append(o)

    x = tensor("image", [1, H, W, 3])
    w = tensor("w", [1, 1, 1, 3], FG_W.reshape(1, 1, 1, 3))
    b = tensor("b", [1], np.array([FG_B], np.float32))
    logit = tensor("logit", [1, H, W, 1])
    p = tensor("p", [1, H, W, 1])
    co = S.Conv2DOptionsT()
    co.padding, co.strideW, co.strideH = S.Padding.VALID, 1, 1
    op(S.BuiltinOperator.CONV_2D, [x, w, b], [logit], S.BuiltinOptions.Conv2DOptions, co)
    op(S.BuiltinOperator.LOGISTIC, [logit], [p])
    sg.inputs, sg.outputs = [x], [p]
    model.subgraphs = [sg]
    _tflite_append_uint8(model, sg, p)
    return _tflite_write(model, path)


def tflite_to_uint8_output(src, dst) -> Path:
    """A copy of a float [1,H,W,1] probability model whose output is round-down(255 p) uint8."""
    from ai_edge_litert import schema_py_generated as S

    buf = Path(src).read_bytes()
    model = S.ModelT.InitFromObj(S.Model.GetRootAsModel(buf, 0))
    sg = model.subgraphs[0]
    _tflite_append_uint8(model, sg, sg.outputs[0])
    return _tflite_write(model, dst)


def run_tflite(path, x) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


# ---- MediaPipe -------------------------------------------------------------------------------
MP_FILES = {
    "selfie_segmentation.tflite": (256, 256),
    "selfie_segmentation_landscape.tflite": (256, 144),
}


def mediapipe_dir() -> Path | None:
    env = os.environ.get("LIVESEG_MEDIAPIPE_DIR")
    candidates = []
    if env:
        candidates += [
            Path(env),
            Path(env) / "modules" / "selfie_segmentation",
            Path(env) / "mediapipe" / "modules" / "selfie_segmentation",
        ]
    spec = importlib.util.find_spec("mediapipe")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            candidates.append(Path(loc) / "modules" / "selfie_segmentation")
    for c in candidates:
        if (c / "selfie_segmentation.tflite").is_file():
            return c
    return None


def mediapipe_file(name) -> Path:
    d = mediapipe_dir()
    if d is None or not (d / name).is_file():
        pytest.skip("MediaPipe selfie models not found (set LIVESEG_MEDIAPIPE_DIR)")
    return d / name


def photos() -> list[np.ndarray]:
    """A real photo (matplotlib's grace_hopper sample, when there) and a synthetic one."""
    out = [smooth_image(480, 360, seed=3)]
    # matplotlib or its sample data missing: the synthetic image only.
    with contextlib.suppress(ImportError, OSError, cv2.error):
        from matplotlib.cbook import get_sample_data

        p = get_sample_data("grace_hopper.jpg", asfileobj=False)
        out.insert(0, cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB))
    return out


# ---- tests: generated fixtures ---------------------------------------------------------------
IMAGES = [smooth_image(), smooth_image(640, 480, seed=1), smooth_image(50, 90, seed=2)]


@pytest.mark.parametrize("dtype", ["uint8", "int8", "float32"])
def test_onnx_confidence_map_agrees_with_direct_run(tmp_path, dtype):
    path = onnx_confidence_model(tmp_path / f"conf_{dtype}.onnx", dtype)
    m = load_model(path)
    assert m.io.output_kind == "fg_prob" and m.num_classes == 2
    assert m.card.task == "foreground" and m.card.foreground == ["foreground"]
    if dtype != "float32":
        assert m.io.output_quant == pytest.approx((1 / 255, 0 if dtype == "uint8" else -128))
        assert any("confidence map" in n and "graph" in n for n in m.io.notes), m.io.notes
    for img in IMAGES:
        raw = run_onnx(path, _nhwc01(img, 64, 48))[0, :, :, 0].astype(np.float32)
        p = raw if dtype == "float32" else (raw - (0 if dtype == "uint8" else -128)) / 255
        ref = (p > 0.5).astype(np.uint8)
        assert 0.05 < ref.mean() < 0.95  # the threshold is really exercised
        assert disagreement(path, img, ref) <= MAX_DISAGREE
        # Soft alpha: P(foreground) at model resolution is the model's own confidence.
        pred = m.predict(img)
        np.testing.assert_allclose(pred.foreground_small([1]), p, atol=1e-6)


def test_uint8_confidence_detected_from_values_when_graph_says_nothing(tmp_path, monkeypatch):
    path = onnx_confidence_model(tmp_path / "conf.onnx", "uint8")
    monkeypatch.setattr(OnnxRuntimeEngine, "output_source", lambda self, name: [])
    m = load_model(path)
    assert m.io.output_kind == "fg_prob" and m.io.output_quant == pytest.approx((1 / 255, 0))
    assert any("values" in n for n in m.io.notes), m.io.notes
    img = IMAGES[1]
    raw = run_onnx(path, _nhwc01(img, 64, 48))[0, :, :, 0]
    assert disagreement(path, img, (raw >= 128).astype(np.uint8)) <= MAX_DISAGREE
    # --classes with 2 names keeps the confidence reading (the old code read it as labels and
    # called every non-zero pixel "person"); 3+ names make it a label map.
    from liveseg.runtime import IOOverrides

    m2 = load_model(path, overrides=IOOverrides(classes=["background", "person"]))
    assert m2.io.output_kind == "fg_prob" and m2.classes == ["background", "person"]
    m3 = load_model(path, overrides=IOOverrides(classes=["a", "b", "c"]))
    assert m3.io.output_kind == "labels"


def test_uint8_argmax_output_stays_a_label_map(tmp_path):
    """A uint8 output cast from an ArgMax is a label map, not a confidence map."""
    nodes = [
        helper.make_node("Conv", ["image", "w", "b"], ["s"]),
        helper.make_node("ArgMax", ["s"], ["am"], axis=1, keepdims=1),
        helper.make_node("Cast", ["am"], ["labels"], to=TensorProto.UINT8),
    ]
    w = np.eye(3, dtype=np.float32).reshape(3, 3, 1, 1)
    path = _save(
        nodes,
        [_c("w", w), _c("b", np.zeros(3, np.float32))],
        helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32]),
        helper.make_tensor_value_info("labels", TensorProto.UINT8, [1, 1, 32, 32]),
        tmp_path / "am.onnx",
    )
    m = load_model(path)
    assert m.io.output_kind == "labels" and m.num_classes == 3
    assert any("ARGMAX" in n for n in m.io.notes)


def test_flat_int64_label_map_agrees(tmp_path):
    path = onnx_flat_int64_labels(tmp_path / "flat.onnx")
    m = load_model(path)
    assert m.io.output_kind == "labels" and m.io.output_size == (48, 64) and m.num_classes == 3
    for img in IMAGES:
        ref = run_onnx(path, _nchw_imagenet(img, 64, 48)).reshape(48, 64).astype(np.uint8)
        assert len(np.unique(ref)) > 1
        assert disagreement(path, img, ref) <= MAX_DISAGREE


def test_two_channel_softmax_agrees(tmp_path):
    path = onnx_two_channel_softmax(tmp_path / "sm.onnx")
    m = load_model(path)
    assert m.io.output_kind == "probs" and m.num_classes == 2 and m.card.task == "foreground"
    for img in IMAGES:
        probs = run_onnx(path, _nchw_imagenet(img, 64, 48))[0]
        ref = np.argmax(probs, axis=0).astype(np.uint8)
        assert 0.05 < ref.mean() < 0.95
        assert disagreement(path, img, ref) <= MAX_DISAGREE


def test_nhwc_int8_input_agrees(tmp_path):
    path = onnx_nhwc_int8_input(tmp_path / "i8.onnx")
    m = load_model(path)
    assert m.io.input_dtype == "int8" and m.io.layout == "nhwc"
    for img in IMAGES:
        p = reference_resize(img, 64, 48).astype(np.float32) / 255
        q = np.clip(np.rint(p / INT8_IN_SCALE + INT8_IN_ZP), -128, 127).astype(np.int8)[None]
        ref = (run_onnx(path, q)[0, 0] > 0.5).astype(np.uint8)
        assert disagreement(path, img, ref) <= MAX_DISAGREE


@needs_litert
def test_tflite_uint8_confidence_agrees(tmp_path):
    path = tflite_confidence_model(tmp_path / "conf.tflite")
    m = load_model(path)
    assert m.io.output_kind == "fg_prob" and m.io.output_quant == pytest.approx((1 / 255, 0))
    assert any("CAST <- MUL" in n for n in m.io.notes), m.io.notes
    for img in IMAGES:
        raw = run_tflite(path, _nhwc01(img, 64, 48))[0, :, :, 0]
        assert raw.dtype == np.uint8 and raw.max() > 200
        assert disagreement(path, img, (raw >= 128).astype(np.uint8)) <= MAX_DISAGREE


def test_constant_output_is_noted(tmp_path):
    nodes = [
        helper.make_node("Mul", ["image", "zero"], ["z"]),
        helper.make_node("ReduceSum", ["z", "axes"], ["s"], keepdims=1),
        helper.make_node("Sigmoid", ["s"], ["p"]),
    ]
    path = _save(
        nodes,
        [_c("zero", np.float32(0)), _c("axes", np.array([1], np.int64))],
        helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32]),
        helper.make_tensor_value_info("p", TensorProto.FLOAT, [1, 1, 32, 32]),
        tmp_path / "const.onnx",
    )
    m = load_model(path)
    assert any("constant" in n for n in m.io.notes), m.io.notes


def test_info_says_what_it_assumed(tmp_path, capsys):
    path = onnx_confidence_model(tmp_path / "conf.onnx", "uint8")
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "fg_prob" in out and "confidence map" in out and "value/255" in out


# ---- tests: MediaPipe ------------------------------------------------------------------------
@needs_litert
@pytest.mark.parametrize("name", sorted(MP_FILES))
def test_mediapipe_selfie_agrees(tmp_path, name):
    path = mediapipe_file(name)
    W, H = MP_FILES[name]
    m = load_model(path)
    assert m.io.input_size == (W, H) and m.io.layout == "nhwc" and m.io.norm == "[0,1]"
    assert m.io.output_kind == "fg_prob" and m.card.task == "foreground"
    u8 = tflite_to_uint8_output(path, tmp_path / f"u8_{name}")
    mu = load_model(u8)
    assert mu.io.output_kind == "fg_prob" and mu.io.output_quant == pytest.approx((1 / 255, 0))
    for img in photos():
        x = _nhwc01(img, W, H)
        p = run_tflite(path, x)[0, :, :, 0]
        assert disagreement(path, img, (p > 0.5).astype(np.uint8)) <= MAX_DISAGREE
        q = run_tflite(u8, x)[0, :, :, 0]
        assert q.dtype == np.uint8
        assert disagreement(u8, img, (q >= 128).astype(np.uint8)) <= MAX_DISAGREE


@needs_litert
def test_mediapipe_info_is_quiet(tmp_path):
    """No "INFO: Created TensorFlow Lite XNNPACK delegate" line without --verbose."""
    import subprocess
    import sys

    path = mediapipe_file("selfie_segmentation.tflite")
    cmd = [sys.executable, "-m", "liveseg", "info", str(path)]
    env = {k: v for k, v in os.environ.items() if k != "LIVESEG_VERBOSE"}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert "XNNPACK" not in r.stderr and "fg_prob" in r.stdout
    r = subprocess.run(
        cmd + ["--verbose"], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert r.returncode == 0 and "XNNPACK" in r.stderr


@needs_litert
def test_litert_quiet_without_mediapipe(tmp_path):
    """The generated TFLite model goes through XNNPACK too: its INFO line is dropped."""
    import subprocess
    import sys

    path = tflite_confidence_model(tmp_path / "conf.tflite")
    env = {k: v for k, v in os.environ.items() if k != "LIVESEG_VERBOSE"}
    r = subprocess.run(
        [sys.executable, "-m", "liveseg", "info", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "INFO:" not in r.stderr


@pytest.mark.parametrize("maker", ["uint8", "softmax"])
def test_person_card_keeps_working_with_soft_alpha(tmp_path, maker):
    """A card naming (background, person), task foreground: the person class is the
    foreground and the alpha stays soft (blur/matte feather) for confidence maps too."""
    from liveseg.card import ModelCard
    from liveseg.video.effects import make_effect
    from tests.helpers.models import write_card

    if maker == "uint8":
        path = onnx_confidence_model(tmp_path / "person.onnx", "uint8")
        card = ModelCard(
            name="person",
            task="foreground",
            classes=["background", "person"],
            input_size=[64, 48],
            mean=[0, 0, 0],
            std=[1, 1, 1],
            layout="nhwc",
            output_kind="fg_prob",
        )
    else:
        path = onnx_two_channel_softmax(tmp_path / "person.onnx")
        card = ModelCard(
            name="person",
            task="foreground",
            classes=["background", "person"],
            input_size=[64, 48],
            output_kind="probs",
        )
    write_card(path, card)
    m = load_model(path)
    assert m.classes == ["background", "person"] and m.card.foreground == ["person"]
    assert m.foreground_indices == [1] and m.io.output_kind_source == "card"
    img = IMAGES[1]
    pred = m.predict(img)
    alpha = pred.foreground(m.foreground_indices)
    assert alpha.shape == img.shape[:2] and alpha.dtype == np.float32
    soft = np.mean((alpha > 0.02) & (alpha < 0.98))
    assert soft > 0.01  # really soft, not a 0/1 mask
    fx = make_effect("matte", m.card)
    out = fx(img, pred)
    assert out.shape == (*img.shape[:2], 4)
    a = out[..., 3]
    assert np.mean((a > 5) & (a < 250)) > 0.01  # the matte's alpha is soft too


@pytest.mark.parametrize("graph_visible", [True, False])
def test_uint8_binary_mask_is_a_two_class_label_map(tmp_path, monkeypatch, graph_visible):
    """Cast(Greater(p, 0.5)) to uint8: a 0/1 mask (from the graph, else from its values)."""
    nodes = [
        helper.make_node("Conv", ["image", "w", "b"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["p"]),
        helper.make_node("Greater", ["p", "half"], ["g"]),
        helper.make_node("Cast", ["g"], ["mask"], to=TensorProto.UINT8),
    ]
    inits = [
        _c("w", FG_W.reshape(1, 3, 1, 1) * 20),
        _c("b", np.array([FG_B * 20], np.float32)),
        _c("half", np.float32(0.5)),
    ]
    path = _save(
        nodes,
        inits,
        helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 64, 64]),
        helper.make_tensor_value_info("mask", TensorProto.UINT8, [1, 1, 64, 64]),
        tmp_path / "bin.onnx",
        metadata={"normalization": "0_1"},
    )
    if not graph_visible:
        monkeypatch.setattr(OnnxRuntimeEngine, "output_source", lambda self, name: [])
    m = load_model(path)
    assert m.io.output_kind == "labels" and m.num_classes == 2
    assert m.classes == ["background", "foreground"] and m.card.task == "foreground"
    why = "GREATER" if graph_visible else "0 and 1"
    assert any(why in n for n in m.io.notes), m.io.notes
    img = IMAGES[1]
    x = np.ascontiguousarray(
        (reference_resize(img, 64, 64).astype(np.float32) / 255).transpose(2, 0, 1)[None]
    )
    ref = run_onnx(path, x)[0, 0]
    assert set(np.unique(ref)) == {0, 1}
    assert disagreement(path, img, ref) <= MAX_DISAGREE
