"""Shipped models: ``<name>.onnx`` files with a ``<name>.json`` ModelCard beside each.

``list_shipped()`` gives the cards; ``resolve(name)`` the path of a shipped model file.
``DEFAULT_MODEL`` is what ``liveseg run`` uses when no model is named.
"""

from __future__ import annotations

from pathlib import Path

from liveseg.card import ModelCard

ZOO_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL = "person-unet-lite0-320x320-int8"

# Names of earlier releases -> the file that replaced them (same task and classes; the subject
# model holds the same weights exported at a larger input, the person model further-trained
# ones; the card says which and the new input size).
RENAMED = {
    "person-unet-lite0-256x256-int8": "person-unet-lite0-320x320-int8",
    "person-unet-lite0-256x256-fp16": "person-unet-lite0-320x320-fp16",
    "davis-subject-unet-lite0-mlp-144x256-int8": "davis-subject-unet-lite0-mlp-216x384-int8",
    "davis-subject-unet-lite0-mlp-144x256-fp16": "davis-subject-unet-lite0-mlp-216x384-fp16",
}


def list_shipped() -> list[ModelCard]:
    """Cards of every shipped model (JSON files in the zoo folder with a model file beside)."""
    cards = []
    for js in sorted(ZOO_DIR.glob("*.json")):
        if _model_file(js.stem) is not None:
            cards.append(ModelCard.load(js))
    return cards


def _model_file(name: str) -> Path | None:
    for ext in (".onnx", ".tflite"):
        p = ZOO_DIR / f"{name}{ext}"
        if p.is_file():
            return p
    return None


def resolve(name: str) -> Path | None:
    """Path of the shipped model ``name``, or None if no shipped model has that name."""
    if not name or "/" in name or "\\" in name:
        return None
    return _model_file(RENAMED.get(name, name))
