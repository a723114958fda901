"""Quantization test models: a tiny torch network with the zoo's layer types, a tiny
previous-mask network, calibration images."""

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from liveseg.card import ModelCard


class TinySeg(nn.Module):
    """conv-bn-relu6 stem, depthwise residual block, stride-2 branch, resize, concat, head."""

    def __init__(self, k=5):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6()
        )
        self.dw = nn.Sequential(
            nn.Conv2d(16, 16, 3, 1, 1, groups=16, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU6(),
            nn.Conv2d(16, 16, 1),
        )
        self.down = nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU())
        self.head = nn.Conv2d(48, k, 1)

    def forward(self, x):
        a = self.stem(x)
        a = a + self.dw(a)
        b = F.interpolate(self.down(a), size=a.shape[-2:], mode="bilinear", align_corners=False)
        y = self.head(torch.cat([a, b], 1))
        return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)


class TinyPrev(nn.Module):
    """conv-BN-ReLU (RGB + previous mask in) and a 1x1 head."""

    def __init__(self, num_classes=2, in_channels=4):
        super().__init__()
        self.in_channels = in_channels
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 8, 3, padding=1, bias=False),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Conv2d(8, num_classes, 1),
        )

    def forward(self, x):
        if x.shape[1] != self.in_channels:  # as the zoo's models check
            raise ValueError(f"input has {x.shape[1]} channels, expected {self.in_channels}")
        return self.body(x)


def build_prev(num_classes=2, in_channels=None, prev_mask=False):
    """A registry builder for ``TinyPrev`` (``prev_mask=True``: the 4-channel network, as the
    zoo's ``model.options.prev_mask``); register it with ``tests.helpers.registry``."""
    return TinyPrev(num_classes, 4 if prev_mask else (in_channels or 3))


def prev_card(w: int, h: int, **fields) -> ModelCard:
    """The card of a TinyPrev foreground model at input size w x h (previous-mask input)."""
    return ModelCard(
        name="tp",
        task="foreground",
        classes=["background", "foreground"],
        foreground=["foreground"],
        input_size=[w, h],
        prev_mask_input=True,
        **fields,
    )


def leaning_on_its_mask(seed=0, weight=10.0) -> TinyPrev:
    """A float ``TinyPrev`` whose activations depend strongly on the previous-mask channel, as
    a trained temporal model's do."""
    torch.manual_seed(seed)
    net = TinyPrev().eval()
    with torch.no_grad():
        net.body[0].weight[:, 3] *= weight
    return net


def images(folder, n=8, size=(40, 60), seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        img = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"{i:03d}.png"), cv2.GaussianBlur(img, (5, 5), 0))
    return folder
