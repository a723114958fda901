"""`liveseg bench tradeoff`: accuracy against end-to-end fps for every combination of models,
input sizes, precisions, threads and temporal specs; a table, a JSON and a PNG plot with the
Pareto front (``liveseg.bench.tradeoff``)."""

from __future__ import annotations

import sys

HELP = "accuracy vs liveseg run fps per model/size/precision/threads/temporal, Pareto plot"


def add_arguments(parser):
    parser.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="MODEL",
        help="shipped name (with or without -int8/-fp16) or .onnx/.tflite "
        "file; repeat for more models",
    )
    parser.add_argument(
        "--data",
        required=True,
        help="labelled data: camvid:ROOT, folder:ROOT ..., or a training config "
        "(.yaml) whose data section is used",
    )
    parser.add_argument("--split", default="val", help="split scored and played (default val)")
    parser.add_argument(
        "--sizes",
        default=None,
        help="model input sizes, N or WxH, comma separated (default: each "
        "model's own); fixed-input ONNX files run at each size as "
        "--input-size does (graph rewritten), others skip it with a note",
    )
    parser.add_argument(
        "--precisions",
        default="fp32,fp16,int8",
        help="among fp32,fp16,int8 (default all; a float32 .onnx is converted "
        "and calibrated on the train split, others skip what they are not)",
    )
    parser.add_argument("--threads", default="1,2", help="inference threads (default 1,2)")
    parser.add_argument(
        "--temporal",
        default="off,auto",
        help="--temporal specs, comma separated; use ';' when a spec has commas (default off,auto)",
    )
    parser.add_argument(
        "--engine", default="auto", help="runtime engine, as for liveseg run (default auto)"
    )
    parser.add_argument("--limit", type=int, default=None, help="score only the first N images")
    parser.add_argument(
        "--frames",
        type=int,
        default=60,
        help="frames of the data in the clip the fps are measured on (default 60)",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="interleaved fps runs per combination (default 3)"
    )
    parser.add_argument(
        "--workdir",
        default="out/bench_tradeoff",
        help="where converted fp16/int8 files go (reused when present)",
    )
    parser.add_argument("--out", default="benchmarks/results", help="folder for JSON + PNG")
    parser.add_argument("--tag", default="tradeoff", help="file name stem (default tradeoff)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing result files")


def _ints(text, flag):
    from liveseg.errors import ConfigError

    try:
        return [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{flag} must be comma-separated integers, got {text!r}") from None


def run(args):
    from liveseg.bench import tradeoff
    from liveseg.commands.models import parse_size
    from liveseg.errors import ConfigError

    sizes = (
        [parse_size(s, "--sizes") for s in args.sizes.split(",") if s.strip()]
        if args.sizes
        else None
    )
    sep = ";" if ";" in args.temporal else ","
    if args.frames < 2 or (args.limit is not None and args.limit < 1):
        raise ConfigError("--frames must be >= 2 and --limit >= 1")
    command = (
        " ".join(["liveseg", "bench", "tradeoff", *sys.argv[3:]])
        if sys.argv[1:3] == ["bench", "tradeoff"]
        else " ".join(sys.argv)
    )
    tradeoff.run_bench(
        args.model,
        args.data,
        out=args.out,
        tag=args.tag,
        overwrite=args.overwrite,
        command=command,
        sizes=sizes,
        precisions=[p.strip() for p in args.precisions.split(",") if p.strip()],
        threads=_ints(args.threads, "--threads"),
        temporal=[s.strip() for s in args.temporal.split(sep) if s.strip()],
        split=args.split,
        limit=args.limit,
        frames=args.frames,
        repeats=args.repeats,
        engine=args.engine,
        workdir=args.workdir,
    )
    return 0
