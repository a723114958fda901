"""Choosing and opening an inference engine: ONNX Runtime (default), LiteRT, OpenVINO.

The engines themselves live in ``liveseg.runtime.engines`` (one module per family, the
:class:`Engine` interface in ``engines.base``).

``make_engine(path, engine="auto", threads=None)`` opens one engine. ``engine`` is a name,
optionally with an option after a colon (``parse_engine``): ``onnxruntime`` (``:cpu``,
``:cuda``, ``:tensorrt``), ``openvino`` (``:f32``, ``:bf16``, ``:f16`` precision hints on the
CPU, ``:gpu``), ``litert``; ``auto`` here means the engine the file extension implies (.onnx ->
onnxruntime, .tflite -> litert, .xml -> openvino). Choosing by measurement is
``liveseg.runtime.autoselect``, which ``load_model`` uses for ``engine="auto"``. A file that
is not a model gives a one-line ModelError; a missing optional engine a DependencyError naming
the pip extra.
"""

from __future__ import annotations

import os
from pathlib import Path

from liveseg.errors import ConfigError, ModelError
from liveseg.runtime.engines.base import Engine
from liveseg.runtime.engines.litert import LiteRTEngine
from liveseg.runtime.engines.openvino import OpenVINOEngine, openvino_cache_dir
from liveseg.runtime.engines.ort import OnnxRuntimeEngine

ENGINES = ("auto", "onnxruntime", "litert", "openvino")
# What may follow "NAME:" in an engine spec.
ENGINE_OPTIONS = {
    "onnxruntime": ("cpu", "cuda", "tensorrt"),
    "openvino": ("f32", "bf16", "f16", "gpu"),
    "litert": (),
}
ENGINE_SPECS = ("auto",) + tuple(
    f"{name}:{opt}" if opt else name
    for name, opts in ENGINE_OPTIONS.items()
    for opt in (None, *opts)
)
_EXT_ENGINE = {
    ".onnx": "onnxruntime",
    ".ort": "onnxruntime",
    ".tflite": "litert",
    ".xml": "openvino",
}


def parse_engine(spec) -> tuple[str, str | None]:
    """``"openvino:bf16"`` -> ``("openvino", "bf16")``; ``"auto"`` -> ``("auto", None)``.
    ConfigError naming the accepted values otherwise."""
    text = str(spec if spec is not None else "auto").strip().lower()
    name, _, opt = text.partition(":")
    if (
        name not in ENGINES
        or (name == "auto" and opt)
        or (opt and opt not in ENGINE_OPTIONS.get(name, ()))
    ):
        raise ConfigError(f"--engine must be one of {', '.join(ENGINE_SPECS)}, got {spec!r}")
    return name, (opt or None)


def engine_for_path(path, engine: str = "auto") -> str:
    """The engine name for ``path``: ``engine``'s name when it names one, else the one the
    extension implies."""
    name, _ = parse_engine(engine)
    if name != "auto":
        return name
    ext = Path(path).suffix.lower()
    if ext not in _EXT_ENGINE:
        raise ModelError(
            f"cannot tell the engine for {Path(path).name!r} from its extension "
            f"(expected .onnx, .tflite or .xml); pass --engine"
        )
    return _EXT_ENGINE[ext]


def make_engine(path, engine: str = "auto", threads: int | None = None) -> Engine:
    """Open ``path`` with the engine ``engine`` names (``"openvino:bf16"``, ...), or the one
    its extension implies for ``"auto"`` (no measurement here; see ``autoselect``)."""
    path = Path(os.fspath(path))
    kind = engine_for_path(path, engine)
    _, opt = parse_engine(engine)
    if kind == "onnxruntime":
        return OnnxRuntimeEngine(path, threads, provider=opt or "cpu")
    if kind == "litert":
        return LiteRTEngine(path, threads)
    if opt == "gpu":
        return OpenVINOEngine(path, threads, device="GPU", cache_dir=openvino_cache_dir())
    return OpenVINOEngine(path, threads, precision=opt, cache_dir=openvino_cache_dir())
