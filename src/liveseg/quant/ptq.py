"""Post-training quantization of ONNX models with ONNX Runtime (static QDQ and dynamic).

The default recipe is the one that is fastest on x86 CPUs without VNNI (measured, see
BENCHMARKS.md): ``quant_pre_process`` (symbolic shape inference + ORT basic fusions), then
static quantization in QDQ format with **uint8 activations** (asymmetric, calibrated) and
**int8 per-channel symmetric weights**, by default with ORT's ``reduce_range`` (weights on a
+-64 grid): x86 CPUs without VNNI multiply u8 x s8 in pairs summed into saturating int16
(vpmaddubsw), which wrecked the stem conv of a CamVid DeepLabV3+ (-8.5 mIoU) with full-range
weights (``reduce_range_for`` decides by target CPU). Calibration images come from
``liveseg.quant.calibration`` (preprocessed by the runtime's own preprocessor).

Everything that writes goes through a temporary file in the output folder that is renamed
into place, so a failed quantization never leaves a broken model behind. No torch.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from liveseg.errors import ConfigError, InputError, ModelError
from liveseg.quant.calibration import calibration_reader
from liveseg.quant.onnx_io import (
    QuantizeResult,
    card_for_model,
    check_output,
    check_runs_on_random_frame,
    count_ops,
    derived_card,
    first_line,
    load_onnx,
    run_once,
    save_with_card,
)

METHODS = ("minmax", "entropy", "percentile")
ACTIVATION_TYPES = ("uint8", "int8")
# Ops whose exclusion matters for accuracy and that "first"/"last" refer to.
COMPUTE_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


TARGET_CPUS = ("host", "avx2", "vnni", "arm")


def reduce_range_for(target: str = "host") -> tuple[bool, str]:
    """Whether int8 weights should use ORT's reduce_range (+-64) for ``target``, and why.

    reduce_range exists only for x86 CPUs without VNNI, whose u8 x s8 kernels add products
    pairwise in saturating int16 (``vpmaddubsw``). VNNI (AVX-512 VNNI, AVX-VNNI), AMX-INT8 and
    ARM's dot-product instructions accumulate in int32, so full-range int8 weights are safe
    there and keep one more bit. ``target``: ``host`` (this machine's CPU), ``avx2`` (x86 without
    VNNI), ``vnni`` (x86 with VNNI or AMX), ``arm``."""
    if target not in TARGET_CPUS:
        raise ConfigError(f"--target-cpu must be one of {', '.join(TARGET_CPUS)}, got {target!r}")
    if target == "avx2":
        return True, "target avx2: u8 x s8 products saturate in int16 pairs without VNNI"
    if target == "vnni":
        return False, "target vnni: VNNI/AMX accumulate u8 x s8 products in int32"
    if target == "arm":
        return False, "target arm: dot-product instructions accumulate in int32"
    from liveseg.sysinfo import cpu_features

    f = cpu_features()
    if f["arch"] == "arm":
        return False, "this CPU is ARM: int8 products accumulate in int32"
    if f["int8_dot"]:
        have = [k for k in ("AVX-512 VNNI", "AVX-VNNI", "AMX-INT8") if f["isa"].get(k)]
        return False, f"this CPU has {', '.join(have) or 'VNNI'}: no int16 saturation"
    return True, "this CPU has no VNNI/AMX: u8 x s8 products saturate in int16 pairs"


# ---------------------------------------------------------------------------------------------
# Exclusions
# ---------------------------------------------------------------------------------------------
def resolve_exclusions(model, tokens) -> list[str]:
    """Node names to keep in float from tokens: ``first``, ``last``, an op type (``Resize``,
    ``Softmax``: every node of that type) or a node name."""
    tokens = [t.strip() for t in (tokens or []) if t and t.strip()]
    nodes = list(model.graph.node)  # ONNX graphs are topologically sorted
    compute = [n for n in nodes if n.op_type in COMPUTE_OPS]
    by_name = {n.name: n for n in nodes if n.name}
    op_types = {n.op_type.lower(): n.op_type for n in nodes}
    out: list[str] = []
    for tok in tokens:
        low = tok.lower()
        if low in ("first", "last"):
            if not compute:
                raise ConfigError(f"--exclude {tok}: the model has no {'/'.join(COMPUTE_OPS)} node")
            out.append((compute[0] if low == "first" else compute[-1]).name)
        elif tok in by_name:
            out.append(tok)
        elif low in op_types:
            out.extend(n.name for n in nodes if n.op_type == op_types[low])
        else:
            import difflib

            close = difflib.get_close_matches(tok, list(by_name), n=3, cutoff=0.5)
            hint = f"; did you mean: {', '.join(close)}" if close else ""
            raise ConfigError(
                f"--exclude {tok!r} is not 'first', 'last', an op type or a node name of "
                f"the model{hint} (node names: liveseg quantize MODEL --list-nodes)"
            )
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------------------------------------
# Static QDQ quantization
# ---------------------------------------------------------------------------------------------
def preprocess_for_quant(model_path, out_path):
    """ORT's quant_pre_process (symbolic shape inference + basic graph optimization)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # quant_pre_process logs whole tracebacks at ERROR level before raising: keep them quiet,
    # the user gets one line (and --debug the exception).
    log = logging.getLogger("onnxruntime.quantization.shape_inference")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        quant_pre_process(str(model_path), str(out_path), skip_symbolic_shape=False)
    except Exception:  # noqa: BLE001 - symbolic inference fails on some graphs: retry without
        try:
            quant_pre_process(str(model_path), str(out_path), skip_symbolic_shape=True)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(
                f"ONNX Runtime cannot pre-process {Path(model_path).name} for quantization: "
                f"{first_line(exc)}"
            ) from None
    finally:
        log.setLevel(level)


