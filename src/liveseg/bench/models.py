"""Model-zoo benchmark: every architecture at given sizes -- parameters, GMACs, onnxruntime fp32
latency at 1 and 2 threads and PyTorch eager latency (1 thread), all in one run.

Per (model, size): export to ONNX (fixed size), warm up every engine, then ``runs`` rounds that
interleave the engines (ORT 1 thread, ORT 2 threads, PyTorch) so that load changes on a shared
machine hit all of them alike; medians and p90 of the per-round times. Ratios are against the
baseline model (default deeplabv3plus_mobilenetv2) at the same size, measured in the same run.
For the single-threaded engines the calling thread's CPU time (``time.thread_time``) is recorded
too: on a machine shared with other jobs it is far less noisy than wall time.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from liveseg.bench.machine import machine_info as _machine_info
from liveseg.bench.results import write_json
from liveseg.bench.timing import time_interleaved


def machine_info() -> dict:
    return _machine_info("torch", "onnxruntime", "onnx", "numpy")


def bench_one(name, size, threads=(1, 2), runs=10, warmup=2, num_classes=21, log=print) -> dict:
    import torch

    from liveseg.export.onnx_export import export_onnx
    from liveseg.models import create_model
    from liveseg.models.from_onnx import ort_session
    from liveseg.models.profile import count_macs, count_params

    w, h = size
    torch.manual_seed(0)
    model = create_model(name, num_classes=num_classes).eval()
    row = {
        "name": name,
        "size": [w, h],
        "params": count_params(model),
        "macs": count_macs(model, size),
    }
    x = np.random.default_rng(0).standard_normal((1, model.in_channels, h, w)).astype(np.float32)
    xt = torch.from_numpy(x)
    with tempfile.TemporaryDirectory() as d:
        path = export_onnx(model, Path(d) / "m.onnx", size)
        row["onnx_bytes"] = path.stat().st_size
        sessions = {t: ort_session(path, threads=t) for t in threads}
    engines = {f"ort_{t}t": (lambda s=s: s.run(None, {"input": x})) for t, s in sessions.items()}

    def eager():
        with torch.no_grad():
            model(xt)

    engines["torch_1t"] = eager
    old_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        times = time_interleaved(engines, runs=runs, warmup=warmup, cpu_time=True)
    finally:
        torch.set_num_threads(old_threads)
    for k, v in times.items():
        row[k] = {"median_ms": v["median_ms"], "p90_ms": v["p90_ms"]}
        if k.endswith("_1t"):  # single-threaded: the calling thread's CPU time is the work done
            row[k]["cpu_median_ms"] = v["cpu_median_ms"]
    log(f"{name} {w}x{h}: " + ", ".join(f"{k} {row[k]['median_ms']:.1f} ms" for k in times))
    return row


def run_bench(
    names, sizes, threads=(1, 2), runs=10, warmup=2, baseline="deeplabv3plus_mobilenetv2", log=print
) -> dict:
    rows = []
    for size in sizes:
        for n in names:
            rows.append(bench_one(n, size, threads, runs, warmup, log=log))
    for r in rows:
        base = next((b for b in rows if b["name"] == baseline and b["size"] == r["size"]), None)
        if base:
            r["ort_1t_vs_baseline"] = r["ort_1t"]["cpu_median_ms"] / base["ort_1t"]["cpu_median_ms"]
    return {
        "machine": machine_info(),
        "runs": runs,
        "warmup": warmup,
        "baseline": baseline,
        "rows": rows,
    }


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        (
            f"Machine: {m['cpu']}, {m['cores']} logical CPUs; Python {m['python']}, torch "
            f"{m['torch']}, onnxruntime {m['onnxruntime']}, onnx {m['onnx']}. "
            f"{result['runs']} interleaved rounds after {result['warmup']} warm-up; "
            "ms median / p90; "
            f"batch 1, fp32, 21 classes. Wall ms median / p90; CPU = median CPU time of the "
            f"single-threaded run. Ratio: ORT 1-thread CPU median vs {result['baseline']} "
            "at the same size."
        ),
        "",
        (
            "| model | size | params (M) | GMACs | ONNX MB | ORT 1 thread | ORT 1t CPU | "
            "ORT 2 threads | eager 1 thread | eager CPU | ratio |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:

        def cell(k, r=r):
            return f"{r[k]['median_ms']:.1f} / {r[k]['p90_ms']:.1f}" if k in r else "-"

        ratio = f"{r['ort_1t_vs_baseline']:.2f}" if "ort_1t_vs_baseline" in r else "-"
        lines.append(
            f"| {r['name']} | {r['size'][0]}x{r['size'][1]} | {r['params'] / 1e6:.2f} | "
            f"{r['macs'] / 1e9:.2f} | {r['onnx_bytes'] / 1e6:.1f} | {cell('ort_1t')} | "
            f"{r['ort_1t']['cpu_median_ms']:.1f} | {cell('ort_2t')} | {cell('torch_1t')} | "
            f"{r['torch_1t']['cpu_median_ms']:.1f} | {ratio} |"
        )
    return "\n".join(lines)


def save_json(result, path):
    write_json(path, result)


# ---- one architecture's size and cost (``liveseg models --details``) -----------------------
def onnx_size(model, size=(256, 256)) -> int:
    """Bytes of the model exported to ONNX (fixed input size, fp32)."""
    from liveseg.export.onnx_export import export_onnx

    with tempfile.TemporaryDirectory() as d:
        p = export_onnx(model, Path(d) / "m.onnx", size)
        return p.stat().st_size


def summarize(name, num_classes=21, size=(256, 256), with_onnx=True, **options) -> dict:
    """Parameters, MACs and (``with_onnx``) exported ONNX bytes of architecture ``name``."""
    from liveseg.models import create_model
    from liveseg.models.profile import count_macs, count_params

    model = create_model(name, num_classes=num_classes, **options).eval()
    out = {
        "name": name,
        "params": count_params(model),
        "macs": count_macs(model, size),
        "size": list(size),
    }
    if with_onnx:
        out["onnx_bytes"] = onnx_size(model, size)
    return out
