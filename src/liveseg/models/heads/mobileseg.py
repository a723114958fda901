"""MobileSeg (PaddleSeg's mobile family; the PP-LiteSeg decoder over light backbones).

Head: a pyramid-pooling context module on the stride-32 features (bins 1, 2, 4, each a 1x1 conv,
upsampled and summed, then a 3x3 conv), then one unified attention fusion module (UAFM, spatial
attention) per level at strides 32, 16 and 8 (and 4 for Lite-HRNet, whose four branches are
all used): the higher-level features are upsampled to the
lower level, a spatial attention map from channel mean/max of both mixes them
(``x * a + y * (1 - a)``), and a 3x3 conv follows. A 3x3 conv + 1x1 classifier on the
highest-resolution output gives the logits, upsampled bilinearly to the input size.

Differences from PaddleSeg, on purpose: the pooled context branches use a biased conv + ReLU
without BatchNorm (a 1x1 pooled map makes BatchNorm fail for batch 1 in training), and the
auxiliary heads PaddleSeg adds at strides 16/32 in training are left out (the model returns one
output). Adaptive pooling to 2x2/4x4 is written so that it exports with dynamic H/W.
"""

from __future__ import annotations

import torch
from torch import nn

from liveseg.models import options as opt
from liveseg.models.backbones.ghostnet import GhostNet
from liveseg.models.backbones.lite_hrnet import LiteHRNet
from liveseg.models.backbones.mobilenetv2 import MobileNetV2
from liveseg.models.backbones.mobilenetv3 import MobileNetV3
from liveseg.models.backbones.shufflenetv2 import ShuffleNetV2
from liveseg.models.common import ConvBNAct, SegmentationModel, adaptive_avg_pool, resize_to
from liveseg.models.registry import register_model


class PyramidContext(nn.Module):
    def __init__(self, cin, inter, cout, bins=(1, 2, 4)):
        super().__init__()
        self.bins = tuple(bins)
        self.convs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(cin, inter, 1), nn.ReLU(inplace=True)) for _ in self.bins
        )
        self.out = ConvBNAct(inter, cout, 3)

    def forward(self, x):
        y = None
        for b, conv in zip(self.bins, self.convs, strict=True):
            z = resize_to(conv(adaptive_avg_pool(x, b)), x)
            y = z if y is None else y + z
        return self.out(y)


class UAFM(nn.Module):
    """Unified attention fusion with spatial attention (PP-LiteSeg, Peng et al. 2022)."""

    def __init__(self, low_ch, high_ch, out_ch):
        super().__init__()
        self.conv_low = ConvBNAct(low_ch, high_ch, 3)
        self.atten = nn.Sequential(ConvBNAct(4, 2, 3), ConvBNAct(2, 1, 3, act="sigmoid"))
        self.out = ConvBNAct(high_ch, out_ch, 3)

    def forward(self, low, high):
        x = self.conv_low(low)
        y = resize_to(high, x)
        a = self.atten(
            torch.cat(
                [
                    x.mean(1, keepdim=True),
                    x.amax(1, keepdim=True),
                    y.mean(1, keepdim=True),
                    y.amax(1, keepdim=True),
                ],
                1,
            )
        )
        return self.out(x * a + y * (1 - a))


class MobileSegHead(nn.Module):
    def __init__(
        self,
        in_channels,
        reductions,
        num_classes,
        bins=(1, 2, 4),
        context_channels=128,
        arm_channels=(32, 64, 128),
        head_channels=32,
        levels=(8, 16, 32),
    ):
        super().__init__()
        self.index = [reductions.index(r) for r in levels]
        chans = [in_channels[i] for i in self.index]
        self.context = PyramidContext(chans[-1], context_channels, context_channels, bins)
        arms, n = [], len(levels)
        for i in range(n):
            high = context_channels if i == n - 1 else arm_channels[i + 1]
            arms.append(UAFM(chans[i], high, arm_channels[i]))
        self.arms = nn.ModuleList(arms)
        self.seg = nn.Sequential(
            ConvBNAct(arm_channels[0], head_channels, 3), nn.Conv2d(head_channels, num_classes, 1)
        )

    def forward(self, feats):
        xs = [feats[i] for i in self.index]
        high = self.context(xs[-1])
        for i in reversed(range(len(xs))):
            high = self.arms[i](xs[i], high)
        return self.seg(high)


BACKBONES = {
    "mobilenetv3_large": lambda cin: MobileNetV3("large", cin, last_conv=False),
    "mobilenetv3_small": lambda cin: MobileNetV3("small", cin, last_conv=False),
    "mobilenetv2": lambda cin: MobileNetV2(cin),
    "shufflenetv2_x1_0": lambda cin: ShuffleNetV2(cin, "x1_0"),
    "ghostnet_x1_0": lambda cin: GhostNet(cin),
    "lite_hrnet_18": lambda cin: LiteHRNet(cin),
}


# Lite-HRNet's strength is its high-resolution branch: fuse all four (strides 4..32)
LEVELS = {"lite_hrnet_18": (4, 8, 16, 32)}


def _make_builder(backbone_name):
    name = f"mobileseg_{backbone_name}"

    def builder(
        num_classes=21,
        in_channels=None,
        prev_mask=False,
        context_bins=(1, 2, 4),
        context_channels=128,
        arm_channels=None,
    ):
        cin = opt.in_channels(name, in_channels, prev_mask)
        bins = tuple(context_bins) if isinstance(context_bins, (list, tuple)) else None
        if not bins or not all(isinstance(b, int) and 1 <= b <= 16 for b in bins):
            raise opt.ConfigError(
                f"{name}: context_bins must be integers in [1, 16], got {context_bins!r}"
            )
        opt.positive_int(name, "context_channels", context_channels, 8, 1024)
        levels = LEVELS.get(backbone_name, (8, 16, 32))
        if arm_channels is None:
            arm_channels = (32, 32, 64, 128)[-len(levels) :]
        arms = tuple(arm_channels) if isinstance(arm_channels, (list, tuple)) else ()
        if len(arms) != len(levels) or not all(isinstance(c, int) and 1 <= c <= 1024 for c in arms):
            raise opt.ConfigError(
                f"{name}: arm_channels must be {len(levels)} integers, got {arm_channels!r}"
            )
        backbone = BACKBONES[backbone_name](cin)
        head = MobileSegHead(
            backbone.channels,
            backbone.reductions,
            num_classes,
            bins,
            context_channels,
            arms,
            levels=levels,
        )
        pad = 32 if backbone_name.startswith("lite_hrnet") else 1
        return SegmentationModel(
            backbone,
            head,
            num_classes,
            cin,
            name,
            {
                "context_bins": list(bins),
                "context_channels": context_channels,
                "arm_channels": list(arms),
            },
            pad_multiple=pad,
        )

    builder.__name__ = name
    builder.__doc__ = (
        f"MobileSeg head over {backbone_name}. Options: context_bins, "
        "context_channels, arm_channels, in_channels/prev_mask."
    )
    return register_model(builder, name=name)


for _b in BACKBONES:
    _make_builder(_b)
