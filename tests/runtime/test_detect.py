"""Every I/O convention is detected and gives the right labels (not merely runs)."""

import numpy as np
import pytest

from liveseg.runtime import IOOverrides, Prediction, load_model
from tests.helpers.models import (
    COLOR_CLASSES,
    CONVENTIONS,
    PATCHES,
    color_test_image,
    expected_patch_labels,
    make_qdq_model,
    make_seg_model,
    patch_labels,
)


def _eq(a, b):
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) == list(b)
    return a == b


@pytest.mark.parametrize("name", sorted(CONVENTIONS))
def test_convention_detected_and_labels_right(tmp_path, name):
    kw, expected, ov = CONVENTIONS[name]
    path = make_seg_model(tmp_path / f"{name}.onnx", **kw)
    model = load_model(path, overrides=IOOverrides(**ov) if ov else None)
    for field, want in expected.items():
        assert _eq(getattr(model.io, field), want), (field, getattr(model.io, field), want)
    img = color_test_image()
    pred = model.predict(img)
    assert isinstance(pred, Prediction)
    assert pred.frame_size == img.shape[:2]
    h, w = model.io.output_size
    assert pred.probs.shape == (model.num_classes, h, w)
    assert pred.probs.dtype == np.float32
    np.testing.assert_allclose(pred.probs.sum(axis=0), 1.0, atol=1e-3)
    assert pred.labels().shape == img.shape[:2]
    task = kw.get("task", "color")
    assert patch_labels(pred.labels()) == expected_patch_labels(task)
    assert model.card.classes == model.io.classes
    assert model.card.task == ("foreground" if task == "fg" else "semantic")


@pytest.mark.parametrize(
    "wrong",
    [
        dict(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),  # [-1,1] into an ImageNet model
        dict(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0)),  # [0,1] into an ImageNet model
    ],
)
def test_wrong_normalisation_gives_wrong_labels(tmp_path, wrong):
    """The colour patches really discriminate normalisations (so the tests above mean something)."""
    path = make_seg_model(tmp_path / "m.onnx", norm="imagenet")
    model = load_model(path, overrides=IOOverrides(**wrong))
    assert patch_labels(model.predict(color_test_image()).labels()) != expected_patch_labels()


def test_default_norm_is_wrong_for_pm1_model_without_hint_and_override_fixes_it(tmp_path):
    path = make_seg_model(tmp_path / "m.onnx", norm="-1_1")
    model = load_model(path)
    assert model.io.norm_source == "default" and model.io.norm == "imagenet mean/std"
    assert patch_labels(model.predict(color_test_image()).labels()) != expected_patch_labels()
    fixed = load_model(path, overrides=IOOverrides(mean=(0.5,) * 3, std=(0.5,) * 3))
    assert patch_labels(fixed.predict(color_test_image()).labels()) == expected_patch_labels()


def test_qdq_int8_model(tmp_path):
    src = make_seg_model(tmp_path / "f.onnx")
    q = make_qdq_model(src, tmp_path / "q.onnx")
    model = load_model(q)
    assert "QUANTIZELINEAR" in model.engine.op_types
    assert model.io.output_kind == "logits"
    assert patch_labels(model.predict(color_test_image()).labels()) == expected_patch_labels()


def test_prev_mask_channel_is_used(tmp_path):
    path = make_seg_model(tmp_path / "pm.onnx", task="fg", output="sigmoid", prev_mask=True)
    model = load_model(path)
    img = color_test_image()
    first = model.predict(img)
    assert patch_labels(first.labels()) == expected_patch_labels("fg", prev=0.0)
    # A previous prediction that is foreground everywhere makes every patch foreground.
    prev = Prediction(
        np.stack([np.zeros((5, 7), np.float32), np.ones((5, 7), np.float32)]), img.shape[:2]
    )
    second = model.predict(img, prev)
    assert patch_labels(second.labels()) == expected_patch_labels("fg", prev=1.0)
    # preprocess puts prev's foreground probability (resized) in channel 4, raw.
    x = model.preprocess(img, prev)
    assert x.shape == (1, 4, 32, 32)
    assert np.allclose(x[0, 3], 1.0)
    assert np.allclose(model.preprocess(img)[0, 3], 0.0)


def test_classes_override_and_count_check(tmp_path):
    from liveseg.errors import ConfigError

    path = make_seg_model(tmp_path / "m.onnx")
    model = load_model(path, overrides=IOOverrides(classes=["bg", "r", "g", "b"]))
    assert model.card.classes == ["bg", "r", "g", "b"] and model.io.classes_source == "override"
    with pytest.raises(ConfigError, match="4"):
        load_model(path, overrides=IOOverrides(classes=["a", "b"]))


def test_layout_override_changes_reading(tmp_path):
    from liveseg.errors import ModelError

    path = make_seg_model(tmp_path / "m.onnx", layout="nchw")
    with pytest.raises(ModelError):
        load_model(path, overrides=IOOverrides(layout="nhwc"))  # [1,3,32,32] as NHWC: 32 channels


