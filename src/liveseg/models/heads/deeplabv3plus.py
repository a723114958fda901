"""DeepLabV3+ (Chen et al. 2018) over MobileNetV2 or EfficientNet-Lite: the DeepLabV3 ASPP encoder
plus a decoder
that upsamples the ASPP output to stride 4, concatenates the stride-4 low-level features
(projected to 48 channels), refines with two 3x3 convs (depthwise-separable by default) and
classifies; logits at stride 4, upsampled bilinearly to the input size.
"""

from __future__ import annotations

import torch
from torch import nn

from liveseg.models import options as opt
from liveseg.models.backbones.efficientnet_lite import LITE_VARIANTS, EfficientNetLite
from liveseg.models.common import ConvBNAct, SegmentationModel, SeparableConv, resize_to
from liveseg.models.heads.deeplabv3 import ASPP, RATES, _deeplab_common
from liveseg.models.registry import register_model


class DeepLabV3PlusHead(nn.Module):
    def __init__(
        self,
        in_channels,
        reductions,
        num_classes,
        rates,
        aspp_channels=256,
        separable=True,
        dropout=0.1,
        low_channels=48,
        decoder_channels=256,
    ):
        super().__init__()
        self.low_index = reductions.index(4)
        self.aspp = ASPP(in_channels[-1], aspp_channels, rates, separable, dropout)
        self.low_proj = ConvBNAct(in_channels[self.low_index], low_channels, 1)
        cin = aspp_channels + low_channels
        conv = SeparableConv if separable else ConvBNAct
        self.refine = nn.Sequential(
            conv(cin, decoder_channels, 3), conv(decoder_channels, decoder_channels, 3)
        )
        self.classifier = nn.Conv2d(decoder_channels, num_classes, 1)

    def forward(self, feats):
        low = self.low_proj(feats[self.low_index])
        high = resize_to(self.aspp(feats[-1]), low)
        return self.classifier(self.refine(torch.cat([high, low], 1)))


@register_model
def deeplabv3plus_mobilenetv2(
    num_classes=21,
    width_mult=1.0,
    output_stride=16,
    in_channels=None,
    prev_mask=False,
    aspp_channels=256,
    separable=True,
    dropout=0.1,
):
    """DeepLabV3+ + MobileNetV2. Options: width_mult 0.35/0.5/0.75/1.0, output_stride 8/16/32,
    separable (depthwise-separable ASPP and decoder convs), aspp_channels, in_channels/prev_mask."""
    name = "deeplabv3plus_mobilenetv2"
    backbone, cin = _deeplab_common(
        name, width_mult, output_stride, in_channels, prev_mask, aspp_channels, dropout
    )
    head = DeepLabV3PlusHead(
        backbone.channels,
        backbone.reductions,
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


@register_model
def deeplabv3plus_efficientnet_lite0(
    num_classes=21,
    encoder="lite0",
    output_stride=16,
    in_channels=None,
    prev_mask=False,
    aspp_channels=256,
    decoder_channels=256,
    separable=True,
    dropout=0.1,
):
    """DeepLabV3+ on an EfficientNet-Lite encoder (whose ImageNet weights load:
    model.encoder_weights: imagenet). Options: encoder lite0|lite1|lite2, output_stride 16
    (last stage dilated) / 32, aspp_channels, decoder_channels, separable, in_channels/prev_mask."""
    name = "deeplabv3plus_efficientnet_lite0"
    opt.choice(name, "encoder", encoder, tuple(LITE_VARIANTS))
    opt.choice(name, "output_stride", output_stride, (16, 32))
    opt.positive_int(name, "aspp_channels", aspp_channels, 8, 1024)
    opt.positive_int(name, "decoder_channels", decoder_channels, 8, 1024)
    opt.dropout(name, dropout)
    cin = opt.in_channels(name, in_channels, prev_mask)
    enc_w, enc_d = LITE_VARIANTS[encoder]
    backbone = EfficientNetLite(cin, enc_w, enc_d, output_stride)
    head = DeepLabV3PlusHead(
        backbone.channels,
        backbone.reductions,
        num_classes,
        RATES[output_stride],
        aspp_channels,
        bool(separable),
        dropout,
        decoder_channels=decoder_channels,
    )
    return SegmentationModel(
        backbone,
        head,
        num_classes,
        cin,
        name,
        {
            "encoder": encoder,
            "output_stride": output_stride,
            "separable": bool(separable),
            "aspp_channels": aspp_channels,
            "decoder_channels": decoder_channels,
        },
    )
