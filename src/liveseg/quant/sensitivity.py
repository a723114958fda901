"""Per-layer quantization sensitivity (``liveseg quantize --sensitivity``): which layers hurt
when quantized, and the shortest ``--exclude`` list that recovers most of the accuracy.
No torch."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from liveseg.errors import ConfigError, ModelError
from liveseg.quant.calibration import calibration_reader, pick_evenly
from liveseg.quant.onnx_io import card_for_model, cpu_session
from liveseg.quant.ptq import COMPUTE_OPS, preprocess_for_quant, run_quantize_static
from liveseg.runtime.onnx_file import load_onnx


def output_error(ref: list[np.ndarray], out: list[np.ndarray], channel_axis=1) -> dict:
    """Pixel disagreement of argmax over classes and SQNR (dB) of outputs vs the fp32 ones."""
    agree = total = 0
    sig = noise = 0.0
    for r, o in zip(ref, out, strict=True):
        r = r.astype(np.float64)
        o = o.astype(np.float64)
        sig += float((r**2).sum())
        noise += float(((r - o) ** 2).sum())
        if r.ndim == 4 and r.shape[channel_axis] > 1:
            ra, oa = r.argmax(channel_axis), o.argmax(channel_axis)
        else:  # one-channel (foreground logit/prob) outputs
            ra, oa = r > (0.5 if r.min() >= 0 else 0.0), o > (0.5 if r.min() >= 0 else 0.0)
        agree += int((ra == oa).sum())
        total += ra.size
    sqnr = 10 * np.log10(sig / noise) if noise > 0 else float("inf")
    return {"agreement": agree / max(total, 1), "sqnr_db": float(sqnr)}


def _run_all(sess, inputs):
    name = sess.get_inputs()[0].name
    return [sess.run(None, {name: x})[0] for x in inputs]


def compute_nodes(model) -> list[str]:
    return [n.name for n in model.graph.node if n.op_type in COMPUTE_OPS]


def sensitivity_report(
    model_path,
    calib,
    *,
    samples=64,
    eval_samples=8,
    method="minmax",
    per_channel=True,
    activation_type="uint8",
    mode="only",
    greedy=5,
    progress=None,
    reduce_range=True,
) -> dict:
    """Which layers hurt when quantized (the report behind ``--sensitivity``).

    mode ``only``: quantize one compute layer at a time (the rest float) and measure the output
    error vs fp32; mode ``exclude``: quantize everything but one layer and measure how much
    keeping that layer in float recovers. Calibration runs once (ORT's calibration cache).
    Then, greedily, the worst layers are kept in float one more at a time (up to ``greedy``),
    measuring the whole-model agreement each time: the suggested ``--exclude`` list is the
    shortest prefix that recovers at least 75% of the agreement the greedy search reaches.
    """
    import onnx

    if mode not in ("only", "exclude"):
        raise ConfigError(f"sensitivity mode must be 'only' or 'exclude', got {mode!r}")
    model = load_onnx(model_path)
    card = card_for_model(model_path, model)
    reader = calibration_reader(model_path, calib, samples, card, model)
    eval_inputs = pick_evenly(reader.tensors(), eval_samples)
    chan_axis = 1 if card.layout == "nchw" else 3
    with tempfile.TemporaryDirectory(prefix="liveseg-sens-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        preprocess_for_quant(model_path, pre)
        nodes = compute_nodes(onnx.load(str(pre)))
        if not nodes:
            raise ModelError("the model has no Conv/MatMul/Gemm layer to analyse")
        ref = _run_all(cpu_session(pre), eval_inputs)
        cache = Path(tmp) / "calib.json"
        qpath = Path(tmp) / "q.onnx"

        def measure(**kw):
            run_quantize_static(
                pre,
                qpath,
                reader,
                method=method,
                per_channel=per_channel,
                activation_type=activation_type,
                calib_cache=cache,
                reduce_range=reduce_range,
                **kw,
            )
            return output_error(ref, _run_all(cpu_session(qpath), eval_inputs), chan_axis)

        full = measure()
        rows = []
        for i, name in enumerate(nodes):
            if progress:
                progress(i, len(nodes), name)
            if mode == "only":
                err = measure(nodes_to_quantize=[name])
            else:
                err = measure(exclude_nodes=[name])
            rows.append({"node": name, **err})
        if mode == "only":  # most damaging first
            rows.sort(key=lambda r: (r["agreement"], r["sqnr_db"]))
        else:  # most recovering first
            rows.sort(key=lambda r: (-r["agreement"], -r["sqnr_db"]))
        steps = []
        for k in range(1, min(greedy, len(rows)) + 1):
            kept = [r["node"] for r in rows[:k]]
            steps.append({"exclude": kept, **measure(exclude_nodes=kept)})
        # The smallest set that recovers >= 75% of what the greedy search can recover.
        top = max([full["agreement"]] + [s["agreement"] for s in steps])
        goal = full["agreement"] + 0.75 * (top - full["agreement"])
        best = next(
            (s for s in [{"exclude": [], **full}] + steps if s["agreement"] >= goal - 1e-12),
            {"exclude": [], **full},
        )
    return {
        "model": str(model_path),
        "mode": mode,
        "method": method,
        "activation_type": activation_type,
        "per_channel": per_channel,
        "calibration_images": reader.images_read,
        "eval_images": len(eval_inputs),
        "full_int8": full,
        "layers": rows,
        "greedy": steps,
        "suggested_exclude": best["exclude"],
        "suggested_agreement": best["agreement"],
    }


def format_sensitivity(report: dict, top=15) -> str:
    lines = [
        f"per-layer sensitivity ({report['mode']}: "
        + (
            "one layer quantized at a time"
            if report["mode"] == "only"
            else "all quantized but one layer"
        )
        + f"), {report['eval_images']} images",
        (
            f"full int8: argmax agreement {100 * report['full_int8']['agreement']:.2f}%, "
            f"SQNR {report['full_int8']['sqnr_db']:.1f} dB"
        ),
        f"{'agreement':>10} {'SQNR dB':>8}  node",
    ]
    for r in report["layers"][:top]:
        lines.append(f"{100 * r['agreement']:>9.2f}% {r['sqnr_db']:>8.1f}  {r['node']}")
    if len(report["layers"]) > top:
        lines.append(f"... {len(report['layers']) - top} more in the JSON report")
    lines.append("keeping the worst layers in float (whole model):")
    for s in report["greedy"]:
        lines.append(
            f"  {len(s['exclude'])} float: agreement {100 * s['agreement']:.2f}%, "
            f"SQNR {s['sqnr_db']:.1f} dB"
        )
    sug = report["suggested_exclude"]
    lines.append("suggested: " + (f"--exclude {','.join(sug)}" if sug else "no exclusions"))
    return "\n".join(lines)