def test_fixed_size_takes_another_input_size_only_where_the_graph_can_be_rewritten(tmp_path):
    from liveseg.errors import ConfigError

    # NCHW, fully convolutional: runs at the asked size (tests/runtime/test_input_resize.py)
    path = make_seg_model(tmp_path / "m.onnx")
    assert load_model(path, overrides=IOOverrides(input_size=(64, 48))).io.input_size == (64, 48)
    nhwc = make_seg_model(tmp_path / "n.onnx", layout="nhwc")
    with pytest.raises(ConfigError, match="fixed"):
        load_model(nhwc, overrides=IOOverrides(input_size=(64, 64)))


def test_label_map_without_known_class_count(tmp_path, monkeypatch):
    """A label map whose graph does not reveal C: a default count (with a note); --classes sets
    it."""
    from liveseg.runtime import OnnxRuntimeEngine
    from liveseg.runtime.iodetect import DEFAULT_LABEL_CLASSES

    path = make_seg_model(tmp_path / "m.onnx", output="argmax")
    assert load_model(path).io.classes_source == "graph (ArgMax input)"
    monkeypatch.setattr(OnnxRuntimeEngine, "argmax_classes", lambda self, name: None)
    model = load_model(path)
    assert model.num_classes == DEFAULT_LABEL_CLASSES
    assert any("--classes" in n for n in model.io.notes)
    assert patch_labels(model.predict(color_test_image()).labels()) == expected_patch_labels()
    model = load_model(path, overrides=IOOverrides(classes=COLOR_CLASSES))
    assert model.num_classes == 4 and model.card.classes == COLOR_CLASSES
    assert patch_labels(model.predict(color_test_image()).labels()) == expected_patch_labels()


def test_gray_and_rgba_frames(tmp_path):
    path = make_seg_model(tmp_path / "m.onnx")
    model = load_model(path)
    img = color_test_image()
    rgba = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    assert patch_labels(model.predict(rgba).labels()) == expected_patch_labels()
    gray = img.mean(axis=2).astype(np.uint8)
    pred = model.predict(gray)
    assert pred.frame_size == gray.shape
    assert model.preprocess(gray[..., None]).shape == (1, 3, 32, 32)


def test_odd_and_tiny_frames(tmp_path):
    model = load_model(make_seg_model(tmp_path / "m.onnx", out_stride=2))
    for shape in [(1, 1, 3), (3, 7, 3), (481, 641, 3)]:
        frame = np.full(shape, PATCHES[1], np.uint8)
        pred = model.predict(frame)
        assert pred.labels().shape == shape[:2]
        assert int(np.bincount(pred.labels().ravel()).argmax()) == 1


def test_bad_frames_are_input_errors(tmp_path):
    from liveseg.errors import InputError

    model = load_model(make_seg_model(tmp_path / "m.onnx"))
    with pytest.raises(InputError):
        model.predict(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(InputError):
        model.predict(np.zeros((8, 8, 5), np.uint8))


def test_preprocess_returns_fresh_arrays(tmp_path):
    model = load_model(make_seg_model(tmp_path / "m.onnx"))
    img = color_test_image()
    a = model.preprocess(img)
    b = model.preprocess(np.zeros_like(img))
    assert not np.shares_memory(a, b)
    assert not np.allclose(a, b)


def test_preprocess_matches_reference_formula(tmp_path):
    import cv2

    model = load_model(
        make_seg_model(
            tmp_path / "m.onnx", layout="nhwc", norm="-1_1", metadata={"normalization": "-1_1"}
        )
    )
    img = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    half = cv2.resize(img, (48, 32), interpolation=cv2.INTER_AREA)  # one exact halving
    ref = cv2.resize(half, (32, 32), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
    ref = (ref - 0.5) / 0.5
    np.testing.assert_allclose(model.preprocess(img)[0], ref, atol=1e-5)


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("prev_mask", [False, True])
def test_preprocess_layouts_agree(tmp_path, layout, prev_mask):
    """NCHW and NHWC fast paths compute the same numbers (incl. 4-channel inputs)."""
    kw = dict(task="fg", output="sigmoid") if prev_mask else {}
    model = load_model(
        make_seg_model(tmp_path / "m.onnx", layout=layout, prev_mask=prev_mask, **kw)
    )
    img = np.random.default_rng(1).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    x = model.preprocess(img)
    if layout == "nhwc":
        x = x.transpose(0, 3, 1, 2)
    small = model._pre.resize(img).astype(np.float64) / 255
    mean, std = np.array(model.io.mean), np.array(model.io.std)
    np.testing.assert_allclose(x[0, :3], ((small - mean) / std).transpose(2, 0, 1), atol=1e-4)


def test_softmax_and_sigmoid_match_numpy():
    from liveseg.runtime.processing import sigmoid, softmax0

    x = np.random.default_rng(0).normal(size=(5, 7, 9)).astype(np.float32) * 30
    e = np.exp(x - x.max(0))
    np.testing.assert_allclose(softmax0(x), e / e.sum(0), atol=1e-6)
    np.testing.assert_allclose(sigmoid(x[0]), 1 / (1 + np.exp(-x[0].astype(np.float64))), atol=1e-6)
    assert np.isfinite(sigmoid(np.array([1e4, -1e4], np.float32))).all()
