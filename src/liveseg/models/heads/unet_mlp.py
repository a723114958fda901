"""EfficientNet-Lite U-net (after Lin et al. 2022, "Efficient Heterogeneous Video Segmentation at
the Edge"): an EfficientNet-Lite0 encoder and a U-net decoder with the knobs of the paper's
ablation (its Table 1) as options.

- Bottleneck at 1/32: 1x1 conv + 3x3 spatial conv (depthwise or group) that also predicts a
  coarse mask (1x1 classifier). The coarse logits are upsampled and added to the final logits,
  so the decoder learns a residual refinement of the coarse mask.
- Four decoder stages (1/16, 1/8, 1/4, 1/2), each fusing the encoder skip of that stride, of one
  of three types (``decoder=``):
    * ``bilinear``:  1x1 conv, bilinear upsampling, ReLU, sum with the projected skip, 3x3 conv
    * ``attention``: bilinear upsampling, squeeze-excite (channel attention), 1x1 convs of the
                     upsampled features and the skip, summed, 3x3 conv
    * ``mlp``:       bilinear upsampling, concatenation with the skip, a sequence of 1x1 convs
- ``conv=``: the 3x3 spatial convolutions are depthwise (``dw``) or group convs (``group``,
  ``group_width`` channels per group).
- ``width_mult`` (1.0 / 1.5 / 2.0) scales the encoder's and the decoder's channels.
Logits come out at 1/2 of the input and are upsampled bilinearly to the input size.
"""

from __future__ import annotations

import torch
from torch import nn

from liveseg.models import options as opt
from liveseg.models.backbones.efficientnet_lite import LITE_VARIANTS, EfficientNetLite
from liveseg.models.common import (
    ConvBNAct,
    SegmentationModel,
    SqueezeExcite,
    make_divisible,
    resize_to,
)
from liveseg.models.registry import register_model

DECODERS = ("bilinear", "attention", "mlp")
CONVS = ("dw", "group")


