"""Quantization table: accuracy, speed and size of a model's quantized variants.

Rows: the ONNX model as fp32, fp16, dynamic-range and int8 PTQ (built here, or given), an int8
QAT model if given, and the simulated low-bit rows (PyTorch fake quantization of the
checkpoint at w/a 32/32, 8/8, 6/6, 6/4, 4/4). mIoU of the ONNX rows is measured through the
runtime (``load_model(..).predict``, the path ``liveseg run`` uses) on the validation split;
the simulated rows through the trainer's evaluation. Runtime: median over interleaved ONNX
Runtime runs (and PyTorch eager for the float checkpoint) at ``threads``; simulated rows have
no integer kernel to time (their size is the packed weight size they would have).
"""

from __future__ import annotations

from pathlib import Path

from liveseg.bench.accuracy import calibration_spec, onnx_accuracy, parse_spec
from liveseg.bench.machine import machine_info
from liveseg.bench.timing import time_interleaved
from liveseg.errors import ConfigError

VARIANTS = ("fp16", "dynamic", "int8", "int8-full", "int8-s8act")
LABELS = {
    "fp32": "fp32 (32/32)",
    "fp16": "fp16 (16/16)",
    "dynamic": "dynamic (8/fp32)",
    "int8": "int8 PTQ (8/8, 7-bit w)",
    "int8-full": "int8 PTQ (8/8, full w)",
    "int8-s8act": "int8 PTQ, int8 act (8/8)",
    "int8-qat": "int8 QAT (8/8)",
}


def parse_bits(text) -> list[tuple[int, int]]:
    """``"8/8,6/4"`` -> [(8, 8), (6, 4)]."""
    try:
        return [tuple(int(v) for v in b.split("/")) for b in str(text).split(",") if b]
    except ValueError:
        raise ConfigError(f"--bits must look like 8/8,6/4, got {text!r}") from None


def ort_runner(path, threads, x, config=None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    for k, v in (config or {}).items():
        so.add_session_config_entry(k, v)
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: x}
    return lambda: sess.run(None, feed)


def torch_runner(model, threads, x):
    import torch

    torch.set_num_threads(threads)
    xt = torch.from_numpy(x)
    model.eval()

    def run():
        with torch.inference_mode():
            model(xt)

    return run


def build_variants(
    onnx_path, workdir, data, calib_split, calib_samples, log=print, names=VARIANTS
) -> dict:
    """fp16 / dynamic / int8 PTQ files of the model in workdir (reused when already there)."""
    from liveseg.quant.fp16 import convert_fp16
    from liveseg.quant.ptq import quantize_dynamic_model, quantize_model

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    calib = calibration_spec(data, calib_split, workdir)
    stem = Path(onnx_path).stem
    out = {"fp32": Path(onnx_path)}
    jobs = {
        "fp16": lambda p: convert_fp16(onnx_path, p),
        "dynamic": lambda p: quantize_dynamic_model(onnx_path, p),
        "int8": lambda p: quantize_model(
            onnx_path, p, calib, samples=calib_samples, reduce_range=True
        ),
        "int8-full": lambda p: quantize_model(
            onnx_path, p, calib, samples=calib_samples, reduce_range=False
        ),
        "int8-s8act": lambda p: quantize_model(
            onnx_path, p, calib, samples=calib_samples, activation_type="int8", reduce_range=True
        ),
    }
    unknown = set(names) - set(jobs)
    if unknown:
        raise ConfigError(f"unknown variants {sorted(unknown)}; choose from {sorted(jobs)}")
    for name in names:
        job = jobs[name]
        p = workdir / f"{stem}-{name}.onnx"
        if not p.exists():
            log(f"building {p.name} ...")
            job(p)
        out[name] = p
    return out


def simulated_rows(
    checkpoint, data, bits, calib_split, calib_samples, limit=None, log=print, val_split="val"
) -> list[dict]:
    """mIoU of the checkpoint under fake quantization at each w/a width: calibrated and scored
    as QAT is (``liveseg.quant.qat``), so a previous-mask model is calibrated on the channel
    the runtime feeds it and scored with the trainer's validation channel."""
    from liveseg.models.checkpoint import card_from_checkpoint, load_checkpoint, load_torch_model
    from liveseg.quant.lowbit import calibrate, fake_quantize_model, packed_size_bytes
    from liveseg.quant.qat import calibration_batches, calibration_inputs, evaluate_fake_quant

    kind, root, opts = parse_spec(data)
    model, card, _ = load_torch_model(str(checkpoint))
    model.eval()
    ckpt = load_checkpoint(checkpoint)
    card = card_from_checkpoint(ckpt, card)
    batches = calibration_batches(
        kind, root, calib_split, card.input_size, calib_samples, options=opts
    )
    foreground = card.class_indices(card.foreground) if card.foreground else None
    calib = calibration_inputs(model, batches, card.mean, card.std, foreground)
    rows = []
    for w, a in bits:
        fq = fake_quantize_model(model, w, a, calib[0][:1])
        calibrate(fq, calib)
        res = evaluate_fake_quant(fq, ckpt, split=val_split, data=(kind, root, opts), limit=limit)
        rows.append(
            {
                "w": w,
                "a": a,
                "miou": res["miou"],
                "packed_bytes": packed_size_bytes(fq.float_model(), w),
            }
        )
        log(f"  simulated {w}/{a}: mIoU {100 * res['miou']:.2f}")
    return rows, model


