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
