"""`liveseg bench TOPIC`: benchmarks that print tables (pipeline, models, quant, temporal,
tradeoff).

Each topic lives in ``liveseg.commands.bench_<topic>`` (HELP, add_arguments, run: parsing only)
and measures with ``liveseg.bench``.
"""

import importlib

HELP = "benchmarks: pipeline stages, model zoo, quantization, temporal reuse, accuracy vs speed"
TOPICS = ("pipeline", "models", "quant", "temporal", "tradeoff")


def add_arguments(parser):
    sub = parser.add_subparsers(dest="topic", metavar="TOPIC", required=True)
    for topic in TOPICS:
        module = importlib.import_module(f"liveseg.commands.bench_{topic}")
        p = sub.add_parser(topic, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_bench=module)


def run(args):
    return args._bench.run(args)
