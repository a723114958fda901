"""Detect the input/output conventions of a segmentation model that comes without a card.

Input (the single image input, rank 4):
  * layout: the dimension of size 3 or 4 is the channel one (NCHW [1,3,H,W] / NHWC [1,H,W,3]);
    when both or neither are, a fully dynamic input defaults to NCHW for ONNX/OpenVINO and NHWC
    for TFLite. 4 channels = RGB + the previous frame's foreground probability.
  * size: fixed dims are used as they are; dynamic ones take ``--input-size``, else the card's,
    else 256x256 (a single fixed dim is reused for the other one).
  * normalisation of float inputs, first match wins: ``--mean/--std``; the card; model
    metadata (keys ``mean``/``std`` in pixel or pixel/255 units, or ``normalization`` =
    ``0_1`` | ``-1_1`` | ``imagenet`` | ``0_255``); a normalisation the graph applies itself
    (the input feeding Sub/Div/Mul by constants in pixel units -> raw 0..255 values); else the
    documented default: ImageNet mean/std for NCHW float models (PyTorch exports), [0, 1] for
    NHWC float models (TF/MediaPipe exports).
  * uint8/int8 inputs with a scale/zero-point: the real-valued range the quantization
    covers (e.g. [0,1], [-1,1]) is mapped onto the pixel range; without quantization params
    uint8 takes raw pixels and int8 pixels - 128.
Output (found with one probe run on a synthetic image, so dynamic shapes are resolved):
  * wide integer outputs (int16..int64, bool) -> arg-maxed label maps ([1,H,W], [1,1,H,W],
    [1,H,W,1], or flattened [1,H*W] with H, W recovered from the input size and a stride of
    1..32);
  * single-channel uint8/int8 outputs without quantization parameters are a label map or a
    confidence map (MediaPipe-style: P(foreground) = value/255, int8 (value+128)/255): the
    card, then the graph (ArgMax / a comparison -> labels, any other computing op ->
    confidence), then 3+ class names (--classes, card, metadata) -> labels, then the probe
    (only 0 and 1 -> binary labels), else confidence. uint8/int8 outputs with quantization
    parameters are dequantized and read as float;
  * rank-4 float -> NCHW or NHWC class maps (the axis whose neighbours form a spatial grid
    with the input's aspect); 1 channel: fg_prob (a Sigmoid produces it, or probe values in
    [0,1]) or fg_logit; 2+ channels: probs (a Softmax produces it, or probe values sum to 1)
    or logits. Lower-resolution outputs are kept at their resolution.
``notes`` say what was assumed, including an output that is (nearly) constant on the probe,
whose kind then rests on its dtype and graph alone. Everything can be overridden with
:class:`IOOverrides`. What cannot be understood raises a one-line ModelError naming what was
found and the override to pass.

This module detects the input and resolves the classes; the spec it fills and the overrides
are ``liveseg.runtime.iospec``, the reading of each output ``liveseg.runtime.output_kind``.
"""

from __future__ import annotations

import json
import re

import numpy as np

from liveseg.errors import ConfigError, ModelError
from liveseg.runtime.iospec import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    NORMS,
    IOOverrides,
    IOSpec,
    norm_name,
)
from liveseg.runtime.output_kind import classify_output, constant_note
from liveseg.runtime.probe import probe_image

DEFAULT_DYNAMIC_SIZE = (256, 256)
DEFAULT_LABEL_CLASSES = 21  # PASCAL VOC, the usual arg-maxed public model


# ---- helpers ------------------------------------------------------------------------------
def _parse_floats(v) -> tuple | None:
    try:
        if isinstance(v, str):
            v = v.strip()
            vals = (
                json.loads(v)
                if v.startswith("[")
                else [float(x) for x in re.split(r"[,\s]+", v) if x]
            )
        else:
            vals = list(v)
        vals = [float(x) for x in vals]
    except (ValueError, TypeError):
        return None
    if len(vals) == 1:
        vals = vals * 3
    return tuple(vals) if len(vals) == 3 else None


def _metadata_norm(meta: dict):
    """(mean, std) in pixel/255 units from model metadata, or None."""
    low = {str(k).lower(): v for k, v in (meta or {}).items()}
    for key in ("normalization", "normalisation", "norm", "input_range"):
        v = str(low.get(key, "")).strip().lower().replace(" ", "")
        if not v:
            continue
        v = v.strip("[]()").replace(",", "_").replace("..", "_")
        aliases = {"0_1": "0_1", "-1_1": "-1_1", "imagenet": "imagenet", "0_255": "0_255"}
        if v in aliases:
            return NORMS[aliases[v]]
    mean = _parse_floats(low["mean"]) if "mean" in low else None
    std = _parse_floats(low["std"]) if "std" in low else None
    if mean is not None and std is not None:
        if max(mean) > 1.5 or max(std) > 1.5:  # pixel units
            mean = tuple(m / 255 for m in mean)
            std = tuple(s / 255 for s in std)
        return mean, std
    return None


