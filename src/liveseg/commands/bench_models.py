"""`liveseg bench models`: params, GMACs, ORT fp32 latency (1 and 2 threads) and PyTorch eager
latency for every model-zoo architecture at 256 and 512, in one run."""

HELP = "model zoo: params, GMACs, ORT fp32 1/2-thread and PyTorch eager latency per model"


def add_arguments(parser):
    parser.add_argument("--models", default="", help="comma-separated names (default: all)")
    parser.add_argument(
        "--sizes", default="256,512", help="comma-separated sizes, N or WxH (default 256,512)"
    )
    parser.add_argument("--runs", type=int, default=10, help="timed rounds per model (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up rounds (default 2)")
    parser.add_argument(
        "--baseline",
        default="deeplabv3plus_mobilenetv2",
        help="model the ratios are computed against",
    )
    parser.add_argument("--json", default=None, metavar="PATH", help="also save results as JSON")
    parser.add_argument(
        "--markdown", default=None, metavar="PATH", help="also save the table as Markdown"
    )


def run(args):
    from liveseg.atomic import write_text_atomic
    from liveseg.bench.models import markdown, run_bench, save_json
    from liveseg.bench.results import check_outputs
    from liveseg.commands.models import parse_size
    from liveseg.errors import ConfigError
    from liveseg.models import get_builder, list_models

    names = [n.strip() for n in args.models.split(",") if n.strip()] or list_models()
    for n in names:
        get_builder(n)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    if args.runs < 1 or args.warmup < 0:
        raise ConfigError("--runs must be >= 1 and --warmup >= 0")
    check_outputs((args.json, "--json file"), (args.markdown, "--markdown file"))
    result = run_bench(names, sizes, runs=args.runs, warmup=args.warmup, baseline=args.baseline)
    table = markdown(result)
    print(table)
    if args.json:
        save_json(result, args.json)
    if args.markdown:
        write_text_atomic(args.markdown, table + "\n")
    return 0
