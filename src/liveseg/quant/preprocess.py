"""The runtime's preprocessing for a model about to be quantized (calibration tensors, test
inputs): the loaded runtime model's own ``preprocess`` when ``liveseg.runtime`` can load the
file, else the runtime's ``Preprocessor`` built from the model's card. There is no second
recipe. No torch.
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
    (``make_preprocess`` prefers the loaded model's own)."""
    from liveseg.runtime.iodetect import IOSpec
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


def make_preprocess(model_path, card: ModelCard):
    """The preprocess of the runtime's model (``SegModel.preprocess``) when liveseg.runtime can
    load it, else the runtime's preprocessor built from the card."""
    from liveseg.runtime import load_model

    try:
        rt = load_model(str(model_path), engine="onnxruntime", threads=1)
    except Exception as exc:  # noqa: BLE001 - fall back to the card, say so
        logging.getLogger(__name__).info(
            "runtime model unavailable (%s); preprocessing from its card", exc
        )
        return card_preprocessor(card)

    def pre(frame):
        x = rt.preprocess(frame)
        return np.asarray(x, dtype=np.float32)

    return pre
