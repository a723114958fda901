"""How a model is fed and read: ``IOSpec`` (input name, layout, size, normalisation, the
output's kind and layout, the classes), the user's ``IOOverrides`` for foreign models, and the
named normalisations. ``liveseg.runtime.iodetect`` fills an IOSpec; the pre- and
post-processing (``liveseg.runtime.processing``) follow it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from liveseg.errors import ConfigError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NORMS = {
    "0_1": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    "-1_1": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "imagenet": (IMAGENET_MEAN, IMAGENET_STD),
    "0_255": ((0.0, 0.0, 0.0), (1 / 255, 1 / 255, 1 / 255)),
}


# Bounds for a model input size chosen by the user (dynamic models): beyond these the input
# tensor and activations need tens of GiB, and no CPU segments such a frame in real time.
MAX_INPUT_SIDE = 8192
MAX_INPUT_PIXELS = 4096 * 4096


def check_input_size(size) -> None:
    """ConfigError (one line) for an input size no CPU model run can allocate."""
    w, h = (int(v) for v in size)
    if max(w, h) > MAX_INPUT_SIDE or w * h > MAX_INPUT_PIXELS:
        gib = w * h * 3 * 4 / 2**30
        raise ConfigError(
            f"--input-size {w}x{h} is too large ({gib:.1f} GiB for the input tensor alone): "
            f"at most {MAX_INPUT_SIDE} per side and {MAX_INPUT_PIXELS / 1e6:.1f} megapixels "
            "(e.g. 4096x4096); segmentation models take a few hundred pixels per side "
            "(e.g. 512x512)"
        )


@dataclass
class IOOverrides:
    """User overrides for foreign models (CLI: --input-size, --mean, --std, --layout, --classes)."""

    input_size: tuple[int, int] | None = None  # (width, height)
    mean: tuple[float, float, float] | None = None  # units of pixel/255
    std: tuple[float, float, float] | None = None
    layout: str | None = None  # "nchw" | "nhwc"
    classes: list[str] | None = None

    def __post_init__(self):
        if self.layout is not None and self.layout not in ("nchw", "nhwc"):
            raise ConfigError(f"layout must be nchw or nhwc, got {self.layout!r}")
        for name in ("mean", "std"):
            v = getattr(self, name)
            if v is not None:
                if len(v) != 3:
                    raise ConfigError(f"--{name} needs three values R,G,B, got {v!r}")
                setattr(self, name, tuple(float(x) for x in v))
        if self.std is not None and min(abs(x) for x in self.std) < 1e-8:
            raise ConfigError("--std values must be non-zero")
        if self.input_size is not None:
            w, h = self.input_size
            if int(w) < 1 or int(h) < 1:
                raise ConfigError(f"--input-size must be positive, got {w}x{h}")
            self.input_size = (int(w), int(h))
            check_input_size(self.input_size)
        if self.classes is not None:
            self.classes = [str(c).strip() for c in self.classes]
            if not self.classes or any(not c for c in self.classes):
                raise ConfigError("--classes needs a comma-separated list of non-empty names")


@dataclass
class IOSpec:
    """Everything needed to feed a model and read its output."""

    input_name: str
    input_dtype: str
    layout: str
    channels: int
    input_size: tuple[int, int]  # (width, height) fed to the model
    dynamic_size: bool
    mean: tuple
    std: tuple
    input_quant: tuple | None
    norm: str  # human-readable: "imagenet", "[0,1]", "[-1,1]", "raw 0..255", "custom"
    norm_source: str  # override | card | metadata | graph | quantization | default
    layout_source: str = "shape"  # override | card | shape | default
    output_index: int = 0
    output_name: str = ""
    output_kind: str = "logits"
    output_layout: str = "nchw"  # nchw | nhwc | map (single-channel / label map)
    output_size: tuple[int, int] = (0, 0)  # (height, width)
    output_quant: tuple | None = None  # (scale, zero_point) the output's values are decoded with
    output_kind_source: str = ""  # why output_kind: "graph: SIGMOID", "probe values in [0,1]", ...
    num_classes: int = 0
    classes: list[str] = field(default_factory=list)
    classes_source: str = "detected"
    prev_mask_input: bool = False
    color_order: str = "rgb"
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        d["output_size"] = list(self.output_size)
        return d


def norm_name(mean, std) -> str:
    for name, (m, s) in NORMS.items():
        if np.allclose(mean, m, atol=2e-3) and np.allclose(std, s, atol=2e-3):
            return {
                "0_1": "[0,1]",
                "-1_1": "[-1,1]",
                "imagenet": "imagenet mean/std",
                "0_255": "raw 0..255",
            }[name]
    return (
        "mean/std " + ",".join(f"{x:.4g}" for x in mean) + " / " + ",".join(f"{x:.4g}" for x in std)
    )