def _qtype(name):
    from onnxruntime.quantization import QuantType

    return {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}[name]


def _calib_method(method):
    from onnxruntime.quantization import CalibrationMethod

    if method not in METHODS:
        raise ConfigError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    return {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }[method]


def run_quantize_static(
    pre_path,
    out_path,
    reader,
    *,
    method="minmax",
    per_channel=True,
    activation_type="uint8",
    exclude_nodes=(),
    nodes_to_quantize=None,
    tensor_overrides=None,
    calib_cache=None,
    percentile=99.999,
    reduce_range=False,
):
    """ORT quantize_static in QDQ format; ORT errors become ModelError."""
    from onnxruntime.quantization import QuantFormat, quantize_static

    if activation_type not in ACTIVATION_TYPES:
        raise ConfigError(f"--activation-type must be uint8 or int8, got {activation_type!r}")
    extra = {"ActivationSymmetric": False, "WeightSymmetric": True}
    if method == "percentile":
        extra["CalibPercentile"] = percentile
    if tensor_overrides:
        extra["TensorQuantOverrides"] = tensor_overrides
    if reader is not None:
        reader.rewind()
    import contextlib
    import io

    try:
        with contextlib.redirect_stdout(io.StringIO()):  # histogram calibrators print progress
            quantize_static(
                str(pre_path),
                str(out_path),
                reader,
                quant_format=QuantFormat.QDQ,
                per_channel=per_channel,
                reduce_range=reduce_range,
                activation_type=_qtype(activation_type),
                weight_type=_qtype("int8"),
                nodes_to_exclude=list(exclude_nodes),
                nodes_to_quantize=list(nodes_to_quantize or []),
                calibrate_method=_calib_method(method),
                extra_options=extra,
                calibration_cache_path=calib_cache,
            )
    except (InputError, ConfigError):
        raise
    except Exception as exc:  # noqa: BLE001 - ORT raises many kinds; one line for the user
        raise ModelError(f"ONNX Runtime could not quantize the model: {first_line(exc)}") from None


