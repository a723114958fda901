"""ShuffleNetV2 x1.0 (Ma et al. 2018): channel split, two-branch units, channel shuffle.

Stage channels 116 / 232 / 464 with 4 / 8 / 4 units; the final 1x1 conv (1024) is left out
(a classification head, not used for segmentation, as in PaddleSeg's backbone).
"""

from __future__ import annotations

import torch
from torch import nn

from liveseg.models.common import ConvBNAct, channel_shuffle

WIDTHS = {"x0_5": (48, 96, 192), "x1_0": (116, 232, 464), "x1_5": (176, 352, 704)}
REPEATS = (4, 8, 4)


class ShuffleUnit(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        branch = cout // 2
        if stride == 2:
            self.branch1 = nn.Sequential(
                ConvBNAct(cin, cin, 3, 2, groups=cin, act=None),
                ConvBNAct(cin, branch, 1),
            )
            b2_in = cin
        else:
            self.branch1 = None
            b2_in = branch
        self.branch2 = nn.Sequential(
            ConvBNAct(b2_in, branch, 1),
            ConvBNAct(branch, branch, 3, stride, groups=branch, act=None),
            ConvBNAct(branch, branch, 1),
        )

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat([x1, self.branch2(x2)], 1)
        else:
            out = torch.cat([self.branch1(x), self.branch2(x)], 1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """Features at strides 2, 4, 8, 16, 32."""

    def __init__(self, in_channels=3, size="x1_0"):
        super().__init__()
        stem = 24
        self.conv1 = ConvBNAct(in_channels, stem, 3, 2)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages, cin = [], stem
        for cout, n in zip(WIDTHS[size], REPEATS, strict=True):
            units = [ShuffleUnit(cin, cout, 2)] + [ShuffleUnit(cout, cout, 1) for _ in range(n - 1)]
            stages.append(nn.Sequential(*units))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.channels = [stem, stem, *WIDTHS[size]]
        self.reductions = [2, 4, 8, 16, 32]

    def forward(self, x):
        x = self.conv1(x)
        feats = [x]
        x = self.maxpool(x)
        feats.append(x)
        for st in self.stages:
            x = st(x)
            feats.append(x)
        return feats
