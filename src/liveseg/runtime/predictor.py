"""A runtime model as the predictor ``liveseg eval`` scores (``liveseg.metrics.evaluate.
evaluate_predictor``: a callable frame -> (C, H, W) class probabilities at the frame's size),
with flip and multi-scale test-time augmentation and, for a previous-mask model, its own
previous prediction fed back as ``liveseg run`` does (``reset`` at the start of each clip).
"""

from __future__ import annotations

import numpy as np

from liveseg.errors import ConfigError
from liveseg.metrics.evaluate import upsample_probs
from liveseg.runtime.iospec import IOOverrides
from liveseg.runtime.model import load_model


class RuntimePredictor:
    """Runtime engine model -> (C, H, W) probabilities at frame size, with flip / scales."""

    def __init__(self, spec, engine, threads, scales, flip):
        # siblings=False: the scores are those of the file named, never of a sibling.
        self.main = load_model(spec, engine=engine, threads=threads, siblings=False)
        self.flip = flip
        self.models = []
        w, h = self.main.io.input_size
        for s in scales:
            if abs(s - 1.0) < 1e-6:
                self.models.append(self.main)
                continue
            if not getattr(self.main.io, "dynamic_size", False):
                raise ConfigError(
                    f"{self.main.path.name} has a fixed {w}x{h} input: multi-scale "
                    "needs a model exported with a dynamic size, or a checkpoint"
                )
            size = (max(8, round(w * s / 8) * 8), max(8, round(h * s / 8) * 8))
            self.models.append(
                load_model(
                    spec,
                    engine=engine,
                    threads=threads,
                    overrides=IOOverrides(input_size=size),
                    siblings=False,
                )
            )
        if self.main.io.prev_mask_input and (flip or len(self.models) > 1):
            raise ConfigError("previous-mask models cannot be evaluated with --flip or --scales")
        self.prev = None

    @property
    def card(self):
        return self.main.card

    def reset(self):
        self.prev = None

    def __call__(self, image):
        total = None
        for m in self.models:
            pred = m.predict(image, self.prev)
            if m is self.main and self.main.io.prev_mask_input:
                self.prev = pred
            p = upsample_probs(pred.probs, image.shape[:2])
            total = p if total is None else total + p
            if self.flip:
                fp = m.predict(np.ascontiguousarray(image[:, ::-1])).probs[:, :, ::-1]
                total = total + upsample_probs(np.ascontiguousarray(fp), image.shape[:2])
        return total