def quantize_model(
    model_path,
    output,
    calib,
    *,
    method="minmax",
    samples=64,
    exclude=(),
    per_channel=True,
    activation_type="uint8",
    overwrite=False,
    tensor_overrides=None,
    note_extra="",
    reduce_range=True,
    calib_label=None,
) -> QuantizeResult:
    """Static int8 PTQ (QDQ): the whole `liveseg quantize` path, atomic and checked.

    ``calib_label``: what the card and the info call the calibration data (default: ``calib``;
    callers that calibrate on a temporary folder of links name the data set instead).

    ``tensor_overrides``: ORT TensorQuantOverrides ({tensor: [{"rmin": .., "rmax": ..}]}), or a
    callable building them from the pre-processed ONNX model (QAT pins its learned ranges).
    """
    import onnx

    t0 = time.perf_counter()
    model = load_onnx(model_path)
    output = check_output(model_path, output, overwrite)
    card = card_for_model(model_path, model)
    if method not in METHODS:
        raise ConfigError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    if activation_type not in ACTIVATION_TYPES:
        raise ConfigError(f"--activation-type must be uint8 or int8, got {activation_type!r}")
    reader = calibration_reader(model_path, calib, samples, card, model)
    with tempfile.TemporaryDirectory(prefix="liveseg-quant-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        preprocess_for_quant(model_path, pre)
        pre_model = onnx.load(str(pre))
        excluded = resolve_exclusions(pre_model, exclude)
        if callable(tensor_overrides):  # ranges known by layer (QAT): names from this graph
            tensor_overrides = tensor_overrides(pre_model)
        qpath = Path(tmp) / "q.onnx"
        run_quantize_static(
            pre,
            qpath,
            reader,
            method=method,
            per_channel=per_channel,
            activation_type=activation_type,
            exclude_nodes=excluded,
            tensor_overrides=tensor_overrides,
            reduce_range=reduce_range,
        )
        qmodel = onnx.load(str(qpath))
    ops = count_ops(qmodel)
    if not ops.get("QuantizeLinear"):
        raise ModelError(
            "nothing in this model could be quantized (no Conv/MatMul/... nodes "
            "ONNX Runtime quantizes, or all of them excluded)"
        )
    _check_runs(qmodel, reader)
    info = {
        "format": "int8-qdq",
        "tool": "onnxruntime.quantization.quantize_static",
        "activations": f"{activation_type} per-tensor asymmetric",
        "weights": ("int7 (reduce_range) " if reduce_range else "int8 ")
        + ("per-channel" if per_channel else "per-tensor")
        + " symmetric",
        "calibration": {
            "method": method,
            "data": str(calib_label or calib),
            "images": reader.images_read,
            "samples": len(reader),
            "unreadable": len(reader.unreadable),
        },
        "excluded_nodes": excluded,
        "pinned_ranges": len(tensor_overrides or {}),
        "source": Path(model_path).name,
    }
    note = (
        f"int8 QDQ ({activation_type} activations, "
        f"{'7-bit (reduce_range) ' if reduce_range else ''}int8 "
        f"{'per-channel' if per_channel else 'per-tensor'} weights), {method} calibration "
        f"on {reader.images_read} images from {calib_label or calib}"
        + (f" ({len(reader)} inputs: first and later frames)" if card.prev_mask_input else "")
        + (f", {len(excluded)} nodes kept float" if excluded else "")
        + (f"; {note_extra}" if note_extra else "")
    )
    qcard = derived_card(card, "int8", note)
    save_with_card(qmodel, output, qcard, info)
    return QuantizeResult(output, qcard, info, time.perf_counter() - t0, output.stat().st_size, ops)


def _check_runs(model, reader):
    """The quantized model must load and run in ORT on one calibration sample."""
    reader.rewind()
    try:
        run_once(model, lambda sess: reader.get_next(), "quantized")
    finally:
        reader.rewind()


# ---------------------------------------------------------------------------------------------
# Dynamic-range (weights-only) quantization
# ---------------------------------------------------------------------------------------------
def quantize_dynamic_model(
    model_path, output, *, overwrite=False, per_channel=False, weight_type="uint8"
) -> QuantizeResult:
    """Weights int8/uint8, activations quantized on the fly (ConvInteger/MatMulInteger).

    ORT's CPU ConvInteger only takes uint8 weights, so uint8 is the default here.
    """
    import onnx
    from onnxruntime.quantization import quantize_dynamic

    t0 = time.perf_counter()
    model = load_onnx(model_path)
    output = check_output(model_path, output, overwrite)
    card = card_for_model(model_path, model)
    with tempfile.TemporaryDirectory(prefix="liveseg-quant-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        preprocess_for_quant(model_path, pre)
        qpath = Path(tmp) / "q.onnx"
        try:
            quantize_dynamic(
                str(pre), str(qpath), per_channel=per_channel, weight_type=_qtype(weight_type)
            )
        except Exception as exc:  # noqa: BLE001
            raise ModelError(
                f"ONNX Runtime could not quantize the model: {first_line(exc)}"
            ) from None
        qmodel = onnx.load(str(qpath))
    ops = count_ops(qmodel)
    if not any(
        k in ops
        for k in ("ConvInteger", "MatMulInteger", "DynamicQuantizeLinear", "DynamicQuantizeMatMul")
    ):
        raise ModelError("dynamic quantization changed nothing in this model")
    check_runs_on_random_frame(qmodel, card)
    info = {
        "format": "dynamic",
        "tool": "onnxruntime.quantization.quantize_dynamic",
        "weights": f"{weight_type} " + ("per-channel" if per_channel else "per-tensor"),
        "activations": "quantized at run time (uint8)",
        "source": Path(model_path).name,
    }
    qcard = derived_card(card, "dynamic", f"dynamic-range quantization ({weight_type} weights)")
    save_with_card(qmodel, output, qcard, info)
    return QuantizeResult(output, qcard, info, time.perf_counter() - t0, output.stat().st_size, ops)
