"""The ONNX model file a quantizer reads and the one it writes.

Reading: the model (one-line errors), its single image input, and its card
(``liveseg.card.read_card``: the JSON beside the file, else the one embedded in the ONNX
metadata; else a default one for a fixed-size third-party model), checked against the graph.
Writing: the derived card (name suffix, notes, float metrics labelled as such) embedded with a
quantization note, model and JSON card written atomically; ``QuantizeResult`` says what was
written. And a check that the written model loads and runs in ONNX Runtime. No torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from liveseg.atomic import atomic_output
from liveseg.card import ModelCard, card_path_for, read_card
from liveseg.errors import ModelError, OutputError
from liveseg.quant.preprocess import card_preprocessor
from liveseg.runtime.onnx_file import graph_inputs, load_onnx

QUANT_METADATA_KEY = "liveseg.quantization"


# ---------------------------------------------------------------------------------------------
# Reading: model + card
# ---------------------------------------------------------------------------------------------
def input_shape(model) -> list:
    """The single input's shape, with None for symbolic dims."""
    ins = graph_inputs(model)
    if len(ins) != 1:
        raise ModelError(
            f"quantization supports single-input image models; this one has {len(ins)} inputs "
            f"({', '.join(i.name for i in ins)})"
        )
    dims = ins[0].type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]


def card_for_model(model_path, model=None) -> ModelCard:
    """The model's card, checked against its input shape; a default card for bare models."""
    model = model if model is not None else load_onnx(model_path)
    shape = input_shape(model)
    if len(shape) != 4:
        raise ModelError(f"expected a 4-D image input (N,C,H,W or N,H,W,C), got shape {shape}")
    card = read_card(model_path, model).card
    if card is None:
        # A third-party model without a card: take the size from the graph when it is static.
        nhwc = shape[3] in (1, 3, 4) and shape[1] not in (1, 3, 4)
        h, w = (shape[1], shape[2]) if nhwc else (shape[2], shape[3])
        if not h or not w:
            raise ModelError(
                f"{model_path} has no liveseg card and a dynamic input size; "
                f"write a card beside it ({card_path_for(model_path).name}) giving input_size"
            )
        card = ModelCard(
            name=Path(model_path).stem, input_size=[w, h], layout="nhwc" if nhwc else "nchw"
        )
    h, w = (shape[1], shape[2]) if card.layout == "nhwc" else (shape[2], shape[3])
    cw, ch = card.input_size
    if (h and h != ch) or (w and w != cw):
        raise ModelError(
            f"input size mismatch: the model's input is {w}x{h} but its card says {cw}x{ch}; "
            f"fix the card's input_size"
        )
    return card


def count_ops(model) -> dict:
    counts: dict = {}
    for n in model.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return counts


# ---------------------------------------------------------------------------------------------
# Writing: checked output path, derived card, atomic save
# ---------------------------------------------------------------------------------------------
def check_output(model_path, output, overwrite) -> Path:
    output = Path(output)
    if output.resolve() == Path(model_path).resolve():
        raise OutputError(f"refusing to overwrite the input model {model_path}; choose another -o")
    if output.exists() and not overwrite:
        raise OutputError(f"{output} exists; pass --overwrite to replace it")
    if not output.parent.exists():
        raise OutputError(f"output folder does not exist: {output.parent}")
    card_out = card_path_for(output)
    if card_out.resolve() == card_path_for(model_path).resolve():
        raise OutputError(f"{card_out} is the input's card; choose another -o")
    return output


def save_with_card(model, output, card: ModelCard, quant_info: dict):
    """Embed card + quantization note, write model and JSON card atomically."""
    import onnx

    output = Path(output)
    card.embed_in_onnx(model)
    for prop in list(model.metadata_props):
        if prop.key == QUANT_METADATA_KEY:
            model.metadata_props.remove(prop)
    entry = model.metadata_props.add()
    entry.key = QUANT_METADATA_KEY
    entry.value = json.dumps(quant_info)
    with atomic_output(output) as tmp:
        onnx.save(model, str(tmp))
    card.save(card_path_for(output))


def derived_card(card: ModelCard, suffix: str, note: str) -> ModelCard:
    d = card.to_dict()
    d["name"] = f"{card.name}-{suffix}" if not card.name.endswith(f"-{suffix}") else card.name
    d["notes"] = (card.notes + " | " if card.notes else "") + note
    # Metrics/latency were measured on the float model; keep them, labelled as such.
    if d.get("metrics"):
        d["metrics"] = {"float_model": d["metrics"]}
    if d.get("latency"):
        d["latency"] = {"float_model": d["latency"]}
    return ModelCard.from_dict(d)


@dataclass
class QuantizeResult:
    output: Path
    card: ModelCard
    info: dict
    seconds: float
    size_bytes: int
    ops: dict = field(default_factory=dict)


def first_line(exc) -> str:
    """One line from an exception; long ORT messages keep their head and their tail."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if len(text) > 300:
        text = text[:80] + " ... " + text[-200:]
    return f"{type(exc).__name__}: {text}"


# ---------------------------------------------------------------------------------------------
# Does it run?
# ---------------------------------------------------------------------------------------------
def cpu_session(model_or_path, threads=1):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    src = (
        str(model_or_path)
        if isinstance(model_or_path, (str, Path))
        else model_or_path.SerializeToString()
    )
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


def run_once(model, make_feed, what: str) -> None:
    """Load ``model`` in ONNX Runtime and run it on ``make_feed(session)``; a failure is a
    one-line ModelError saying the ``what`` model does not run."""
    try:
        sess = cpu_session(model)
        sess.run(None, make_feed(sess))
    except Exception as exc:  # noqa: BLE001
        raise ModelError(
            f"the {what} model does not run in ONNX Runtime: {first_line(exc)}"
        ) from None


def check_runs_on_random_frame(model, card):
    """The converted model must load and run in ORT on a random frame, preprocessed as the
    runtime does for the card."""
    frame = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    run_once(
        model, lambda sess: {sess.get_inputs()[0].name: card_preprocessor(card)(frame)}, "converted"
    )
