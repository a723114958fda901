"""DeepLabV3 (Chen et al. 2017) over MobileNetV2: ASPP on the last features, then a 1x1
classifier; logits at the output stride, upsampled bilinearly to the input size.

ASPP: a 1x1 branch, three atrous 3x3 branches (depthwise-separable by default, as in
DeepLabV3+ and the mobile DeepLab variants) at rates (6, 12, 18) for output stride 16,
doubled for 8 and halved for 32, and an image-pooling branch; concatenated and projected
to 256 channels. The pooling branch has no BatchNorm (a 1x1 map per image would make
BatchNorm fail for batch size 1 in training); it uses a biased conv + ReLU.
"""

from __future__ import annotations

import torch
from torch import nn

from liveseg.models import options as opt
from liveseg.models.backbones.mobilenetv2 import MobileNetV2
from liveseg.models.common import ConvBNAct, SegmentationModel, SeparableConv, resize_to
from liveseg.models.registry import register_model

RATES = {8: (12, 24, 36), 16: (6, 12, 18), 32: (3, 6, 9)}


class ImagePooling(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        y = self.act(self.conv(x.mean((2, 3), keepdim=True)))
        # Upsampling the 1x1 map (a constant) instead of expand(): expand becomes TFLite's
        # BROADCAST_TO, which LiteRT fails to prepare in this graph.
        return resize_to(y, x)


class ASPP(nn.Module):
    def __init__(self, cin, cout=256, rates=(6, 12, 18), separable=True, dropout=0.1):
        super().__init__()
        branches = [ConvBNAct(cin, cout, 1)]
        for r in rates:
            branches.append(
                SeparableConv(cin, cout, 3, dilation=r)
                if separable
                else ConvBNAct(cin, cout, 3, dilation=r)
            )
        branches.append(ImagePooling(cin, cout))
        self.branches = nn.ModuleList(branches)
        self.project = nn.Sequential(ConvBNAct(cout * len(branches), cout, 1), nn.Dropout(dropout))
        self.out_channels = cout

    def forward(self, x):
        return self.project(torch.cat([b(x) for b in self.branches], 1))


class DeepLabV3Head(nn.Module):
    def __init__(
        self, in_channels, num_classes, rates, aspp_channels=256, separable=True, dropout=0.1
    ):
        super().__init__()
        self.aspp = ASPP(in_channels[-1], aspp_channels, rates, separable, dropout)
        self.classifier = nn.Conv2d(aspp_channels, num_classes, 1)

    def forward(self, feats):
        return self.classifier(self.aspp(feats[-1]))


def _deeplab_common(
    name, width_mult, output_stride, in_channels, prev_mask, aspp_channels, dropout
):
    opt.choice(name, "width_mult", width_mult, (0.35, 0.5, 0.75, 1.0))
    opt.choice(name, "output_stride", output_stride, (8, 16, 32))
    opt.positive_int(name, "aspp_channels", aspp_channels, 8, 1024)
    opt.dropout(name, dropout)
    cin = opt.in_channels(name, in_channels, prev_mask)
    return MobileNetV2(cin, width_mult, output_stride), cin


@register_model
def deeplabv3_mobilenetv2(
    num_classes=21,
    width_mult=1.0,
    output_stride=16,
    in_channels=None,
    prev_mask=False,
    aspp_channels=256,
    separable=True,
    dropout=0.1,
):
    """DeepLabV3 + MobileNetV2: ASPP, no decoder. Options: width_mult 0.35/0.5/0.75/1.0,
    output_stride 8/16/32, separable (depthwise-separable ASPP), aspp_channels."""
    name = "deeplabv3_mobilenetv2"
    backbone, cin = _deeplab_common(
        name, width_mult, output_stride, in_channels, prev_mask, aspp_channels, dropout
    )
    head = DeepLabV3Head(
        backbone.channels,
        num_classes,
        RATES[output_stride],
        aspp_channels,
        bool(separable),
        dropout,
    )
    return SegmentationModel(
        backbone,
        head,
        num_classes,
        cin,
        name,
        {
            "width_mult": width_mult,
            "output_stride": output_stride,
            "separable": bool(separable),
            "aspp_channels": aspp_channels,
        },
    )


__all__ = ["ASPP", "RATES", "DeepLabV3Head", "resize_to"]
