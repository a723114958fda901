"""A tiny model for the trainer tests (BN + dropout, so modes and RNG matter).

Registered in the model registry only while a test runs: ask for the ``tiny_model`` fixture
(tests/conftest.py), or use ``registered_model(NAME, build)`` in a process of your own.
"""

from torch import nn

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


def build(num_classes=21):
    """The registry builder for ``NAME``."""
    return Tiny(num_classes)
