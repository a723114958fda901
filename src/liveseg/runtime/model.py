"""SegModel: a model file + its card + its I/O conventions, ready to segment frames.

``load_model(spec)`` accepts a shipped model name (``liveseg.zoo.resolve``) or a path. The card
comes from ``liveseg.card.read_card`` (the JSON beside the file, else the ONNX metadata key
``liveseg.card``), else it is synthesised from auto-detected I/O (task "foreground" for
1-/2-channel foreground outputs). With ``engine="auto"`` (the default) the engine, its
precision and, for shipped models, the file among the model's int8/fp16 siblings are chosen by
measurement on this machine (``liveseg.runtime.autoselect``); ``model.engine_choice`` says what
ran and why.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from liveseg.card import ModelCard, read_card
from liveseg.errors import ModelError
from liveseg.runtime.engine import make_engine, parse_engine
from liveseg.runtime.engines.base import Engine
from liveseg.runtime.iodetect import detect_io
from liveseg.runtime.iospec import IOOverrides, IOSpec
from liveseg.runtime.prediction import Prediction
from liveseg.runtime.processing import Postprocessor, Preprocessor, to_rgb


def resolve_model_path(spec) -> Path:
    """A shipped model name or a file path -> the model file's path (ModelError if neither)."""
    from liveseg import zoo

    s = str(spec)
    shipped = zoo.resolve(s)
    if shipped is not None:
        return shipped
    p = Path(s).expanduser()
    if p.is_file():
        return p
    if p.exists():
        raise ModelError(f"model path is not a file: {p}")
    names = [c.name for c in zoo.list_shipped()]
    hint = (
        f"shipped models: {', '.join(names)}" if names else "no models are shipped in this install"
    )
    raise ModelError(f"model {s!r} is neither a shipped model name nor an existing file ({hint})")


class SegModel:
    """Runs one segmentation model on RGB uint8 frames."""

    def __init__(self, path: Path, engine: Engine, card: ModelCard, io: IOSpec, card_source: str):
        self.path = path
        self.engine = engine
        self.card = card
        self.io = io
        self.card_source = card_source
        fg = (
            card.class_indices(card.foreground) if card.foreground else [max(1, io.num_classes - 1)]
        )
        self.foreground_indices = fg
        self._pre = Preprocessor(io, fg_classes=fg)
        self._post = Postprocessor(
            io, classes=card.classes, default_foreground=card.default_foreground_indices()
        )
        self._input_name = io.input_name
        self._squeeze_batch = len(engine.inputs[0].shape) == 3
        # What ran and why (liveseg.runtime.engine_choice.EngineChoice); set by load_model.
        self.engine_choice = None

    @classmethod
    def from_engine(
        cls, path: Path, engine: Engine, overrides: IOOverrides | None = None
    ) -> SegModel:
        """The SegModel for ``path`` run by the open ``engine``: its card (``read_card``), its
        I/O (``detect_io``, with ``overrides``), the processing that follows them."""
        card, source = read_card(path, engine.metadata)
        source = source or "auto-detected"
        io = detect_io(engine, card, overrides)
        card = _synthesise_card(path, io) if card is None else _card_with_io(card, io)
        return cls(path, engine, card, io, source)

    # ---- the three stages -----------------------------------------------------------------
    def preprocess(self, frame_rgb: np.ndarray, prev: Prediction | None = None) -> np.ndarray:
        """Frame -> model input tensor. ``prev`` is used only by previous-mask models."""
        x = self._pre(frame_rgb, prev if self.io.prev_mask_input else None)
        return x[0] if self._squeeze_batch else x

    def infer(self, x: np.ndarray) -> list[np.ndarray]:
        """Model input tensor -> raw outputs (list, in the engine's output order)."""
        return self.engine.run({self._input_name: x})

    def postprocess(self, raw, frame_size) -> Prediction:
        """Raw outputs -> Prediction with (C, h, w) probabilities at model output resolution."""
        return self._post(raw, frame_size)

    def predict(self, frame_rgb: np.ndarray, prev: Prediction | None = None) -> Prediction:
        frame_rgb = to_rgb(frame_rgb)
        t0 = time.perf_counter()
        x = self.preprocess(frame_rgb, prev)
        t1 = time.perf_counter()
        raw = self.infer(x)
        t2 = time.perf_counter()
        pred = self.postprocess(raw, frame_rgb.shape[:2])
        t3 = time.perf_counter()
        pred.extras["timings_ms"] = {
            "preprocess": (t1 - t0) * 1e3,
            "inference": (t2 - t1) * 1e3,
            "postprocess": (t3 - t2) * 1e3,
        }
        return pred

    # ---- convenience ----------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return self.io.num_classes

    @property
    def classes(self) -> list[str]:
        return list(self.card.classes)

    def describe(self) -> dict:
        d = {
            "model": str(self.path),
            "card_source": self.card_source,
            "task": self.card.task,
            "engine": self.engine.describe(),
            "io": self.io.to_dict(),
            "card": self.card.to_dict(),
        }
        if self.engine_choice is not None:
            d["engine_choice"] = self.engine_choice.to_dict()
        return d

    def __repr__(self) -> str:
        return (
            f"SegModel({self.path.name}, engine={self.engine.name}, {self.io.output_kind}, "
            f"{self.io.num_classes} classes, input {self.io.input_size[0]}x{self.io.input_size[1]})"
        )


