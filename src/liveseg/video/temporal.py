"""Temporal stage: decides per frame whether the network runs, and what to do otherwise.

A policy has one method the pipeline calls for every frame, in order:

    policy.step(frame, infer) -> Prediction

``frame`` is the (H, W, 3) uint8 RGB frame; ``infer(prev)`` runs the network on it (``prev`` is
the previous Prediction or None, for models that take the previous mask as an input) and
returns a Prediction. A policy may skip ``infer`` and propagate earlier predictions instead;
the returned Prediction's ``inferred`` says which happened. ``policy.stats()`` returns a dict
for the run summary.
"""

from __future__ import annotations

from liveseg.errors import ConfigError
from liveseg.runtime.prediction import Prediction


class EveryFrame:
    """The reference: the network runs on every frame."""

    name = "off"

    def __init__(self):
        self.last: Prediction | None = None
        self.inferred = 0

    def step(self, frame, infer) -> Prediction:
        pred = infer(self.last)
        self.last = pred
        self.inferred += 1
        return pred

    def stats(self) -> dict:
        return {"policy": self.name, "inferred_frames": self.inferred, "propagated_frames": 0}


def make_temporal(spec: str | None):
    """Build a policy from its ``--temporal`` spec."""
    if spec in (None, "", "off"):
        return EveryFrame()
    raise ConfigError(f"unknown --temporal {spec!r}; choose: off")
