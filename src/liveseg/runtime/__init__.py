"""liveseg.runtime: engines, I/O detection and the SegModel that segments frames (no torch).

from liveseg.runtime import load_model
model = load_model("model.onnx")            # or a shipped model name
pred = model.predict(frame_rgb)             # Prediction: probs (C, h, w), labels(), foreground()
"""

from liveseg.runtime.engine import ENGINES, make_engine  # noqa: F401
from liveseg.runtime.engines.base import Engine, TensorInfo  # noqa: F401
from liveseg.runtime.engines.litert import LiteRTEngine  # noqa: F401
from liveseg.runtime.engines.openvino import OpenVINOEngine  # noqa: F401
from liveseg.runtime.engines.ort import OnnxRuntimeEngine  # noqa: F401
from liveseg.runtime.iodetect import detect_io  # noqa: F401
from liveseg.runtime.iospec import IOOverrides, IOSpec  # noqa: F401
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
