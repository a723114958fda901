"""A tiny registered model for trainer tests (BN + dropout, so modes and RNG matter)."""

from torch import nn

from liveseg.models import list_models, register_model

NAME = "_tiny_test_seg"


class Tiny(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Dropout2d(0.1),
            nn.Conv2d(8, num_classes, 1),
        )

    def forward(self, x):
        y = self.body(x)
        return nn.functional.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)


if NAME not in list_models():

    @register_model(name=NAME)
    def _tiny(num_classes=21):
        return Tiny(num_classes)
