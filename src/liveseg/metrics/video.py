"""Video object segmentation metrics as the DAVIS benchmark defines them, plus temporal stability.

- J (region similarity): IoU of the binary masks; 1 when both are empty.
- F (contour accuracy): boundaries from ``seg2bmap`` (a pixel is on the boundary when it differs
  from its east, south or south-east neighbour), matched within ``ceil(0.008 * diagonal)``
  pixels using a disk-shaped dilation; precision / recall / F-measure with the benchmark's
  empty-boundary cases.
- Per sequence: mean, recall (fraction of frames > 0.5) and decay (mean of the first of 4
  temporal bins minus mean of the last), as in ``davis2017-evaluation``'s ``db_statistics``.
- Temporal stability: dtSSD (Erofeev et al.'s matting metric: RMS of the difference between the
  prediction's and the ground truth's frame-to-frame change) and a flicker rate (fraction of
  pixels whose predicted label changes while the ground truth does not).

numpy + OpenCV (dilation) only.
"""

from __future__ import annotations

import math
import warnings

import cv2
import numpy as np


# ---- per frame ---------------------------------------------------------------------------------
def j_measure(gt, pred, void=None) -> float:
    """Region similarity: |gt & pred| / |gt | pred|; 1.0 when both masks are empty."""
    gt = np.asarray(gt).astype(bool)
    pred = np.asarray(pred).astype(bool)
    if void is not None:
        keep = ~np.asarray(void).astype(bool)
        gt, pred = gt & keep, pred & keep
    union = np.count_nonzero(gt | pred)
    if union == 0:
        return 1.0
    return float(np.count_nonzero(gt & pred) / union)


def seg2bmap(seg) -> np.ndarray:
    """1-pixel-wide boundary map of a binary mask (DAVIS ``seg2bmap`` at the mask's own size)."""
    seg = np.asarray(seg).astype(bool)
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = (seg ^ e) | (seg ^ s) | (seg ^ se)
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = False
    return b


def disk(radius: int) -> np.ndarray:
    """Disk structuring element, identical to ``skimage.morphology.disk`` (x^2 + y^2 <= r^2)."""
    r = int(radius)
    y, x = np.ogrid[-r : r + 1, -r : r + 1]
    return ((x * x + y * y) <= r * r).astype(np.uint8)


def bound_pixels(shape, bound_th: float = 0.008) -> int:
    """Matching tolerance in pixels: ``bound_th`` itself when >= 1, else ceil(th * diagonal)."""
    if bound_th >= 1:
        return int(bound_th)
    return math.ceil(bound_th * math.hypot(shape[0], shape[1]))


def f_measure(gt, pred, void=None, bound_th: float = 0.008, return_pr: bool = False):
    """Contour accuracy F of ``pred`` against ``gt`` (DAVIS ``f_measure``)."""
    gt = np.asarray(gt).astype(bool)
    pred = np.asarray(pred).astype(bool)
    if void is not None:
        keep = ~np.asarray(void).astype(bool)
        gt, pred = gt & keep, pred & keep
    r = bound_pixels(gt.shape, bound_th)
    fg_b = seg2bmap(pred)
    gt_b = seg2bmap(gt)
    k = disk(r)
    fg_dil = cv2.dilate(fg_b.astype(np.uint8), k) > 0
    gt_dil = cv2.dilate(gt_b.astype(np.uint8), k) > 0
    n_fg = int(np.count_nonzero(fg_b))
    n_gt = int(np.count_nonzero(gt_b))
    if n_fg == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        precision = np.count_nonzero(fg_b & gt_dil) / n_fg
        recall = np.count_nonzero(gt_b & fg_dil) / n_gt
    f = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return (float(f), float(precision), float(recall)) if return_pr else float(f)


