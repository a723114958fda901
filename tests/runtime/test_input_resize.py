"""A fixed-size ONNX graph run at another input size (``--input-size``), without PyTorch."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from liveseg.card import ModelCard, card_path_for
from liveseg.errors import ModelError
from liveseg.runtime.input_resize import model_at_input_size, resize_graph
from liveseg.runtime.iospec import IOOverrides
from liveseg.runtime.model import load_model


def _unet_like(w, h, classes=2, seed=0, reshape=False):
    """Conv s2 -> conv s2 -> Resize to the s2 map (constant sizes) -> Concat -> conv -> Resize
    to the input, its sizes computed as torch's fp16 exports do (Shape -> Slice ++ constant)."""
    rng = np.random.default_rng(seed)
    h2, w2 = -(-h // 2), -(-w // 2)

    def t(name, shape):
        return numpy_helper.from_array(rng.normal(0, 0.3, shape).astype(np.float32), name)

    inits = [
        t("w1", (4, 3, 3, 3)),
        t("w2", (4, 4, 3, 3)),
        t("w3", (classes, 8, 1, 1)),
        numpy_helper.from_array(np.array([1, 4, h2, w2], np.int64), "up1"),
        numpy_helper.from_array(np.array([0], np.int64), "s0"),
        numpy_helper.from_array(np.array([2], np.int64), "s2"),
    ]
    conv = dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], **conv),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], **conv),
        helper.make_node("Resize", ["c2", "", "", "up1"], ["u1"], mode="linear"),
        helper.make_node("Concat", ["u1", "r1"], ["cat"], axis=1),
        helper.make_node("Conv", ["cat", "w3"], ["logits2"]),
        helper.make_node("Shape", ["logits2"], ["shp"]),
        helper.make_node("Slice", ["shp", "s0", "s2"], ["nc"]),
        helper.make_node(
            "Constant",
            [],
            ["hw"],
            value=numpy_helper.from_array(np.array([h, w], np.int64)),
        ),
        helper.make_node("Concat", ["nc", "hw"], ["up2"], axis=0),
        helper.make_node("Resize", ["logits2", "", "", "up2"], ["y"], mode="linear"),
    ]
    if reshape:
        inits.append(numpy_helper.from_array(np.array([1, classes, h, w], np.int64), "shape"))
        nodes[-1].output[0] = "y0"
        nodes.append(helper.make_node("Reshape", ["y0", "shape"], ["y"]))
    graph = helper.make_graph(
        nodes,
        "unet_like",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, h, w])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, classes, h, w])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def _run(model, x):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


@pytest.mark.parametrize("size", [(40, 32), (50, 38), (96, 64)])
def test_rewritten_graph_computes_what_the_graph_built_at_that_size_does(size):
    w, h = size
    x = np.random.default_rng(1).random((1, 3, h, w), np.float32)
    got = _run(resize_graph(_unet_like(64, 48), size), x)
    assert got.shape == (1, 2, h, w)
    np.testing.assert_array_equal(got, _run(_unet_like(w, h), x))


def test_graphs_that_may_hold_fixed_shapes_are_refused_with_the_node_named():
    with pytest.raises(ModelError, match="Reshape node"):
        resize_graph(_unet_like(64, 48, reshape=True), (32, 32))
    odd = _unet_like(64, 48)
    sizes = next(t for t in odd.graph.initializer if t.name == "up1")
    sizes.CopyFrom(numpy_helper.from_array(np.array([1, 4, 20, 30], np.int64), "up1"))
    with pytest.raises(ModelError, match="not a power-of-two stride"):
        resize_graph(odd, (32, 32))


def test_a_pooling_over_the_whole_map_is_refused():
    model = _unet_like(64, 48)
    cut = next(i for i, n in enumerate(model.graph.node) if n.output[0] == "c2")
    model.graph.node.insert(
        cut + 1, helper.make_node("AveragePool", ["c2"], ["g"], kernel_shape=[12, 16])
    )
    model.graph.node[cut + 2].input[0] = "g"  # the Resize now upsamples the pooled 1x1 map
    with pytest.raises(ModelError, match="pools its whole 16x12 map"):
        resize_graph(model, (32, 32))


def _shipped_like(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(_unet_like(64, 48), str(path))
    card = ModelCard(
        name="m",
        classes=["background", "person"],
        input_size=[64, 48],
        output_kind="logits",
        foreground=["person"],
        metrics={"val": {"miou": 0.5}},
    )
    card.save(card_path_for(path))
    return path


def test_load_model_runs_a_cached_rewritten_copy_at_the_asked_size(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVESEG_CACHE_DIR", str(tmp_path / "cache"))
    path = _shipped_like(tmp_path)
    before = path.read_bytes()
    m = load_model(
        str(path), engine="onnxruntime", threads=1, overrides=IOOverrides(input_size=(32, 24))
    )
    assert m.io.input_size == (32, 24)
    assert m.path.parent == tmp_path / "cache" / "resized" and m.path != path
    card = json.loads(card_path_for(m.path).read_text())
    assert card["input_size"] == [32, 24] and "changed from 64x48 to 32x24" in card["notes"]
    assert card["metrics"] == {"measured_at_64x48": {"val": {"miou": 0.5}}}
    frame = np.random.default_rng(0).integers(0, 255, (30, 50, 3), np.uint8)
    assert m.predict(frame).labels().shape == (30, 50)
    assert path.read_bytes() == before  # the input model is never touched
    # made once, then reused; the same size as the file's own is the file itself
    stamp = m.path.stat().st_mtime_ns
    assert model_at_input_size(path, (32, 24)) == m.path and m.path.stat().st_mtime_ns == stamp
    assert model_at_input_size(path, (64, 48)) == path


def test_a_graph_that_cannot_be_rewritten_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVESEG_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "r.onnx"
    onnx.save(_unet_like(64, 48, reshape=True), str(path))
    with pytest.raises(ModelError, match=r"r.onnx takes 64x48 images and cannot run at 32x32: "):
        load_model(str(path), engine="onnxruntime", overrides=IOOverrides(input_size=(32, 32)))
    assert not list((tmp_path / "cache" / "resized").glob("*.onnx"))


def test_shipped_int8_and_fp16_files_run_at_another_size():
    from liveseg import zoo
    from liveseg.runtime.model import resolve_model_path

    for precision in ("int8", "fp16"):
        name = zoo.DEFAULT_MODEL.removesuffix("-int8") + f"-{precision}"
        src = onnx.load(str(resolve_model_path(name)))
        sess = ort.InferenceSession(
            resize_graph(src, (224, 160)).SerializeToString(), providers=["CPUExecutionProvider"]
        )
        inp = sess.get_inputs()[0]
        x = np.zeros((1, 3, 160, 224), np.float16 if "float16" in inp.type else np.float32)
        assert sess.run(None, {inp.name: x})[0].shape[2:] == (160, 224)
