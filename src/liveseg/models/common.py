"""Building blocks shared by backbones and heads, and the SegmentationModel wrapper.

Everything here exports with the TorchScript-based ONNX exporter (opset >= 17) for fixed and
dynamic H/W: spatial sizes are always taken from tensors (``interpolate(size=skip.shape[-2:])``),
never assumed to be exact multiples of the stride.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from liveseg.errors import ConfigError


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels to a multiple of ``divisor``, not going more than 10% below ``v``
    (the rule of the MobileNet/EfficientNet reference code)."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def make_act(act: str | None) -> nn.Module:
    if act is None or act == "none":
        return nn.Identity()
    if act == "relu":
        return nn.ReLU(inplace=True)
    if act == "relu6":
        return nn.ReLU6(inplace=True)
    if act == "hswish":
        return nn.Hardswish(inplace=True)
    if act == "hsigmoid":
        return nn.Hardsigmoid(inplace=True)
    if act == "sigmoid":
        return nn.Sigmoid()
    raise ValueError(f"unknown activation {act!r}")


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias) + BatchNorm + activation; 'same' padding for odd kernels and dilation."""

    def __init__(self, cin, cout, k=3, stride=1, dilation=1, groups=1, act="relu"):
        pad = (k - 1) // 2 * dilation
        super().__init__(
            nn.Conv2d(cin, cout, k, stride, pad, dilation=dilation, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            make_act(act),
        )
        self.out_channels = cout


class SeparableConv(nn.Sequential):
    """Depthwise kxk conv + BN (+act) then pointwise 1x1 conv + BN + act."""

    def __init__(self, cin, cout, k=3, stride=1, dilation=1, act="relu", dw_act=True):
        super().__init__(
            ConvBNAct(cin, cin, k, stride, dilation, groups=cin, act=act if dw_act else None),
            ConvBNAct(cin, cout, 1, act=act),
        )


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al.): global pool, 1x1 reduce, act, 1x1 expand, gate."""

    def __init__(self, channels, squeeze_channels, act="relu", gate="hsigmoid"):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.act = make_act(act)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.gate = make_act(gate)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * self.gate(self.fc2(self.act(self.fc1(s))))


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    b, c, h, w = x.shape
    x = x.reshape(b, groups, c // groups, h, w).transpose(1, 2)
    return x.reshape(b, c, h, w)


def resize_to(x: torch.Tensor, ref: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """Resize ``x`` to the spatial size of ``ref`` (exports as ONNX Resize with dynamic sizes)."""
    if mode == "nearest":
        return F.interpolate(x, size=ref.shape[-2:], mode="nearest")
    return F.interpolate(x, size=ref.shape[-2:], mode=mode, align_corners=False)


def _pool_matrix(n: torch.Tensor | int, bins: int, like: torch.Tensor) -> torch.Tensor:
    """(bins, n) matrix whose rows average the cells of adaptive pooling bins along one axis.

    Bin i covers [floor(i*n/bins), ceil((i+1)*n/bins)), exactly as F.adaptive_avg_pool2d.
    Built from arange/compare ops so that it exports to ONNX for dynamic n.
    """
    idx = torch.arange(n, device=like.device).to(like.dtype).unsqueeze(0)  # (1, n)
    i = torch.arange(bins, device=like.device).to(like.dtype).unsqueeze(1)  # (bins, 1)
    nf = idx.new_zeros(()) + n
    start = torch.floor(i * nf / bins)
    end = torch.ceil((i + 1) * nf / bins)
    m = ((idx >= start) & (idx < end)).to(like.dtype)
    return m / (end - start)


def adaptive_avg_pool(x: torch.Tensor, bins: int) -> torch.Tensor:
    """F.adaptive_avg_pool2d(x, bins) that also exports to ONNX with dynamic H/W.

    The TorchScript exporter only handles adaptive pooling to 1x1 or statically divisible sizes,
    so while tracing this is written as two small matrix products (pool rows, pool columns).
    """
    if bins == 1:
        return x.mean((2, 3), keepdim=True)
    if not (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()):
        return F.adaptive_avg_pool2d(x, bins)
    ph = _pool_matrix(x.shape[2], bins, x)  # (bins, H)
    pw = _pool_matrix(x.shape[3], bins, x)  # (bins, W)
    return torch.matmul(torch.matmul(ph, x), pw.transpose(0, 1))


class StagedBackbone(nn.Module):
    """A backbone built as ``self.stages`` (one nn.Sequential per output stride): ``forward``
    returns every stage's output, shallowest first. Subclasses set ``stages``, ``channels``
    (per stage) and ``reductions`` (stride of each stage's output)."""

    def forward(self, x):
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


# ---- the model every builder returns --------------------------------------------------------


@contextmanager
def eval_mode(model: nn.Module):
    """``model`` in eval mode for the block, its own mode (train or eval) restored after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def model_logits(out):
    """The main output of a model: a tensor, ``out['out']`` of a dict, or the first of a tuple."""
    if isinstance(out, dict):
        return out["out"]
    if isinstance(out, (tuple, list)):
        return out[0]
    return out


class SegmentationModel(nn.Module):
    """Backbone + head -> logits (N, num_classes, H, W) at input resolution: the PyTorch network
    every architecture builder returns (``create_model``). Not to be confused with the runtime's
    ``SegModel`` (a model file + card + engine) or the public ``liveseg.Model`` (see
    ARCHITECTURE.md).

    Checks the input's rank and channels (skipped while tracing for export, where the shapes are
    fixed by the example input). ``pad_multiple`` > 1 pads the input on the bottom/right to a
    multiple (for networks whose branches must align exactly) and crops the logits back.
    """

    def __init__(
        self,
        backbone: nn.Module,
        head: nn.Module,
        num_classes: int,
        in_channels: int,
        arch: str = "",
        options: dict | None = None,
        pad_multiple: int = 1,
    ):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.pad_multiple = pad_multiple
        self.arch = arch
        self.options = dict(options or {})

    def check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise ConfigError(f"{self.arch}: input must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 4:
            raise ConfigError(
                f"{self.arch}: input must be NCHW (rank 4), got rank {x.dim()} with shape "
                f"{tuple(x.shape)}; add a batch dimension with x.unsqueeze(0)"
            )
        if x.shape[1] != self.in_channels:
            raise ConfigError(
                f"{self.arch}: input has {x.shape[1]} channels, this model takes "
                f"{self.in_channels} (3 = RGB, 4 = RGB + previous mask)"
            )
        if x.shape[2] < 8 or x.shape[3] < 8:
            raise ConfigError(f"{self.arch}: input {tuple(x.shape[2:])} is too small (min 8x8)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()):
            self.check_input(x)
        inp = x
        if self.pad_multiple > 1:
            m = self.pad_multiple
            h, w = x.shape[2], x.shape[3]
            x = F.pad(x, [0, (m - w % m) % m, 0, (m - h % m) % m])
        feats = self.backbone(x)
        logits = self.head(feats)
        if self.pad_multiple > 1:
            logits = resize_to(logits, x)
            return logits[:, :, : inp.shape[2], : inp.shape[3]]
        return resize_to(logits, inp)
