"""ModelCard: everything needed to run a model correctly and to know what it does.

A card travels as JSON beside the weights (``model.onnx`` + ``model.json``) and, for ONNX
files, inside the model's ``metadata_props`` under the key ``liveseg.card``. Class names and
palettes live here, never in drawing code.

Finding a model file's card is :func:`read_card`'s job, everywhere (the runtime, the
quantizer, re-export). Its one precedence rule: **the JSON beside the file wins over the card
embedded in the file.** Every writer (``liveseg export``, ``liveseg quantize``, the trainer)
writes both, with the same content, so for an untouched model the two agree; the JSON is the
one a user edits (class names, palette, foreground, mean/std of a third-party model) and an
edit must take effect without rewriting the model. The embedded card is the fallback for a
model file that travels alone. A JSON beside the file that cannot be read is an error naming
that file, not a silent fall back to the embedded card the user meant to replace.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import NamedTuple

from liveseg.errors import ConfigError, DependencyError, ModelError

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


class FoundCard(NamedTuple):
    """A model file's card and where it came from: ``"json (NAME.json)"`` for the JSON beside
    the file, ``"onnx metadata"`` for the embedded one; ``(None, "")`` when it has none."""

    card: ModelCard | None
    source: str


def _onnx_metadata(path: Path) -> dict:
    """An ONNX file's metadata_props (the graph is parsed, external weights are not read)."""
    try:
        import onnx
    except ImportError:
        raise DependencyError(
            f"reading the card embedded in {path} needs the onnx package: pip install onnx"
        ) from None
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf DecodeError, OSError, ...
        raise ModelError(f"{path} is not a readable ONNX model ({type(exc).__name__})") from None
    return {p.key: p.value for p in proto.metadata_props}


def read_card(model_path, metadata=None) -> FoundCard:
    """The card of the model file ``model_path``: the JSON beside it (``card_path_for``) when
    there is one, else the card embedded in the model's metadata, else none (see the module
    docstring for why the JSON wins).

    ``metadata`` is the model's metadata when the caller has it at hand: a mapping (an
    engine's ``metadata``, onnxruntime's ``custom_metadata_map``) or a loaded
    ``onnx.ModelProto``. When None, an ``.onnx`` file's metadata is read from the file, and
    only when there is no JSON beside it. Raises ModelError naming the file for a JSON card
    that is unusable or an embedded card that is unreadable.
    """
    path = Path(model_path)
    side = card_path_for(path)
    if side != path and side.is_file():
        try:
            return FoundCard(ModelCard.load(side), f"json ({side.name})")
        except Exception as exc:  # noqa: BLE001 - ConfigError, or a field of the wrong type
            raise ModelError(f"the model card {side} is unusable: {exc}") from None
    if metadata is None:
        metadata = _onnx_metadata(path) if path.suffix.lower() == ".onnx" else {}
    elif not isinstance(metadata, Mapping):  # an onnx.ModelProto
        metadata = {p.key: p.value for p in metadata.metadata_props}
    card = ModelCard.from_onnx_metadata(metadata)
    return FoundCard(card, "onnx metadata") if card is not None else FoundCard(None, "")
