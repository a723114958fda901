"""Evaluate a PyTorch model on a data set: one confusion matrix over the whole split, optional
flip and multi-scale (+flip) test-time augmentation, and per-clip J for foreground data sets;
``TorchPredictor``, a checkpoint's network frame by frame, for ``liveseg eval``."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from liveseg.errors import ConfigError
from liveseg.metrics.segmentation import ConfusionMatrix
from liveseg.metrics.video import j_measure
from liveseg.models.common import model_logits


def normalize(images_u8, mean, std):
    """(N, 3, H, W) uint8 -> float normalised with mean/std given in units of pixel/255."""
    x = images_u8.float().div_(255.0)
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (x - m) / s


def model_input(batch, device, mean, std):
    """The network input of a batch: normalised RGB, plus the previous-mask channel when the
    batch has one. That channel is NOT normalised: the runtime feeds raw [0, 1] probabilities."""
    x = normalize(batch["image"].to(device, non_blocking=True), mean, std)
    if "prev" in batch:
        x = torch.cat([x, batch["prev"].to(device, dtype=x.dtype, non_blocking=True)], 1)
    return x


@torch.no_grad()
def predict_probs(model, x, out_size, scales=(1.0,), flip=False):
    """Softmax probabilities at ``out_size`` (H, W), averaged over scales and flips."""
    h, w = x.shape[-2:]
    total = None
    for s in scales:
        xs = (
            x
            if abs(s - 1.0) < 1e-6
            else F.interpolate(
                x,
                size=(max(8, round(h * s)), max(8, round(w * s))),
                mode="bilinear",
                align_corners=False,
            )
        )
        variants = [False, True] if flip else [False]
        for fl in variants:
            inp = torch.flip(xs, dims=[3]) if fl else xs
            logits = model_logits(model(inp)).float()
            if fl:
                logits = torch.flip(logits, dims=[3])
            logits = F.interpolate(logits, size=out_size, mode="bilinear", align_corners=False)
            p = logits.softmax(1)
            total = p if total is None else total + p
    return total


@torch.no_grad()
def evaluate_model(
    model,
    loader,
    info,
    device,
    mean,
    std,
    scales=(1.0,),
    flip=False,
    limit=None,
    progress=None,
    channels_last=False,
    amp=False,
) -> dict:
    """Metrics dict: ConfusionMatrix.summary() (+ j_mean, fg_iou for foreground tasks)."""
    model.eval()
    cm = ConfusionMatrix(info.num_classes, info.ignore_index)
    per_clip: dict[str, list[float]] = {}
    groups = loader.dataset.groups() if hasattr(loader.dataset, "groups") else None
    seen = 0
    for batch in loader:
        x = model_input(batch, device, mean, std)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        masks = batch["mask"]
        sizes = batch.get("size", torch.tensor([masks.shape[-2:]] * len(masks)))
        hmax, wmax = masks.shape[-2:]
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
            probs = predict_probs(model, x, (int(hmax), int(wmax)), scales, flip)
        preds = probs.argmax(1).cpu().numpy()
        masks = masks.numpy()
        for k in range(len(preds)):
            h, w = int(sizes[k][0]), int(sizes[k][1])
            if (h, w) != (hmax, wmax):
                # Padded mask: re-predict at this sample's own size for exact resizing.
                p = (
                    predict_probs(model, x[k : k + 1], (h, w), scales, flip)
                    .argmax(1)[0]
                    .cpu()
                    .numpy()
                )
            else:
                p = preds[k]
            g = masks[k, :h, :w]
            cm.update(p, g)
            if info.task == "foreground" and groups is not None:
                idx = int(batch["index"][k])
                valid = g != info.ignore_index
                per_clip.setdefault(groups[idx] or "all", []).append(
                    j_measure((g == 1) & valid, (p == 1) & valid)
                )
        seen += len(preds)
        if progress is not None:
            progress(len(preds))
        if limit and seen >= limit:
            break
    out = cm.summary(info.classes)
    out["images"] = seen
    if info.task == "foreground":
        iou = cm.per_class_iou()
        out["fg_iou"] = None if not np.isfinite(iou[1]) else float(iou[1])
        if per_clip:
            out["j_mean"] = float(np.mean([np.mean(v) for v in per_clip.values()]))
            out["j_per_clip"] = {k: float(np.mean(v)) for k, v in per_clip.items()}
    return out


class TorchPredictor:
    """Checkpoint model: image resized to the trained input size, logits upsampled to it.
    Previous-mask models get, like in the runtime, the previous frame's foreground probability
    (at input size, raw [0, 1]; zeros at the start of each clip) as a 4th channel."""

    def __init__(self, model, cfg, device, scales, flip, fg_classes=(1,)):
        self.model, self.cfg, self.device = model, cfg, device
        self.scales, self.flip = scales, flip
        self.prev_mask = bool((cfg["model"].get("options") or {}).get("prev_mask", False))
        if self.prev_mask and (flip or len(scales) > 1 or abs(scales[0] - 1.0) > 1e-6):
            raise ConfigError("previous-mask models cannot be evaluated with --flip or --scales")
        self.fg = list(fg_classes)
        self.prev = None

    def reset(self):
        self.prev = None

    def __call__(self, image):
        import cv2

        w, h = int(self.cfg["input_size"][0]), int(self.cfg["input_size"][1])
        x = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
        t = torch.from_numpy(x).permute(2, 0, 1)[None].to(self.device)
        t = normalize(t, self.cfg["mean"], self.cfg["std"])
        if self.prev_mask:
            m = np.zeros((h, w), np.float32) if self.prev is None else self.prev
            t = torch.cat([t, torch.from_numpy(m)[None, None].to(t)], 1)
        with torch.no_grad():
            p = predict_probs(self.model, t, image.shape[:2], self.scales, self.flip)
        out = p[0].float().cpu().numpy()
        if self.prev_mask:
            fg = out[self.fg].sum(0)
            self.prev = np.ascontiguousarray(cv2.resize(fg, (w, h), interpolation=cv2.INTER_AREA))
        return out