def _metadata_classes(meta: dict):
    low = {str(k).lower(): v for k, v in (meta or {}).items()}
    for key in ("classes", "labels", "class_names"):
        if key in low:
            v = str(low[key]).strip()
            try:
                names = (
                    json.loads(v) if v.startswith(("[", "{")) else [x.strip() for x in v.split(",")]
                )
            except ValueError:
                continue
            if isinstance(names, dict):  # {"0": "background", ...}
                names = [names[k] for k in sorted(names, key=lambda k: int(k))]
            names = [str(n) for n in names if str(n)]
            if names:
                return names
    return None


def _graph_norm(engine, input_name: str, layout: str):
    """If an ONNX graph normalises its own input with constants in pixel units, feed 0..255."""
    graph = getattr(engine, "graph", None)
    if graph is None:  # not an ONNX graph (LiteRT, OpenVINO IR)
        return None
    consumers = [n for n in graph.node if input_name in n.input]
    if len(consumers) != 1:
        return None
    node = consumers[0]
    if node.op_type not in ("Sub", "Div", "Mul", "Add"):
        return None
    other = [i for i in node.input if i != input_name]
    c = engine.constant(other[0]) if other else None
    if c is None or np.size(c) not in (1, 3):
        return None
    c = np.abs(np.asarray(c, np.float64)).ravel()
    if node.op_type in ("Sub", "Add") and c.max() > 1.5:
        return NORMS["0_255"]
    if node.op_type == "Div" and c.max() > 1.5:
        return NORMS["0_255"]
    if node.op_type == "Mul" and 0 < c.max() < 1.0 / 30:
        return NORMS["0_255"]
    return None


def _quant_norm(quant, dtype):
    """(mean, std) mapping pixels 0..255 onto the real range an integer input covers."""
    info = np.iinfo(dtype)
    scale, zp = quant
    lo = scale * (info.min - zp)
    hi = scale * (info.max - zp)
    if hi - lo <= 0:
        return None
    mean = -lo / (hi - lo)
    std = 1.0 / (hi - lo)
    return (mean,) * 3, (std,) * 3


