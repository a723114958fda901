"""Synthetic "previous frame" masks for training models with a previous-mask input channel.

At run time a ``prev_mask_input`` model gets, as a 4th channel, the previous frame's foreground
probability at model input size (raw [0, 1], zeros when there is none: first frame, or after
a cut). Training frames are single images, so that channel is made here from the current
frame's own ground truth, degraded the way a previous prediction differs from the current
truth: the subject moved (translation, scale), the network was too tight or too loose
(erosion / dilation), it missed a part or hallucinated one (blob removal / addition), and it
outputs soft edges (blur). Without the degradation the network would learn to copy the
channel, and at run time it would then copy its own mistakes from frame to frame.

Everything is made from the mask AFTER the training transform (so it is aligned with the crop
and flip) and from a numpy Generator (so it is reproducible and independent of loader
workers). ``PrevMaskDataset`` adds it to each item as ``item["prev"]`` (float32, (1, H, W)).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import cv2
import numpy as np

from liveseg.errors import ConfigError


@dataclass(frozen=True)
class PrevMaskAug:
    """Strengths of the degradation; sizes are fractions of the mask's shorter side / size."""

    p_empty: float = 0.15  # all zeros (first frame, keyframe after a cut)
    shift: float = 0.05  # max translation, fraction of width / height
    scale: float = 0.08  # max relative scale change about the centre
    morph: float = 0.03  # max erosion / dilation radius, fraction of the shorter side
    p_blob: float = 0.3  # chance of a spurious blob added, and (separately) of a part removed
    blob: float = 0.2  # max blob radius, fraction of the shorter side
    blur: float = 0.02  # max Gaussian sigma, fraction of the shorter side (soft edges)

    def milder(self, factor: float = 0.5) -> PrevMaskAug:
        """The validation degradation: the same kinds, smaller (p_empty unchanged)."""
        return replace(
            self,
            shift=self.shift * factor,
            scale=self.scale * factor,
            morph=self.morph * factor,
            p_blob=self.p_blob * factor,
            blob=self.blob * factor,
        )


def parse_prev_mask(value) -> PrevMaskAug | None:
    """``data.prev_mask`` of a config: false/null (off), true (defaults) or a dict of strengths."""
    if value is None or value is False:
        return None
    if value is True:
        return PrevMaskAug()
    if not isinstance(value, dict):
        raise ConfigError(
            f"config: data.prev_mask must be true, false or a mapping of "
            f"{[f.name for f in fields(PrevMaskAug)]}, got {value!r}"
        )
    known = {f.name for f in fields(PrevMaskAug)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ConfigError(f"config: data.prev_mask: unknown keys {unknown}; known: {sorted(known)}")
    out = {}
    for k, v in value.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            raise ConfigError(f"config: data.prev_mask.{k} must be a number in [0, 1], got {v!r}")
        out[k] = float(v)
    return PrevMaskAug(**out)


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def synth_prev(fg: np.ndarray, rng: np.random.Generator, aug: PrevMaskAug) -> np.ndarray:
    """(H, W) float32 in [0, 1]: a plausible previous-frame prediction for foreground ``fg``
    (bool or 0/1, (H, W)). Deterministic given the state of ``rng``."""
    h, w = fg.shape
    side = min(h, w)
    if rng.random() < aug.p_empty:
        return np.zeros((h, w), np.float32)
    m = fg.astype(np.float32)
    # Motion: translation + scale about the centre (bilinear, outside = background).
    s = 1.0 + rng.uniform(-aug.scale, aug.scale)
    tx, ty = rng.uniform(-aug.shift, aug.shift) * w, rng.uniform(-aug.shift, aug.shift) * h
    cx, cy = (w - 1) / 2, (h - 1) / 2
    a = np.array([[s, 0, cx - s * cx + tx], [0, s, cy - s * cy + ty]], np.float32)
    m = cv2.warpAffine(m, a, (w, h), flags=cv2.INTER_LINEAR, borderValue=0.0)
    m = (m > 0.5).astype(np.uint8)
    # Too tight / too loose.
    r = round(rng.uniform(-aug.morph, aug.morph) * side)
    if r > 0:
        m = cv2.dilate(m, _disc(r))
    elif r < 0:
        m = cv2.erode(m, _disc(-r))
    # Hallucinated blob anywhere; missed part centred on the (current) foreground.
    for add in (True, False):
        if rng.random() >= aug.p_blob:
            continue
        rad = max(1, round(rng.uniform(0.25, 1.0) * aug.blob * side))
        ys, xs = np.nonzero(m) if not add else (None, None)
        if add or len(ys) == 0:
            cy_, cx_ = int(rng.integers(0, h)), int(rng.integers(0, w))
        else:
            k = int(rng.integers(0, len(ys)))
            cy_, cx_ = int(ys[k]), int(xs[k])
        axes = (rad, max(1, round(rad * rng.uniform(0.5, 1.5))))
        cv2.ellipse(m, (cx_, cy_), axes, float(rng.uniform(0, 180)), 0, 360, 1 if add else 0, -1)
    # Soft edges like a predicted probability.
    out = m.astype(np.float32)
    sigma = rng.uniform(0.25, 1.0) * aug.blur * side
    if sigma >= 0.3:
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    return np.clip(out, 0.0, 1.0)


def foreground_ids(info) -> list[int]:
    """Class indices that make up the channel, as the runtime picks them from the card:
    the data set's foreground classes, else the last class."""
    ids = [info.classes.index(c) for c in info.foreground if c in info.classes]
    return ids or [max(1, info.num_classes - 1)]


class PrevMaskDataset:
    """Wraps a SegmentationDataset: items get ``prev`` made from their (transformed) mask.

    Training: the full degradation, random per (seed, epoch, index), a stream separate from
    the transform's so the images and masks are those of the unwrapped data set. Validation
    (``fixed=True``): the milder degradation, seeded by (seed, index) only, so every epoch and
    every run scores against the same channels. Validation masks keep label resolution while
    images are resized; the channel is made at the image's size."""

    def __init__(self, base, aug: PrevMaskAug, fixed: bool = False):
        self.base = base
        self.aug = aug.milder() if fixed else aug
        self.fixed = fixed
        self.fg = np.asarray(foreground_ids(base.info))

    def __len__(self):
        return len(self.base)

    def __getattr__(self, name):  # info, set_epoch, groups, cached_bytes, samples, ...
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    def __getitem__(self, i: int):
        import torch

        item = self.base[i]
        mask = item["mask"].numpy()
        fg = np.isin(mask, self.fg).astype(np.uint8)  # ignore-index pixels count as background
        h, w = item["image"].shape[-2:]
        if fg.shape != (h, w):
            fg = cv2.resize(fg, (w, h), interpolation=cv2.INTER_NEAREST)
        key = [self.base.seed, 1, i] if self.fixed else [self.base.seed, self.base.epoch, i, 1]
        prev = synth_prev(fg, np.random.default_rng(key), self.aug)
        item["prev"] = torch.from_numpy(prev)[None]
        return item

    def describe(self) -> dict:
        return {"fixed": self.fixed, **asdict(self.aug)}
