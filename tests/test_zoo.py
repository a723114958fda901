"""The shipped models: present, small enough, with complete cards, and runnable."""

import numpy as np
import pytest

from liveseg import zoo
from liveseg.runtime import load_model

CARDS = zoo.list_shipped()


def test_default_model_is_shipped():
    assert zoo.resolve(zoo.DEFAULT_MODEL) is not None
    assert zoo.DEFAULT_MODEL in [c.name for c in CARDS]


@pytest.mark.parametrize("card", CARDS, ids=[c.name for c in CARDS])
def test_card_is_complete_and_file_small(card):
    path = zoo.resolve(card.name)
    assert path.stat().st_size <= 10 * 1000 * 1000
    assert card.training_data and card.license
    assert card.metrics.get("val"), "measured validation metrics"
    assert card.latency.get("1_threads") and card.latency.get("2_threads")
    if card.task == "foreground":
        assert "CC BY-NC 4.0" in card.license  # DAVIS terms travel with the weights


@pytest.mark.parametrize("card", CARDS, ids=[c.name for c in CARDS])
def test_shipped_model_segments_a_frame(card):
    model = load_model(card.name, threads=1)
    frame = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    pred = model.predict(frame)
    labels = pred.labels()
    assert labels.shape == (120, 160)
    assert labels.max() < len(card.classes)
    np.testing.assert_allclose(pred.probs.sum(axis=0), 1.0, atol=1e-3)


def test_shipped_names_are_unknown_to_resolve_when_paths():
    assert zoo.resolve("../" + zoo.DEFAULT_MODEL) is None
    assert zoo.resolve("no-such-model") is None


def test_default_is_the_person_model_and_the_subject_model_stays():
    card = next(c for c in CARDS if c.name == zoo.DEFAULT_MODEL)
    assert card.task == "foreground" and "person" in card.classes
    assert card.foreground == ["person"]
    assert zoo.resolve("davis-subject-unet-lite0-mlp-216x384-int8") is not None  # still by name
    import liveseg

    # --engine auto may run the default's fp16 sibling when it measures faster on this CPU
    base = zoo.DEFAULT_MODEL.rsplit("-", 1)[0]
    assert liveseg.load().card.name in (zoo.DEFAULT_MODEL, f"{base}-fp16")


def test_default_model_blurs_around_the_person_in_the_demo_still():
    """The README's first command: Grace Hopper stays sharp, the flag and wall are background.
    Regions are fractions of the frame (see docs/demo_before_after.png)."""
    import liveseg
    from liveseg.video.demo import demo_frames

    frames = list(demo_frames())
    model = liveseg.load()
    for k in (0, 60, len(frames) - 1):
        frame = frames[k]
        h, w = frame.shape[:2]
        alpha = model.segment(frame).foreground(["person"])
        assert alpha.shape == (h, w) and 0.0 <= alpha.min() and alpha.max() <= 1.0
        face = alpha[int(0.35 * h) : int(0.7 * h), int(0.35 * w) : int(0.65 * w)]
        left = alpha[int(0.1 * h) : int(0.5 * h), : int(0.12 * w)]
        right = alpha[int(0.1 * h) : int(0.5 * h), int(0.9 * w) :]
        assert face.mean() > 0.9, f"frame {k}: face alpha {face.mean():.2f}"
        assert left.mean() < 0.15 and right.mean() < 0.15, f"frame {k}: background alpha"
        # soft edges: the alpha is a probability, not a hard argmax
        assert ((alpha > 0.05) & (alpha < 0.95)).any()


def test_renamed_models_resolve_to_their_replacements():
    for old, new in zoo.RENAMED.items():
        assert zoo.resolve(new) is not None, new
        assert zoo.resolve(old) == zoo.resolve(new)
