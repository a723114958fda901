"""Optimizers (SGD+momentum, AdamW, AdaBound) and per-iteration LR schedules with warm-up.

AdaBound (Luo et al., ICLR 2019) is written here: its PyPI package ``adabound`` has had no
release since 2019 and does not track current torch, so we keep a small, tested copy of the
published update rule instead of depending on it.
"""

from __future__ import annotations

import math

import torch

from liveseg.errors import ConfigError


class AdaBound(torch.optim.Optimizer):
    """Adam whose per-parameter step size is clipped to bounds that converge to ``final_lr``
    (scaled with the current lr), so it moves from Adam-like to SGD-like steps."""

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        final_lr=0.1,
        gamma=1e-3,
        eps=1e-8,
        weight_decay=0.0,
    ):
        if lr <= 0 or final_lr <= 0 or not 0 <= betas[0] < 1 or not 0 <= betas[1] < 1:
            raise ConfigError("adabound: lr, final_lr > 0 and betas in [0, 1) required")
        defaults = {
            "lr": lr,
            "betas": betas,
            "final_lr": final_lr,
            "gamma": gamma,
            "eps": eps,
            "weight_decay": weight_decay,
            "base_lr": lr,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if group["weight_decay"]:
                    grad = grad.add(p, alpha=group["weight_decay"])
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = exp_avg_sq.sqrt().add_(group["eps"])
                step_size = group["lr"] * math.sqrt(1 - beta2**t) / (1 - beta1**t)
                final_lr = group["final_lr"] * group["lr"] / group["base_lr"]
                lower = final_lr * (1 - 1 / (group["gamma"] * t + 1))
                upper = final_lr * (1 + 1 / (group["gamma"] * t))
                step = (
                    torch.full_like(denom, step_size).div_(denom).clamp_(lower, upper).mul_(exp_avg)
                )
                p.sub_(step)
        return loss


def param_groups(model, weight_decay: float):
    """No weight decay on biases and normalisation parameters (1-D tensors)."""
    decay, no_decay = [], []
    for p in model.parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def build_optimizer(model, cfg: dict):
    name = str(cfg.get("name", "adamw")).lower()
    lr = float(cfg.get("lr", 1e-3))
    wd = float(cfg.get("weight_decay", 0.0))
    groups = param_groups(model, wd)
    if name == "sgd":
        return torch.optim.SGD(
            groups,
            lr=lr,
            momentum=float(cfg.get("momentum", 0.9)),
            nesterov=bool(cfg.get("nesterov", False)),
        )
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr)
    if name == "adabound":
        return AdaBound(
            groups,
            lr=lr,
            final_lr=float(cfg.get("final_lr", 0.1)),
            gamma=float(cfg.get("gamma", 1e-3)),
        )
    raise ConfigError(f"unknown optimizer {name!r}; choose sgd, adamw, adam or adabound")


class LRFactor:
    """lr multiplier per iteration: linear warm-up from ``warmup_ratio``, then poly / cosine /
    constant decay down to ``min_lr`` (absolute). A callable object so LambdaLR saves it."""

    def __init__(
        self, name, total_iters, base_lr, power=0.9, warmup_iters=0, warmup_ratio=0.1, min_lr=0.0
    ):
        if name not in ("poly", "cosine", "constant"):
            raise ConfigError(f"unknown schedule {name!r}; choose poly, cosine or constant")
        self.name = name
        self.total = max(1, int(total_iters))
        self.warmup = max(0, int(warmup_iters))
        self.ratio = float(warmup_ratio)
        self.power = float(power)
        self.floor = float(min_lr) / float(base_lr) if base_lr else 0.0

    def __call__(self, it: int) -> float:
        if it < self.warmup:
            return self.ratio + (1 - self.ratio) * it / self.warmup
        if self.name == "constant":
            return 1.0
        frac = min(1.0, (it - self.warmup) / max(1, self.total - self.warmup))
        if self.name == "poly":
            f = (1 - frac) ** self.power
        else:
            f = 0.5 * (1 + math.cos(math.pi * frac))
        return self.floor + (1 - self.floor) * f


def build_scheduler(optimizer, cfg: dict, total_iters: int, base_lr: float):
    fn = LRFactor(
        str(cfg.get("name", "poly")).lower(),
        total_iters,
        base_lr,
        power=cfg.get("power", 0.9),
        warmup_iters=cfg.get("warmup_iters", 0),
        warmup_ratio=cfg.get("warmup_ratio", 0.1),
        min_lr=cfg.get("min_lr", 0.0),
    )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, fn)
