"""MobileNetV3-Large and -Small (Howard et al. 2019, Tables 1 and 2).

Inverted residuals with optional squeeze-excite (hard-sigmoid gate, squeeze = expansion/4
rounded to 8) and ReLU / hard-swish. ``output_stride=16`` dilates the last stage (as the paper
does for segmentation); ``reduced_tail`` halves the last stage's channels (the paper's
segmentation variant). The final 1x1 conv (960 / 576 channels) is kept for LR-ASPP (``last_conv``);
MobileSeg, like
PaddleSeg's, takes the last block's output instead.
"""

from __future__ import annotations

from torch import nn

from liveseg.models.common import ConvBNAct, SqueezeExcite, StagedBackbone, make_divisible

# kernel, expansion, out, SE, activation, stride
LARGE = [
    (3, 16, 16, False, "relu", 1),
    (3, 64, 24, False, "relu", 2),
    (3, 72, 24, False, "relu", 1),
    (5, 72, 40, True, "relu", 2),
    (5, 120, 40, True, "relu", 1),
    (5, 120, 40, True, "relu", 1),
    (3, 240, 80, False, "hswish", 2),
    (3, 200, 80, False, "hswish", 1),
    (3, 184, 80, False, "hswish", 1),
    (3, 184, 80, False, "hswish", 1),
    (3, 480, 112, True, "hswish", 1),
    (3, 672, 112, True, "hswish", 1),
    (5, 672, 160, True, "hswish", 2),
    (5, 960, 160, True, "hswish", 1),
    (5, 960, 160, True, "hswish", 1),
]
SMALL = [
    (3, 16, 16, True, "relu", 2),
    (3, 72, 24, False, "relu", 2),
    (3, 88, 24, False, "relu", 1),
    (5, 96, 40, True, "hswish", 2),
    (5, 240, 40, True, "hswish", 1),
    (5, 240, 40, True, "hswish", 1),
    (5, 120, 48, True, "hswish", 1),
    (5, 144, 48, True, "hswish", 1),
    (5, 288, 96, True, "hswish", 2),
    (5, 576, 96, True, "hswish", 1),
    (5, 576, 96, True, "hswish", 1),
]
LAST_CONV = {"large": 960, "small": 576}


class MBv3Block(nn.Module):
    def __init__(self, cin, k, exp, cout, se, act, stride, dilation=1):
        super().__init__()
        layers = []
        if exp != cin:
            layers.append(ConvBNAct(cin, exp, 1, act=act))
        layers.append(
            ConvBNAct(exp, exp, k, 1 if dilation > 1 else stride, dilation, groups=exp, act=act)
        )
        if se:
            layers.append(SqueezeExcite(exp, make_divisible(exp // 4, 8), "relu", "hsigmoid"))
        layers.append(ConvBNAct(exp, cout, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.use_res = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.block(x) if self.use_res else self.block(x)


class MobileNetV3(StagedBackbone):
    """Features at strides 2, 4, 8, 16, 32 (the last one after the final 1x1 conv)."""

    def __init__(
        self,
        variant="large",
        in_channels=3,
        width_mult=1.0,
        output_stride=32,
        reduced_tail=False,
        last_conv=True,
    ):
        super().__init__()
        if variant not in ("large", "small"):
            raise ValueError(f"variant must be 'large' or 'small', got {variant!r}")
        if output_stride not in (16, 32):
            raise ValueError(f"output_stride must be 16 or 32, got {output_stride}")
        cfg = LARGE if variant == "large" else SMALL
        last_stage_start = max(i for i, c in enumerate(cfg) if c[5] == 2)
        stem = make_divisible(16 * width_mult, 8)
        stages: list[list[nn.Module]] = [[ConvBNAct(in_channels, stem, 3, 2, act="hswish")]]
        chans = [stem]
        cin, stride = stem, 2
        for i, (k, exp, cout, se, act, s) in enumerate(cfg):
            tail = 2 if (reduced_tail and i >= last_stage_start) else 1
            exp = make_divisible(exp * width_mult / tail, 8)
            cout = make_divisible(cout * width_mult / tail, 8)
            dilation = 1
            if s == 2:
                stages.append([])
                chans.append(cout)
                stride *= 2
            if output_stride == 16 and i >= last_stage_start:
                dilation = 2
            stages[-1].append(MBv3Block(cin, k, exp, cout, se, act, s, dilation))
            cin = cout
            chans[-1] = cout
        if last_conv:
            last = make_divisible(LAST_CONV[variant] * width_mult / (2 if reduced_tail else 1), 8)
            stages[-1].append(ConvBNAct(cin, last, 1, act="hswish"))
            chans[-1] = last
        self.stages = nn.ModuleList(nn.Sequential(*s) for s in stages)
        self.channels = chans
        self.reductions = [min(2 ** (i + 1), output_stride) for i in range(len(stages))]
