"""Lite-HRNet-18 (Yu et al. 2021): HRNet's parallel multi-resolution branches with shuffle
blocks whose 1x1 convs are replaced by *conditional channel weighting*: cross-resolution
weighting (all branches pooled to the smallest resolution, 1x1 convs, sigmoid, upsampled back)
and per-branch spatial weighting (squeeze-excite), around a 3x3 depthwise conv.

Lite-HRNet-18: stem 32 channels at 1/4; 3 stages of (2, 4, 2) modules with (2, 3, 4) branches of
(40, 80, 160, 320) channels, 2 blocks per module, reduce ratio 8, HRNet fusion after each module.
All branches are output (strides 4, 8, 16, 32), plus the stem's stride-2 conv.

Branch resolutions must be exact halves of each other, so the model using this backbone pads its
input to a multiple of 32 (SegmentationModel ``pad_multiple=32``) and crops the logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from liveseg.models.common import ConvBNAct, SqueezeExcite, channel_shuffle, resize_to

LITE_HRNET_18 = {
    "num_modules": (2, 4, 2),
    "num_branches": (2, 3, 4),
    "num_blocks": (2, 2, 2),
    "reduce_ratios": (8, 8, 8),
    "num_channels": ((40, 80), (40, 80, 160), (40, 80, 160, 320)),
}


class Stem(nn.Module):
    def __init__(self, cin, stem_channels=32, out_channels=32, expand_ratio=1):
        super().__init__()
        self.conv1 = ConvBNAct(cin, stem_channels, 3, 2)
        mid = round(stem_channels * expand_ratio)
        branch = stem_channels // 2
        inc = (
            out_channels - branch if stem_channels == out_channels else out_channels - stem_channels
        )
        self.branch1 = nn.Sequential(
            ConvBNAct(branch, branch, 3, 2, groups=branch, act=None), ConvBNAct(branch, inc, 1)
        )
        self.branch2 = nn.Sequential(
            ConvBNAct(branch, mid, 1),
            ConvBNAct(mid, mid, 3, 2, groups=mid, act=None),
            ConvBNAct(mid, branch if stem_channels == out_channels else stem_channels, 1),
        )

    def forward(self, x):
        s2 = self.conv1(x)
        x1, x2 = s2.chunk(2, dim=1)
        return s2, channel_shuffle(torch.cat([self.branch1(x1), self.branch2(x2)], 1), 2)


class CrossResolutionWeighting(nn.Module):
    def __init__(self, channels, ratio):
        super().__init__()
        self.channels = list(channels)
        total = sum(channels)
        self.conv1 = ConvBNAct(total, total // ratio, 1)
        self.conv2 = ConvBNAct(total // ratio, total, 1, act="sigmoid")

    def forward(self, xs):
        n = len(xs)
        # branch i is 2**(n-1-i) times larger than the smallest (input padded to /32):
        # fixed-kernel average pooling equals adaptive pooling to the smallest size
        pooled = [F.avg_pool2d(x, 2 ** (n - 1 - i)) for i, x in enumerate(xs[:-1])] + [xs[-1]]
        w = self.conv2(self.conv1(torch.cat(pooled, 1)))
        ws = torch.split(w, self.channels, dim=1)
        return [x * resize_to(a, x, "nearest") for x, a in zip(xs, ws, strict=True)]


class ConditionalChannelWeighting(nn.Module):
    def __init__(self, channels, reduce_ratio):
        super().__init__()
        half = [c // 2 for c in channels]
        self.crw = CrossResolutionWeighting(half, reduce_ratio)
        self.dw = nn.ModuleList(ConvBNAct(c, c, 3, groups=c, act=None) for c in half)
        self.sw = nn.ModuleList(SqueezeExcite(c, c // 4, "relu", "sigmoid") for c in half)

    def forward(self, xs):
        parts = [x.chunk(2, dim=1) for x in xs]
        x2 = self.crw([p[1] for p in parts])
        x2 = [sw(dw(x)) for x, dw, sw in zip(x2, self.dw, self.sw, strict=True)]
        return [channel_shuffle(torch.cat([p[0], b], 1), 2) for p, b in zip(parts, x2, strict=True)]


class LiteHRModule(nn.Module):
    def __init__(self, channels, num_blocks, reduce_ratio):
        super().__init__()
        self.blocks = nn.ModuleList(
            ConditionalChannelWeighting(channels, reduce_ratio) for _ in range(num_blocks)
        )
        n = len(channels)
        fuse = []
        for i in range(n):
            row = []
            for j in range(n):
                if j > i:
                    row.append(ConvBNAct(channels[j], channels[i], 1, act=None))
                elif j == i:
                    row.append(nn.Identity())
                else:
                    steps = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        steps += [
                            ConvBNAct(channels[j], channels[j], 3, 2, groups=channels[j], act=None),
                            ConvBNAct(
                                channels[j],
                                channels[i] if last else channels[j],
                                1,
                                act=None if last else "relu",
                            ),
                        ]
                    row.append(nn.Sequential(*steps))
            fuse.append(nn.ModuleList(row))
        self.fuse = nn.ModuleList(fuse)
        self.relu = nn.ReLU()

    def forward(self, xs):
        for b in self.blocks:
            xs = b(xs)
        out = []
        for i, row in enumerate(self.fuse):
            y = xs[i]
            for j, layer in enumerate(row):
                if j == i:
                    continue
                z = layer(xs[j])
                y = y + (resize_to(z, xs[i], "nearest") if j > i else z)
            out.append(self.relu(y))
        return out


class LiteHRNet(nn.Module):
    """Features: stem conv at stride 2 (32 ch), then branches at strides 4, 8, 16, 32."""

    def __init__(self, in_channels=3, spec=None):
        super().__init__()
        spec = spec or LITE_HRNET_18
        self.stem = Stem(in_channels, 32, 32, 1)
        pre = [32]
        transitions, stages = [], []
        for s in range(len(spec["num_modules"])):
            cur = list(spec["num_channels"][s])
            trans = []
            for i, c in enumerate(cur):
                if i < len(pre):
                    trans.append(
                        nn.Identity()
                        if pre[i] == c
                        else nn.Sequential(
                            ConvBNAct(pre[i], pre[i], 3, groups=pre[i], act=None),
                            ConvBNAct(pre[i], c, 1),
                        )
                    )
                else:
                    trans.append(
                        nn.Sequential(
                            ConvBNAct(pre[-1], pre[-1], 3, 2, groups=pre[-1], act=None),
                            ConvBNAct(pre[-1], c, 1),
                        )
                    )
            transitions.append(nn.ModuleList(trans))
            stages.append(
                nn.Sequential(
                    *[
                        LiteHRModule(cur, spec["num_blocks"][s], spec["reduce_ratios"][s])
                        for _ in range(spec["num_modules"][s])
                    ]
                )
            )
            pre = cur
        self.transitions = nn.ModuleList(transitions)
        self.stages = nn.ModuleList(stages)
        self.channels = [32, *pre]
        self.reductions = [2, 4, 8, 16, 32][: len(self.channels)]

    def forward(self, x):
        s2, x = self.stem(x)
        ys = [x]
        for trans, stage in zip(self.transitions, self.stages, strict=True):
            xs = [t(ys[i] if i < len(ys) else ys[-1]) for i, t in enumerate(trans)]
            ys = stage(xs)
        return [s2, *ys]
