"""TFLite export through litert-torch (Google's PyTorch -> LiteRT converter, ``pip install
litert-torch``; tested with litert-torch 0.10.0 and torch 2.13). The converted model keeps
PyTorch's NCHW layout for its input and output (float32), so the same ModelCard (written as
JSON beside the file) describes it. ``tflite_parity`` compares it with the ONNX export.
"""

from __future__ import annotations

from pathlib import Path

from liveseg.atomic import atomic_output
from liveseg.errors import ConfigError, DependencyError, ModelError, OutputError


def _converter():
    try:
        import litert_torch
    except ImportError as exc:
        raise DependencyError(
            f"TFLite export needs litert-torch: pip install litert-torch ({exc}); "
            "the ONNX export works without it"
        ) from None
    return litert_torch


def _interpreter(path):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tensorflow.lite import Interpreter
        except ImportError:
            raise DependencyError(
                "running a .tflite needs ai-edge-litert: pip install 'liveseg[litert]'"
            ) from None
    try:
        it = Interpreter(model_path=str(path), num_threads=1)
        it.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"cannot load {path}: {exc}") from None
    return it


def export_tflite(model, path, input_size=(256, 256), card=None, overwrite=True):
    """Convert ``model`` at a fixed ``input_size`` (width, height) to ``path`` (.tflite)."""
    import torch

    from liveseg.models.common import eval_mode

    lt = _converter()
    path = Path(path)
    if path.suffix.lower() != ".tflite":
        raise OutputError(f"output must end in .tflite, got {path}")
    if path.exists() and not overwrite:
        raise OutputError(f"{path} exists; pass --overwrite to replace it")
    w, h = (int(v) for v in input_size)
    if w < 8 or h < 8:
        raise ConfigError(f"input_size must be at least 8x8, got {w}x{h}")
    x = torch.randn(1, int(getattr(model, "in_channels", 3)), h, w)
    with eval_mode(model):
        edge = lt.convert(model, (x,))
    with atomic_output(path) as tmp:
        edge.export(str(tmp))
    if card is not None:
        from liveseg.card import card_path_for

        card.save(card_path_for(path))
    return path


def run_tflite(path_or_interp, x):
    """Run a single-input .tflite on a float32 array shaped like its input."""
    it = (
        path_or_interp
        if not isinstance(path_or_interp, (str, Path))
        else _interpreter(path_or_interp)
    )
    inp = it.get_input_details()[0]
    it.set_tensor(inp["index"], x.astype(inp["dtype"]))
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def tflite_parity(tflite_path, onnx_path, samples=2, seed=0) -> dict:
    """Logit max abs diff and argmax agreement of the .tflite vs the ONNX model on random input."""
    import numpy as np

    from liveseg.models.from_onnx import ort_session

    it = _interpreter(tflite_path)
    shape = [int(v) for v in it.get_input_details()[0]["shape"]]
    sess = ort_session(onnx_path)
    name = sess.get_inputs()[0].name
    rng = np.random.default_rng(seed)
    worst, agree, total = 0.0, 0, 0
    for _ in range(samples):
        x = rng.standard_normal(shape).astype(np.float32)
        a = run_tflite(it, x)
        b = sess.run(None, {name: x})[0]
        if a.shape != b.shape:
            raise ModelError(f"TFLite output {a.shape} != ONNX output {b.shape}")
        worst = max(worst, float(np.abs(a - b).max()))
        agree += int((a.argmax(1) == b.argmax(1)).sum())
        total += a.shape[0] * a.shape[2] * a.shape[3]
    return {"max_abs_diff": worst, "argmax_agreement": agree / total, "input_shape": shape}
