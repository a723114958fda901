"""EfficientNet-Lite0 (Tan & Le 2019; the TF "lite" variant): EfficientNet-B0's MBConv blocks
without squeeze-excite, with ReLU6 instead of swish, and the stem (32 channels) kept fixed when
the width is scaled. ``width_mult`` scales every block's channels (rounded to multiples of 8).
"""

from __future__ import annotations

from torch import nn

from liveseg.models.backbones.mobilenetv2 import InvertedResidual
from liveseg.models.common import ConvBNAct, StagedBackbone, make_divisible

# kernel, stride, expansion, out channels, repeats  (EfficientNet-B0, Table 1)
B0_BLOCKS = [
    (3, 1, 1, 16, 1),
    (3, 2, 6, 24, 2),
    (5, 2, 6, 40, 2),
    (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3),
    (5, 2, 6, 192, 4),
    (3, 1, 6, 320, 1),
]


class MBConvLite(InvertedResidual):
    """MBConv without SE: 1x1 expand (ReLU6), kxk depthwise (ReLU6), 1x1 project (linear)."""

    def __init__(self, cin, cout, k, stride, expand):
        nn.Module.__init__(self)
        hidden = cin * expand
        layers = []
        if expand != 1:
            layers.append(ConvBNAct(cin, hidden, 1, act="relu6"))
        layers += [
            ConvBNAct(hidden, hidden, k, stride, groups=hidden, act="relu6"),
            ConvBNAct(hidden, cout, 1, act=None),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_res = stride == 1 and cin == cout


class EfficientNetLite(StagedBackbone):
    """Lite0 encoder; features at strides 2, 4, 8, 16, 32 (no 1280-channel head conv)."""

    def __init__(self, in_channels=3, width_mult=1.0):
        super().__init__()
        stem = 32  # fixed in the Lite variants
        stages: list[list[nn.Module]] = [[ConvBNAct(in_channels, stem, 3, 2, act="relu6")]]
        chans = [stem]
        cin = stem
        for k, s, e, c, n in B0_BLOCKS:
            cout = make_divisible(c * width_mult, 8)
            if s == 2:
                stages.append([])
                chans.append(cout)
            for i in range(n):
                stages[-1].append(MBConvLite(cin, cout, k, s if i == 0 else 1, e))
                cin = cout
            chans[-1] = cout
        self.stages = nn.ModuleList(nn.Sequential(*s) for s in stages)
        self.channels = chans
        self.reductions = [2, 4, 8, 16, 32]

