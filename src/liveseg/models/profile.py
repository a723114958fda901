"""Model size and cost: parameters and MACs (torch's FlopCounterMode: MACs = FLOPs / 2).
The exported ONNX file's size needs the exporter, a layer above: ``liveseg.bench.models``."""

from __future__ import annotations


def count_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model, size=(256, 256), batch=1) -> int:
    """Multiply-accumulates of one forward pass at ``size`` = (width, height).

    Counts convolutions and matrix products (FlopCounterMode's registry); element-wise ops,
    pooling, BatchNorm (folded into convs at export) and resizing are not counted.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from liveseg.models.common import eval_mode

    w, h = size
    x = torch.zeros(batch, getattr(model, "in_channels", 3), h, w)
    with eval_mode(model), torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() // 2
