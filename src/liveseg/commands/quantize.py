"""`liveseg quantize MODEL.onnx --calib DATA`: int8 PTQ (QDQ), fp16 and dynamic-range ONNX."""

from __future__ import annotations

import argparse

HELP = "quantize an ONNX model: int8 static PTQ (QDQ), fp16, or dynamic-range"

FORMATS = ("int8", "fp16", "dynamic")


def add_arguments(parser):
    parser.add_argument("model", help="float32 ONNX model (its card is copied to the output)")
    parser.add_argument(
        "--calib",
        metavar="DATA",
        help="calibration images: a folder, a glob ('imgs/*.jpg'), "
        "camvid:ROOT[:split] (default split train) or davis:ROOT; "
        "required for int8 and --sensitivity",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output .onnx (default: MODEL-<format>.onnx beside the input); "
        "a card OUT.json is written beside it",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="int8",
        help="int8: static QDQ PTQ (default); fp16: half precision, float32 IO; "
        "dynamic: weights-only int8, activations quantized at run time",
    )
    parser.add_argument(
        "--method",
        choices=("minmax", "entropy", "percentile"),
        default="minmax",
        help="calibration method (default minmax)",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=64,
        help="calibration images, spread evenly over DATA (default 64)",
    )
    parser.add_argument(
        "--exclude",
        default="",
        help="comma list kept in float: first, last, an op type (Resize, "
        "Softmax) or node names (see --list-nodes)",
    )
    parser.add_argument(
        "--per-channel",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="per-channel int8 weights (default on)",
    )
    parser.add_argument(
        "--reduce-range",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="7-bit (+-64) int8 weights. Default: chosen from --target-cpu: on "
        "for x86 CPUs without VNNI (they add u8 x s8 products in "
        "saturating int16 pairs, which broke a CamVid model's stem conv, "
        "-8.5 mIoU, at full 8 bits), off with VNNI/AMX or on ARM",
    )
    parser.add_argument(
        "--target-cpu",
        choices=("host", "avx2", "vnni", "arm"),
        default="host",
        help="the CPU the int8 model is for, which decides --reduce-range when "
        "it is not given (default: host, this machine's CPU)",
    )
    parser.add_argument(
        "--activation-type",
        choices=("uint8", "int8"),
        default="uint8",
        help="activation type (default uint8: faster on AVX2 CPUs)",
    )
    parser.add_argument(
        "--sensitivity",
        metavar="REPORT.json",
        help="write a per-layer sensitivity report (and print it); with -o the "
        "model is then quantized keeping the suggested layers in float",
    )
    parser.add_argument(
        "--sensitivity-mode",
        choices=("only", "exclude"),
        default="only",
        help="only: quantize one layer at a time; exclude: all but one",
    )
    parser.add_argument(
        "--eval-samples",
        type=int,
        default=8,
        help="images used to measure error in --sensitivity (default 8)",
    )
    parser.add_argument(
        "--list-nodes",
        action="store_true",
        help="print the layers that --exclude can name, and stop",
    )
    parser.add_argument(
        "--qat",
        action="store_true",
        help="quantization-aware training: MODEL is a training checkpoint (.pt); "
        "fine-tune it under 8-bit fake quantization on its own training "
        "data, then export int8 QDQ ONNX",
    )
    parser.add_argument("--qat-iters", type=int, default=100, help="QAT iterations (default 100)")
    parser.add_argument("--qat-lr", type=float, default=5e-5, help="QAT learning rate")
    parser.add_argument("--qat-batch", type=int, default=8, help="QAT batch size")
    parser.add_argument(
        "--qat-distill",
        type=float,
        default=1.0,
        metavar="W",
        help="weight of the distillation term towards the float model's "
        "predictions (default 1.0; 0 trains on the labels alone)",
    )
    parser.add_argument(
        "--qat-bits",
        default="8/8",
        metavar="W/A",
        help="QAT bit widths (default 8/8, exported to ONNX); lower widths "
        "(e.g. 6/4) have no ONNX Runtime kernels: the fine-tuned model is "
        "evaluated in simulation on the val split and nothing is written",
    )
    parser.add_argument(
        "--data-root", help="QAT: the data set root, if the checkpoint's config points elsewhere"
    )
    parser.add_argument("--threads", type=int, help="torch threads for QAT")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")


def _default_output(model, fmt):
    from pathlib import Path

    p = Path(model)
    return p.with_name(f"{p.stem}-{fmt}.onnx")


def run(args) -> int:
    import tempfile
    from pathlib import Path

    from liveseg.errors import ConfigError
    from liveseg.quant.ptq import reduce_range_for

    if args.samples < 1:
        raise ConfigError("--samples must be >= 1")
    if args.reduce_range is None:
        args.reduce_range, rr_why = reduce_range_for(args.target_cpu)
        rr_why = f"auto, {rr_why}"
    else:
        rr_why = "--reduce-range" if args.reduce_range else "--no-reduce-range"
    rr_note = f"reduce_range {'on' if args.reduce_range else 'off'} ({rr_why})"
    if args.qat or args.list_nodes:
        return _run(args, rr_note)
    # fp16 input (a shipped -fp16 file): quantize from its exact float32 copy.
    from liveseg.quant.fp16 import fp32_source

    with tempfile.TemporaryDirectory(prefix="liveseg-fp32-") as tmp:
        src = fp32_source(args.model, tmp) if args.format != "fp16" else None
        if src is not None:
            original = args.model
            args.input_bytes = Path(original).stat().st_size
            args.model = str(src)
            if not args.output:
                args.output = str(_default_output(original, args.format))
            print(f"{Path(original).name} has fp16 weights: quantizing its float32 copy")
        return _run(args, rr_note)


