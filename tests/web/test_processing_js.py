"""The page's processing.mjs against the Python runtime, in Node (no browser needed).

For every I/O convention the runtime detects (tests/helpers/models.py: CONVENTIONS), the shipped
models and MediaPipe-style uint8/int8 confidence maps: the same frame goes through the
runtime's Preprocessor and processing.mjs (the tensors must be equal), the model's raw output
goes through the runtime's Postprocessor and processing.mjs (same probabilities, labels,
feathered alpha), and the temporal smoothing matches liveseg.video.temporal's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from liveseg.runtime import IOOverrides, Prediction, load_model
from liveseg.video.effects import make_effect
from liveseg.video.temporal import EveryFrame
from liveseg.web.config import web_config
from tests.helpers.models import CONVENTIONS, make_seg_model

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "src" / "liveseg" / "web" / "static" / "processing.mjs"
RUNNER = Path(__file__).with_name("run_processing.mjs")
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (apt install nodejs)")


def confidence_model(path, dtype: str = "uint8", size=(40, 24)) -> Path:
    """A MediaPipe-style segmenter: NHWC float [0,1] input, 1-channel uint8/int8 confidence
    map out (P(person) = value/255, int8: (value+128)/255) without quantization parameters."""
    W, H = size
    w = np.zeros((1, 3, 1, 1), np.float32)
    w[0, 0] = 12.0
    inits = [
        numpy_helper.from_array(w, "w"),
        numpy_helper.from_array(np.float32([-6.0]), "b"),
        numpy_helper.from_array(np.float32(255.0), "k"),
    ]
    nodes = [
        helper.make_node("Transpose", ["image"], ["x"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["x", "w", "b"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["p"]),
        helper.make_node("Mul", ["p", "k"], ["v"]),
    ]
    if dtype == "int8":
        inits.append(numpy_helper.from_array(np.float32(128.0), "s"))
        nodes.append(helper.make_node("Sub", ["v", "s"], ["v2"]))
        nodes.append(helper.make_node("Transpose", ["v2"], ["v3"], perm=[0, 2, 3, 1]))
    else:
        nodes.append(helper.make_node("Transpose", ["v"], ["v3"], perm=[0, 2, 3, 1]))
    to = TensorProto.UINT8 if dtype == "uint8" else TensorProto.INT8
    nodes.append(helper.make_node("Cast", ["v3"], ["mask"], to=to))
    graph = helper.make_graph(
        nodes,
        "confidence",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, H, W, 3])],
        [helper.make_tensor_value_info("mask", to, [1, H, W, 1])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return Path(path)


def frames():
    """A 640x480 frame (halvings, then bilinear) and an odd-sized one (bilinear only)."""
    rng = np.random.default_rng(7)
    out = []
    for w, h in ((640, 480), (203, 157)):
        small = rng.integers(0, 256, size=(6, 8, 3)).astype(np.float32)
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) + rng.normal(
            0, 12, (h, w, 3)
        )
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


def models(tmp_path):
    for name in sorted(CONVENTIONS):
        kw, _, ov = CONVENTIONS[name]
        path = make_seg_model(tmp_path / f"{name}.onnx", **kw)
        yield (
            name,
            load_model(path, engine="onnxruntime", overrides=IOOverrides(**ov) if ov else None),
        )
    for dt in ("uint8", "int8"):
        path = confidence_model(tmp_path / f"confidence_{dt}.onnx", dt)
        yield f"confidence_{dt}", load_model(path, engine="onnxruntime")
    for name in (
        "person-unet-lite0-320x320-int8",
        "person-unet-lite0-320x320-fp16",
        "camvid-unet-lite0-mlp-360x480-int8",
    ):
        yield name, load_model(name, engine="onnxruntime", siblings=False)


ORT_TYPES = {
    "float32": "float32",
    "float16": "float16",
    "int64": "int64",
    "int32": "int32",
    "uint8": "uint8",
    "int8": "int8",
}


def test_processing_matches_python_runtime(tmp_path):
    cases, expected = [], {}
    rng = np.random.default_rng(3)
    for name, model in models(tmp_path):
        cfg = web_config(model, f"/model/{model.path.name}")
        h, w = model.io.output_size
        C = model.num_classes
        for k, frame in enumerate(frames()):
            cid = f"{name}-{k}"
            prev = None
            if model.io.prev_mask_input:
                p = rng.random((C, h, w)).astype(np.float32)
                prev = Prediction(p / p.sum(0), frame.shape[:2])
            x = model.preprocess(frame, prev)
            raw = model.infer(x)[model.io.output_index]
            pred = model.postprocess([raw], frame.shape[:2])
            rgba = np.dstack([frame, rng.integers(0, 256, frame.shape[:2], dtype=np.uint8)])
            rgba.tofile(tmp_path / f"{cid}.frame")
            raw_type = ORT_TYPES[np.dtype(raw.dtype).name]
            np.ascontiguousarray(raw).view(
                np.uint16 if raw_type == "float16" else raw.dtype
            ).tofile(tmp_path / f"{cid}.raw")
            prev_probs = rng.random((C, h, w)).astype(np.float32)
            prev_probs /= prev_probs.sum(0)
            prev_probs.tofile(tmp_path / f"{cid}.prev_probs")
            case = {
                "id": cid,
                "config": cfg,
                "frame": f"{cid}.frame",
                "width": frame.shape[1],
                "height": frame.shape[0],
                "raw": f"{cid}.raw",
                "raw_type": raw_type,
                "prev_probs": f"{cid}.prev_probs",
            }
            if prev is not None:
                prev.foreground_small(model.foreground_indices).astype(np.float32).tofile(
                    tmp_path / f"{cid}.prev_fg"
                )
                case["prev_fg"] = f"{cid}.prev_fg"
            cases.append(case)
            effect = make_effect("blur", model.card)
            smoothed = EveryFrame(smooth=cfg["smooth_alpha"])._smooth(
                pred.probs, prev_probs, np.ones((h, w), bool)
            )
            expected[cid] = (x, pred, effect.alpha8(pred, h, w), smoothed, model.io.output_kind)
    kinds = {e[4] for e in expected.values()}
    assert kinds == {"logits", "probs", "fg_prob", "fg_logit", "labels"}
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"module": str(MODULE), "cases": cases}))
    subprocess.run([NODE, str(RUNNER), str(manifest)], check=True, timeout=120)

    for cid, (x, pred, alpha, smoothed, _kind) in expected.items():
        js_x = np.fromfile(
            tmp_path / f"{cid}.js_input", np.uint16 if x.dtype == np.float16 else x.dtype
        ).reshape(x.shape)
        if x.dtype == np.float16:
            js_x = js_x.view(np.float16)
        # The same resize (bit-exact with OpenCV's) and the same float32 arithmetic.
        np.testing.assert_array_equal(js_x, x, err_msg=f"{cid}: input tensor")
        C, h, w = pred.probs.shape
        js_p = np.fromfile(tmp_path / f"{cid}.js_probs", np.float32).reshape(C, h, w)
        np.testing.assert_allclose(js_p, pred.probs, atol=2e-5, err_msg=f"{cid}: probabilities")
        js_lab = np.fromfile(tmp_path / f"{cid}.js_labels", np.uint8).reshape(h, w)
        top2 = np.sort(pred.probs, axis=0)[-2:] if C > 1 else None
        clear = (top2[1] - top2[0]) > 1e-4
        assert np.array_equal(js_lab[clear], pred.labels_small()[clear]), f"{cid}: labels"
        js_a = np.fromfile(tmp_path / f"{cid}.js_alpha", np.uint8).reshape(h, w)
        assert np.abs(js_a.astype(int) - alpha.astype(int)).max() <= 1, f"{cid}: feathered alpha"
        js_s = np.fromfile(tmp_path / f"{cid}.js_smooth", np.float32).reshape(C, h, w)
        np.testing.assert_allclose(js_s, smoothed, atol=2e-5, err_msg=f"{cid}: smoothing")
