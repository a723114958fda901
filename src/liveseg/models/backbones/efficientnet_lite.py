"""EfficientNet-Lite (Tan & Le 2019; the TF "lite" variants): EfficientNet-B0's MBConv blocks
without squeeze-excite, with ReLU6 instead of swish, and the stem (32 channels) and the first and
last stages' repeats kept fixed when the network is scaled. ``width_mult`` scales every block's
channels (rounded to multiples of 8), ``depth_mult`` the repeats of the middle stages
(``LITE_VARIANTS`` holds the published lite0/1/2 pairs, whose ImageNet weights
``liveseg.models.pretrained`` loads). ``output_stride=16`` runs the last stride-2 stage at
stride 1 with dilated depthwise convs (the DeepLab way; the weights are the same, so the
ImageNet weights still load).
"""

from __future__ import annotations

import math

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

# name -> (width_mult, depth_mult), from the reference efficientnet_lite_builder
LITE_VARIANTS = {"lite0": (1.0, 1.0), "lite1": (1.0, 1.1), "lite2": (1.1, 1.2)}


class MBConvLite(InvertedResidual):
    """MBConv without SE: 1x1 expand (ReLU6), kxk depthwise (ReLU6), 1x1 project (linear)."""

    def __init__(self, cin, cout, k, stride, expand, dilation=1):
        nn.Module.__init__(self)
        hidden = cin * expand
        layers = []
        if expand != 1:
            layers.append(ConvBNAct(cin, hidden, 1, act="relu6"))
        layers += [
            ConvBNAct(hidden, hidden, k, stride, dilation, groups=hidden, act="relu6"),
            ConvBNAct(hidden, cout, 1, act=None),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_res = stride == 1 and cin == cout


class EfficientNetLite(StagedBackbone):
    """Lite encoder; features at strides 2, 4, 8, 16, 32 (no 1280-channel head conv), or
    2, 4, 8, 16, 16 with ``output_stride=16``."""

    def __init__(self, in_channels=3, width_mult=1.0, depth_mult=1.0, output_stride=32):
        super().__init__()
        if output_stride not in (16, 32):
            raise ValueError(f"output_stride must be 16 or 32, got {output_stride}")
        stem = 32  # fixed in the Lite variants
        stages: list[list[nn.Module]] = [[ConvBNAct(in_channels, stem, 3, 2, act="relu6")]]
        chans = [stem]
        cin = stem
        stride, dilation = 2, 1
        for j, (k, s, e, c, n) in enumerate(B0_BLOCKS):
            cout = make_divisible(c * width_mult, 8)
            if 0 < j < len(B0_BLOCKS) - 1:  # the lite variants keep the first and last repeats
                n = math.ceil(n * depth_mult)
            first_dilation = dilation
            if s == 2:
                stages.append([])
                chans.append(cout)
                if stride * 2 > output_stride:  # dilate instead of striding
                    s, dilation = 1, dilation * 2
                else:
                    stride *= 2
            for i in range(n):
                # the first block of a dilated stage keeps the previous dilation (DeepLab)
                d = first_dilation if i == 0 else dilation
                stages[-1].append(MBConvLite(cin, cout, k, s if i == 0 else 1, e, d))
                cin = cout
            chans[-1] = cout
        self.stages = nn.ModuleList(nn.Sequential(*s) for s in stages)
        self.channels = chans
        self.reductions = [min(2 ** (i + 1), output_stride) for i in range(len(stages))]
        self.output_stride = output_stride
        self.width_mult = width_mult
        self.depth_mult = depth_mult
