"""Model card + detected I/O -> the JSON the page's processing.mjs reads.

The page must feed and read the model exactly as ``liveseg run`` does, so everything comes
from the same objects: the IOSpec that ``liveseg.runtime.iodetect`` detected (with the card
and any overrides applied), the Preprocessor's folded per-channel ``a``/``b`` (mean/std,
colour order and input quantization in one multiply-add), and the effects' foreground
classes and palette.
"""

from __future__ import annotations

from liveseg.card import default_palette
from liveseg.runtime.processing import Preprocessor
from liveseg.video.effects import default_effect, default_foreground

# The page's defaults, the same as liveseg run's effects and temporal smoothing.
SMOOTH_ALPHA = 0.5  # liveseg.video.temporal_spec.DEFAULT_SMOOTH_ALPHA
FEATHER = 1.0
BLUR_STRENGTH = 1.0
OVERLAY_ALPHA = 0.5


def _float_list(values) -> list[float]:
    return [float(v) for v in values]


def web_config(model, model_url: str, effect: str | None = None) -> dict:
    """The page's configuration for a loaded SegModel served at ``model_url``."""
    io = model.io
    pre = Preprocessor(io, fg_classes=model.foreground_indices)
    W, H = io.input_size
    C_in = io.channels
    dims = [1, C_in, H, W] if io.layout == "nchw" else [1, H, W, C_in]
    if len(model.engine.inputs[0].shape) == 3:  # SegModel squeezes the batch for these
        dims = dims[1:]
    n = io.num_classes
    palette = [list(map(int, c)) for c in (model.card.palette or [])][:n]
    palette += default_palette(n)[len(palette) :]
    out_h, out_w = io.output_size
    return {
        "name": model.card.name,
        "file": model.path.name,
        "model_url": model_url,
        "task": model.card.task,
        "classes": list(io.classes) or [str(i) for i in range(n)],
        "palette": palette,
        "foreground": default_foreground(model.card),
        "effect": effect or default_effect(model.card),
        "input": {
            "name": io.input_name,
            "dtype": str(io.input_dtype),
            "dims": dims,
            "layout": io.layout,
            "channels": C_in,
            "width": int(W),
            "height": int(H),
            "color_order": io.color_order,
            # Per model channel: value = pixel * scale + offset (then rounded and clipped for
            # integer inputs), exactly the runtime Preprocessor's float32 constants.
            "scale": _float_list(pre.a),
            "offset": _float_list(pre.b),
            "quant": _float_list(io.input_quant) if io.input_quant else None,
            "prev_mask": bool(io.prev_mask_input),
            "prev_mask_classes": list(model.foreground_indices),
        },
        "output": {
            "name": io.output_name,
            "index": int(io.output_index),
            "kind": io.output_kind,
            "layout": io.output_layout,
            "width": int(out_w),
            "height": int(out_h),
            "classes": int(n),
            "quant": _float_list(io.output_quant) if io.output_quant else None,
        },
        "smooth_alpha": SMOOTH_ALPHA,
        "feather": FEATHER,
        "blur_strength": BLUR_STRENGTH,
        "overlay_alpha": OVERLAY_ALPHA,
        "norm": io.norm,
    }
