"""Engines: ONNX Runtime (always), LiteRT and OpenVINO (skipped when their extra is absent)."""

import importlib.util

import numpy as np
import pytest

from liveseg.errors import ConfigError, DependencyError, ModelError
from liveseg.runtime import OnnxRuntimeEngine, load_model, make_engine
from liveseg.runtime.engine import engine_for_path
from tests.helpers.models import (
    color_test_image,
    expected_patch_labels,
    make_seg_model,
    make_tflite_model,
    patch_labels,
)

HAS_LITERT = importlib.util.find_spec("ai_edge_litert") is not None
HAS_OPENVINO = importlib.util.find_spec("openvino") is not None
needs_litert = pytest.mark.skipif(
    not HAS_LITERT, reason="ai-edge-litert not installed (extra: litert)"
)
needs_openvino = pytest.mark.skipif(
    not HAS_OPENVINO, reason="openvino not installed (extra: openvino)"
)


def _labels_ok(model, task="color"):
    return patch_labels(model.predict(color_test_image()).labels()) == expected_patch_labels(task)


def test_engine_for_path():
    assert engine_for_path("a.onnx") == "onnxruntime"
    assert engine_for_path("a.TFLITE") == "litert"
    assert engine_for_path("a.xml") == "openvino"
    assert engine_for_path("a.bin", "onnxruntime") == "onnxruntime"
    with pytest.raises(ModelError, match="--engine"):
        engine_for_path("a.bin")
    with pytest.raises(ConfigError):
        engine_for_path("a.onnx", "tensorrt")


def test_onnxruntime_engine_interface(tmp_path):
    path = make_seg_model(tmp_path / "m.onnx", output="softmax")
    eng = make_engine(path, threads=1)
    assert isinstance(eng, OnnxRuntimeEngine) and eng.threads == 1
    assert eng.inputs[0].name == "image" and eng.inputs[0].shape == (1, 3, 32, 32)
    assert eng.inputs[0].dtype == np.float32
    assert eng.output_producers[eng.outputs[0].name] == "SOFTMAX"
    out = eng.run({"image": np.zeros((1, 3, 32, 32), np.float32)})
    assert isinstance(out, list) and out[0].shape == (1, 4, 32, 32)
    with pytest.raises(ConfigError):
        make_engine(path, threads=0)


def test_uint8_input_quant_params_are_read(tmp_path):
    path = make_seg_model(tmp_path / "m.onnx", input_dtype="uint8", norm="-1_1")
    eng = make_engine(path)
    scale, zp = eng.inputs[0].quant
    assert scale == pytest.approx(1 / 127.5) and zp == 128


def test_missing_optional_engine_is_dependency_error(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *a, **kw):
        if name.startswith(("ai_edge_litert", "openvino")):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    import importlib

    monkeypatch.setattr(importlib, "import_module", lambda n, *a: fake_import(n))
    onnx_path = make_seg_model(tmp_path / "m.onnx")
    (tmp_path / "m.tflite").write_bytes(b"\0\0\0\0TFL3" + b"\0" * 64)
    with pytest.raises(DependencyError, match=r"liveseg\[litert\]"):
        make_engine(tmp_path / "m.tflite")
    with pytest.raises(DependencyError, match=r"liveseg\[openvino\]"):
        make_engine(onnx_path, "openvino")


# ---- LiteRT --------------------------------------------------------------------------------------
@needs_litert
@pytest.mark.parametrize(
    "kw, expect",
    [
        (dict(output="softmax"), dict(output_kind="probs", layout="nhwc", norm="[0,1]")),
        (dict(), dict(output_kind="logits")),
        (
            dict(output="argmax", out_stride=2),
            dict(output_kind="labels", output_size=(16, 16), num_classes=4),
        ),
        (dict(task="fg", output="sigmoid"), dict(output_kind="fg_prob", num_classes=2)),
        (
            dict(input_dtype="uint8", norm="-1_1"),
            dict(input_dtype="uint8", norm_source="quantization"),
        ),
        (dict(dynamic=True, output="argmax"), dict(dynamic_size=True, input_size=(256, 256))),
    ],
)
def test_litert_conventions(tmp_path, kw, expect):
    path = make_tflite_model(tmp_path / "m.tflite", **kw)
    model = load_model(path, threads=1)
    assert model.engine.name == "litert"
    assert model.engine.details["delegate"] == "xnnpack"  # DELEGATE node in the plan
    for k, v in expect.items():
        got = getattr(model.io, k)
        assert (list(got) if isinstance(got, tuple) else got) == (
            list(v) if isinstance(v, tuple) else v
        )
    assert _labels_ok(model, kw.get("task", "color"))


