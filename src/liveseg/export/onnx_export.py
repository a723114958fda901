"""ONNX export of liveseg PyTorch models (TorchScript-based exporter, opset >= 17).

``export_onnx(model, path, input_size=(W, H), dynamic=False, card=None, opset=17)`` writes the
file atomically (temporary file renamed over the target), embeds the ModelCard in the ONNX
metadata (key ``liveseg.card``) and writes the JSON card beside it; ``export_card`` makes that
card. ``liveseg.models.from_onnx.onnx_parity`` checks the written file against the network.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from liveseg.atomic import write_bytes_atomic
from liveseg.errors import ConfigError, OutputError

INPUT_NAME = "input"
OUTPUT_NAME = "logits"


def _input_channels(model) -> int:
    return int(getattr(model, "in_channels", 3))


def export_onnx(
    model, path, input_size=(256, 256), dynamic=False, card=None, opset=17, overwrite=True, batch=1
):
    """Export ``model`` (an nn.Module taking NCHW float input) to ONNX at ``path``.

    input_size is (width, height). ``dynamic=True`` makes batch, height and width dynamic axes
    (the example input still fixes nothing else). Returns the Path written.
    """
    import onnx
    import torch

    from liveseg.models.common import eval_mode

    if opset < 17:
        raise ConfigError(f"opset must be >= 17, got {opset}")
    try:
        w, h = (int(v) for v in input_size)
    except (TypeError, ValueError):
        raise ConfigError(f"input_size must be (width, height), got {input_size!r}") from None
    if w < 8 or h < 8:
        raise ConfigError(f"input_size must be at least 8x8, got {w}x{h}")
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise OutputError(f"output must end in .onnx, got {path}")
    if path.exists() and not overwrite:
        raise OutputError(f"{path} exists; pass --overwrite to replace it")
    if not path.parent.is_dir():
        raise OutputError(f"output folder {path.parent} does not exist")

    x = torch.randn(batch, _input_channels(model), h, w)
    dynamic_axes = None
    if dynamic:
        dynamic_axes = {
            INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
            OUTPUT_NAME: {0: "batch", 2: "height", 3: "width"},
        }
    buf = io.BytesIO()
    with eval_mode(model), warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings about shape arithmetic, deprecations
        torch.onnx.export(
            model,
            (x,),
            buf,
            dynamo=False,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes=dynamic_axes,
            do_constant_folding=True,
        )
    proto = onnx.load_from_string(buf.getvalue())
    if card is not None:
        card.embed_in_onnx(proto)
    onnx.checker.check_model(proto)
    write_bytes_atomic(path, proto.SerializeToString())
    if card is not None:
        from liveseg.card import card_path_for

        card.save(card_path_for(path))
    return path


def export_card(model, card_dict, name, size, what, options=None):
    """The card of a network exported at ``size`` (width, height): the source's card (from
    ``liveseg.models.checkpoint.load_torch_model``) with this export's name default, input
    size, layout, output kind and channels; class names made up when the source has none;
    ``what`` (the source's description) in the notes of a card made from nothing."""
    from liveseg.card import ModelCard

    d = dict(card_dict or {})
    d.setdefault("name", name)
    if not d.get("classes") and not (d.get("task") == "foreground" and model.num_classes == 2):
        d["classes"] = [f"class_{i}" for i in range(model.num_classes)]
        d.pop("palette", None)
    d["input_size"] = [int(size[0]), int(size[1])]
    d["layout"] = "nchw"
    d["output_kind"] = "logits"
    d["prev_mask_input"] = model.in_channels == 4
    d.setdefault("architecture", model.arch)
    d.setdefault("architecture_options", dict(options or {}))
    if card_dict is None:
        d["notes"] = f"exported from {what}"
    return ModelCard.from_dict(d)
