"""Quantization figures for BENCHMARKS.md: speed (1 and 2 threads), mIoU and size of a model's
fp32 / fp16 / dynamic / int8 PTQ / int8 QAT ONNX variants, PyTorch eager, and the simulated
low-bit rows; plus a speed-only check of the "uint8 act + int8 per-channel weights ~2.3x faster
than fp32; int8 activations and dynamic slower" claim at 256x256 and 512x512.

    python benchmarks/bench_quant.py accuracy --onnx runs/X/best.onnx --checkpoint runs/X/best.pt \
        --data camvid:../shared/data/camvid [--qat-onnx X-int8-qat.onnx] [--rounds 5]
    python benchmarks/bench_quant.py speed --model deeplabv3plus_mobilenetv2 --sizes 256,512 \
        --calib camvid:../shared/data/camvid

Timing: warm-up, then ``rounds`` rounds; in each round every variant runs ``runs`` times
interleaved (A B C A B C ...); we report the median of the round medians and of the round p90s,
and ratios against fp32 / PyTorch eager from the same rounds. Machine info is printed and saved.
The code is ``liveseg.bench.quant_study``; this file only parses the flags.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from liveseg.bench.machine import machine_info
from liveseg.bench.quant_study import accuracy_study, print_accuracy, speed_study


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("accuracy")
    a.add_argument("--onnx", required=True)
    a.add_argument("--checkpoint")
    a.add_argument("--data", required=True)
    a.add_argument("--qat-onnx")
    a.add_argument("--bits", default="32/32,8/8,6/6,6/4,4/4")
    a.add_argument("--calib-samples", type=int, default=64)
    a.add_argument("--limit", type=int)
    a.add_argument("--workdir", default="out/bench_quant")
    s = sub.add_parser("speed")
    s.add_argument("--model", default="deeplabv3plus_mobilenetv2")
    s.add_argument("--classes", type=int, default=11)
    s.add_argument("--sizes", default="256,512")
    s.add_argument("--calib", required=True)
    s.add_argument("--samples", type=int, default=16)
    for q in (a, s):
        q.add_argument("--rounds", type=int, default=5)
        q.add_argument("--runs", type=int, default=10)
        q.add_argument("--json", help="write results here")
    args = p.parse_args(argv)
    info = machine_info("onnxruntime", "onnx", "numpy", "torch", threads=[1, 2])
    print("machine:", json.dumps(info), flush=True)
    res = accuracy_study(args) if args.mode == "accuracy" else speed_study(args)
    res["machine"] = info
    res["command"] = " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=2, default=str))
    if args.mode == "accuracy":
        print_accuracy(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
