"""An ONNX model file read with one-line errors, and its image inputs (the graph inputs that
are not initializers): what the quantizer and the input-size rewrite both read."""

from __future__ import annotations

from pathlib import Path

from liveseg.errors import InputError, ModelError


def load_onnx(path):
    """Load an ONNX model or raise InputError / ModelError with one line."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise InputError(f"model not found: {path}")
    try:
        return onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf DecodeError, OSError, ...
        raise ModelError(f"{path} is not a readable ONNX model ({type(exc).__name__})") from None


def graph_inputs(model) -> list:
    """The graph's inputs that are not initializers (older exports list weights as inputs)."""
    inits = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]
