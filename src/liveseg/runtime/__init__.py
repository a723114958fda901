"""liveseg.runtime: engines, I/O detection and the SegModel that segments frames (no torch).

from liveseg.runtime import load_model
model = load_model("model.onnx")            # or a shipped model name
pred = model.predict(frame_rgb)             # Prediction: probs (C, h, w), labels(), foreground()
"""

from liveseg.runtime.engine import (  # noqa: F401
    ENGINES,
    Engine,
    LiteRTEngine,
    OnnxRuntimeEngine,
    OpenVINOEngine,
    TensorInfo,
    make_engine,
)
from liveseg.runtime.iodetect import IOOverrides, IOSpec, detect_io  # noqa: F401
from liveseg.runtime.model import SegModel, load_model, resolve_model_path  # noqa: F401
from liveseg.runtime.prediction import Prediction  # noqa: F401

__all__ = [
    "ENGINES",
    "Engine",
    "LiteRTEngine",
    "OnnxRuntimeEngine",
    "OpenVINOEngine",
    "TensorInfo",
    "make_engine",
    "IOOverrides",
    "IOSpec",
    "detect_io",
    "SegModel",
    "load_model",
    "resolve_model_path",
    "Prediction",
]
