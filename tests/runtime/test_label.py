"""`liveseg label`: a teacher model writes soft labels; read_soft_label reads them back."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from liveseg.cli import main
from liveseg.errors import InputError
from liveseg.runtime.teacher import read_info, read_soft_label
from tests.helpers.models import COLOR_CLASSES, make_seg_model, make_tflite_model

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
SIZES = [(75, 50), (64, 64), (130, 41)]  # (width, height) of the generated images


def smooth_image(w, h, seed):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(4, 5, 3)).astype(np.float32)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    out = {}
    for i, (w, h) in enumerate(SIZES):
        img = smooth_image(w, h, i)
        cv2.imwrite(str(folder / f"im{i}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        out[f"im{i}"] = img
    return folder, out


def reference_resize(img, W, H):
    """liveseg's documented resize: INTER_AREA halvings while >= 2x, then INTER_LINEAR."""
    h, w = img.shape[:2]
    while w >= 2 * W and h >= 2 * H and w % 2 == 0 and h % 2 == 0:
        w, h = w // 2, h // 2
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    return img if (w, h) == (W, H) else cv2.resize(img, (W, H), interpolation=cv2.INTER_LINEAR)


def run_direct(path, img, W=32, H=32):
    """The ImageNet-normalised NCHW fixture run with onnxruntime itself."""
    import onnxruntime as ort

    x = (reference_resize(img, W, H).astype(np.float32) / 255 - MEAN) / STD
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return s.run(None, {"image": np.ascontiguousarray(x.transpose(2, 0, 1)[None])})[0]


def label(*argv):
    return main(["label", *map(str, argv), "--quiet"])


