"""GhostNet x1.0 (Han et al. 2020): Ghost modules (a 1x1 "primary" conv producing half the
channels, a cheap 3x3 depthwise conv producing the other half) in MobileNetV3-like bottlenecks
with optional squeeze-excite (hard-sigmoid gate). The final 960-channel conv and the classifier
are left out: the segmentation head takes the last bottleneck (160 channels at 1/32).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from liveseg.models.common import ConvBNAct, SqueezeExcite, StagedBackbone, make_divisible

# kernel, expansion, out, se_ratio, stride  (Table 1 of the paper)
CFGS = [
    (3, 16, 16, 0, 1),
    (3, 48, 24, 0, 2),
    (3, 72, 24, 0, 1),
    (5, 72, 40, 0.25, 2),
    (5, 120, 40, 0.25, 1),
    (3, 240, 80, 0, 2),
    (3, 200, 80, 0, 1),
    (3, 184, 80, 0, 1),
    (3, 184, 80, 0, 1),
    (3, 480, 112, 0.25, 1),
    (3, 672, 112, 0.25, 1),
    (5, 672, 160, 0.25, 2),
    (5, 960, 160, 0, 1),
    (5, 960, 160, 0.25, 1),
    (5, 960, 160, 0, 1),
    (5, 960, 160, 0.25, 1),
]


class GhostModule(nn.Module):
    def __init__(self, cin, cout, ratio=2, dw_size=3, relu=True):
        super().__init__()
        self.cout = cout
        init = math.ceil(cout / ratio)
        act = "relu" if relu else None
        self.primary = ConvBNAct(cin, init, 1, act=act)
        self.cheap = ConvBNAct(init, init * (ratio - 1), dw_size, groups=init, act=act)

    def forward(self, x):
        a = self.primary(x)
        return torch.cat([a, self.cheap(a)], 1)[:, : self.cout]


class GhostBottleneck(nn.Module):
    def __init__(self, cin, mid, cout, k, stride, se_ratio):
        super().__init__()
        self.ghost1 = GhostModule(cin, mid, relu=True)
        self.dw = ConvBNAct(mid, mid, k, stride, groups=mid, act=None) if stride > 1 else None
        self.se = (
            SqueezeExcite(mid, make_divisible(mid * se_ratio, 4), "relu", "hsigmoid")
            if se_ratio
            else None
        )
        self.ghost2 = GhostModule(mid, cout, relu=False)
        if cin == cout and stride == 1:
            self.shortcut = None
        else:
            self.shortcut = nn.Sequential(
                ConvBNAct(cin, cin, k, stride, groups=cin, act=None),
                ConvBNAct(cin, cout, 1, act=None),
            )

    def forward(self, x):
        y = self.ghost1(x)
        if self.dw is not None:
            y = self.dw(y)
        if self.se is not None:
            y = self.se(y)
        y = self.ghost2(y)
        return y + (x if self.shortcut is None else self.shortcut(x))


class GhostNet(StagedBackbone):
    """Features at strides 2, 4, 8, 16, 32."""

    def __init__(self, in_channels=3, width_mult=1.0):
        super().__init__()
        stem = make_divisible(16 * width_mult, 4)
        stages: list[list[nn.Module]] = [[ConvBNAct(in_channels, stem, 3, 2)]]
        chans, cin = [stem], stem
        for k, exp, c, se, s in CFGS:
            cout = make_divisible(c * width_mult, 4)
            mid = make_divisible(exp * width_mult, 4)
            if s == 2:
                stages.append([])
                chans.append(cout)
            stages[-1].append(GhostBottleneck(cin, mid, cout, k, s, se))
            cin = cout
            chans[-1] = cout
        self.stages = nn.ModuleList(nn.Sequential(*s) for s in stages)
        self.channels = chans
        self.reductions = [2, 4, 8, 16, 32]
