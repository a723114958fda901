"""Atomic checkpoints with everything ``--resume`` needs to continue exactly.

Reading one (``load_checkpoint``) lives in ``liveseg.models.checkpoint``, below train, export
and quant, which all read checkpoints; it is importable from here as well, beside
``save_checkpoint``."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from liveseg.atomic import atomic_output
from liveseg.models.checkpoint import load_checkpoint  # noqa: F401 - read beside save


def rng_state() -> dict:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path, payload: dict) -> Path:
    """torch.save to a temporary file in the same folder, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        torch.save(payload, tmp)
    return path