# ---- per sequence ------------------------------------------------------------------------------
def db_statistics(values) -> tuple[float, float, float]:
    """(mean, recall = fraction > 0.5, decay = mean(first of 4 bins) - mean(last bin))."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        mean = float(np.nanmean(v))
        recall = float(np.nanmean(v > 0.5))
        ids = (np.round(np.linspace(1, len(v), 5) + 1e-10) - 1).astype(int)
        bins = [v[ids[i] : ids[i + 1] + 1] for i in range(4)]
        decay = float(np.nanmean(bins[0]) - np.nanmean(bins[3]))
    return mean, recall, decay


def evaluate_sequence(gts, preds, exclude_ends: bool = True, bound_th: float = 0.008) -> dict:
    """J/F statistics of one clip from ordered binary masks (any non-zero = foreground).

    ``exclude_ends`` drops the first and last frames, as the DAVIS protocol does."""
    gts = list(gts)
    preds = list(preds)
    if len(gts) != len(preds):
        raise ValueError(f"{len(gts)} ground-truth frames but {len(preds)} predictions")
    idx = list(range(len(gts)))
    if exclude_ends and len(idx) > 2:
        idx = idx[1:-1]
    js = np.array([j_measure(gts[i], preds[i]) for i in idx])
    fs = np.array([f_measure(gts[i], preds[i], bound_th=bound_th) for i in idx])
    jm, jr, jd = db_statistics(js)
    fm, fr, fd = db_statistics(fs)
    return {
        "frames": len(idx),
        "j": jm,
        "j_recall": jr,
        "j_decay": jd,
        "f": fm,
        "f_recall": fr,
        "f_decay": fd,
        "jf": (jm + fm) / 2,
        "j_per_frame": js.tolist(),
        "f_per_frame": fs.tolist(),
    }


def summarize(per_clip: dict) -> dict:
    """Benchmark numbers over clips: means of the per-clip statistics (J&F = (J + F) / 2)."""
    if not per_clip:
        raise ValueError("no clips to summarize")
    keys = ("j", "j_recall", "j_decay", "f", "f_recall", "f_decay")
    m = {k: float(np.mean([c[k] for c in per_clip.values()])) for k in keys}
    return {
        "jf": (m["j"] + m["f"]) / 2,
        "j_mean": m["j"],
        "j_recall": m["j_recall"],
        "j_decay": m["j_decay"],
        "f_mean": m["f"],
        "f_recall": m["f_recall"],
        "f_decay": m["f_decay"],
        "clips": len(per_clip),
    }


# ---- temporal stability ------------------------------------------------------------------------
def dtssd(preds, gts=None) -> float:
    """Temporal SSD: mean over consecutive pairs of sqrt(mean(((p_t - p_{t-1}) - (g_t -
    g_{t-1}))^2)).

    ``preds`` / ``gts`` are (H, W) maps in [0, 1] (soft alpha or binary masks; uint8 masks with
    values 0/255 are scaled). Without ``gts`` the ground-truth change is taken as zero."""
    preds = [_unit(p) for p in preds]
    gts = None if gts is None else [_unit(g) for g in gts]
    if len(preds) < 2:
        return 0.0
    vals = []
    for t in range(1, len(preds)):
        d = preds[t] - preds[t - 1]
        if gts is not None:
            d = d - (gts[t] - gts[t - 1])
        vals.append(math.sqrt(float(np.mean(d * d))))
    return float(np.mean(vals))


def flicker_rate(preds, gts=None) -> float:
    """Fraction of pixels whose predicted label changes between consecutive frames while the
    ground truth's does not (without ``gts``: all label changes). Labels: integer maps."""
    if len(preds) < 2:
        return 0.0
    changed = stable = 0
    for t in range(1, len(preds)):
        pc = np.asarray(preds[t]) != np.asarray(preds[t - 1])
        if gts is None:
            st = np.ones_like(pc)
        else:
            st = np.asarray(gts[t]) == np.asarray(gts[t - 1])
        changed += int(np.count_nonzero(pc & st))
        stable += int(np.count_nonzero(st))
    return changed / stable if stable else 0.0


def _unit(x) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype == bool:
        return a.astype(np.float32)
    a = a.astype(np.float32)
    return a / 255.0 if a.max(initial=0) > 1.0 else a