# ---- input ---------------------------------------------------------------------------------
def _detect_input(engine, card, ov: IOOverrides, spec_notes: list) -> dict:
    image_inputs = [t for t in engine.inputs]
    if len(image_inputs) != 1:
        names = ", ".join(t.describe() for t in engine.inputs)
        raise ModelError(
            f"the model has {len(engine.inputs)} inputs ({names}); "
            "liveseg needs exactly one image input"
        )
    t = image_inputs[0]
    dims = list(t.shape)
    if len(dims) == 3:  # no batch dimension: treat as batch of one
        dims = [1] + dims
    if len(dims) != 4:
        raise ModelError(
            f"input {t.describe()} is not an image tensor (expected 4 dims like [1,3,H,W] or "
            f"[1,H,W,3]); this model cannot be used"
        )
    if t.dtype.kind not in "fiu":
        raise ModelError(
            f"input {t.describe()} has an unsupported dtype; expected float or (u)int8"
        )
    if t.dtype.kind in "iu" and t.dtype not in (np.dtype(np.uint8), np.dtype(np.int8)):
        raise ModelError(f"input {t.describe()} is an integer tensor that is not uint8/int8")

    # layout
    ch_ok = lambda d: d in (3, 4)  # noqa: E731
    if ov.layout:
        layout, layout_src = ov.layout, "override"
    elif card is not None:
        layout, layout_src = card.layout, "card"
    elif ch_ok(dims[1]) and not ch_ok(dims[3]):
        layout, layout_src = "nchw", "shape"
    elif ch_ok(dims[3]) and not ch_ok(dims[1]):
        layout, layout_src = "nhwc", "shape"
    elif dims[1] is None and dims[3] is None or (ch_ok(dims[1]) and ch_ok(dims[3])):
        layout = "nhwc" if engine.name == "litert" else "nchw"
        layout_src = "default"
        spec_notes.append(f"layout is ambiguous ({t.describe()}); assumed {layout}, pass --layout")
    else:
        raise ModelError(
            f"input {t.describe()} has no channel dimension of size 3 or 4; "
            f"pass --layout nchw|nhwc if it is an image input"
        )
    c_axis, h_axis, w_axis = (1, 2, 3) if layout == "nchw" else (3, 1, 2)
    channels = (
        dims[c_axis]
        if dims[c_axis] is not None
        else (4 if card is not None and card.prev_mask_input else 3)
    )
    if channels not in (3, 4):
        raise ModelError(
            f"input {t.describe()} read as {layout} has {channels} channels; liveseg feeds 3 (RGB) "
            f"or 4 (RGB + previous mask): pass --layout {'nhwc' if layout == 'nchw' else 'nchw'} "
            f"if the layout is wrong"
        )
    if dims[0] not in (1, None):
        raise ModelError(
            f"input {t.describe()} has a fixed batch of {dims[0]}; liveseg feeds one frame"
        )

    # size
    H, W = dims[h_axis], dims[w_axis]
    dynamic = H is None or W is None
    if not dynamic:
        size = (W, H)
        if ov.input_size and tuple(ov.input_size) != size:
            raise ConfigError(
                f"the model's input size is fixed at {W}x{H}; --input-size "
                f"{ov.input_size[0]}x{ov.input_size[1]} cannot be used (only ONNX graphs "
                "without fixed shapes inside can be rewritten to another size)"
            )
    elif ov.input_size:
        size = tuple(ov.input_size)
    elif card is not None:
        size = tuple(card.input_size)
    else:
        if H is None and W is None:
            size = DEFAULT_DYNAMIC_SIZE
        else:
            side = H if H is not None else W
            size = (side, side)
        spec_notes.append(
            f"input size is dynamic; using {size[0]}x{size[1]} (pass --input-size WxH to change)"
        )

    # normalisation
    quant = t.quant
    if t.dtype.kind in "iu" and quant is None:
        quant = (1.0, 0.0) if t.dtype == np.uint8 else (1.0, -128.0)
    if ov.mean is not None or ov.std is not None:
        base_mean, base_std = (
            (tuple(card.mean), tuple(card.std)) if card is not None else (None, None)
        )
        if base_mean is None:
            auto = _auto_norm(engine, t, layout, quant)
            base_mean, base_std = auto[0], auto[1]
        mean = ov.mean if ov.mean is not None else base_mean
        std = ov.std if ov.std is not None else base_std
        norm_source = "override"
    elif card is not None:
        mean, std, norm_source = tuple(card.mean), tuple(card.std), "card"
    else:
        mean, std, norm_source = _auto_norm(engine, t, layout, quant)
    return dict(
        input_name=t.name,
        input_dtype=t.dtype.name,
        layout=layout,
        channels=int(channels),
        input_size=(int(size[0]), int(size[1])),
        dynamic_size=dynamic,
        mean=tuple(float(x) for x in mean),
        std=tuple(float(x) for x in std),
        input_quant=quant if t.dtype.kind in "iu" else None,
        norm=norm_name(mean, std),
        norm_source=norm_source,
        layout_source=layout_src,
    )


def _auto_norm(engine, t, layout, quant):
    if t.dtype.kind in "iu":
        q = _quant_norm(quant, t.dtype)
        if q is not None:
            return q[0], q[1], "quantization"
    m = _metadata_norm(engine.metadata)
    if m is not None:
        return m[0], m[1], "metadata"
    g = _graph_norm(engine, t.name, layout)
    if g is not None:
        return g[0], g[1], "graph"
    if layout == "nhwc":
        return NORMS["0_1"][0], NORMS["0_1"][1], "default"
    return IMAGENET_MEAN, IMAGENET_STD, "default"


def _class_count_hint(card, ov: IOOverrides, engine) -> int | None:
    """How many classes the user, the card or the metadata name (None when nobody does)."""
    if ov.classes:
        return len(ov.classes)
    if card is not None and card.classes:
        return len(card.classes)
    meta = _metadata_classes(engine.metadata)
    return len(meta) if meta else None


