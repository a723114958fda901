"""Where int8 time goes on this CPU: ONNX Runtime per-op-type profile, fp32 vs int8, and the
same files timed interleaved on ONNX Runtime and OpenVINO.

Convolutions are split into 1x1, depthwise and other (kxk) kernels, because on x86 without
VNNI the u8s8 GEMM path speeds up 1x1 convs (~1.8x) while depthwise convs gain nothing; the
whole-model ratio is bounded by that mix.

    python benchmarks/int8_ceiling.py FP32.onnx INT8.onnx [--threads 1] [--runs 30]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort


def _conv_kind(node) -> str:
    attrs = {a.name: a for a in node.attribute}
    if "group" in attrs and attrs["group"].i > 1:
        return "depthwise"
    k = list(attrs["kernel_shape"].ints) if "kernel_shape" in attrs else []
    return "1x1" if k == [1, 1] else "kxk"


def op_profile(path: str, threads: int, runs: int) -> dict:
    """Median-free but warm per-op-type ms per run (ORT's own profiler, after warm-up)."""
    with tempfile.TemporaryDirectory() as tmp:
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.optimized_model_filepath = str(Path(tmp) / "opt.onnx")
        so.log_severity_level = 3
        ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])  # writes opt.onnx
        kinds = {
            n.name: (n.op_type + (" " + _conv_kind(n) if "Conv" in n.op_type else ""))
            for n in onnx.load(so.optimized_model_filepath).graph.node
        }
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.enable_profiling = True
        so.profile_file_prefix = str(Path(tmp) / "prof")
        so.log_severity_level = 3
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        inp = sess.get_inputs()[0]
        x = np.random.rand(*[d if isinstance(d, int) else 1 for d in inp.shape]).astype(np.float32)
        for _ in range(runs):
            sess.run(None, {inp.name: x})
        events = json.loads(Path(sess.end_profiling()).read_text())
    per = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            node = e["name"][: -len("_kernel_time")]
            per[kinds.get(node, e["args"].get("op_name", "?"))] += e["dur"]
    return {k: v / runs / 1000 for k, v in per.most_common()}


def interleaved(paths: dict, engines, threads: int, runs: int) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from liveseg.runtime.engine import make_engine

    engs = {(name, e): make_engine(p, e, threads) for name, p in paths.items() for e in engines}
    from liveseg.bench.timing import time_interleaved

    feeds = {}
    for k, eng in engs.items():
        i = eng.inputs[0]
        feeds[k] = {
            i.name: np.random.rand(*[d if isinstance(d, int) else 1 for d in i.shape]).astype(
                np.float32
            )
        }
    res = time_interleaved(
        {k: (lambda eng=eng, k=k: eng.run(feeds[k])) for k, eng in engs.items()},
        runs=runs,
        warmup=3,
    )
    return {
        f"{e} {name}": {"median_ms": round(v["median_ms"], 2), "p90_ms": round(v["p90_ms"], 2)}
        for (name, e), v in res.items()
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("fp32")
    ap.add_argument("int8")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--engines", default="onnxruntime,openvino")
    args = ap.parse_args(argv)
    prof = {
        k: op_profile(p, args.threads, args.runs)
        for k, p in (("fp32", args.fp32), ("int8", args.int8))
    }
    print(f"ORT per-op ms per run, {args.threads} thread(s), {args.runs} runs:")
    for kind in ("Conv 1x1", "Conv depthwise", "Conv kxk"):
        f = prof["fp32"].get(kind, 0.0)
        q = prof["int8"].get(kind.replace("Conv", "QLinearConv"), 0.0)
        print(
            f"  {kind:16s} fp32 {f:6.2f}  int8 {q:6.2f}  ratio {f / q if q else float('nan'):.2f}"
        )
    tf, tq = sum(prof["fp32"].values()), sum(prof["int8"].values())
    print(f"  {'all ops':16s} fp32 {tf:6.2f}  int8 {tq:6.2f}  ratio {tf / tq:.2f}")
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    res = interleaved({"fp32": args.fp32, "int8": args.int8}, engines, args.threads, args.runs)
    print("interleaved end-to-end model time (median / p90 ms):")
    for k, v in res.items():
        print(f"  {k:24s} {v['median_ms']:6.2f} / {v['p90_ms']:6.2f}")
    for e in engines:
        f, q = res[f"{e} fp32"]["median_ms"], res[f"{e} int8"]["median_ms"]
        print(f"  {e}: int8 {f / q:.2f}x fp32")
    return 0


if __name__ == "__main__":
    sys.exit(main())
