"""Prediction: one frame's segmentation, as the pipeline passes it between stages.

Probabilities stay at the model's output resolution (small, so temporal warping and
smoothing are cheap); labels and foreground alpha are produced at frame size on demand,
upsampling the small maps once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np


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

    def foreground_small(self, classes) -> np.ndarray:
        """(h, w) float32 probability that a pixel belongs to any of ``classes``."""
        idx = list(classes)
        if len(idx) == 1:
            return np.ascontiguousarray(self.probs[idx[0]], dtype=np.float32)
        return self.probs[idx].sum(axis=0, dtype=np.float32)

    def foreground(self, classes) -> np.ndarray:
        """(H, W) float32 soft foreground alpha in [0, 1] at frame size (bilinear upsampling)."""
        small = self.foreground_small(classes)
        h, w = self.frame_size
        if small.shape == (h, w):
            return small
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