def detect_io(engine, card=None, overrides: IOOverrides | None = None) -> IOSpec:
    """Work out how to feed ``engine`` and read its output; ``card`` (if any) has priority,
    ``overrides`` beat both."""
    from liveseg.runtime.processing import Preprocessor

    ov = overrides or IOOverrides()
    notes: list[str] = []
    inp = _detect_input(engine, card, ov, notes)
    spec = IOSpec(**inp, notes=notes)
    if card is not None:
        spec.color_order = card.color_order
        if card.prev_mask_input and spec.channels != 4:
            raise ModelError(
                f"the card says the model takes a previous-mask channel but input "
                f"{engine.inputs[0].describe()} has {spec.channels} channels"
            )
    spec.prev_mask_input = spec.channels == 4

    W, H = spec.input_size
    x = Preprocessor(spec)(probe_image(W, H))
    if len(engine.inputs[0].shape) == 3:
        x = x[0]
    try:
        outs = engine.run({spec.input_name: x})
    except Exception as exc:
        msg = str(exc).strip().splitlines()
        raise ModelError(
            f"running the model on a {W}x{H} {spec.layout} probe failed "
            f"({msg[0][:200] if msg else type(exc).__name__}); "
            f"check --input-size / --layout"
        ) from None

    reasons = []
    chosen = None
    hint = {
        "card_kind": card.output_kind if card is not None else None,
        "n_classes": _class_count_hint(card, ov, engine),
    }
    for i, (arr, info) in enumerate(zip(outs, engine.outputs, strict=True)):
        r = classify_output(np.asarray(arr), info, engine, H, W, None, spec.layout, hint)
        if isinstance(r, str):
            reasons.append(f"{info.name}: {r}")
            continue
        chosen = (i, info, r)
        break
    if chosen is None:
        raise ModelError(
            "cannot understand the model's outputs (" + "; ".join(reasons) + "); liveseg reads "
            "C-channel logits/probabilities, a 1-channel foreground map or an integer label map"
        )
    i, info, r = chosen
    kind, olayout, (h, w), C = r.kind, r.layout, r.hw, r.C
    spec.output_index, spec.output_name = i, info.name
    spec.output_kind, spec.output_layout, spec.output_size = kind, olayout, (int(h), int(w))
    spec.output_quant = r.quant
    spec.output_kind_source = r.why
    for note in (r.note, constant_note(outs[i], info.name, r)):
        if note:
            notes.append(note)
    if kind != "labels" and card is not None and card.output_kind == kind:
        spec.output_kind_source = "card"
    elif kind != "labels" and card is not None and card.output_kind != kind:
        # The card is authoritative about the meaning (e.g. logits whose probe looked like probs).
        compatible = {kind, card.output_kind} <= {"logits", "probs"} or {
            kind,
            card.output_kind,
        } <= {"fg_prob", "fg_logit"}
        if compatible:
            spec.output_kind = card.output_kind
            spec.output_kind_source = "card"
        else:
            notes.append(f"card says output_kind={card.output_kind}, output looks like {kind}")

    # classes
    if kind == "labels":
        binary = C == 2  # a 0/1 mask
        C = None
        if card is not None and card.classes:
            C, spec.classes_source = len(card.classes), "card"
        if C is None and ov.classes:
            C = len(ov.classes)
        if C is None:
            C = engine.argmax_classes(info.name)
            if C is not None:
                spec.classes_source = "graph (ArgMax input)"
        if C is None:
            meta_cls = _metadata_classes(engine.metadata)
            if meta_cls:
                C = len(meta_cls)
        if C is None and binary:
            C = 2
        if C is None:
            C = DEFAULT_LABEL_CLASSES
            spec.classes_source = "default"
            notes.append(
                f"label map with an unknown number of classes: assumed {C}; pass --classes a,b,... "
            )
        spec.num_classes = int(C)
    else:
        spec.num_classes = 2 if C == 1 else int(C)

    if ov.classes:
        if len(ov.classes) != spec.num_classes:
            raise ConfigError(
                f"--classes names {len(ov.classes)} classes "
                f"but the model outputs {spec.num_classes}"
                + (
                    " (a 1-channel foreground map counts as background,foreground)"
                    if C == 1
                    else ""
                )
            )
        spec.classes, spec.classes_source = list(ov.classes), "override"
    elif card is not None and card.classes:
        if len(card.classes) != spec.num_classes:
            raise ModelError(
                f"the model card lists {len(card.classes)} classes but the model outputs "
                f"{spec.num_classes}; fix the card or pass --classes"
            )
        spec.classes, spec.classes_source = list(card.classes), "card"
    else:
        meta_cls = _metadata_classes(engine.metadata)
        if meta_cls and len(meta_cls) == spec.num_classes:
            spec.classes, spec.classes_source = meta_cls, "metadata"
        elif spec.num_classes == 2 and (C in (1, 2) or kind == "labels"):
            spec.classes = ["background", "foreground"]
            spec.classes_source = "detected (foreground model)"
        else:
            spec.classes = [f"class{k}" for k in range(spec.num_classes)]
            if spec.classes_source == "detected":
                spec.classes_source = "generic names (pass --classes)"
    return spec
