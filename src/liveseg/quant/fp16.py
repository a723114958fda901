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
from liveseg.quant.onnx_io import (
    QuantizeResult,
    card_for_model,
    check_output,
    check_runs_on_random_frame,
    count_ops,
    derived_card,
    first_line,
    load_onnx,
    save_with_card,
)


def convert_fp16(
    model_path, output, *, overwrite=False, keep_io_types=True, op_block_list=None
) -> QuantizeResult:
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
        raise ModelError(f"cannot convert the model to fp16: {first_line(exc)}") from None
    check_runs_on_random_frame(half, card)
    ops = count_ops(half)
    info = {
        "format": "fp16",
        "tool": "onnxconverter_common.float16.convert_float_to_float16",
        "keep_io_types": keep_io_types,
        "cast_nodes": ops.get("Cast", 0),
        "source": Path(model_path).name,
    }
    qcard = derived_card(card, "fp16", "fp16 weights and activations (float32 inputs/outputs)")
    save_with_card(half, output, qcard, info)
    return QuantizeResult(output, qcard, info, time.perf_counter() - t0, output.stat().st_size, ops)


def has_fp16_weights(model) -> bool:
    from onnx import TensorProto

    return any(i.data_type == TensorProto.FLOAT16 for i in model.graph.initializer)


def upcast_to_fp32(model):
    """The fp16 model back in float32 (a copy): fp16 initializers, Constant and
    ConstantOfShape values become float32, Casts to fp16 become Casts to float32 (no-ops ORT
    removes), and every fp16 tensor type in the graph's I/O and value_info becomes float32.
    fp16 values are exact in float32, so the network computes what the fp16 file's weights
    say, in float32 (the source for int8 quantization when only the fp16 file is at hand)."""
    import onnx
    from onnx import TensorProto, numpy_helper

    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph

    def up(t):
        if t.data_type != TensorProto.FLOAT16:
            return t
        arr = numpy_helper.to_array(t).astype("float32")
        new = numpy_helper.from_array(arr, t.name)
        return new

    inits = [up(i) for i in g.initializer]
    del g.initializer[:]
    g.initializer.extend(inits)
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT16:
                a.t.CopyFrom(up(a.t))
            if n.op_type == "Cast" and a.name == "to" and a.i == TensorProto.FLOAT16:
                a.i = TensorProto.FLOAT
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        tt = vi.type.tensor_type
        if tt.elem_type == TensorProto.FLOAT16:
            tt.elem_type = TensorProto.FLOAT
    return m


def fp32_source(model_path, folder) -> Path | None:
    """For a model with fp16 weights: a float32 copy of it (same file name, its card beside)
    in ``folder``; None for any other model."""
    import onnx

    model = load_onnx(model_path)
    if not has_fp16_weights(model):
        return None
    card = card_for_model(model_path, model)
    out = Path(folder) / Path(model_path).name
    onnx.save(upcast_to_fp32(model), str(out))
    card.save(out.with_suffix(".json"))
    return out