def _run(args, rr_note) -> int:
    import json
    import tempfile
    from pathlib import Path

    from liveseg.atomic import write_text_atomic
    from liveseg.errors import ConfigError, OutputError
    from liveseg.quant import ptq

    if args.list_nodes:
        import onnx

        from liveseg.runtime.onnx_file import load_onnx

        load_onnx(args.model)
        with tempfile.TemporaryDirectory() as tmp:
            pre = Path(tmp) / "pre.onnx"
            ptq.preprocess_for_quant(args.model, pre)
            for n in onnx.load(str(pre)).graph.node:
                if n.op_type in ptq.COMPUTE_OPS:
                    print(f"{n.op_type:<14} {n.name}")
        return 0

    if args.qat:
        from liveseg.quant.qat import qat_from_checkpoint

        try:
            bits = tuple(int(v) for v in args.qat_bits.split("/"))
            assert len(bits) == 2
        except (ValueError, AssertionError):
            raise ConfigError(
                f"--qat-bits must look like 8/8 or 6/4, got {args.qat_bits!r}"
            ) from None
        out = Path(args.output) if args.output else _default_output(args.model, "int8-qat")
        fq, res = qat_from_checkpoint(
            args.model,
            out,
            data_root=args.data_root,
            calib=args.calib,
            iters=args.qat_iters,
            lr=args.qat_lr,
            batch_size=args.qat_batch,
            calib_samples=args.samples,
            bits=bits,
            threads=args.threads,
            overwrite=args.overwrite,
            reduce_range=args.reduce_range,
            distill=args.qat_distill,
        )
        if res is None:
            from liveseg.quant.qat import evaluate_fake_quant

            m = evaluate_fake_quant(fq, args.model, data_root=args.data_root)
            print(
                f"QAT {bits[0]}/{bits[1]} (simulated): val mIoU {100 * m['miou']:.2f} "
                f"on {m['images']} images; no ONNX written (no kernels below 8 bits)"
            )
            return 0
        print(
            f"wrote {res.output} ({res.size_bytes / 1e6:.2f} MB) and "
            f"{res.output.with_suffix('.json').name}: {res.card.notes.split(' | ')[-1]}"
        )
        print(f"  {res.info['pinned_ranges']} activation ranges pinned from QAT")
        return 0

    exclude = [t for t in args.exclude.split(",") if t.strip()]
    if args.sensitivity:
        if not args.calib:
            raise ConfigError("--sensitivity needs --calib DATA")
        report_path = Path(args.sensitivity)
        if report_path.exists() and not args.overwrite:
            raise OutputError(f"{report_path} exists; pass --overwrite to replace it")

        def progress(i, n, name):
            print(f"\r  layer {i + 1}/{n}", end="", flush=True)

        from liveseg.quant.sensitivity import format_sensitivity, sensitivity_report

        report = sensitivity_report(
            args.model,
            args.calib,
            samples=args.samples,
            eval_samples=args.eval_samples,
            method=args.method,
            per_channel=args.per_channel,
            reduce_range=args.reduce_range,
            activation_type=args.activation_type,
            mode=args.sensitivity_mode,
            progress=progress,
        )
        print("\r" + " " * 40 + "\r", end="")
        write_text_atomic(report_path, json.dumps(report, indent=2))
        print(format_sensitivity(report))
        print(f"report: {report_path}")
        if not args.output:
            return 0
        exclude += report["suggested_exclude"]

    out = Path(args.output) if args.output else _default_output(args.model, args.format)
    if args.format == "int8":
        if not args.calib:
            raise ConfigError("int8 quantization needs calibration images: --calib DATA")
        res = ptq.quantize_model(
            args.model,
            out,
            args.calib,
            method=args.method,
            samples=args.samples,
            exclude=exclude,
            per_channel=args.per_channel,
            activation_type=args.activation_type,
            overwrite=args.overwrite,
            reduce_range=args.reduce_range,
            note_extra=rr_note,
        )
    elif args.format == "fp16":
        from liveseg.quant.fp16 import convert_fp16

        res = convert_fp16(args.model, out, overwrite=args.overwrite)
    else:
        res = ptq.quantize_dynamic_model(args.model, out, overwrite=args.overwrite)
    src = getattr(args, "input_bytes", None) or Path(args.model).stat().st_size
    print(
        f"wrote {res.output} ({res.size_bytes / 1e6:.2f} MB, {100 * res.size_bytes / src:.0f}% "
        f"of the input) and {res.output.with_suffix('.json').name} in {res.seconds:.1f}s"
    )
    print(f"  {res.card.notes.split(' | ')[-1]}")
    if args.format == "int8":
        excl = res.info.get("excluded_nodes") or []
        if excl:
            print(f"  kept in float: {', '.join(excl)}")
        unreadable = res.info["calibration"]["unreadable"]
        if unreadable:
            print(f"  warning: {unreadable} calibration images could not be read and were skipped")
    return 0
