"""One training epoch and one validation pass: the loop that ``liveseg train`` (the Trainer)
and quantization-aware training share.

``train_one_epoch`` runs the optimisation steps over a loader: the network input of each
batch (``model_input``: normalised RGB plus the previous-mask channel when the batch has
one), channels_last and AMP when asked, logits resized to the label size, a loss function,
backward (through a GradScaler when given), gradient clipping, the optimizer and scheduler
steps, and a check that the loss stays finite. What differs between callers is the loss:
``supervised_loss`` (the configured criterion plus a teacher's soft labels) for the trainer,
``distillation_loss`` (cross-entropy plus KL towards the float model) for QAT.

``validate`` is the trainer's evaluator over a val loader, timed, with the fields a log row
carries. Setup, resume, checkpoints and logs stay with the callers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from liveseg.errors import ConfigError
from liveseg.models.common import model_logits
from liveseg.train.evaluate import evaluate_model, model_input

# loss_fn(logits, target, batch, inputs) -> scalar tensor; ``logits`` are at the target's size
LossFn = Callable[[torch.Tensor, torch.Tensor, dict, torch.Tensor], torch.Tensor]

VAL_KEYS = ("miou", "pixel_acc", "mean_class_acc", "fg_iou", "j_mean")


@dataclass
class EpochStats:
    """What one ``train_one_epoch`` call did: summed loss, images and iterations, seconds."""

    loss_sum: float
    images: int
    iters: int
    seconds: float


def _loss_error(it: int, value: float) -> Exception:
    return ConfigError(f"loss became {value} at iter {it + 1}; lower the learning rate")


def train_one_epoch(
    model,
    loader: Iterable,
    optimizer,
    loss_fn: LossFn,
    *,
    device,
    mean,
    std,
    max_iters: int | None = None,
    scheduler=None,
    scaler=None,
    amp: bool = False,
    channels_last: bool = False,
    grad_clip=None,
    freeze_bn: bool = False,
    on_iter: Callable[[int, float], None] | None = None,
    nonfinite: Callable[[int, float], Exception] = _loss_error,
) -> EpochStats:
    """One pass over ``loader`` (at most ``max_iters`` batches) in training mode.

    Batches are dicts with ``image`` (N,3,H,W) uint8 and ``mask`` (N,H,W) int64 (and ``prev``,
    ``soft``/``soft_valid`` when the data set gives them). ``scaler``: a ``torch.amp.GradScaler``
    (the trainer's, which its checkpoints carry) or None for plain steps; ``scheduler`` steps
    after every optimizer step. ``freeze_bn`` keeps BatchNorm statistics as they are.
    ``on_iter(it, loss)`` after each step; ``nonfinite(it, loss)`` builds the error raised when
    the loss is not finite.
    """
    model.train()
    if freeze_bn:
        from liveseg.train.init_from import freeze_batchnorm

        freeze_batchnorm(model)
    t0 = time.perf_counter()
    loss_sum, images, done = 0.0, 0, 0
    for it, batch in enumerate(loader):
        if max_iters is not None and it >= max_iters:
            break
        x = model_input(batch, device, mean, std)
        y = batch["mask"].to(device, non_blocking=True)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=amp):
            logits = model_logits(model(x))
            if logits.shape[-2:] != y.shape[-2:]:
                logits = F.interpolate(
                    logits, size=y.shape[-2:], mode="bilinear", align_corners=False
                )
        loss = loss_fn(logits, y, batch, x)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
        else:
            loss.backward()
        if grad_clip:
            if scaler is not None:
                scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), float(grad_clip))
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        if scheduler is not None:
            scheduler.step()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise nonfinite(it, value)
        loss_sum += value
        images += x.shape[0]
        done += 1
        if on_iter is not None:
            on_iter(it, value)
    return EpochStats(loss_sum, images, done, time.perf_counter() - t0)


def supervised_loss(criterion, ignore_index: int, teacher_weight: float = 0.0, fg_ids=()) -> LossFn:
    """The trainer's loss: ``criterion`` on the labels, plus ``teacher_weight`` x the teacher
    term on batches that carry a teacher's soft labels. A batch with no labelled pixel (teacher
    only images) has no supervised term."""

    def loss_fn(logits, target, batch, inputs):
        loss = (
            criterion(logits.float(), target)
            if bool((target != ignore_index).any())
            else logits.sum() * 0.0
        )
        if "soft" in batch and teacher_weight > 0:
            from liveseg.train.losses import teacher_loss

            device = target.device
            loss = loss + teacher_weight * teacher_loss(
                logits, batch["soft"].to(device), batch["soft_valid"].to(device), fg_ids
            )
        return loss

    return loss_fn


def distillation_loss(teacher, weight: float, ignore_index: int) -> LossFn:
    """QAT's loss: cross-entropy on the labels plus ``weight`` x the per-pixel
    KL(teacher || student) of the class distributions, averaged over pixels. ``teacher`` None
    (or weight 0): labels only."""

    def loss_fn(logits, target, batch, inputs):
        loss = F.cross_entropy(logits, target, ignore_index=ignore_index)
        if teacher is not None and weight > 0:
            with torch.no_grad():
                t_logits = model_logits(teacher(inputs))
            if t_logits.shape[-2:] != logits.shape[-2:]:
                t_logits = F.interpolate(
                    t_logits, size=logits.shape[-2:], mode="bilinear", align_corners=False
                )
            kl = (
                F.kl_div(
                    F.log_softmax(logits, 1),
                    F.log_softmax(t_logits, 1),
                    reduction="none",
                    log_target=True,
                )
                .sum(1)
                .mean()
            )
            loss = loss + weight * kl
        return loss

    return loss_fn


@dataclass
class Validation:
    """A ``validate`` result: the evaluator's metrics and the seconds it took."""

    metrics: dict
    seconds: float

    def row(self) -> dict:
        """The fields of a training log row (log.csv / log.json), in their order."""
        row = {"val_s": round(self.seconds, 2)}
        for k in VAL_KEYS:
            if self.metrics.get(k) is not None:
                row[f"val_{k}"] = round(float(self.metrics[k]), 5)
        row["val_per_class_iou"] = self.metrics.get("per_class_iou")
        if self.metrics.get("j_per_clip"):  # per clip, or per source for photo collections
            row["val_j_per_group"] = self.metrics["j_per_clip"]
        return row


def validate(
    model, loader, info, *, device, mean, std, limit=None, channels_last=False, amp=False
) -> Validation:
    """``evaluate_model`` over ``loader`` (eval mode), timed."""
    t0 = time.perf_counter()
    metrics = evaluate_model(
        model, loader, info, device, mean, std, limit=limit, channels_last=channels_last, amp=amp
    )
    return Validation(metrics, time.perf_counter() - t0)
