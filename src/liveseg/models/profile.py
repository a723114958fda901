"""Model size and cost: parameters, MACs (torch's FlopCounterMode: MACs = FLOPs / 2) and the
size of the exported ONNX file."""

from __future__ import annotations

import tempfile
from pathlib import Path


def count_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model, size=(256, 256), batch=1) -> int:
    """Multiply-accumulates of one forward pass at ``size`` = (width, height).

    Counts convolutions and matrix products (FlopCounterMode's registry); element-wise ops,
    pooling, BatchNorm (folded into convs at export) and resizing are not counted.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    w, h = size
    x = torch.zeros(batch, getattr(model, "in_channels", 3), h, w)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2


def onnx_size(model, size=(256, 256)) -> int:
    """Bytes of the model exported to ONNX (fixed input size, fp32)."""
    from liveseg.export.onnx_export import export_onnx

    with tempfile.TemporaryDirectory() as d:
        p = export_onnx(model, Path(d) / "m.onnx", size)
        return p.stat().st_size


def summarize(name, num_classes=21, size=(256, 256), with_onnx=True, **options) -> dict:
    from liveseg.models import create_model

    model = create_model(name, num_classes=num_classes, **options).eval()
    out = {"name": name, "params": count_params(model), "macs": count_macs(model, size),
           "size": list(size)}
    if with_onnx:
        out["onnx_bytes"] = onnx_size(model, size)
    return out
