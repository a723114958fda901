"""Quantization figures for BENCHMARKS.md: speed (1 and 2 threads), mIoU and size of a model's
fp32 / fp16 / dynamic / int8 PTQ / int8 QAT ONNX variants, PyTorch eager, and the simulated
low-bit rows; plus a speed-only check of the "uint8 act + int8 per-channel weights ~2.3x faster
than fp32; int8 activations and dynamic slower" claim at 256x256 and 512x512.

    python benchmarks/bench_quant.py accuracy --onnx runs/X/best.onnx --checkpoint runs/X/best.pt \
        --data camvid:../shared/data/camvid [--qat-onnx X-int8-qat.onnx] [--rounds 5]
    python benchmarks/bench_quant.py speed --model deeplabv3plus_mobilenetv2 --sizes 256,512 \
        --calib camvid:../shared/data/camvid

Timing: warm-up, then ``rounds`` rounds; in each round every variant runs ``runs`` times
interleaved (A B C A B C ...); we report the median over all timed calls and the p90, and
ratios against fp32 / PyTorch eager from the same rounds. Machine info is printed and saved.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np


def machine_info(threads) -> dict:
    import onnx
    import onnxruntime as ort

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    flags = ""
    try:
        text = Path("/proc/cpuinfo").read_text()
        fl = next(x for x in text.splitlines() if x.startswith("flags")).split()
        flags = " ".join(f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "f16c")
                         if f in fl)
    except (OSError, StopIteration):
        pass
    info = {"cpu": cpu, "cpu_flags": flags, "cores": os.cpu_count(), "threads": threads,
            "onnxruntime": ort.__version__, "onnx": onnx.__version__,
            "numpy": np.__version__, "python": platform.python_version()}
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        pass
    try:
        info["load_avg"] = os.getloadavg()
    except OSError:
        pass
    return info


def timed_rounds(make_fns, threads, rounds, runs):
    """{variant: {median_ms, p90_ms, round_medians}} over interleaved rounds."""
    from liveseg.commands.bench_quant import time_interleaved

    fns = make_fns(threads)
    per = {k: [] for k in fns}
    meds = {k: [] for k in fns}
    for r in range(rounds):
        res = time_interleaved(fns, runs=runs, warmup=2 if r == 0 else 1)
        for k, v in res.items():
            meds[k].append(v["median_ms"])
        # keep the raw distribution via medians per round + p90 per round
        for k, v in res.items():
            per[k].append(v["p90_ms"])
    return {k: {"median_ms": float(np.median(meds[k])), "p90_ms": float(np.median(per[k])),
                "round_medians": [round(m, 2) for m in meds[k]]} for k in fns}


def accuracy(args):
    from liveseg.commands.bench_quant import (
        build_variants,
        evaluate_onnx,
        ort_runner,
        simulated_rows,
        torch_runner,
    )
    from liveseg.export.quantize import card_for_model, card_preprocess

    card = card_for_model(args.onnx)
    variants = build_variants(args.onnx, args.workdir, args.data, "train", args.calib_samples)
    if args.qat_onnx:
        variants["int8-qat"] = Path(args.qat_onnx)
    bits = [tuple(int(v) for v in b.split("/")) for b in args.bits.split(",") if b]
    sim, torch_model = ([], None)
    if args.checkpoint:
        sim, torch_model = simulated_rows(args.checkpoint, args.data, bits, "train",
                                          args.calib_samples, args.limit)
    frame = np.random.default_rng(0).integers(0, 255, (card.input_size[1], card.input_size[0], 3),
                                              dtype=np.uint8)
    x = card_preprocess(card)(frame)

    def make(threads):
        fns = {k: ort_runner(p, threads, x) for k, p in variants.items()}
        fns["int8-s8act+allowed"] = ort_runner(variants["int8-s8act"], threads, x,
                                               {"session.qdqisint8allowed": "1"})
        if torch_model is not None:
            fns["pytorch-eager"] = torch_runner(torch_model, threads, x)
        return fns

    timing = {t: timed_rounds(make, t, args.rounds, args.runs) for t in (1, 2)}
    miou = {}
    for k, p in variants.items():
        miou[k] = evaluate_onnx(p, args.data, "val", args.limit, threads=2)["miou"]
        print(f"  {k}: mIoU {100 * miou[k]:.2f}", flush=True)
    sizes = {k: Path(p).stat().st_size for k, p in variants.items()}
    return {"mode": "accuracy", "onnx": str(args.onnx), "checkpoint": args.checkpoint,
            "input_size": card.input_size, "architecture": card.architecture,
            "miou": miou, "sizes": sizes, "timing": timing, "simulated": sim,
            "checkpoint_bytes": Path(args.checkpoint).stat().st_size if args.checkpoint else None}


def speed(args):
    import tempfile

    import torch

    from liveseg.card import ModelCard
    from liveseg.commands.bench_quant import ort_runner, torch_runner
    from liveseg.export.onnx_export import export_onnx
    from liveseg.export.quantize import quantize_dynamic_model, quantize_model
    from liveseg.models import create_model

    out = {"mode": "speed", "model": args.model, "sizes": {}}
    torch.manual_seed(0)
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            model = create_model(args.model, num_classes=args.classes).eval()
            card = ModelCard(name=f"{args.model}-{size}", classes=[str(i) for i in range(args.classes)],
                             input_size=[size, size], architecture=args.model)
            fp32 = tmp / "m.onnx"
            export_onnx(model, fp32, input_size=(size, size), card=card)
            files = {"fp32": fp32}
            files["int8"] = quantize_model(fp32, tmp / "u8.onnx", args.calib,
                                           samples=args.samples).output
            files["int8-s8act"] = quantize_model(fp32, tmp / "s8.onnx", args.calib,
                                                 samples=args.samples,
                                                 activation_type="int8").output
            files["dynamic"] = quantize_dynamic_model(fp32, tmp / "dyn.onnx").output
            x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)

            def make(threads, files=files, x=x, model=model):
                fns = {k: ort_runner(p, threads, x) for k, p in files.items()}
                fns["int8-s8act+allowed"] = ort_runner(files["int8-s8act"], threads, x,
                                                       {"session.qdqisint8allowed": "1"})
                fns["pytorch-eager"] = torch_runner(model, threads, x)
                return fns

            out["sizes"][size] = {t: timed_rounds(make, t, args.rounds, args.runs)
                                  for t in (1, 2)}
            out["sizes"][size]["bytes"] = {k: Path(p).stat().st_size for k, p in files.items()}
        for t in (1, 2):
            r = out["sizes"][size][t]
            base = r["fp32"]["median_ms"]
            print(f"{size}x{size} threads={t}: " + ", ".join(
                f"{k} {v['median_ms']:.1f} ms ({base / v['median_ms']:.2f}x)" for k, v in r.items()),
                flush=True)
    return out


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
    info = machine_info([1, 2])
    print("machine:", json.dumps(info), flush=True)
    res = accuracy(args) if args.mode == "accuracy" else speed(args)
    res["machine"] = info
    res["command"] = " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=2, default=str))
    if args.mode == "accuracy":
        print_accuracy(res)
    return 0


def print_accuracy(res):
    t1, t2 = res["timing"][1], res["timing"][2]
    print(f"{'variant':<22} {'mIoU':>6} {'1T med/p90 ms':>16} {'2T med/p90 ms':>16} {'MB':>6}")
    for k in list(res["miou"]) + ["int8-s8act+allowed", "pytorch-eager"]:
        if k not in t1:
            continue
        m = res["miou"].get(k)
        mb = res["sizes"].get(k, res.get("checkpoint_bytes") if k == "pytorch-eager" else None)
        print(f"{k:<22} {'' if m is None else f'{100 * m:6.2f}':>6} "
              f"{t1[k]['median_ms']:7.1f}/{t1[k]['p90_ms']:<7.1f} "
              f"{t2[k]['median_ms']:7.1f}/{t2[k]['p90_ms']:<7.1f} "
              f"{'' if mb is None else f'{mb / 1e6:6.2f}'}")
    for t, tt in ((1, t1), (2, t2)):
        if "int8" in tt:
            msg = f"threads={t}: int8/fp32 {tt['fp32']['median_ms'] / tt['int8']['median_ms']:.2f}x"
            if "pytorch-eager" in tt:
                msg += f", int8/PyTorch eager {tt['pytorch-eager']['median_ms'] / tt['int8']['median_ms']:.2f}x"
            print(msg)
    for r in res["simulated"]:
        print(f"simulated {r['w']}/{r['a']}: mIoU {100 * r['miou']:.2f}, packed {r['packed_bytes'] / 1e6:.2f} MB")


if __name__ == "__main__":
    sys.exit(main())
