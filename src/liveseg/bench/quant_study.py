"""The quantization study behind BENCHMARKS.md (``benchmarks/bench_quant.py``): a model's
fp32 / fp16 / dynamic / int8 PTQ / int8 QAT variants at 1 and 2 threads, PyTorch eager and the
simulated low-bit rows (``accuracy_study``); and a speed-only check of the "uint8 act + int8
per-channel weights ~2.3x faster than fp32; int8 activations and dynamic slower" claim on an
untrained architecture at several sizes (``speed_study``).

Timing: ``timing.timed_rounds``: warm-up, then rounds in which every variant runs ``runs``
times interleaved; the median of the round medians, the median of the round p90s.
``args`` is the script's namespace (see benchmarks/bench_quant.py for the flags).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from liveseg.bench.accuracy import onnx_accuracy
from liveseg.bench.quant import build_variants, ort_runner, simulated_rows, torch_runner
from liveseg.bench.timing import timed_rounds


def accuracy_study(args):
    from liveseg.quant.onnx_io import card_for_model
    from liveseg.quant.preprocess import card_preprocessor

    card = card_for_model(args.onnx)
    variants = build_variants(args.onnx, args.workdir, args.data, "train", args.calib_samples)
    if args.qat_onnx:
        variants["int8-qat"] = Path(args.qat_onnx)
    bits = [tuple(int(v) for v in b.split("/")) for b in args.bits.split(",") if b]
    sim, torch_model = ([], None)
    if args.checkpoint:
        sim, torch_model = simulated_rows(
            args.checkpoint, args.data, bits, "train", args.calib_samples, args.limit
        )
    frame = np.random.default_rng(0).integers(
        0, 255, (card.input_size[1], card.input_size[0], 3), dtype=np.uint8
    )
    x = card_preprocessor(card)(frame)

    def make(threads):
        fns = {k: ort_runner(p, threads, x) for k, p in variants.items()}
        fns["int8-s8act+allowed"] = ort_runner(
            variants["int8-s8act"], threads, x, {"session.qdqisint8allowed": "1"}
        )
        if torch_model is not None:
            fns["pytorch-eager"] = torch_runner(torch_model, threads, x)
        return fns

    timing = {t: timed_rounds(make(t), args.rounds, args.runs) for t in (1, 2)}
    miou = {}
    for k, p in variants.items():
        miou[k] = onnx_accuracy(p, args.data, "val", args.limit, threads=2)["miou"]
        print(f"  {k}: mIoU {100 * miou[k]:.2f}", flush=True)
    sizes = {k: Path(p).stat().st_size for k, p in variants.items()}
    return {
        "mode": "accuracy",
        "onnx": str(args.onnx),
        "checkpoint": args.checkpoint,
        "input_size": card.input_size,
        "architecture": card.architecture,
        "miou": miou,
        "sizes": sizes,
        "timing": timing,
        "simulated": sim,
        "checkpoint_bytes": Path(args.checkpoint).stat().st_size if args.checkpoint else None,
    }


def speed_study(args):
    import tempfile

    import torch

    from liveseg.card import ModelCard
    from liveseg.export.onnx_export import export_onnx
    from liveseg.models import create_model
    from liveseg.quant.ptq import quantize_dynamic_model, quantize_model

    out = {"mode": "speed", "model": args.model, "sizes": {}}
    torch.manual_seed(0)
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            model = create_model(args.model, num_classes=args.classes).eval()
            card = ModelCard(
                name=f"{args.model}-{size}",
                classes=[str(i) for i in range(args.classes)],
                input_size=[size, size],
                architecture=args.model,
            )
            fp32 = tmp / "m.onnx"
            export_onnx(model, fp32, input_size=(size, size), card=card)
            files = {"fp32": fp32}
            files["int8"] = quantize_model(
                fp32, tmp / "u8.onnx", args.calib, samples=args.samples
            ).output
            files["int8-s8act"] = quantize_model(
                fp32, tmp / "s8.onnx", args.calib, samples=args.samples, activation_type="int8"
            ).output
            files["dynamic"] = quantize_dynamic_model(fp32, tmp / "dyn.onnx").output
            x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)

            def make(threads, files=files, x=x, model=model):
                fns = {k: ort_runner(p, threads, x) for k, p in files.items()}
                fns["int8-s8act+allowed"] = ort_runner(
                    files["int8-s8act"], threads, x, {"session.qdqisint8allowed": "1"}
                )
                fns["pytorch-eager"] = torch_runner(model, threads, x)
                return fns

            out["sizes"][size] = {t: timed_rounds(make(t), args.rounds, args.runs) for t in (1, 2)}
            out["sizes"][size]["bytes"] = {k: Path(p).stat().st_size for k, p in files.items()}
        for t in (1, 2):
            r = out["sizes"][size][t]
            base = r["fp32"]["median_ms"]
            print(
                f"{size}x{size} threads={t}: "
                + ", ".join(
                    f"{k} {v['median_ms']:.1f} ms ({base / v['median_ms']:.2f}x)"
                    for k, v in r.items()
                ),
                flush=True,
            )
    return out


def print_accuracy(res):
    t1, t2 = res["timing"][1], res["timing"][2]
    print(f"{'variant':<22} {'mIoU':>6} {'1T med/p90 ms':>16} {'2T med/p90 ms':>16} {'MB':>6}")
    for k in list(res["miou"]) + ["int8-s8act+allowed", "pytorch-eager"]:
        if k not in t1:
            continue
        m = res["miou"].get(k)
        mb = res["sizes"].get(k, res.get("checkpoint_bytes") if k == "pytorch-eager" else None)
        print(
            f"{k:<22} {'' if m is None else f'{100 * m:6.2f}':>6} "
            f"{t1[k]['median_ms']:7.1f}/{t1[k]['p90_ms']:<7.1f} "
            f"{t2[k]['median_ms']:7.1f}/{t2[k]['p90_ms']:<7.1f} "
            f"{'' if mb is None else f'{mb / 1e6:6.2f}'}"
        )
    for t, tt in ((1, t1), (2, t2)):
        if "int8" in tt:
            msg = f"threads={t}: int8/fp32 {tt['fp32']['median_ms'] / tt['int8']['median_ms']:.2f}x"
            if "pytorch-eager" in tt:
                ratio = tt["pytorch-eager"]["median_ms"] / tt["int8"]["median_ms"]
                msg += f", int8/PyTorch eager {ratio:.2f}x"
            print(msg)
    for r in res["simulated"]:
        print(
            f"simulated {r['w']}/{r['a']}: mIoU {100 * r['miou']:.2f}, "
            f"packed {r['packed_bytes'] / 1e6:.2f} MB"
        )
