"""Prediction: one frame's segmentation, as the pipeline passes it between stages.

Probabilities stay at the model's output resolution (small, so temporal warping and
smoothing are cheap); labels and foreground alpha are produced at frame size on demand,
upsampling the small maps once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from liveseg.errors import ConfigError


@dataclass
class Prediction:
    # (C, h, w) float32 class probabilities at model output resolution; each pixel sums to 1.
    # Label-map models give one-hot maps; 1-channel foreground models give [1 - p, p].
    probs: np.ndarray
    # (height, width) of the frame this prediction belongs to.
    frame_size: tuple[int, int]
    # True when the network ran on this frame, False when it was propagated from earlier ones.
    inferred: bool = True
    extras: dict = field(default_factory=dict)
    # The model's class names (so ``foreground(["person"])`` works) and the classes that
    # count as foreground by default (the card's ``foreground``, else all but class 0).
    classes: tuple | None = None
    default_foreground: tuple | None = None

    @property
    def num_classes(self) -> int:
        return int(self.probs.shape[0])

    def labels_small(self) -> np.ndarray:
        """(h, w) uint8 arg-max at model resolution."""
        return np.argmax(self.probs, axis=0).astype(np.uint8)

    def labels(self) -> np.ndarray:
        """(H, W) uint8 class indices at frame size (nearest upsampling of the arg-max)."""
        small = self.labels_small()
        h, w = self.frame_size
        if small.shape == (h, w):
            return small
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)

    def class_indices(self, classes=None) -> list[int]:
        """Class names (case-insensitive) or indices -> indices; None: the default foreground.

        ConfigError (one line, naming the model's classes) for unknown names or indices."""
        n = self.num_classes
        if classes is None:
            if self.default_foreground:
                return list(self.default_foreground)
            return [0] if n <= 1 else list(range(1, n))
        if isinstance(classes, (str, int, np.integer)):
            classes = [classes]
        names = list(self.classes or ())
        lookup = {c.lower(): i for i, c in enumerate(names)}
        known = (
            f"this model's classes are: {', '.join(names)}"
            if names
            else f"this model has {n} unnamed classes: use indices 0..{n - 1}"
        )
        out = []
        for c in classes:
            if isinstance(c, (bool, np.bool_)):
                raise ConfigError(f"unknown class {c!r}; {known}")
            if isinstance(c, (int, np.integer)) or (isinstance(c, str) and c.strip().isdigit()):
                i = int(c)
                if not 0 <= i < n:
                    raise ConfigError(f"class index {i} is out of range; {known}")
                out.append(i)
            elif isinstance(c, str) and c.strip().lower() in lookup:
                out.append(lookup[c.strip().lower()])
            else:
                raise ConfigError(f"unknown class {c!r}; {known}")
        if not out:
            raise ConfigError(f"no classes given; {known}")
        return out

    def foreground_small(self, classes=None) -> np.ndarray:
        """(h, w) float32 probability that a pixel belongs to any of ``classes``."""
        idx = classes if _plain_indices(classes, self.num_classes) else self.class_indices(classes)
        if len(idx) == 1:
            return np.ascontiguousarray(self.probs[idx[0]], dtype=np.float32)
        return self.probs[idx].sum(axis=0, dtype=np.float32)

    def foreground(self, classes=None) -> np.ndarray:
        """(H, W) float32 soft foreground alpha in [0, 1] at frame size (bilinear upsampling).

        ``classes``: names (``["person", "car"]``) or indices; default: the model's
        foreground classes (the card's ``foreground``, else every class but the first)."""
        small = self.foreground_small(classes)
        h, w = self.frame_size
        if small.shape == (h, w):
            return small
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _plain_indices(classes, n) -> bool:
    """The effects' per-frame fast path: a list of valid int indices needs no lookup."""
    return (
        isinstance(classes, list)
        and bool(classes)
        and all(type(i) is int and 0 <= i < n for i in classes)
    )
