"""Augmentation on uint8 arrays with OpenCV (no torch): image (H, W, 3) RGB, mask (H, W).

Every random choice comes from the ``rng`` passed in (a ``numpy.random.Generator``); the data
set seeds it from (seed, epoch, sample index), so an epoch's augmentation is the same whether
training ran straight through or was resumed, and whatever the number of loader workers.
Normalisation (mean/std) happens later on the batch, in torch.
"""

from __future__ import annotations

import cv2
import numpy as np


def resize_pair(img, mask, size_wh):
    w, h = int(size_wh[0]), int(size_wh[1])
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    if mask is not None:
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
    return img, mask


def letterbox_pair(img, mask, size_wh, ignore_index=255):
    """Fit inside (W, H) keeping the aspect; the border is black and labelled ``ignore_index``."""
    w, h = int(size_wh[0]), int(size_wh[1])
    ih, iw = img.shape[:2]
    s = min(w / iw, h / ih)
    nw, nh = max(1, round(iw * s)), max(1, round(ih * s))
    img, mask = resize_pair(img, mask, (nw, nh))
    x0, y0 = (w - nw) // 2, (h - nh) // 2
    pad = (y0, h - nh - y0, x0, w - nw - x0)
    img = cv2.copyMakeBorder(img, *pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    if mask is not None:
        mask = cv2.copyMakeBorder(mask, *pad, cv2.BORDER_CONSTANT, value=int(ignore_index))
    return img, mask


def photometric_jitter(img, rng, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0):
    """ColorJitter-style jitter: factors drawn uniformly in [1-x, 1+x]; hue shift in [-x, x]
    turns."""
    out = img.astype(np.float32)
    if brightness > 0:
        out *= rng.uniform(1 - brightness, 1 + brightness)
    if contrast > 0:
        c = rng.uniform(1 - contrast, 1 + contrast)
        mean = float((out @ np.array([0.299, 0.587, 0.114], np.float32)).mean())
        out = (out - mean) * c + mean
    if saturation > 0:
        s = rng.uniform(1 - saturation, 1 + saturation)
        grey = (out @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
        out = (out - grey) * s + grey
    out = np.clip(out, 0, 255).astype(np.uint8)
    if hue > 0:
        shift = round(rng.uniform(-hue, hue) * 180)  # OpenCV hue is 0..179
        if shift:
            hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)
            hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + shift) % 180).astype(np.uint8)
            out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return out


def degrade(img, rng, blur=None, noise=None, jpeg=None):
    """Camera degradations, each with its probability ``p``: Gaussian blur (``sigma`` range in
    pixels), Gaussian noise (``sigma`` in pixel units), JPEG re-encoding (``quality`` range)."""
    if blur and rng.random() < blur.get("p", 0.2):
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(*blur.get("sigma", (0.5, 1.5))))
    if noise and rng.random() < noise.get("p", 0.2):
        n = rng.normal(0.0, rng.uniform(*noise.get("sigma", (2.0, 8.0))), img.shape)
        img = np.clip(img.astype(np.float32) + n, 0, 255).astype(np.uint8)
    if jpeg and rng.random() < jpeg.get("p", 0.2):
        lo, hi = jpeg.get("quality", (30, 90))
        ok, buf = cv2.imencode(
            ".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(lo, hi + 1))]
        )
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return img


class TrainTransform:
    """Random scale (and aspect) -> pad (image 0, mask ignore) -> random crop -> flip ->
    photometric jitter -> camera degradations (blur, noise, JPEG; off unless configured).

    ``aspect=(lo, hi)``: the width/height scale ratio is drawn log-uniformly in that range, so
    the network also sees people stretched or squeezed as the runtime's resize to a fixed input
    shows them (a 3:4 photo or a 16:9 frame into a square input)."""

    def __init__(
        self,
        crop_size,
        scale=(0.5, 2.0),
        flip: bool = True,
        jitter: dict | None = None,
        ignore_index: int = 255,
        base_size=None,
        blur=None,
        noise=None,
        jpeg=None,
        aspect=None,
    ):
        self.aspect = (float(aspect[0]), float(aspect[1])) if aspect else None
        self.degrade = {
            k: dict(v) for k, v in (("blur", blur), ("noise", noise), ("jpeg", jpeg)) if v
        }
        self.crop_w, self.crop_h = int(crop_size[0]), int(crop_size[1])
        self.scale = (float(scale[0]), float(scale[1])) if scale else (1.0, 1.0)
        self.flip = bool(flip)
        self.jitter = dict(jitter or {})
        self.ignore_index = int(ignore_index)
        # Optional (W, H) the image is resized to before random scaling (scale is relative to it).
        self.base_size = tuple(base_size) if base_size else None

    def __call__(self, img, mask, rng: np.random.Generator):
        if self.base_size:
            img, mask = resize_pair(img, mask, self.base_size)
        s = rng.uniform(*self.scale)
        sx = sy = s
        if self.aspect:
            r = float(np.exp(rng.uniform(np.log(self.aspect[0]), np.log(self.aspect[1]))))
            sx, sy = s * r**0.5, s / r**0.5
        if abs(sx - 1.0) > 1e-6 or abs(sy - 1.0) > 1e-6:
            h, w = img.shape[:2]
            img, mask = resize_pair(img, mask, (max(1, round(w * sx)), max(1, round(h * sy))))
        h, w = img.shape[:2]
        ph, pw = max(0, self.crop_h - h), max(0, self.crop_w - w)
        if ph or pw:
            img = cv2.copyMakeBorder(img, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(0, 0, 0))
            # (H, W, 3) teacher-carrying masks pad class=ignore, P=0, valid=0
            fill = self.ignore_index if mask.ndim == 2 else (self.ignore_index, 0, 0)
            mask = cv2.copyMakeBorder(mask, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=fill)
            h, w = img.shape[:2]
        y = int(rng.integers(0, h - self.crop_h + 1))
        x = int(rng.integers(0, w - self.crop_w + 1))
        img = img[y : y + self.crop_h, x : x + self.crop_w]
        mask = mask[y : y + self.crop_h, x : x + self.crop_w]
        if self.flip and rng.random() < 0.5:
            img = img[:, ::-1]
            mask = mask[:, ::-1]
        if self.jitter:
            img = photometric_jitter(img, rng, **self.jitter)
        if self.degrade:
            img = degrade(np.ascontiguousarray(img), rng, **self.degrade)
        return np.ascontiguousarray(img), np.ascontiguousarray(mask)


class ValTransform:
    """Deterministic: the image is resized to the model input size; the mask keeps its size
    (predictions are upsampled to it, so metrics are measured at label resolution)."""

    def __init__(self, input_size):
        self.size = (int(input_size[0]), int(input_size[1]))

    def __call__(self, img, mask, rng=None):
        if img.shape[1] != self.size[0] or img.shape[0] != self.size[1]:
            img = cv2.resize(img, self.size, interpolation=cv2.INTER_LINEAR)
        return np.ascontiguousarray(img), mask
