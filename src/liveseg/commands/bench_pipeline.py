"""`liveseg bench pipeline`: per-stage cost and end-to-end fps of the video pipeline.

Generates its own clip and a small fixed ONNX model (~3 ms/frame on one core), runs
decode->composite and decode->encode, inline and threaded, interleaved, and prints medians
and p90; optionally RSS over a long synthetic stream. See liveseg.bench.pipeline.
"""

HELP = "video pipeline benchmark: per-stage ms, end-to-end fps, RSS over a long stream"


def add_arguments(parser):
    parser.add_argument(
        "--sizes",
        default="640x480,1280x720",
        help="frame sizes WxH, comma separated (default 640x480,1280x720)",
    )
    parser.add_argument("--frames", type=int, default=150, help="frames per run (default 150)")
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="interleaved runs per configuration after a warm-up (default 5)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="ONNX Runtime threads for the model (default 1)"
    )
    parser.add_argument("--effect", default="blur", help="effect to composite (default blur)")
    parser.add_argument(
        "--rss-frames",
        type=int,
        default=0,
        metavar="N",
        help="also stream N synthetic 640x480 frames and report RSS growth "
        "(18000 = 10 minutes at 30 fps)",
    )
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")


def run(args):
    from liveseg.bench.machine import one_line
    from liveseg.bench.pipeline import run_benchmark
    from liveseg.bench.results import check_outputs, write_json
    from liveseg.errors import ConfigError
    from liveseg.parsing import parse_size

    sizes = [parse_size(part, "--sizes") for part in str(args.sizes).split(",")]
    if args.frames < 2 or args.repeats < 1 or args.threads < 1:
        raise ConfigError("--frames >= 2, --repeats >= 1 and --threads >= 1 please")
    check_outputs((args.json, "--json file"))  # now, not after minutes of benchmarking
    result = run_benchmark(
        sizes=sizes,
        frames=args.frames,
        repeats=args.repeats,
        model_threads=args.threads,
        effect=args.effect,
        rss_frames=args.rss_frames,
    )
    print("\n" + one_line(result["machine"]))
    if args.json:
        write_json(args.json, result)
    return 0
