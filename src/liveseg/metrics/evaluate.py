"""Evaluation drivers (numpy only): saved prediction folders against ground truth, and any
predictor (a callable frame -> class probabilities) over a data set's samples.

Used by ``liveseg eval`` for ONNX/TFLite models (through the runtime engines), PyTorch
checkpoints, and other tools' saved predictions.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from liveseg.errors import InputError
from liveseg.metrics.labelmap import read_mask
from liveseg.metrics.segmentation import ConfusionMatrix
from liveseg.metrics.video import dtssd, evaluate_sequence, flicker_rate, summarize


def _pngs(folder: Path) -> dict[str, Path]:
    """Relative path without suffix -> file, for every image file under ``folder``."""
    from liveseg.images import is_image_path

    if not folder.is_dir():
        raise InputError(f"folder not found: {folder}")
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and is_image_path(p):
            out[str(p.relative_to(folder).with_suffix(""))] = p
    if not out:
        raise InputError(f"no image files under {folder}")
    return out


def _match(pred_dir, gt_dir):
    preds, gts = _pngs(Path(pred_dir)), _pngs(Path(gt_dir))
    missing = [k for k in gts if k not in preds]
    if missing:
        raise InputError(
            f"{len(missing)} of {len(gts)} ground-truth files have no prediction in {pred_dir} "
            f"(matched by file name), e.g. {missing[:3]}"
        )
    return [(k, preds[k], gts[k]) for k in gts]


def evaluate_label_dirs(
    pred_dir, gt_dir, num_classes: int, ignore_index: int | None = 255, class_names=None
) -> dict:
    """mIoU & co. over label-map PNGs matched by (relative) file name."""
    cm = ConfusionMatrix(num_classes, ignore_index)
    pairs = _match(pred_dir, gt_dir)
    for _, pp, gp in pairs:
        p, g = read_mask(pp), read_mask(gp)
        if p.shape != g.shape:
            raise InputError(
                f"prediction {pp} is {p.shape[1]}x{p.shape[0]} but ground truth {gp} "
                f"is {g.shape[1]}x{g.shape[0]}"
            )
        cm.update(p, g, name=str(gp))
    out = cm.summary(class_names)
    out["images"] = len(pairs)
    return out


def evaluate_clip_dirs(pred_dir, gt_dir, all_frames: bool = False, bound_th: float = 0.008) -> dict:
    """DAVIS J&F over ``<clip>/<frame>.png`` folders; any non-zero pixel is foreground."""
    pairs = _match(pred_dir, gt_dir)
    clips: dict[str, list] = {}
    for key, pp, gp in pairs:
        parts = Path(key).parts
        if len(parts) < 2:
            raise InputError(f"{gp}: expected <clip>/<frame>.png folders under {gt_dir}")
        clips.setdefault(str(Path(*parts[:-1])), []).append((pp, gp))
    per_clip = {}
    for clip, frames in clips.items():
        gts, preds = [], []
        for pp, gp in frames:
            p, g = read_mask(pp), read_mask(gp)
            if p.shape[:2] != g.shape[:2]:
                raise InputError(
                    f"prediction {pp} is {p.shape[1]}x{p.shape[0]} but ground truth "
                    f"{gp} is {g.shape[1]}x{g.shape[0]}"
                )
            gts.append(g != 0)
            preds.append(p != 0)
        per_clip[clip] = _clip_result(gts, preds, all_frames, bound_th)
    out = summarize(per_clip)
    out.update(_stability_means(per_clip))
    out["per_clip"] = per_clip
    return out


def _clip_result(gts, preds, all_frames, bound_th, soft=None) -> dict:
    r = evaluate_sequence(gts, preds, exclude_ends=not all_frames, bound_th=bound_th)
    r.pop("j_per_frame")
    r.pop("f_per_frame")
    r["flicker"] = flicker_rate(preds, gts)
    r["dtssd"] = dtssd(soft if soft is not None else preds, gts)
    return r


def _stills_result(gts, preds) -> dict:
    """Mean per-image IoU (J) and boundary F of a group of photos (any sizes)."""
    from liveseg.metrics.video import f_measure, j_measure

    js = [j_measure(g, p) for g, p in zip(gts, preds, strict=True)]
    fs = [f_measure(g, p) for g, p in zip(gts, preds, strict=True)]
    return {"images": len(js), "j": float(np.mean(js)), "f": float(np.mean(fs))}


def _stability_means(per_clip) -> dict:
    return {k: float(np.mean([c[k] for c in per_clip.values()])) for k in ("flicker", "dtssd")}


def upsample_probs(probs: np.ndarray, size_hw) -> np.ndarray:
    """(C, h, w) -> (C, H, W) bilinear (OpenCV, channel-last in chunks of <= 4 channels)."""
    h, w = int(size_hw[0]), int(size_hw[1])
    if probs.shape[1:] == (h, w):
        return probs
    out = np.empty((probs.shape[0], h, w), np.float32)
    for c0 in range(0, probs.shape[0], 4):
        chunk = np.ascontiguousarray(probs[c0 : c0 + 4].transpose(1, 2, 0), dtype=np.float32)
        r = cv2.resize(chunk, (w, h), interpolation=cv2.INTER_LINEAR)
        out[c0 : c0 + 4] = r.reshape(h, w, -1).transpose(2, 0, 1)
    return out


def evaluate_predictor(
    predict,
    items,
    num_classes: int,
    ignore_index: int | None,
    class_names=None,
    foreground_index: int | None = None,
    all_frames: bool = False,
    limit: int | None = None,
    progress=None,
    reset=None,
    on_label=None,
    stills: bool = False,
) -> dict:
    """Run ``predict(image) -> (C, H, W) probabilities at image size`` over ``items``, an iterable
    of (image, mask, group). Confusion-matrix metrics over everything; when
    ``foreground_index`` is given and items carry groups (clips, in frame order), DAVIS J&F per
    clip plus flicker / dtSSD. ``reset()`` is called at each new clip (temporal predictors);
    ``on_label(n, label_map)`` sees each arg-max label map (e.g. to save predictions).

    ``stills``: the groups are collections of photos (sources), not clips: every image counts,
    J is the mean per-image IoU and F the mean boundary F of each group (``out["stills"]``),
    and nothing temporal is measured."""
    cm = ConfusionMatrix(num_classes, ignore_index)
    per_clip = {}
    cur, gts, preds, softs = None, [], [], []

    def close():
        if cur is not None and gts:
            per_clip[cur] = (
                _stills_result(gts, preds)
                if stills
                else _clip_result(gts, preds, all_frames, 0.008, softs)
            )

    n = 0
    for image, mask, group in items:
        if foreground_index is not None and group and group != cur:
            close()
            cur, gts, preds, softs = group, [], [], []
            if reset is not None:
                reset()
        probs = predict(image)
        label = probs.argmax(0)
        if on_label is not None:
            on_label(n, label)
        cm.update(label, mask)
        if foreground_index is not None and group:
            valid = mask != ignore_index if ignore_index is not None else np.ones(mask.shape, bool)
            gts.append((mask == foreground_index) & valid)
            preds.append((label == foreground_index) & valid)
            if not stills:
                softs.append(probs[foreground_index] * valid)
        n += 1
        if progress is not None:
            progress(1)
        if limit and n >= limit:
            break
    close()
    out = cm.summary(class_names)
    out["images"] = n
    if per_clip and stills:
        js, fs = [c["j"] for c in per_clip.values()], [c["f"] for c in per_clip.values()]
        out["stills"] = {
            "j_mean": float(np.mean(js)),
            "f_mean": float(np.mean(fs)),
            "jf": float(np.mean(js) + np.mean(fs)) / 2,
            "groups": len(per_clip),
            "per_group": per_clip,
        }
    elif per_clip:
        video = summarize(per_clip)
        video.update(_stability_means(per_clip))
        video["per_clip"] = per_clip
        out["video"] = video
    return out
