"""The card a 'liveseg train' checkpoint implies (info + config, no card stored)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from liveseg.models.checkpoint import describe_checkpoint

INFO = {"task": "semantic", "classes": ["background", "subject"], "foreground": [1]}


def _ckpt(options):
    cfg = {
        "name": "run",
        "model": {"name": "unet_efficientnet_lite0_mlp", "options": options},
        "input_size": [64, 48],
        "mean": [0.5, 0.5, 0.5],
        "std": [0.5, 0.5, 0.5],
    }
    return {"config": cfg, "info": INFO, "model": {"w": 1}}


@pytest.mark.parametrize("options, expected", [({"prev_mask": True}, True), ({}, False)])
def test_card_says_whether_the_model_takes_the_previous_mask(options, expected):
    name, opts, _, card, _ = describe_checkpoint(_ckpt(options))
    assert name == "unet_efficientnet_lite0_mlp"
    assert opts == options
    assert card["prev_mask_input"] is expected
    assert card["architecture_options"] == options
    assert card["input_size"] == [64, 48]