def quant_table(
    onnx,
    data,
    checkpoint=None,
    val_split="val",
    calib_split="train",
    calib_samples=64,
    limit=None,
    bits=((32, 32), (8, 8), (6, 6), (6, 4), (4, 4)),
    variants=VARIANTS,
    qat_onnx=None,
    workdir="out/bench_quant",
    threads=1,
    runs=20,
    log=print,
) -> dict:
    """Every row of the table (see the module docstring) and the timings behind them:
    ``{"rows", "timing", "variants", "machine", "threads", "runs"}``."""
    import numpy as np

    from liveseg.quant.lowbit import output_stride
    from liveseg.quant.onnx_io import card_for_model
    from liveseg.quant.preprocess import card_preprocessor

    card = card_for_model(onnx)
    files = build_variants(
        onnx,
        workdir,
        data,
        calib_split,
        calib_samples,
        log=log,
        names=[v for v in variants if v and v != "fp32"],
    )
    if qat_onnx:
        files["int8-qat"] = Path(qat_onnx)
    frame = np.random.default_rng(0).integers(
        0, 255, (card.input_size[1], card.input_size[0], 3), dtype=np.uint8
    )
    x = card_preprocessor(card)(frame)
    fns = {k: ort_runner(p, threads, x) for k, p in files.items()}
    rows_sim, torch_model = [], None
    if checkpoint:
        rows_sim, torch_model = simulated_rows(
            checkpoint, data, bits, calib_split, calib_samples, limit, log=log, val_split=val_split
        )
        fns["pytorch-eager"] = torch_runner(torch_model, threads, x)
    timing = time_interleaved(fns, runs=runs)
    stride = output_stride(card.architecture or card.name)
    if stride == "-" and checkpoint:
        import torch

        opts = torch.load(checkpoint, map_location="cpu", weights_only=False)
        stride = output_stride("", (opts.get("config") or {}).get("model", {}).get("options"))
    net = card.architecture or card.name
    common = {
        "network": net,
        "input": f"{card.input_size[0]}x{card.input_size[1]}",
        "stride": stride,
    }
    rows = []
    for k, p in files.items():
        ev = onnx_accuracy(p, data, val_split, limit, threads=threads)
        rows.append(
            {
                **common,
                "quantization": LABELS.get(k, k),
                "engine": "onnxruntime",
                "miou": ev["miou"],
                "runtime_ms": timing[k]["median_ms"],
                "p90_ms": timing[k]["p90_ms"],
                "file_bytes": Path(p).stat().st_size,
                "variant": k,
            }
        )
    if "pytorch-eager" in timing:
        rows.append(
            {
                **common,
                "quantization": "PyTorch eager fp32",
                "engine": "torch",
                "miou": next((r["miou"] for r in rows_sim if r["w"] == 32), float("nan")),
                "runtime_ms": timing["pytorch-eager"]["median_ms"],
                "p90_ms": timing["pytorch-eager"]["p90_ms"],
                "file_bytes": Path(checkpoint).stat().st_size,
                "variant": "pytorch",
            }
        )
    for r in rows_sim:
        rows.append(
            {
                **common,
                "quantization": f"simulated {r['w']}/{r['a']}",
                "engine": "torch fake-quant",
                "miou": r["miou"],
                "runtime_ms": None,
                "p90_ms": None,
                "file_bytes": r["packed_bytes"],
                "variant": f"sim{r['w']}/{r['a']}",
            }
        )
    return {
        "rows": rows,
        "timing": timing,
        "variants": files,
        "threads": threads,
        "runs": runs,
        "machine": machine_info("onnxruntime", "onnx", "numpy", threads=threads),
    }


def summary_line(result) -> str | None:
    """The int8 speed-up and size line printed under the table (None without an int8 row)."""
    timing, files = result["timing"], result["variants"]
    base = timing.get("fp32", {}).get("median_ms")
    int8 = timing.get("int8", {}).get("median_ms")
    if not (base and int8):
        return None
    text = f"int8/fp32 speed-up {base / int8:.2f}x"
    if "pytorch-eager" in timing:
        text += f", int8/PyTorch eager {timing['pytorch-eager']['median_ms'] / int8:.2f}x"
    share = 100 * files["int8"].stat().st_size / files["fp32"].stat().st_size
    return (
        text + f"; int8 file {share:.0f}% of fp32; threads={result['threads']}, "
        f"{result['runs']} interleaved runs"
    )


def format_table(rows) -> str:
    head = ("Network", "Input", "Stride", "Quantization (w/a)", "mIoU", "Runtime", "File size")
    body = []
    for r in rows:
        rt = (
            "n/a (simulated)"
            if r["runtime_ms"] is None
            else f"{r['runtime_ms']:.1f} ms (p90 {r['p90_ms']:.1f})"
        )
        packed = r["runtime_ms"] is None and not str(r.get("variant", "")).startswith("sim32")
        size = f"{r['file_bytes'] / 1e6:.2f} MB" + (" (packed)" if packed else "")
        body.append(
            (
                r["network"],
                r["input"],
                str(r["stride"]),
                r["quantization"],
                f"{100 * r['miou']:.2f}",
                rt,
                size,
            )
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    line = " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))
    out = [line, "-|-".join("-" * w for w in widths)]
    out += [" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in body]
    return "\n".join(out)
