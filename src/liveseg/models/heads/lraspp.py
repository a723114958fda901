"""LR-ASPP (Howard et al. 2019, Section 6.4) over MobileNetV3-Large/-Small.

High branch on the last features (stride 16, the last stage dilated): 1x1 conv + BN + ReLU
(128 ch), gated by a global-pooling branch (1x1 conv + sigmoid); upsampled to the stride-8
features, classified and summed with a 1x1 classifier of the stride-8 features. Global average
pooling replaces the paper's large-stride 49x49 pooling (as in torchvision's reference).
"""

from __future__ import annotations

from torch import nn

from liveseg.models import options as opt
from liveseg.models.backbones.mobilenetv3 import MobileNetV3
from liveseg.models.common import ConvBNAct, SegmentationModel, resize_to
from liveseg.models.registry import register_model


class LRASPPHead(nn.Module):
    def __init__(self, in_channels, reductions, num_classes, inter_channels=128):
        super().__init__()
        self.low_index = reductions.index(8)
        self.cbr = ConvBNAct(in_channels[-1], inter_channels, 1)
        self.scale = nn.Sequential(nn.Conv2d(in_channels[-1], inter_channels, 1), nn.Sigmoid())
        self.low_classifier = nn.Conv2d(in_channels[self.low_index], num_classes, 1)
        self.high_classifier = nn.Conv2d(inter_channels, num_classes, 1)

    def forward(self, feats):
        low, high = feats[self.low_index], feats[-1]
        x = self.cbr(high) * self.scale(high.mean((2, 3), keepdim=True))
        x = resize_to(x, low)
        return self.low_classifier(low) + self.high_classifier(x)


def _lraspp(
    name,
    variant,
    num_classes,
    width_mult,
    output_stride,
    reduced_tail,
    in_channels,
    prev_mask,
    inter_channels,
):
    opt.choice(name, "width_mult", width_mult, (0.5, 0.75, 1.0, 1.25))
    opt.choice(name, "output_stride", output_stride, (16, 32))
    opt.positive_int(name, "inter_channels", inter_channels, 8, 1024)
    cin = opt.in_channels(name, in_channels, prev_mask)
    backbone = MobileNetV3(variant, cin, width_mult, output_stride, bool(reduced_tail))
    head = LRASPPHead(backbone.channels, backbone.reductions, num_classes, inter_channels)
    return SegmentationModel(
        backbone,
        head,
        num_classes,
        cin,
        name,
        {
            "width_mult": width_mult,
            "output_stride": output_stride,
            "reduced_tail": bool(reduced_tail),
            "inter_channels": inter_channels,
        },
    )


@register_model
def lraspp_mobilenetv3_large(
    num_classes=21,
    width_mult=1.0,
    output_stride=16,
    reduced_tail=False,
    in_channels=None,
    prev_mask=False,
    inter_channels=128,
):
    """LR-ASPP + MobileNetV3-Large. Options: width_mult, output_stride 16/32, reduced_tail."""
    return _lraspp(
        "lraspp_mobilenetv3_large",
        "large",
        num_classes,
        width_mult,
        output_stride,
        reduced_tail,
        in_channels,
        prev_mask,
        inter_channels,
    )


@register_model
def lraspp_mobilenetv3_small(
    num_classes=21,
    width_mult=1.0,
    output_stride=16,
    reduced_tail=False,
    in_channels=None,
    prev_mask=False,
    inter_channels=128,
):
    """LR-ASPP + MobileNetV3-Small. Options: width_mult, output_stride 16/32, reduced_tail."""
    return _lraspp(
        "lraspp_mobilenetv3_small",
        "small",
        num_classes,
        width_mult,
        output_stride,
        reduced_tail,
        in_channels,
        prev_mask,
        inter_channels,
    )
