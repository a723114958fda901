"""ModelCard: everything needed to run a model correctly and to know what it does.

A card travels as JSON beside the weights (``model.onnx`` + ``model.json``) and, for ONNX
files, inside the model's ``metadata_props`` under the key ``liveseg.card``. Class names and
palettes live here, never in drawing code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from liveseg.errors import ConfigError, ModelError

ONNX_METADATA_KEY = "liveseg.card"

TASKS = ("semantic", "foreground")
LAYOUTS = ("nchw", "nhwc")
# What the model's (first) output holds:
#   logits   - C-channel scores before softmax
#   probs    - C-channel probabilities (softmax already applied)
#   fg_prob  - 1-channel foreground probability in [0, 1]
#   fg_logit - 1-channel foreground logit (sigmoid not applied)
#   labels   - integer label map, already arg-maxed
OUTPUT_KINDS = ("logits", "probs", "fg_prob", "fg_logit", "labels")


def default_palette(n: int) -> list[list[int]]:
    """The PASCAL VOC bit-interleaved palette, distinct colours for any number of classes."""
    palette = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette.append([r, g, b])
    return palette


@dataclass
class ModelCard:
    name: str
    task: str = "semantic"
    classes: list[str] = field(default_factory=list)
    palette: list[list[int]] = field(default_factory=list)
    # Classes that count as foreground for blur/replace/matte effects (names).
    foreground: list[str] = field(default_factory=list)
    input_size: list[int] = field(default_factory=lambda: [256, 256])  # [width, height]
    mean: list[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])  # units of pixel/255
    std: list[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])
    layout: str = "nchw"
    color_order: str = "rgb"
    output_kind: str = "logits"
    # Extra input channel carrying the previous frame's mask (temporal models).
    prev_mask_input: bool = False
    architecture: str = ""
    # The architecture's options (liveseg.models.create_model keywords) where not the defaults.
    architecture_options: dict = field(default_factory=dict)
    training_data: str = ""
    license: str = ""
    metrics: dict = field(default_factory=dict)
    latency: dict = field(default_factory=dict)
    notes: str = ""

    def __post_init__(self):
        if self.task not in TASKS:
            raise ConfigError(
                f"model card {self.name!r}: task must be one of {TASKS}, got {self.task!r}"
            )
        if self.layout not in LAYOUTS:
            raise ConfigError(
                f"model card {self.name!r}: layout must be one of {LAYOUTS}, got {self.layout!r}"
            )
        if self.output_kind not in OUTPUT_KINDS:
            raise ConfigError(
                f"model card {self.name!r}: output_kind must be one of {OUTPUT_KINDS}, "
                f"got {self.output_kind!r}"
            )
        if len(self.input_size) != 2 or min(self.input_size) < 1:
            raise ConfigError(f"model card {self.name!r}: input_size must be [width, height]")
        if not self.classes:
            self.classes = ["background", "foreground"] if self.task == "foreground" else []
        if self.classes and not self.palette:
            self.palette = default_palette(len(self.classes))
        if self.classes and len(self.palette) < len(self.classes):
            raise ConfigError(
                f"model card {self.name!r}: palette has {len(self.palette)} colours "
                f"for {len(self.classes)} classes"
            )
        if not self.foreground and self.task == "foreground" and len(self.classes) == 2:
            self.foreground = [self.classes[1]]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def default_foreground_indices(self) -> list[int]:
        """What counts as foreground when nobody says: the card's ``foreground`` classes,
        else every class but the first (background). Shared by the effects, ``--foreground``
        and ``Prediction.foreground()``."""
        if self.foreground:
            return self.class_indices(self.foreground)
        n = self.num_classes
        return [0] if n <= 1 else list(range(1, n))

    def class_indices(self, names) -> list[int]:
        """Indices of class names (case-insensitive); raises ConfigError on unknown names."""
        lookup = {c.lower(): i for i, c in enumerate(self.classes)}
        out = []
        for n in names:
            key = str(n).strip().lower()
            if key.isdigit() and int(key) < len(self.classes):
                out.append(int(key))
            elif key in lookup:
                out.append(lookup[key])
            else:
                raise ConfigError(
                    f"unknown class {n!r}; this model's classes are: {', '.join(self.classes)}"
                )
        return out

    # ---- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: dict) -> ModelCard:
        if not isinstance(d, dict) or "name" not in d:
            raise ConfigError("model card must be a JSON object with at least a 'name'")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    @classmethod
    def load(cls, path) -> ModelCard:
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"model card not found: {path}") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"model card {path} is not valid JSON: {exc}") from None
        return cls.from_dict(d)

    def save(self, path) -> None:
        """Write atomically: a temporary file renamed over the target."""
        from liveseg.atomic import write_text_atomic

        write_text_atomic(path, self.to_json() + "\n")

    # ---- ONNX metadata -------------------------------------------------------------------
    def embed_in_onnx(self, model) -> None:
        """Store the card in an onnx.ModelProto's metadata_props (replacing an older one)."""
        for prop in list(model.metadata_props):
            if prop.key == ONNX_METADATA_KEY:
                model.metadata_props.remove(prop)
        entry = model.metadata_props.add()
        entry.key = ONNX_METADATA_KEY
        entry.value = json.dumps(self.to_dict())

    @classmethod
    def from_onnx_metadata(cls, metadata: dict) -> ModelCard | None:
        """Card from a metadata mapping (onnxruntime's custom_metadata_map), or None."""
        raw = metadata.get(ONNX_METADATA_KEY) if metadata else None
        if not raw:
            return None
        try:
            return cls.from_dict(json.loads(raw))
        except (ValueError, ConfigError) as exc:
            raise ModelError(f"the model's embedded card is unreadable: {exc}") from None


def card_path_for(model_path) -> Path:
    """The JSON card that sits beside a model file: model.onnx -> model.json."""
    return Path(model_path).with_suffix(".json")
