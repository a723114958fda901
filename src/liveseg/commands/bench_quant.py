"""`liveseg bench quant`: accuracy, speed and size of a model's quantized variants
(the table is built by ``liveseg.bench.quant``)."""

from __future__ import annotations

HELP = "quantization table: fp32/fp16/dynamic/int8 PTQ/QAT + simulated low-bit mIoU, speed, size"


def add_arguments(parser):
    parser.add_argument("--onnx", required=True, help="float32 ONNX model (with its card)")
    parser.add_argument(
        "--checkpoint",
        help="training checkpoint of the same model: adds "
        "PyTorch eager timing and the simulated low-bit rows",
    )
    parser.add_argument(
        "--data",
        required=True,
        help="data set: camvid:ROOT, or a training config (.yaml) whose data "
        "section is used (val split evaluated, train calibrates)",
    )
    parser.add_argument("--val-split", default="val")
    parser.add_argument("--calib-split", default="train")
    parser.add_argument("--calib-samples", type=int, default=64)
    parser.add_argument("--limit", type=int, help="evaluate only the first N val images")
    parser.add_argument(
        "--bits",
        default="32/32,8/8,6/6,6/4,4/4",
        help="simulated w/a widths (default 32/32,8/8,6/6,6/4,4/4)",
    )
    parser.add_argument(
        "--variants",
        default="fp16,dynamic,int8,int8-full,int8-s8act",
        help="ONNX variants besides fp32: fp16, dynamic, int8 (7-bit weights, "
        "the default recipe), int8-full (8-bit weights), int8-s8act",
    )
    parser.add_argument("--qat-onnx", help="an int8 QAT model to include (liveseg quantize --qat)")
    parser.add_argument(
        "--workdir",
        default="out/bench_quant",
        help="where the variants are written (reused when present)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per variant")
    parser.add_argument("--json", help="also write the rows as JSON here")


def run(args) -> int:
    from liveseg.bench import quant
    from liveseg.bench.results import check_outputs, write_json

    bits = quant.parse_bits(args.bits)
    check_outputs((args.json, "--json file"))  # now, not after the whole benchmark
    result = quant.quant_table(
        args.onnx,
        args.data,
        checkpoint=args.checkpoint,
        val_split=args.val_split,
        calib_split=args.calib_split,
        calib_samples=args.calib_samples,
        limit=args.limit,
        bits=bits,
        variants=[v for v in args.variants.split(",") if v],
        qat_onnx=args.qat_onnx,
        workdir=args.workdir,
        threads=args.threads,
        runs=args.runs,
    )
    print(quant.format_table(result["rows"]))
    line = quant.summary_line(result)
    if line:
        print(line)
    if args.json:
        write_json(args.json, {"machine": result["machine"], "rows": result["rows"]})
    return 0
