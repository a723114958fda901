"""Losses: cross-entropy (ignore index, class weights), OHEM cross-entropy, Lovász-softmax,
soft Jaccard, and weighted sums of them.

Lovász-softmax follows Berman et al., "The Lovász-Softmax loss" (CVPR 2018), written here from
the paper's algorithm (the authors' reference code is not a maintained package).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from liveseg.errors import ConfigError


def _valid(logits, target, ignore_index):
    """Flatten to (N, C) probabilities-to-be and (N,) labels over non-ignored pixels."""
    c = logits.shape[1]
    flat = logits.permute(0, 2, 3, 1).reshape(-1, c)
    lab = target.reshape(-1)
    keep = lab != ignore_index
    return flat[keep], lab[keep]


class CrossEntropy(nn.Module):
    def __init__(self, ignore_index=255, class_weights=None, label_smoothing=0.0):
        super().__init__()
        self.ignore_index = ignore_index
        self.register_buffer(
            "weight",
            None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32),
        )
        self.label_smoothing = float(label_smoothing)

    def forward(self, logits, target):
        return F.cross_entropy(
            logits,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
        )


class OhemCrossEntropy(nn.Module):
    """Online hard example mining: average CE over pixels whose target-class probability is below
    ``thresh``, keeping at least ``min_kept`` pixels (the hardest ones) per batch."""

    def __init__(self, ignore_index=255, class_weights=None, thresh=0.7, min_kept=10000):
        super().__init__()
        self.ignore_index = ignore_index
        self.register_buffer(
            "weight",
            None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32),
        )
        self.thresh = float(thresh)
        self.min_kept = int(min_kept)

    def forward(self, logits, target):
        pix = F.cross_entropy(
            logits, target, weight=self.weight, ignore_index=self.ignore_index, reduction="none"
        ).reshape(-1)
        valid = target.reshape(-1) != self.ignore_index
        n_valid = int(valid.sum())
        if n_valid == 0:
            return logits.sum() * 0.0
        with torch.no_grad():
            prob = F.softmax(logits.detach().float(), dim=1)
            safe = target.clone()
            safe[safe == self.ignore_index] = 0
            p_target = prob.gather(1, safe.unsqueeze(1)).reshape(-1)
            p_target[~valid] = 2.0  # never selected
            thresh = self.thresh
            k = min(self.min_kept, n_valid)
            if k > 0:
                kth = torch.kthvalue(p_target, k).values.item()
                thresh = max(thresh, kth)
            keep = valid & (p_target <= thresh)
        return pix[keep].mean()


def lovasz_grad(gt_sorted):
    """Gradient of the Lovász extension of the Jaccard loss w.r.t. sorted errors."""
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum(0)
    union = gts + (1.0 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    if gt_sorted.numel() > 1:
        jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


class LovaszSoftmax(nn.Module):
    """Lovász-softmax over all non-ignored pixels of the batch; classes='present' averages over
    classes present in the target (the paper's default), 'all' over every class."""

    def __init__(self, ignore_index=255, classes="present"):
        super().__init__()
        self.ignore_index = ignore_index
        if classes not in ("present", "all"):
            raise ConfigError("lovasz loss: classes must be 'present' or 'all'")
        self.classes = classes

    def forward(self, logits, target):
        flat, lab = _valid(logits.float(), target, self.ignore_index)
        if lab.numel() == 0:
            return logits.sum() * 0.0
        probs = F.softmax(flat, dim=1)
        losses = []
        for c in range(probs.shape[1]):
            fg = (lab == c).float()
            if self.classes == "present" and fg.sum() == 0:
                continue
            errors = (fg - probs[:, c]).abs()
            errors_sorted, perm = torch.sort(errors, descending=True)
            losses.append(torch.dot(errors_sorted, lovasz_grad(fg[perm])))
        if not losses:
            return logits.sum() * 0.0
        return torch.stack(losses).mean()


class SoftJaccard(nn.Module):
    """1 - soft IoU (probabilities instead of hard labels), averaged over classes present in the
    target or prediction mass; ignored pixels excluded."""

    def __init__(self, ignore_index=255, smooth=1.0):
        super().__init__()
        self.ignore_index = ignore_index
        self.smooth = float(smooth)

    def forward(self, logits, target):
        flat, lab = _valid(logits.float(), target, self.ignore_index)
        if lab.numel() == 0:
            return logits.sum() * 0.0
        probs = F.softmax(flat, dim=1)
        onehot = F.one_hot(lab, probs.shape[1]).float()
        inter = (probs * onehot).sum(0)
        union = probs.sum(0) + onehot.sum(0) - inter
        iou = (inter + self.smooth) / (union + self.smooth)
        present = onehot.sum(0) > 0
        return 1.0 - iou[present].mean() if present.any() else 1.0 - iou.mean()


def teacher_loss(logits, soft, valid, fg_ids):
    """Distillation from a foreground teacher: binary cross-entropy between the student's
    P(foreground) (softmax mass of the ``fg_ids`` classes) and the teacher's soft P, averaged
    over the pixels where the teacher's value is real (``valid``)."""
    p = F.softmax(logits.float(), dim=1)[:, list(fg_ids)].sum(1).clamp(1e-6, 1 - 1e-6)
    if p.shape[-2:] != soft.shape[-2:]:
        raise ValueError(
            f"teacher targets {tuple(soft.shape[-2:])} and logits "
            f"{tuple(p.shape[-2:])} differ in size"
        )
    bce = -(soft * torch.log(p) + (1 - soft) * torch.log(1 - p))
    n = valid.sum()
    return (bce * valid).sum() / n.clamp(min=1)


class WeightedSum(nn.Module):
    def __init__(self, terms):
        super().__init__()
        self.names = [n for n, _, _ in terms]
        self.weights = [w for _, w, _ in terms]
        self.terms = nn.ModuleList([m for _, _, m in terms])

    def forward(self, logits, target):
        parts = {}
        total = 0.0
        for name, w, m in zip(self.names, self.weights, self.terms, strict=True):
            v = m(logits, target)
            parts[name] = v.detach()
            total = total + w * v
        self.last_parts = parts
        return total


LOSSES = {
    "ce": CrossEntropy,
    "cross_entropy": CrossEntropy,
    "ohem": OhemCrossEntropy,
    "ohem_ce": OhemCrossEntropy,
    "lovasz": LovaszSoftmax,
    "lovasz_softmax": LovaszSoftmax,
    "jaccard": SoftJaccard,
}
_WEIGHTED = {CrossEntropy, OhemCrossEntropy}


def balanced_class_weights(counts, lo=0.2, hi=5.0) -> list[float]:
    """Class weights from labelled pixel counts: sqrt(median frequency / frequency), clipped to
    [lo, hi]. The square root and the clip keep rare classes from swamping the loss (plain
    median-frequency balancing, Eigen & Fergus 2015, can weigh a rare class 100x); classes
    without pixels get 1 (they add nothing to the loss either way)."""
    counts = torch.as_tensor(counts, dtype=torch.float64)
    present = counts > 0
    if not bool(present.any()):
        raise ConfigError("class_weights: balanced needs labelled pixels in the training set")
    freq = counts / counts.sum()
    median = freq[present].median()
    weights = torch.ones_like(freq)
    weights[present] = (median / freq[present]).sqrt().clamp(lo, hi)
    return [round(float(w), 4) for w in weights]


def build_loss(spec, ignore_index=255, class_weights=None) -> WeightedSum:
    """``spec``: list of {name, weight, **options}; class weights go to the CE-type terms."""
    if isinstance(spec, (str, dict)):
        spec = [spec]
    terms = []
    for item in spec:
        item = {"name": item} if isinstance(item, str) else dict(item)
        name = str(item.pop("name", "")).lower()
        weight = float(item.pop("weight", 1.0))
        if name not in LOSSES:
            raise ConfigError(f"unknown loss {name!r}; choose from {', '.join(sorted(LOSSES))}")
        cls = LOSSES[name]
        kwargs = dict(item, ignore_index=ignore_index)
        if cls in _WEIGHTED and class_weights is not None:
            kwargs["class_weights"] = class_weights
        try:
            terms.append((name, weight, cls(**kwargs)))
        except TypeError as exc:
            raise ConfigError(f"loss {name!r}: bad options {item}: {exc}") from None
    if not terms:
        raise ConfigError("loss: give at least one term")
    return WeightedSum(terms)
