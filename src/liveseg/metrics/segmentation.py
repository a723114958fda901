"""Semantic segmentation metrics from one confusion matrix accumulated over a whole split.

mIoU is computed from the summed confusion matrix (not as a mean of per-image IoUs), the
protocol of PASCAL VOC, Cityscapes and CamVid. Pixels whose ground truth is the ignore value
are excluded. Predicted labels outside ``[0, num_classes)`` count as wrong for the ground-truth
class (a false negative) but as no class's false positive.

numpy only: the runtime and the benchmarks use it too.
"""

from __future__ import annotations

import numpy as np

from liveseg.errors import InputError


class ConfusionMatrix:
    """``matrix[g, p]`` = number of pixels with ground truth ``g`` predicted as ``p``."""

    def __init__(self, num_classes: int, ignore_index: int | None = 255):
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes = int(num_classes)
        self.ignore_index = ignore_index
        # One extra column collects predictions outside the class set.
        self._m = np.zeros((self.num_classes, self.num_classes + 1), dtype=np.int64)

    # ---- accumulation ----------------------------------------------------------------------
    def update(self, pred, gt, name: str | None = None) -> None:
        """Add one prediction / ground-truth pair of equal shape (integer label maps).

        Ground-truth values that are neither a class index nor the ignore value are an
        InputError naming ``name`` (the file) and the offending values.
        """
        pred = np.asarray(pred)
        gt = np.asarray(gt)
        if pred.shape != gt.shape:
            where = f" ({name})" if name else ""
            raise InputError(
                f"prediction shape {pred.shape} differs from ground truth {gt.shape}{where}"
            )
        n = self.num_classes
        gt = gt.astype(np.int64, copy=False).ravel()
        pred = pred.astype(np.int64, copy=False).ravel()
        valid = gt != self.ignore_index if self.ignore_index is not None else np.ones_like(gt, bool)
        bad = valid & ((gt < 0) | (gt >= n))
        if bad.any():
            vals = np.unique(gt[bad])[:10].tolist()
            where = f" in {name}" if name else ""
            ign = (
                f" or the ignore value {self.ignore_index}" if self.ignore_index is not None else ""
            )
            raise InputError(
                f"ground-truth values {vals}{where} are outside the {n} classes (0..{n - 1}){ign}"
            )
        gt = gt[valid]
        pred = pred[valid]
        pred = np.where((pred < 0) | (pred >= n), n, pred)
        self._m += np.bincount(gt * (n + 1) + pred, minlength=n * (n + 1)).reshape(n, n + 1)

    def merge(self, other: ConfusionMatrix) -> None:
        if other.num_classes != self.num_classes:
            raise ValueError("cannot merge confusion matrices with different class counts")
        self._m += other._m

    def reset(self) -> None:
        self._m[:] = 0

    @property
    def matrix(self) -> np.ndarray:
        """The (C, C) matrix over valid predictions (out-of-range predictions left out)."""
        return self._m[:, : self.num_classes].copy()

    @property
    def raw(self) -> np.ndarray:
        """The (C, C+1) matrix including the out-of-range prediction column (for all-reduce)."""
        return self._m

    @raw.setter
    def raw(self, value) -> None:
        self._m = np.asarray(value, dtype=np.int64).reshape(self.num_classes, self.num_classes + 1)

    # ---- metrics ---------------------------------------------------------------------------
    def _parts(self):
        tp = np.diag(self._m[:, : self.num_classes]).astype(np.float64)
        gt_count = self._m.sum(axis=1).astype(np.float64)  # includes out-of-range predictions
        pred_count = self._m[:, : self.num_classes].sum(axis=0).astype(np.float64)
        return tp, gt_count, pred_count

    def per_class_iou(self) -> np.ndarray:
        """IoU per class; NaN for a class absent from both ground truth and prediction."""
        tp, g, p = self._parts()
        union = g + p - tp
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(union > 0, tp / np.maximum(union, 1), np.nan)

    def per_class_acc(self) -> np.ndarray:
        """Recall per class (correct / ground-truth pixels); NaN when a class has no pixels."""
        tp, g, _ = self._parts()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(g > 0, tp / np.maximum(g, 1), np.nan)

    def miou(self) -> float:
        """Mean IoU over classes present in ground truth or prediction (NaN if none)."""
        iou = self.per_class_iou()
        return float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")

    def pixel_acc(self) -> float:
        tp, g, _ = self._parts()
        total = g.sum()
        return float(tp.sum() / total) if total > 0 else float("nan")

    def mean_class_acc(self) -> float:
        acc = self.per_class_acc()
        return float(np.nanmean(acc)) if np.isfinite(acc).any() else float("nan")

    def total_pixels(self) -> int:
        return int(self._m.sum())

    def summary(self, class_names=None) -> dict:
        """JSON-ready dict: miou, per_class_iou (name -> value or None), pixel_acc, ..."""
        names = list(class_names) if class_names else [str(i) for i in range(self.num_classes)]
        iou = self.per_class_iou()
        acc = self.per_class_acc()

        def f(x):
            return None if not np.isfinite(x) else round(float(x), 6)

        return {
            "miou": f(self.miou()),
            "pixel_acc": f(self.pixel_acc()),
            "mean_class_acc": f(self.mean_class_acc()),
            "per_class_iou": {names[i]: f(iou[i]) for i in range(self.num_classes)},
            "per_class_acc": {names[i]: f(acc[i]) for i in range(self.num_classes)},
            "num_classes": self.num_classes,
            "ignore_index": self.ignore_index,
            "pixels": self.total_pixels(),
        }


def segmentation_metrics(preds, gts, num_classes: int, ignore_index: int | None = 255) -> dict:
    """Convenience: accumulate pairs of label maps and return ``ConfusionMatrix.summary()``."""
    cm = ConfusionMatrix(num_classes, ignore_index)
    for p, g in zip(preds, gts, strict=True):
        cm.update(p, g)
    return cm.summary()
