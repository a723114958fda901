import cv2
import numpy as np
import pytest

from liveseg.card import ModelCard
from liveseg.errors import ConfigError, InputError
from liveseg.runtime.prediction import Prediction
from liveseg.video.effects import EFFECTS, cover, default_foreground, make_effect
from liveseg.video.protocols import Effect
from tests.helpers.videos import FakeModel, frame_pattern


def _pred(h, w, fg_box):
    """Prediction at 1/4 resolution: class 1 inside fg_box (y0, y1, x0, x1 at frame size)."""
    sh, sw = max(1, h // 4), max(1, w // 4)
    person = np.zeros((sh, sw), np.float32)
    y0, y1, x0, x1 = (v // 4 for v in fg_box)
    person[y0:y1, x0:x1] = 1.0
    probs = np.stack([1 - person, person, np.zeros_like(person)])
    return Prediction(probs, (h, w))


@pytest.fixture
def card():
    return FakeModel().card


@pytest.fixture
def frame():
    return frame_pattern(3, 96, 64)


def test_every_effect_shapes(card, frame):
    pred = _pred(64, 96, (16, 48, 24, 72))
    for name in EFFECTS:
        bg = None
        if name == "replace":
            continue
        fx = make_effect(name, card, background=bg)
        out = fx(frame, pred)
        assert out.dtype == np.uint8
        h, w = fx.out_size(64, 96)
        assert out.shape == (h, w, fx.channels)
        assert isinstance(fx, Effect) and fx.name == name
        fx.close()  # every effect has one (the pipeline calls it at the end of a run)


def test_overlay_alpha_zero_is_identity_and_uses_palette(card, frame):
    pred = _pred(64, 96, (0, 64, 0, 96))  # all person
    assert np.array_equal(make_effect("overlay", card, alpha=0.0)(frame, pred), frame)
    full = make_effect("overlay", card, alpha=1.0)(frame, pred)
    assert np.all(full == np.array(card.palette[1], np.uint8))


def test_mask_colours_classes(card, frame):
    pred = _pred(64, 96, (16, 48, 24, 72))
    out = make_effect("mask", card)(frame, pred)
    assert tuple(out[32, 48]) == tuple(card.palette[1])
    assert tuple(out[2, 2]) == tuple(card.palette[0])


def test_blur_keeps_foreground_and_blurs_background(card):
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (128, 128, 3), np.uint8)
    pred = _pred(128, 128, (32, 96, 32, 96))
    out = make_effect("blur", card)(frame, pred)
    centre = (slice(52, 76), slice(52, 76))
    assert np.abs(out[centre].astype(int) - frame[centre]).max() <= 1
    corner = (slice(0, 16), slice(0, 16))
    assert out[corner].std() < frame[corner].std() / 3  # smoothed


def test_replace_with_image_and_video(card, tmp_path):
    from tests.helpers.videos import make_video

    frame = np.full((64, 96, 3), 200, np.uint8)
    pred = _pred(64, 96, (16, 48, 24, 72))
    bg = np.zeros((30, 40, 3), np.uint8)
    bg[:, :, 1] = 255
    cv2.imwrite(str(tmp_path / "bg.png"), cv2.cvtColor(bg, cv2.COLOR_RGB2BGR))
    out = make_effect("replace", card, background=tmp_path / "bg.png")(frame, pred)
    assert tuple(out[1, 1]) == (0, 255, 0)
    assert tuple(out[32, 48]) == (200, 200, 200)
    vid = make_video(tmp_path / "bg.mp4", n=3, w=32, h=24, audio=False)
    fx = make_effect("replace", card, background=vid)
    for _ in range(7):  # loops past its 3 frames
        out = fx(frame, pred)
    assert out.shape == (64, 96, 3) and fx.video.frames_read == 7
    fx.close()


def test_replace_needs_a_readable_background(card, tmp_path):
    with pytest.raises(ConfigError, match="--background"):
        make_effect("replace", card)
    with pytest.raises(InputError, match="not found"):
        make_effect("replace", card, background=tmp_path / "missing.png")
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(InputError):
        make_effect("replace", card, background=tmp_path / "junk.png")


def test_matte_alpha_matches_foreground(card, frame):
    pred = _pred(64, 96, (16, 48, 24, 72))
    out = make_effect("matte", card, feather=0)(frame, pred)
    assert out.shape == (64, 96, 4)
    assert np.array_equal(out[:, :, :3], frame)
    expect = pred.foreground([1])
    assert np.abs(out[:, :, 3].astype(float) - expect * 255).max() <= 1.0


def test_side_by_side(card, frame):
    pred = _pred(64, 96, (16, 48, 24, 72))
    out = make_effect("side-by-side", card)(frame, pred)
    assert np.array_equal(out[:, :96], frame)


def test_foreground_classes_and_errors(card):
    fx = make_effect("blur", card, foreground="car,1")
    assert fx.classes == [2, 1]
    assert make_effect("matte", card).classes == [1]  # card default
    with pytest.raises(ConfigError, match="unknown class"):
        make_effect("blur", card, foreground="dog")
    with pytest.raises(ConfigError, match="unknown effect"):
        make_effect("sparkles", card)
    with pytest.raises(ConfigError, match="alpha"):
        make_effect("overlay", card, alpha=2)
    assert default_foreground(ModelCard(name="x", classes=["a", "b", "c"])) == [1, 2]


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (31, 17)])
def test_odd_and_tiny_frames(card, shape):
    h, w = shape
    frame = np.full((h, w, 3), 90, np.uint8)
    pred = Prediction(
        np.stack(
            [
                np.ones((4, 4), np.float32) * 0.3,
                np.ones((4, 4), np.float32) * 0.7,
                np.zeros((4, 4), np.float32),
            ]
        ),
        (h, w),
    )
    for name in ("overlay", "blur", "matte", "mask", "side-by-side"):
        out = make_effect(name, card)(frame, pred)
        assert out.shape[:2] == make_effect(name, card).out_size(h, w)


def test_cover_crops_to_size():
    img = np.zeros((10, 40, 3), np.uint8)
    assert cover(img, 30, 30).shape == (30, 30, 3)
    assert cover(img, 5, 100).shape == (5, 100, 3)
