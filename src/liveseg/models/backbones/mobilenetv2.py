"""MobileNetV2 (Sandler et al. 2018): inverted residual blocks with linear bottlenecks.

Optional dilation for output stride 8/16 (the DeepLab way: strides of the last stages become 1
and their convolutions atrous), width multiplier with channels rounded to multiples of 8.
"""

from __future__ import annotations

from torch import nn

from liveseg.models.common import ConvBNAct, StagedBackbone, make_divisible

# t (expansion), c (channels), n (repeats), s (stride) -- Table 2 of the paper
MNV2_SETTINGS = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand, dilation=1):
        super().__init__()
        hidden = round(cin * expand)
        layers = []
        if expand != 1:
            layers.append(ConvBNAct(cin, hidden, 1, act="relu6"))
        layers += [
            ConvBNAct(hidden, hidden, 3, stride, dilation, groups=hidden, act="relu6"),
            ConvBNAct(hidden, cout, 1, act=None),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_res = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(StagedBackbone):
    """Features at strides 2, 4, 8, 16, 32 (dilated instead of strided past output_stride)."""

    def __init__(self, in_channels=3, width_mult=1.0, output_stride=32):
        super().__init__()
        if output_stride not in (8, 16, 32):
            raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
        stem = make_divisible(32 * width_mult, 8)
        stride, dilation = 2, 1
        cin = stem
        stages: list[list[nn.Module]] = [[ConvBNAct(in_channels, stem, 3, 2, act="relu6")]]
        chans = [stem]
        for t, c, n, s in MNV2_SETTINGS:
            cout = make_divisible(c * width_mult, 8)
            prev_dilation = dilation
            block_stride = 1
            if s == 2:
                stages.append([])
                chans.append(cout)
                if stride >= output_stride:
                    dilation *= 2
                else:
                    block_stride = 2
                    stride *= 2
            for i in range(n):
                # the first block of a dilated stage keeps the previous dilation (DeepLab)
                d = prev_dilation if i == 0 else dilation
                stages[-1].append(InvertedResidual(cin, cout, block_stride if i == 0 else 1, t, d))
                cin = cout
            chans[-1] = cout
        self.stages = nn.ModuleList(nn.Sequential(*s) for s in stages)
        self.channels = chans
        self.reductions = [min(2 ** (i + 1), output_stride) for i in range(len(stages))]
