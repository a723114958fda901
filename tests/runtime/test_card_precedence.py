"""One card reader (``liveseg.card.read_card``) with one precedence rule: the JSON beside a
model file wins over the card embedded in it; the embedded one is the fallback. The runtime,
the quantizer and re-export all find the same card."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from liveseg.card import ModelCard, card_path_for, read_card
from liveseg.errors import InputError, ModelError


def _tiny_onnx(path, card=None):
    """A 1x1 convolution 3 -> 2 channels on a fixed 1x3x8x8 input, card embedded if given."""
    w = numpy_helper.from_array(
        np.array([[1, 0, 0], [0, 1, 0]], np.float32).reshape(2, 3, 1, 1), "w"
    )
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "w"], ["logits"])],
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2, 8, 8])],
        [w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if card is not None:
        card.embed_in_onnx(model)
    onnx.save(model, str(path))
    return path


def _card(name, **kw):
    kw.setdefault("classes", ["bg", "fg"])
    return ModelCard(name=name, input_size=[8, 8], **kw)


@pytest.fixture
def both(tmp_path):
    """A model whose embedded card and JSON card differ (as after a user edits the JSON)."""
    path = _tiny_onnx(tmp_path / "m.onnx", _card("embedded", architecture="embedded-arch"))
    _card("sidecar", classes=["back", "person"], architecture="sidecar-arch").save(
        card_path_for(path)
    )
    return path


def test_the_json_beside_the_file_wins(both):
    card, source = read_card(both)
    assert card.name == "sidecar" and card.classes == ["back", "person"]
    assert source == "json (m.json)"
    # Metadata at hand (an engine's mapping, a loaded ModelProto) does not change the rule.
    assert read_card(both, {"liveseg.card": _card("other").to_json()}).card.name == "sidecar"
    assert read_card(both, onnx.load(str(both))).card.name == "sidecar"


def test_the_embedded_card_is_the_fallback(both):
    card_path_for(both).unlink()
    for found in (read_card(both), read_card(both, onnx.load(str(both)))):
        assert found.card.name == "embedded" and found.source == "onnx metadata"


def test_no_card(tmp_path):
    path = _tiny_onnx(tmp_path / "bare.onnx")
    assert read_card(path) == (None, "")
    assert read_card(tmp_path / "bare.tflite", {}) == (None, "")


def test_an_unusable_json_is_an_error_not_a_fallback(both):
    card_path_for(both).write_text("{not json")
    with pytest.raises(ModelError, match="m.json is unusable"):
        read_card(both)


def test_runtime_quantizer_and_reexport_find_the_same_card(both):
    from liveseg.quant.onnx_io import card_for_model
    from liveseg.runtime import load_model

    m = load_model(both, engine="onnxruntime", threads=1)
    assert m.card.name == "sidecar" and m.card_source == "json (m.json)"
    assert m.card.classes == ["back", "person"]
    assert card_for_model(both).name == "sidecar"

    pytest.importorskip("torch")
    from liveseg.models.checkpoint import load_torch_model

    # Re-export reads the architecture from the same card (here one liveseg does not know).
    with pytest.raises(InputError, match="sidecar-arch"):
        load_torch_model(str(both))
