"""fp16 ONNX: weights and activations in half precision, float32 inputs/outputs.

Uses onnxconverter-common's ``float16.convert_float_to_float16`` (keep_io_types=True, so the
runtime feeds and reads float32 as for any model). Ops that are unsafe or unsupported in
fp16 (its default block list, which includes Resize) stay float32 behind Cast nodes. Whether
fp16 is faster depends on the engine and device: ONNX Runtime's CPU provider has few fp16
kernels on x86, so it inserts casts and runs most ops in float32 (see BENCHMARKS.md).
No torch here.
"""

from __future__ import annotations

import time
from pathlib import Path

from liveseg.errors import DependencyError, ModelError
from liveseg.export.quantize import (
    QuantizeResult,
    _check_runs_random,
    _first_line,
    card_for_model,
    check_output,
    count_ops,
    derived_card,
    load_onnx,
    save_with_card,
)


def convert_fp16(model_path, output, *, overwrite=False, keep_io_types=True,
                 op_block_list=None) -> QuantizeResult:
    t0 = time.perf_counter()
    try:
        from onnxconverter_common import float16
    except ImportError as exc:
        raise DependencyError(
            f"fp16 conversion needs onnxconverter-common: pip install onnxconverter-common ({exc})"
        ) from None
    model = load_onnx(model_path)
    output = check_output(model_path, output, overwrite)
    card = card_for_model(model_path, model)
    kwargs = {"keep_io_types": keep_io_types}
    if op_block_list is not None:
        kwargs["op_block_list"] = list(op_block_list)
    try:
        half = float16.convert_float_to_float16(model, **kwargs)
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"cannot convert the model to fp16: {_first_line(exc)}") from None
    _check_runs_random(half, card)
    ops = count_ops(half)
    info = {"format": "fp16", "tool": "onnxconverter_common.float16.convert_float_to_float16",
            "keep_io_types": keep_io_types, "cast_nodes": ops.get("Cast", 0),
            "source": Path(model_path).name}
    qcard = derived_card(card, "fp16", "fp16 weights and activations (float32 inputs/outputs)")
    save_with_card(half, output, qcard, info)
    return QuantizeResult(output, qcard, info, time.perf_counter() - t0,
                          output.stat().st_size, ops)
