"""Runtime micro-benchmark: preprocess and postprocess cost per 640x480 frame.

For 256x256 and 512x512 models (NCHW float ImageNet-normalised, NHWC float [0,1], NHWC uint8)
it times liveseg's SegModel.preprocess against a textbook baseline (cv2.resize INTER_AREA,
astype float32, (x/255 - mean)/std, transpose), interleaving the two (A, B, A, B, ...) so
machine noise hits both alike, and times postprocess for each output kind
(21-class logits -> softmax, 21-class label map -> one-hot, 1-channel foreground prob).
Prints machine info, medians and p90 in ms, and baseline/liveseg ratios.

    OMP_NUM_THREADS=1 python benchmarks/bench_runtime.py [--reps 300] [--cv-threads 1] \
        [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from liveseg.bench.machine import machine_info as _machine_info
from liveseg.bench.timing import time_interleaved
from liveseg.runtime import load_model


def machine_info() -> dict:
    return _machine_info("numpy", "cv2", "onnxruntime", cv2_threads=cv2.getNumThreads())


def build_model(path, size, layout="nchw", dtype="float32", classes=21, head="logits"):
    """A 1x1-conv segmentation model: enough to exercise I/O handling, negligible compute."""
    S = size
    shape = [1, 3, S, S] if layout == "nchw" else [1, S, S, 3]
    nodes, inits, x = [], [], "image"
    in_type = TensorProto.UINT8 if dtype == "uint8" else TensorProto.FLOAT
    if dtype == "uint8":
        inits += [
            numpy_helper.from_array(np.float32(1 / 255), "s"),
            numpy_helper.from_array(np.uint8(0), "z"),
        ]
        nodes.append(helper.make_node("DequantizeLinear", [x, "s", "z"], ["deq"]))
        x = "deq"
    if layout == "nhwc":
        nodes.append(helper.make_node("Transpose", [x], ["t"], perm=[0, 3, 1, 2]))
        x = "t"
    c = 1 if head == "sigmoid" else classes
    w = np.random.default_rng(0).normal(size=(c, 3, 1, 1)).astype(np.float32)
    inits += [numpy_helper.from_array(w, "w")]
    nodes.append(helper.make_node("Conv", [x, "w"], ["y"]))
    y, out_type = "y", TensorProto.FLOAT
    if head == "sigmoid":
        nodes.append(helper.make_node("Sigmoid", [y], ["p"]))
        y = "p"
    elif head == "argmax":
        nodes.append(helper.make_node("ArgMax", [y], ["l"], axis=1, keepdims=0))
        y, out_type = "l", TensorProto.INT64
    g = helper.make_graph(
        nodes,
        "bench",
        [helper.make_tensor_value_info("image", in_type, shape)],
        [helper.make_tensor_value_info(y, out_type, None)],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


def baseline_preprocess(frame, S, mean, std, layout):
    small = cv2.resize(frame, (S, S), interpolation=cv2.INTER_AREA)
    x = (small.astype(np.float32) / 255.0 - mean) / std
    if layout == "nchw":
        x = x.transpose(2, 0, 1)
    return np.ascontiguousarray(x[None], dtype=np.float32)


def _rounded(r):
    return {"median_ms": round(r["median_ms"], 4), "p90_ms": round(r["p90_ms"], 4)}


def interleaved(fa, fb, reps, warmup=30):
    r = time_interleaved({"a": fa, "b": fb}, runs=reps, warmup=warmup)
    return _rounded(r["a"]), _rounded(r["b"])


def single(f, reps, warmup=30):
    return _rounded(time_interleaved({"f": f}, runs=reps, warmup=warmup)["f"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument(
        "--cv-threads",
        type=int,
        default=None,
        help="cv2.setNumThreads (default: OpenCV's own choice)",
    )
    args = ap.parse_args(argv)
    if args.cv_threads is not None:
        cv2.setNumThreads(args.cv_threads)
    info = machine_info()
    print("machine:", json.dumps(info))
    frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    frame = cv2.GaussianBlur(frame, (0, 0), 3)  # less white-noise-like, same cost
    results = {"machine": info, "frame": "640x480", "preprocess": [], "postprocess": []}
    with tempfile.TemporaryDirectory() as d:
        print(f"\npreprocess, 640x480 RGB frame -> model input ({args.reps} interleaved reps)")
        print(f"{'model input':<28}{'liveseg med/p90':>18}{'baseline med/p90':>20}{'ratio':>8}")
        for S in (256, 512):
            for layout, dtype in (("nchw", "float32"), ("nhwc", "float32"), ("nhwc", "uint8")):
                p = build_model(Path(d) / f"m{S}{layout}{dtype}.onnx", S, layout, dtype)
                m = load_model(p)
                mean, std = np.float32(m.io.mean), np.float32(m.io.std)
                if dtype == "uint8":

                    def base(S=S):
                        return cv2.resize(frame, (S, S), interpolation=cv2.INTER_AREA)[None].copy()
                else:

                    def base(S=S, mean=mean, std=std, layout=layout):
                        return baseline_preprocess(frame, S, mean, std, layout)

                a, b = interleaved(lambda m=m: m.preprocess(frame), base, args.reps)
                name = f"{S}x{S} {layout} {dtype}"
                ratio = b["median_ms"] / a["median_ms"]
                print(
                    f"{name:<28}{a['median_ms']:>9.3f}/{a['p90_ms']:<8.3f}"
                    f"{b['median_ms']:>11.3f}/{b['p90_ms']:<8.3f}{ratio:>7.2f}x"
                )
                results["preprocess"].append(
                    {
                        "model": name,
                        "liveseg": a,
                        "baseline": b,
                        "baseline_over_liveseg": round(ratio, 2),
                    }
                )
        print(f"\npostprocess, raw output -> Prediction at model resolution ({args.reps} reps)")
        print(f"{'output':<40}{'median':>10}{'p90':>10}")
        for S in (256, 512):
            for head, desc in (
                ("logits", "21-class logits -> softmax"),
                ("argmax", "21-class label map -> one-hot"),
                ("sigmoid", "1-channel fg prob -> [1-p, p]"),
            ):
                m = load_model(build_model(Path(d) / f"p{S}{head}.onnx", S, head=head))
                raw = m.infer(m.preprocess(frame))
                r = single(lambda m=m, raw=raw: m.postprocess(raw, (480, 640)), args.reps)
                name = f"{S}x{S} {desc}"
                print(f"{name:<40}{r['median_ms']:>10.3f}{r['p90_ms']:>10.3f}")
                results["postprocess"].append({"model": name, **r})
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
