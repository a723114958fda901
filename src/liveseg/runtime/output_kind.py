"""How one output of a model is read, decided from the probe run's array, its dtype and shape,
and the graph (``liveseg.runtime.iodetect`` documents the rules): ``classify_output`` gives an
:class:`OutputRead` (kind, layout, size, channels, decoding) or why it cannot be read;
``constant_note`` flags an output that hardly varies on the probe."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liveseg.runtime.engines.base import PASSTHROUGH_OPS


def _strides_match(h, w, H, W) -> bool:
    if h < 1 or w < 1 or h > H or w > W:
        return False
    for s in (1, 2, 4, 8, 16, 32):
        if abs(h - H / s) <= 1 and abs(w - W / s) <= 1:
            return True
    return abs(h / w - H / W) <= 0.05 * (H / W) + 1.0 / min(h, w)


def _flat_hw(n, H, W):
    for s in (1, 2, 4, 8, 16, 32):
        for h, w in ((H // s, W // s), (-(-H // s), -(-W // s))):
            if h * w == n:
                return h, w
    return None


# Ops whose integer output is a class index (arg-max) or a thresholded 0/1 mask.
LABEL_OPS = {
    "ARGMAX",
    "ARGMIN",
    "TOPK",
    "GREATER",
    "GREATEREQUAL",
    "GREATEROREQUAL",
    "LESS",
    "LESSEQUAL",
    "LESSOREQUAL",
    "EQUAL",
    "NOTEQUAL",
    "NOT",
    "AND",
    "OR",
}


@dataclass
class OutputRead:
    """How one output is read: kind, layout, (h, w), channels (None for label maps), the
    (scale, zero_point) its values are decoded with, and a note for ``info``."""

    kind: str
    layout: str
    hw: tuple
    C: int | None
    quant: tuple | None = None
    note: str | None = None
    why: str = ""


def _int8_map_kind(arr, info, engine, hint) -> tuple[str, tuple | None, str, int | None]:
    """A single-channel uint8/int8 output without quantization parameters: a label map, or a
    confidence map (value/255, int8 shifted by 128) as MediaPipe-style segmenters emit?

    First match wins: the card's output_kind; the graph (an ArgMax or a comparison ->
    labels, any other computing op -> confidence); 3+ class names from --classes, the card
    or metadata -> labels; the probe's values (only 0 and 1 -> a binary label map); else a
    confidence map. Returns (kind, quant or None, why, classes if known)."""
    dtype = np.dtype(arr.dtype)
    conf_quant = (1 / 255, 0.0) if dtype == np.uint8 else (1 / 255, -128.0)
    card_kind = hint.get("card_kind")
    if card_kind == "labels":
        return "labels", None, "the card says labels", None
    if card_kind in ("fg_prob", "fg_logit"):
        return "fg_prob", conf_quant, "the card says a foreground map", 1
    chain = [c for c in (engine.output_source(info.name) or []) if c]
    if chain:
        src = " <- ".join(chain)
        if chain[-1] in LABEL_OPS:  # an arg-max's class count is looked up later; masks are 0/1
            n = None if chain[-1] in ("ARGMAX", "ARGMIN", "TOPK") else 2
            return "labels", None, f"graph: {src}", n
        if chain[-1] not in PASSTHROUGH_OPS:
            return "fg_prob", conf_quant, f"graph: {src}", 1
    n = hint.get("n_classes")
    if n is not None and n >= 3:
        return "labels", None, f"{n} class names given", None
    v = np.unique(arr)
    if v.size == 2 and v.min() == 0 and v.max() == 1:
        return "labels", None, "only values 0 and 1 on the probe", 2
    return (
        "fg_prob",
        conf_quant,
        (f"values {int(v.min())}..{int(v.max())} on the probe" if v.size > 1 else "default"),
        1,
    )


def classify_output(arr: np.ndarray, info, engine, H, W, ov_layout, in_layout, hint=None):
    """A :class:`OutputRead` for one output array, or a string saying why it cannot be read."""
    hint = hint or {}
    shape = arr.shape
    producer = engine.output_producers.get(info.name, "")
    integer = arr.dtype.kind in "iu" and info.quant is None
    if arr.dtype.kind == "b":
        integer = True
    s = [d for d in shape]
    # Strip a leading batch of 1.
    if len(s) >= 3 and s[0] == 1:
        s = s[1:]
    quant = info.quant
    note = None
    if integer:
        if len(s) == 3 and s[0] == 1:
            s = s[1:]
        elif len(s) == 3 and s[-1] == 1:
            s = s[:-1]
        if len(s) == 2 and s[0] == 1 and s[1] > 1:  # [1, H*W]
            s = [s[1]]
        if len(s) == 1:
            hw = _flat_hw(s[0], H, W)
            if hw is None:
                return f"a flattened map of {s[0]} values that matches no stride of {W}x{H}"
        elif len(s) == 2:
            hw = (s[0], s[1])
        else:
            return f"an integer tensor of shape {list(shape)}"
        if np.dtype(arr.dtype) in (np.dtype(np.uint8), np.dtype(np.int8)):
            kind, quant, why, C = _int8_map_kind(arr, info, engine, hint)
            dt = np.dtype(arr.dtype).name
            if kind == "labels":
                note = (
                    f"1-channel {dt} output without quantization parameters read as a "
                    f"label map [{why}]"
                )
                return OutputRead("labels", "map", hw, C, None, note, why)
            scale = "value/255" if dt == "uint8" else "(value+128)/255"
            note = (
                f"1-channel {dt} output without quantization parameters read as a confidence "
                f"map: P(foreground) = {scale}, foreground above 0.5 [from {why}]; pass "
                f"--classes with 3+ names if it is a label map"
            )
            return OutputRead("fg_prob", "map", hw, 1, quant, note, why)
        return OutputRead("labels", "map", hw, None, why=f"{np.dtype(arr.dtype).name} output")
    vals = (
        arr.astype(np.float32)
        if info.quant is None
        else ((arr.astype(np.float32) - info.quant[1]) * info.quant[0])
    )
    if len(s) == 2:  # (h, w)
        s = [1] + s if not (s[0] == 1 and s[1] > 1) else s
        if len(s) == 2:
            hw = _flat_hw(s[1], H, W)
            if hw is None:
                return f"a float tensor of shape {list(shape)}"
            s = [1, *hw]
    if len(s) != 3:
        return f"a float tensor of shape {list(shape)}"
    nchw_ok = _strides_match(s[1], s[2], H, W)
    nhwc_ok = _strides_match(s[0], s[1], H, W)
    if nchw_ok and nhwc_ok:
        if ov_layout:
            layout = ov_layout
        elif s[0] != s[2]:
            layout = "nchw" if s[0] < s[2] else "nhwc"
        else:
            layout = in_layout
    elif nchw_ok:
        layout = "nchw"
    elif nhwc_ok:
        layout = "nhwc"
    else:
        return (
            f"a float tensor of shape {list(shape)} with no spatial grid matching the {W}x{H} input"
        )
    C, h, w = (s[0], s[1], s[2]) if layout == "nchw" else (s[2], s[0], s[1])
    if h * w <= 1:
        return f"a float tensor of shape {list(shape)} with no spatial extent"
    if C == 1:
        if producer in ("SIGMOID", "LOGISTIC"):
            return OutputRead("fg_prob", "map", (h, w), 1, quant, why=f"graph: {producer}")
        if np.all(vals.astype(np.float32) == np.rint(vals)) and vals.max() > 1:
            return OutputRead(
                "labels", "map", (h, w), None, quant, why="integer probe values above 1"
            )
        if vals.min() >= 0.0 and vals.max() <= 1.0:
            return OutputRead("fg_prob", "map", (h, w), 1, quant, why="probe values in [0,1]")
        return OutputRead("fg_logit", "map", (h, w), 1, quant, why="probe values outside [0,1]")
    if producer == "SOFTMAX":
        return OutputRead("probs", layout, (h, w), C, quant, why="graph: SOFTMAX")
    ax = 0 if layout == "nchw" else 2
    v = vals.reshape(s)
    if v.min() >= -1e-4 and v.max() <= 1 + 1e-4 and np.allclose(v.sum(axis=ax), 1.0, atol=2e-3):
        return OutputRead("probs", layout, (h, w), C, quant, why="probe values sum to 1")
    return OutputRead("logits", layout, (h, w), C, quant, why="probe values do not sum to 1")


def constant_note(arr: np.ndarray, name: str, r: OutputRead) -> str | None:
    """A note when the chosen output hardly varies over the probe image (its kind was then
    decided from its type and graph rather than its values)."""
    a = np.asarray(arr)
    if a.size == 0:
        return None
    if r.kind == "labels":
        v = np.unique(a)
        return (
            f"output {name} is constant ({v[0].item()}) on liveseg's synthetic probe image"
            if v.size == 1
            else None
        )
    x = a.astype(np.float32)
    if r.quant is not None:
        x = (x - np.float32(r.quant[1])) * np.float32(r.quant[0])
    lo, hi = float(x.min()), float(x.max())
    if hi - lo <= 1e-6 * max(1.0, abs(hi)):
        return f"output {name} is constant ({lo:.4g}) on liveseg's synthetic probe image"
    if r.kind in ("fg_prob", "probs") and hi - lo < 1 / 255:
        return (
            f"output {name} is nearly constant ({lo:.3g}..{hi:.3g}) on liveseg's synthetic "
            f"probe image (no foreground in it?)"
        )
    return None
