"""Per-frame preprocessing and postprocessing, built once from an IOSpec.

Preprocess: one ``cv2.resize`` (INTER_AREA when shrinking, INTER_LINEAR otherwise), then one
fused ``pixel * a + b`` per channel (``a = 1 / (255 std)``, ``b = -mean / std``, folded with
the input's quantization when it has one) written straight into the model's layout. Pure
uint8 inputs that take raw pixels skip the arithmetic. Every call returns a fresh array (the
pipeline queues tensors between threads).

Postprocess: raw output -> (C, h, w) float32 probabilities at the model's output resolution
(softmax of logits, one-hot of label maps, [1 - p, p] for one-channel foreground). Never
upsampled here: Prediction upsamples lazily.
"""

from __future__ import annotations

import cv2
import numpy as np

from liveseg.errors import InputError, ModelError
from liveseg.runtime.prediction import Prediction


def to_rgb(frame: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) from RGB, gray (H, W) / (H, W, 1) or RGBA frames."""
    if not isinstance(frame, np.ndarray):
        raise InputError(f"a frame must be a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise InputError(f"frames must be uint8 RGB, got dtype {frame.dtype}")
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    if frame.ndim == 3:
        c = frame.shape[2]
        if c == 3:
            return frame
        if c == 1:
            return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        if c == 4:
            return cv2.cvtColor(frame, cv2.COLOR_RGBA2RGB)
    raise InputError(f"frames must be (H, W, 3) RGB, gray or RGBA, got shape {frame.shape}")


class Preprocessor:
    """frame (H, W, 3) uint8 -> model input tensor (batch of one)."""

    def __init__(self, spec, fg_classes=(1,)):
        self.spec = spec
        self.W, self.H = spec.input_size
        self.nchw = spec.layout == "nchw"
        self.channels = spec.channels
        self.dtype = np.dtype(spec.input_dtype)
        self.fg_classes = list(fg_classes)
        mean = np.asarray(spec.mean, np.float64)
        std = np.asarray(spec.std, np.float64)
        a = 1.0 / (255.0 * std)
        b = -mean / std
        self.quantized = np.issubdtype(self.dtype, np.integer)
        if self.quantized:
            scale, zp = spec.input_quant or (1.0, 0.0)
            a, b = a / scale, b / scale + zp
            info = np.iinfo(self.dtype)
            self.qmin, self.qmax = info.min, info.max
        self.bgr = spec.color_order == "bgr"
        if self.bgr:
            a, b = a[::-1].copy(), b[::-1].copy()
        self.a = a.astype(np.float32)
        self.b = b.astype(np.float32)
        self.a_row = np.tile(self.a, self.W)
        self.b_row = np.tile(self.b, self.W)
        # Fast paths for integer inputs that take pixels as they are (or shifted by 128).
        self.identity = bool(
            self.quantized
            and self.dtype == np.uint8
            and np.allclose(a, 1.0, atol=1e-3)
            and np.allclose(b, 0.0, atol=0.51)
        )
        self.xor128 = bool(
            self.quantized
            and self.dtype == np.int8
            and np.allclose(a, 1.0, atol=1e-3)
            and np.allclose(b, -128.0, atol=0.51)
        )
        self.plain_float = self.dtype == np.float32

    def resize(self, frame: np.ndarray) -> np.ndarray:
        """Shrink by exact halvings with INTER_AREA (OpenCV's fast integer path, anti-aliased)
        while the frame is at least twice the model input, then one INTER_LINEAR resize.
        (A direct INTER_AREA resize by a fractional factor is ~5x slower: 1.4 ms for
        640x480 -> 256x256 on one core, against ~0.2 ms for this.)"""
        h, w = frame.shape[:2]
        while w >= 2 * self.W and h >= 2 * self.H and w % 2 == 0 and h % 2 == 0:
            w, h = w // 2, h // 2
            frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
        if (w, h) == (self.W, self.H):
            return frame
        return cv2.resize(frame, (self.W, self.H), interpolation=cv2.INTER_LINEAR)

    def __call__(self, frame: np.ndarray, prev: Prediction | None = None) -> np.ndarray:
        frame = to_rgb(frame)
        small = self.resize(frame)
        if self.bgr:
            small = small[:, :, ::-1]
        C = self.channels
        H, W = self.H, self.W
        if self.identity or self.xor128:
            img = small if not self.xor128 else (small ^ np.uint8(128)).view(np.int8)
            out = np.empty((1, C, H, W) if self.nchw else (1, H, W, C), self.dtype)
            if self.nchw:
                out[0, :3] = img.transpose(2, 0, 1)
            else:
                out[0, :, :, :3] = img
        else:
            out = np.empty((1, C, H, W) if self.nchw else (1, H, W, C), np.float32)
            if self.nchw:
                dst = out[0, :3]
                np.multiply(small.transpose(2, 0, 1), self.a[:, None, None], out=dst)
                dst += self.b[:, None, None]
            elif C == 3:
                # Rows of W*3 values with per-channel constants tiled along the row: numpy's
                # inner loop then runs over the whole row, not over 3 channels (8x faster).
                dst = out.reshape(H, W * 3)
                np.multiply(np.ascontiguousarray(small).reshape(H, W * 3), self.a_row, out=dst)
                dst += self.b_row
            else:
                tmp = np.empty((H, W * 3), np.float32)
                np.multiply(np.ascontiguousarray(small).reshape(H, W * 3), self.a_row, out=tmp)
                tmp += self.b_row
                dst = out[0, :, :, :3]
                dst[...] = tmp.reshape(H, W, 3)
            if self.quantized:
                np.rint(dst, out=dst)
                np.clip(dst, self.qmin, self.qmax, out=dst)
        if C == 4:
            self._prev_channel(out, prev)
        if out.dtype != self.dtype:
            out = out.astype(self.dtype)
        return out

    def _prev_channel(self, out: np.ndarray, prev: Prediction | None) -> None:
        """4th channel: the previous frame's foreground probability at model input size."""
        if prev is None:
            m = 0.0
        else:
            fg = [i for i in self.fg_classes if i < prev.num_classes] or [prev.num_classes - 1]
            m = prev.foreground_small(fg)
            if m.shape != (self.H, self.W):
                m = cv2.resize(m, (self.W, self.H), interpolation=cv2.INTER_LINEAR)
        if self.quantized:
            scale, zp = self.spec.input_quant or (1.0, 0.0)
            m = np.clip(np.rint(np.asarray(m, np.float32) / scale + zp), self.qmin, self.qmax)
        if self.nchw:
            out[0, 3] = m
        else:
            out[0, :, :, 3] = m


def softmax0(x: np.ndarray) -> np.ndarray:
    """Softmax over axis 0 of a (C, h, w) array -> new contiguous float32 (C, h, w).

    OpenCV's reductions and its SIMD exp are used instead of numpy's: on the 2-core test
    machine numpy's float32 exp runs ~5x slower than cv2.exp (2.1 vs 0.4 ms for 21x256x256).
    """
    C, h, w = x.shape
    y = np.ascontiguousarray(x, dtype=np.float32).reshape(C, h * w)
    m = cv2.reduce(y, 0, cv2.REDUCE_MAX)
    e = np.subtract(y, m)
    cv2.exp(e, dst=e)
    s = cv2.reduce(e, 0, cv2.REDUCE_SUM)
    cv2.divide(1.0, s, dst=s)
    e *= s
    return e.reshape(C, h, w)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function -> new float32 array (cv2.exp, clipped so exp cannot overflow)."""
    e = np.negative(x, dtype=np.float32)
    np.clip(e, -80.0, 80.0, out=e)
    shape = e.shape
    e = cv2.exp(e.reshape(shape[0], -1) if e.ndim > 1 else e.reshape(1, -1)).reshape(shape)
    e += 1.0
    np.reciprocal(e, out=e)
    return e


class Postprocessor:
    """raw model outputs -> Prediction at model output resolution."""

    def __init__(self, spec, classes=None, default_foreground=None):
        self.spec = spec
        # Carried by every Prediction: names for pred.foreground(["person"]) and its default.
        self.classes = tuple(classes) if classes else None
        self.default_foreground = tuple(default_foreground) if default_foreground else None
        self.index = spec.output_index
        self.kind = spec.output_kind
        self.layout = spec.output_layout
        self.h, self.w = spec.output_size
        self.C = spec.num_classes
        self.quant = spec.output_quant
        self._label_dtype = np.uint8 if self.C <= 256 else np.int32
        self._class_ids = np.arange(self.C, dtype=self._label_dtype)[:, None, None]

    def probs(self, raw) -> np.ndarray:
        y = raw[self.index] if isinstance(raw, (list, tuple)) else raw
        y = np.asarray(y)
        if self.quant is not None and self.kind != "labels":
            scale, zp = self.quant
            y = (y.astype(np.float32) - np.float32(zp)) * np.float32(scale)
        kind = self.kind
        if kind == "labels":
            lab = y.reshape(self.h, self.w)
            if lab.dtype.kind == "f":
                lab = np.rint(lab)
            # Narrow labels compare fastest; out-of-range labels are clipped into [0, C-1].
            lab = np.clip(lab, 0, self.C - 1).astype(self._label_dtype)
            return (lab[None] == self._class_ids).view(np.uint8).astype(np.float32)
        if kind in ("fg_prob", "fg_logit"):
            p = y.reshape(self.h, self.w).astype(np.float32, copy=False)
            if kind == "fg_logit":
                p = sigmoid(p)
            out = np.empty((2, self.h, self.w), np.float32)
            np.clip(p, 0.0, 1.0, out=out[1])
            np.subtract(1.0, out[1], out=out[0])
            return out
        # C-channel maps
        if self.layout == "nhwc":
            y = y.reshape(self.h, self.w, self.C).transpose(2, 0, 1)
        else:
            y = y.reshape(self.C, self.h, self.w)
        if kind == "logits":
            if self.C == 2:  # softmax of two = sigmoid of the difference: one exp, not two
                out = np.empty((2, self.h, self.w), np.float32)
                out[1] = sigmoid(np.subtract(y[1], y[0], dtype=np.float32))
                np.subtract(1.0, out[1], out=out[0])
                return out
            return softmax0(y)
        return np.ascontiguousarray(y, dtype=np.float32)

    def __call__(self, raw, frame_size) -> Prediction:
        return Prediction(
            self.probs(raw),
            (int(frame_size[0]), int(frame_size[1])),
            classes=self.classes,
            default_foreground=self.default_foreground,
        )


def check_output_shape(spec, arr: np.ndarray) -> None:
    n = spec.output_size[0] * spec.output_size[1]
    want = n * (1 if spec.output_kind in ("labels", "fg_prob", "fg_logit") else spec.num_classes)
    if arr.size != want:
        raise ModelError(
            f"model output {spec.output_name!r} has shape {tuple(arr.shape)}, "
            f"expected {want} values "
            f"for a {spec.output_size[1]}x{spec.output_size[0]} {spec.output_kind} map"
        )