def _synthesise_card(path: Path, io: IOSpec) -> ModelCard:
    fg_model = io.output_kind in ("fg_prob", "fg_logit") or io.num_classes == 2
    return ModelCard(
        name=path.stem,
        task="foreground" if fg_model else "semantic",
        classes=list(io.classes),
        input_size=list(io.input_size),
        mean=list(io.mean),
        std=list(io.std),
        layout=io.layout,
        output_kind=io.output_kind,
        prev_mask_input=io.prev_mask_input,
        notes="synthesised by liveseg from auto-detected I/O",
    )


def _card_with_io(card: ModelCard, io: IOSpec) -> ModelCard:
    """The card, updated with what overrides/detection decided (so consumers see one truth)."""
    d = card.to_dict()
    d.update(
        classes=list(io.classes),
        input_size=list(io.input_size),
        mean=list(io.mean),
        std=list(io.std),
        layout=io.layout,
        output_kind=io.output_kind,
        prev_mask_input=io.prev_mask_input,
    )
    if list(card.classes) != list(io.classes):
        d["palette"] = []
        d["foreground"] = [f for f in card.foreground if f in io.classes]
    return ModelCard.from_dict(d)


def load_model(
    spec,
    engine: str = "auto",
    threads: int | None = None,
    overrides: IOOverrides | None = None,
    siblings: bool = True,
) -> SegModel:
    """Open a shipped model name or a model file, ready to ``predict`` frames.

    ``engine="auto"`` measures the engines that can run the file on this machine (once per
    model file, machine, thread count and library versions; the choice is cached) and keeps
    the fastest whose output agrees with the reference engine; for a shipped model its sibling
    files (``<name>-int8.onnx`` / ``<name>-fp16.onnx``) are candidates too unless
    ``siblings=False``. Any other ``engine`` (``"onnxruntime"``, ``"openvino:bf16"``, ...)
    is used as given. ``overrides.input_size`` on an ONNX model whose graph fixes another size
    runs a rewritten copy of it (``liveseg.runtime.input_resize``)."""
    from liveseg.runtime.autoselect import select_model, shipped_siblings
    from liveseg.runtime.engine_choice import EngineChoice

    path = resolve_model_path(spec)
    if overrides is not None and overrides.input_size and path.suffix.lower() == ".onnx":
        from liveseg.runtime.input_resize import model_at_input_size

        # A fixed-size liveseg graph runs at another size as a rewritten copy (same weights).
        path = model_at_input_size(path, overrides.input_size)
    name, _ = parse_engine(engine)
    if name == "auto":
        plain = overrides is None or not any(
            v is not None for v in dataclasses.asdict(overrides).values()
        )
        sibs = shipped_siblings(path) if siblings and plain else []
        return select_model(path, threads=threads, overrides=overrides, siblings=sibs)
    model = SegModel.from_engine(path, make_engine(path, engine, threads), overrides)
    model.engine_choice = EngineChoice.forced(str(engine).strip().lower(), path, threads)
    return model
