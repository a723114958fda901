"""The runtime's preprocessing for a model about to be quantized (calibration tensors, test
inputs): the loaded runtime model's own ``preprocess`` when ``liveseg.runtime`` can load the
file, else the runtime's ``Preprocessor`` built from the model's card. There is no second
recipe. A previous-mask model is fed as ``liveseg run`` feeds it: a first frame (zero
channel) and a later one (its own previous prediction), see ``make_feed``. No torch.
"""

from __future__ import annotations

import logging

import numpy as np

from liveseg.card import ModelCard


def card_preprocessor(card: ModelCard):
    """The runtime's preprocessor (``liveseg.runtime.processing.Preprocessor``) for a float
    model described by ``card``: frame RGB uint8 (H, W, 3) -> float32 batch of one, resized to
    the card's input size, normalised with its mean/std, in its layout and colour order, a zero
    previous-mask channel for ``prev_mask_input`` models. For a model the runtime cannot load
    (``make_feed`` prefers the loaded model's own)."""
    from liveseg.runtime.iospec import IOSpec
    from liveseg.runtime.processing import Preprocessor

    spec = IOSpec(
        input_name="input",
        input_dtype="float32",
        layout=card.layout,
        channels=4 if card.prev_mask_input else 3,
        input_size=tuple(int(v) for v in card.input_size),
        dynamic_size=False,
        mean=tuple(card.mean),
        std=tuple(card.std),
        input_quant=None,
        norm="card",
        norm_source="card",
        prev_mask_input=bool(card.prev_mask_input),
        color_order=card.color_order,
    )
    return Preprocessor(spec)


def _runtime_model(model_path):
    """The runtime's model for ``model_path`` (ONNX Runtime, one thread), or None when
    liveseg.runtime cannot load it (logged)."""
    from liveseg.runtime import load_model

    try:
        return load_model(str(model_path), engine="onnxruntime", threads=1)
    except Exception as exc:  # noqa: BLE001 - fall back to the card, say so
        logging.getLogger(__name__).info(
            "runtime model unavailable (%s); preprocessing from its card", exc
        )
        return None


def make_feed(model_path, card: ModelCard):
    """frame RGB uint8 -> the list of input tensors ``liveseg run`` feeds the model for that
    frame (calibration data).

    A plain model: one tensor, the runtime's preprocess. A previous-mask model
    (``prev_mask_input``): two, as the runtime feeds such a model in a video, the frame as a
    first frame (or one after a cut: zero channel) and as the next frame of a still scene (the
    channel is the model's own foreground probability on the first, through the runtime's
    ``SegModel.preprocess(frame, prev)``). Calibrating on zeros alone would leave every range
    the channel drives at its first-frame value and clip them on all later frames. When the
    runtime cannot load the model, the card's preprocessor with a zero channel (logged)."""
    rt = _runtime_model(model_path)
    if rt is None:
        pre = card_preprocessor(card)
        if card.prev_mask_input:
            logging.getLogger(__name__).warning(
                "the runtime cannot run this model: its previous-mask channel is calibrated "
                "on zeros (first frames) only"
            )
        return lambda frame: [np.asarray(pre(frame), dtype=np.float32)]

    def feed(frame):
        first = rt.preprocess(frame)
        if not rt.io.prev_mask_input:
            return [np.asarray(first, dtype=np.float32)]
        prev = rt.postprocess(rt.infer(first), frame.shape[:2])
        again = rt.preprocess(frame, prev)
        return [np.asarray(first, dtype=np.float32), np.asarray(again, dtype=np.float32)]

    return feed