def spatial_conv(ch, conv, group_width):
    groups = ch if conv == "dw" else max(1, ch // group_width)
    while ch % groups:
        groups -= 1
    return ConvBNAct(ch, ch, 3, groups=groups, act="relu")


class BilinearStage(nn.Module):
    def __init__(self, cin, cskip, cout, conv, group_width):
        super().__init__()
        self.proj = ConvBNAct(cin, cout, 1, act=None)
        self.act = nn.ReLU(inplace=True)
        self.skip = ConvBNAct(cskip, cout, 1, act=None)
        self.conv = spatial_conv(cout, conv, group_width)

    def forward(self, x, skip):
        up = self.act(resize_to(self.proj(x), skip))
        return self.conv(up + self.skip(skip))


class AttentionStage(nn.Module):
    def __init__(self, cin, cskip, cout, conv, group_width):
        super().__init__()
        self.se = SqueezeExcite(cin, make_divisible(cin / 4, 8), "relu", "sigmoid")
        self.proj = ConvBNAct(cin, cout, 1, act=None)
        self.skip = ConvBNAct(cskip, cout, 1, act=None)
        self.act = nn.ReLU(inplace=True)
        self.conv = spatial_conv(cout, conv, group_width)

    def forward(self, x, skip):
        up = self.se(resize_to(x, skip))
        return self.conv(self.act(self.proj(up) + self.skip(skip)))


class MLPStage(nn.Module):
    def __init__(self, cin, cskip, cout, conv=None, group_width=None):
        super().__init__()
        self.mlp = nn.Sequential(ConvBNAct(cin + cskip, cout, 1), ConvBNAct(cout, cout, 1))

    def forward(self, x, skip):
        return self.mlp(torch.cat([resize_to(x, skip), skip], 1))


STAGES = {"bilinear": BilinearStage, "attention": AttentionStage, "mlp": MLPStage}


class UNetLiteHead(nn.Module):
    def __init__(
        self,
        in_channels,
        num_classes,
        decoder="bilinear",
        conv="dw",
        width_mult=1.0,
        bottleneck_channels=128,
        decoder_channels=(64, 48, 32, 16),
        group_width=16,
    ):
        super().__init__()
        bneck = make_divisible(bottleneck_channels * width_mult, 8)
        self.bottleneck = nn.Sequential(
            ConvBNAct(in_channels[-1], bneck, 1), spatial_conv(bneck, conv, group_width)
        )
        self.coarse = nn.Conv2d(bneck, num_classes, 1)
        stages, cin = [], bneck
        for i, c in enumerate(decoder_channels):
            cout = make_divisible(c * width_mult, 8)
            stages.append(STAGES[decoder](cin, in_channels[3 - i], cout, conv, group_width))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.classifier = nn.Conv2d(cin, num_classes, 1)

    def forward(self, feats):
        x = self.bottleneck(feats[4])
        coarse = self.coarse(x)
        for i, stage in enumerate(self.stages):
            x = stage(x, feats[3 - i])
        return self.classifier(x) + resize_to(coarse, x)


def _unet(
    name,
    num_classes,
    width_mult,
    decoder,
    conv,
    in_channels,
    prev_mask,
    group_width,
    encoder="lite0",
):
    opt.choice(name, "width_mult", width_mult, (1.0, 1.5, 2.0))
    opt.choice(name, "encoder", encoder, tuple(LITE_VARIANTS))
    opt.choice(name, "decoder", decoder, DECODERS)
    opt.choice(name, "conv", conv, CONVS)
    opt.positive_int(name, "group_width", group_width, 1, 256)
    cin = opt.in_channels(name, in_channels, prev_mask)
    enc_w, enc_d = LITE_VARIANTS[encoder]
    backbone = EfficientNetLite(cin, width_mult * enc_w, enc_d)
    head = UNetLiteHead(
        backbone.channels, num_classes, decoder, conv, width_mult, group_width=group_width
    )
    return SegmentationModel(
        backbone,
        head,
        num_classes,
        cin,
        name,
        {
            "width_mult": width_mult,
            "decoder": decoder,
            "conv": conv,
            "group_width": group_width,
            "encoder": encoder,
        },
    )


@register_model
def unet_efficientnet_lite0(
    num_classes=21,
    width_mult=1.0,
    decoder="bilinear",
    conv="dw",
    in_channels=None,
    prev_mask=False,
    group_width=16,
    encoder="lite0",
):
    """EfficientNet-Lite U-net. Options: width_mult 1.0/1.5/2.0, decoder bilinear|attention|mlp,
    conv dw|group (group_width channels per group), in_channels/prev_mask, encoder
    lite0|lite1|lite2 (the published variants, whose ImageNet weights load)."""
    return _unet(
        "unet_efficientnet_lite0",
        num_classes,
        width_mult,
        decoder,
        conv,
        in_channels,
        prev_mask,
        group_width,
        encoder,
    )


@register_model(name="unet_efficientnet_lite0_attention")
def _unet_attention(
    num_classes=21,
    width_mult=1.0,
    conv="dw",
    in_channels=None,
    prev_mask=False,
    group_width=16,
    encoder="lite0",
):
    """unet_efficientnet_lite0 with decoder='attention'."""
    return _unet(
        "unet_efficientnet_lite0_attention",
        num_classes,
        width_mult,
        "attention",
        conv,
        in_channels,
        prev_mask,
        group_width,
        encoder,
    )


@register_model(name="unet_efficientnet_lite0_mlp")
def _unet_mlp(
    num_classes=21,
    width_mult=1.0,
    conv="dw",
    in_channels=None,
    prev_mask=False,
    group_width=16,
    encoder="lite0",
):
    """unet_efficientnet_lite0 with decoder='mlp'."""
    return _unet(
        "unet_efficientnet_lite0_mlp",
        num_classes,
        width_mult,
        "mlp",
        conv,
        in_channels,
        prev_mask,
        group_width,
        encoder,
    )