@needs_litert
def test_litert_without_xnnpack_gives_same_result(tmp_path):
    from liveseg.runtime import LiteRTEngine

    path = make_tflite_model(tmp_path / "m.tflite", output="softmax")
    x = np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32)
    a = LiteRTEngine(path).run({"image": x})[0]
    eng = LiteRTEngine(path, use_xnnpack=False)
    assert eng.delegate == "builtin"
    np.testing.assert_allclose(eng.run({"image": x})[0], a, atol=1e-5)


@needs_litert
def test_litert_falls_back_when_xnnpack_refuses_the_graph(tmp_path, monkeypatch):
    """A delegate failure while opening -> reopened with the built-in op resolver."""
    from ai_edge_litert import interpreter as litert

    from liveseg.runtime import LiteRTEngine

    real_open = LiteRTEngine._open

    def failing_open(self, resolver):
        if resolver != litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES:
            raise RuntimeError("Node number 0 (TfLiteXNNPackDelegate) failed to prepare.")
        return real_open(self, resolver)

    monkeypatch.setattr(LiteRTEngine, "_open", failing_open)
    model = load_model(make_tflite_model(tmp_path / "m.tflite"))
    assert model.engine.delegate == "builtin"
    assert "XNNPack" in model.engine.details["xnnpack_fallback"]
    assert _labels_ok(model)


@needs_litert
def test_litert_falls_back_when_xnnpack_fails_at_run_time(tmp_path, monkeypatch):
    from liveseg.runtime import LiteRTEngine

    eng = LiteRTEngine(make_tflite_model(tmp_path / "m.tflite"))
    real_run = LiteRTEngine._run
    calls = []

    def flaky_run(self, feed):
        calls.append(self.delegate)
        if self.delegate == "xnnpack":
            raise RuntimeError("TfLiteXNNPackDelegate: failed to reshape runtime")
        return real_run(self, feed)

    monkeypatch.setattr(LiteRTEngine, "_run", flaky_run)
    out = eng.run({"image": np.zeros((1, 32, 32, 3), np.float32)})
    assert out[0].shape == (1, 32, 32, 4)
    assert calls == ["xnnpack", "builtin"] and eng.details["xnnpack_fallback"]


@needs_litert
def test_litert_rejects_non_tflite(tmp_path):
    p = tmp_path / "x.tflite"
    p.write_text("not a flatbuffer at all")
    with pytest.raises(ModelError, match="not a TFLite model"):
        make_engine(p)
    good = make_tflite_model(tmp_path / "g.tflite").read_bytes()
    (tmp_path / "t.tflite").write_bytes(good[: len(good) // 3])
    with pytest.raises(ModelError):
        make_engine(tmp_path / "t.tflite")


# ---- OpenVINO ------------------------------------------------------------------------------------
@needs_openvino
def test_openvino_on_onnx_and_ir(tmp_path):
    import openvino as ov

    path = make_seg_model(
        tmp_path / "m.onnx",
        output="softmax",
        layout="nhwc",
        norm="0_1",
        metadata={"normalization": "0_1"},
    )
    model = load_model(path, engine="openvino", threads=1)
    assert model.engine.name == "openvino" and model.io.output_kind == "probs"
    assert model.io.norm_source == "metadata"  # ONNX metadata read for OpenVINO too
    assert _labels_ok(model)
    ov.save_model(ov.convert_model(str(path)), str(tmp_path / "ir.xml"))
    ir = load_model(tmp_path / "ir.xml", overrides=None)
    assert ir.engine.name == "openvino" and ir.io.layout == "nhwc"
    assert _labels_ok(ir)


@needs_openvino
def test_openvino_argmax_classes_and_dynamic(tmp_path):
    path = make_seg_model(tmp_path / "m.onnx", output="argmax", size=None)
    model = load_model(path, engine="openvino")
    assert model.io.num_classes == 4 and model.io.dynamic_size
    assert _labels_ok(model)


@needs_openvino
def test_openvino_bad_file(tmp_path):
    (tmp_path / "x.xml").write_text("<net>nope")
    with pytest.raises(ModelError):
        make_engine(tmp_path / "x.xml")