def test_foreground_model_writes_probability_pngs(tmp_path, images, capsys):
    folder, imgs = images
    model = make_seg_model(tmp_path / "fg.onnx", task="fg", output="sigmoid")
    out = tmp_path / "labels"
    assert label(model, folder, "-o", out, "--threads", "1") == 0
    info = json.loads((out / "labels.json").read_text())
    assert info["encoding"] == "foreground_png" and info["classes"] == ["background", "foreground"]
    assert info["foreground"] == ["foreground"]
    assert info["teacher"]["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert info["teacher"]["file"] == str(model.resolve())
    assert "round(255 * P(foreground))" in info["description"]
    assert sorted(info["images"]) == sorted(imgs)
    for stem, img in imgs.items():
        png = cv2.imread(str(out / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
        assert png.dtype == np.uint8 and png.shape == img.shape[:2]
        p = run_direct(model, img)[0, 0]
        p = cv2.resize(p, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)
        want = np.rint(np.clip(p, 0, 1) * 255)
        assert np.abs(png.astype(int) - want).max() <= 1
        assert len(np.unique(png)) > 10  # soft, not a hard mask
        np.testing.assert_allclose(read_soft_label(out, stem), png / 255.0, atol=1e-6)
    assert not list(out.glob(".*tmp*"))  # no temporaries left behind


def test_multiclass_model_writes_float16_probabilities(tmp_path, images):
    folder, imgs = images
    model = make_seg_model(tmp_path / "color.onnx", out_stride=2)
    out = tmp_path / "labels"
    assert label(model, folder / "*.png", "-o", out) == 0
    info = read_info(out)
    assert info["encoding"] == "probs_npz" and info["classes"] == [
        "class0",
        "class1",
        "class2",
        "class3",
    ]
    for stem, img in imgs.items():
        with np.load(out / f"{stem}.npz") as z:
            probs, classes, size = z["probs"], list(z["classes"]), tuple(z["image_size"])
        assert probs.dtype == np.float16 and probs.shape == (4, 16, 16)
        assert classes == info["classes"] and size == img.shape[:2]
        logits = run_direct(model, img)[0].astype(np.float64)
        e = np.exp(logits - logits.max(axis=0))
        np.testing.assert_allclose(probs.astype(np.float32), e / e.sum(axis=0), atol=2e-3)
        soft = read_soft_label(out, stem)
        assert soft.shape == (4, 16, 16) and soft.dtype == np.float32
        big = read_soft_label(out, stem, size=(img.shape[1], img.shape[0]))
        assert big.shape == (4, *img.shape[:2])
        np.testing.assert_allclose(big.sum(axis=0), 1.0, atol=1e-3)


def test_classes_override_names_the_classes(tmp_path, images):
    folder, _ = images
    model = make_seg_model(tmp_path / "color.onnx")
    out = tmp_path / "labels"
    assert label(model, folder, "-o", out, "--classes", ",".join(COLOR_CLASSES)) == 0
    assert read_info(out)["classes"] == COLOR_CLASSES


def test_hard_writes_class_index_pngs(tmp_path, images):
    folder, imgs = images
    model = make_seg_model(tmp_path / "color.onnx")
    out = tmp_path / "hard"
    assert label(model, folder, "-o", out, "--hard") == 0
    assert read_info(out)["encoding"] == "class_png"
    for stem, img in imgs.items():
        png = cv2.imread(str(out / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
        logits = run_direct(model, img)[0]
        top2 = np.sort(logits, axis=0)[-2:]
        ref = np.argmax(logits, axis=0).astype(np.uint8)
        ref[top2[1] - top2[0] < 1e-3] = 255  # exact ties (saturated channels): either is right
        ref = cv2.resize(ref, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_NEAREST)
        assert png.shape == img.shape[:2]
        assert np.mean((png != ref) & (ref != 255)) <= 0.005
        onehot = read_soft_label(out, stem)
        assert onehot.shape == (4, *img.shape[:2])
        np.testing.assert_array_equal(np.argmax(onehot, axis=0), png)
    # A foreground model's hard labels are 0/1 and read back as P(foreground) in {0, 1}.
    fg = make_seg_model(tmp_path / "fg.onnx", task="fg", output="softmax")
    out2 = tmp_path / "hard_fg"
    assert label(fg, folder, "-o", out2, "--hard") == 0
    png = cv2.imread(str(out2 / "im0.png"), cv2.IMREAD_UNCHANGED)
    assert set(np.unique(png)) <= {0, 1}
    np.testing.assert_array_equal(read_soft_label(out2, "im0"), png.astype(np.float32))


@pytest.mark.skipif(importlib.util.find_spec("ai_edge_litert") is None, reason="no LiteRT")
def test_tflite_teacher(tmp_path, images):
    folder, imgs = images
    model = make_tflite_model(tmp_path / "fg.tflite", task="fg", output="sigmoid")
    out = tmp_path / "labels"
    assert label(model, folder / "im1.png", "-o", out) == 0
    info = read_info(out)
    assert info["teacher"]["engine"] == "litert" and info["encoding"] == "foreground_png"
    assert list(info["images"]) == ["im1"]
    assert read_soft_label(out, "im1").shape == imgs["im1"].shape[:2]


def test_existing_outputs_are_kept_unless_overwrite(tmp_path, images, capsys):
    folder, _ = images
    model = make_seg_model(tmp_path / "fg.onnx", task="fg", output="sigmoid")
    out = tmp_path / "labels"
    assert label(model, folder, "-o", out) == 0
    before = (out / "im0.png").read_bytes()
    (out / "im0.png").write_bytes(b"keep me")
    capsys.readouterr()
    code = label(model, folder, "-o", out)
    err = capsys.readouterr().err
    assert code == 5 and err.count("\n") == 1 and "--overwrite" in err and "im0.png" in err
    assert (out / "im0.png").read_bytes() == b"keep me"
    assert label(model, folder, "-o", out, "--overwrite") == 0
    assert (out / "im0.png").read_bytes() == before
    # More images from the same teacher may be added to the folder.
    extra = tmp_path / "more"
    extra.mkdir()
    cv2.imwrite(str(extra / "new.png"), smooth_image(40, 30, 9))
    assert label(model, extra, "-o", out) == 0
    assert set(read_info(out)["images"]) == {"im0", "im1", "im2", "new"}
    # ...but not from another teacher.
    other = make_seg_model(tmp_path / "other.onnx", task="fg", output="softmax")
    cv2.imwrite(str(extra / "new2.png"), smooth_image(40, 30, 10))
    (extra / "new.png").unlink()
    capsys.readouterr()
    code = label(other, extra, "-o", out)
    err = capsys.readouterr().err
    assert code == 5 and "another teacher" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "case",
    [
        "missing_input",
        "missing_parent",
        "output_is_file",
        "video_input",
        "missing_model",
        "stem_collision",
    ],
)
def test_errors_are_one_line(tmp_path, images, capsys, case):
    folder, _ = images
    model = make_seg_model(tmp_path / "fg.onnx", task="fg", output="sigmoid")
    out = tmp_path / "labels"
    argv = [model, folder, "-o", out]
    want = None
    if case == "missing_input":
        argv, want = [model, tmp_path / "nope.jpg", "-o", out], 2
    elif case == "missing_parent":
        argv, want = [model, folder, "-o", tmp_path / "a" / "b"], 5
    elif case == "output_is_file":
        (tmp_path / "f").write_text("x")
        argv, want = [model, folder, "-o", tmp_path / "f"], 5
    elif case == "video_input":
        (tmp_path / "clip.mp4").write_bytes(b"\0" * 100)
        argv, want = [model, tmp_path / "clip.mp4", "-o", out], 2
    elif case == "missing_model":
        argv, want = [tmp_path / "nope.onnx", folder, "-o", out], 3
    elif case == "stem_collision":
        other = tmp_path / "other"
        other.mkdir()
        cv2.imwrite(str(other / "im0.jpg"), smooth_image(20, 20, 0))
        argv, want = [model, folder, other, "-o", out], 2
    capsys.readouterr()
    code = label(*argv)
    err = capsys.readouterr().err
    assert code == want, err
    assert err.startswith("liveseg label: error:") and err.count("\n") == 1
    if case != "missing_parent":
        assert not out.exists() or not any(out.iterdir())


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_unwritable_output_folder_fails_before_labelling(tmp_path, images, capsys):
    folder, _ = images
    model = make_seg_model(tmp_path / "fg.onnx", task="fg", output="sigmoid")
    if os.geteuid() == 0:  # root ignores permission bits: /proc takes no files either
        if not Path("/proc/self").is_dir():
            pytest.skip("root without /proc")
        out, ro = Path("/proc/liveseg-label-test"), None
    else:
        out = ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
    try:
        code = label(model, folder, "-o", out)
    finally:
        if ro is not None:
            ro.chmod(0o700)
    err = capsys.readouterr().err
    assert code == 5 and "cannot" in err and err.count("\n") == 1, err


def test_output_may_not_replace_an_input(tmp_path, images, capsys):
    folder, _ = images
    model = make_seg_model(tmp_path / "fg.onnx", task="fg", output="sigmoid")
    code = label(model, folder, "-o", folder, "--overwrite")
    err = capsys.readouterr().err
    assert code == 5 and "input" in err


def test_read_soft_label_errors(tmp_path, images):
    folder, _ = images
    with pytest.raises(InputError, match="labels.json"):
        read_soft_label(tmp_path, "x")
    model = make_seg_model(tmp_path / "fg.onnx", task="fg", output="sigmoid")
    out = tmp_path / "labels"
    assert label(model, folder, "-o", out) == 0
    with pytest.raises(InputError, match="missing"):
        read_soft_label(out, "nope")
    assert read_soft_label(out, "im2", size=(10, 8)).shape == (8, 10)


def test_shipped_model_name_as_teacher(tmp_path, images):
    from liveseg import zoo

    shipped = [c.name for c in zoo.list_shipped() if "subject" in c.name and "int8" in c.name]
    if not shipped:
        pytest.skip("no shipped foreground model")
    folder, _ = images
    out = tmp_path / "labels"
    assert label(shipped[0], folder / "im0.png", "-o", out, "--threads", "1") == 0
    info = read_info(out)
    assert info["teacher"]["name"] == shipped[0] and info["encoding"] == "foreground_png"
    assert Path(info["teacher"]["file"]).is_file()
