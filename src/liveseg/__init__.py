"""liveseg: real-time video semantic segmentation for CPUs and edge devices."""

__version__ = "0.1.0"

from liveseg.errors import LivesegError  # noqa: E402,F401

_API = {
    "load": "liveseg.api",
    "process_video": "liveseg.api",
    "Model": "liveseg.api",
    "process_batch": "liveseg.batch",
}
__all__ = ["LivesegError", "Model", "__version__", "load", "process_batch", "process_video"]


def __getattr__(name):  # lazy: ``import liveseg`` stays light (no onnxruntime/cv2/av)
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'liveseg' has no attribute {name!r}")


def __dir__():  # the lazy names too, so dir(liveseg) and tab completion show the API
    return sorted(set(globals()) | set(_API))
