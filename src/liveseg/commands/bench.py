"""`liveseg bench TOPIC`: benchmarks that print tables (pipeline, models, quant, temporal).

Each topic lives in ``liveseg.commands.bench_<topic>`` with HELP, add_arguments and run.
"""

import importlib

HELP = "benchmarks: pipeline stages, model zoo, quantization, temporal reuse"
TOPICS = ("pipeline", "models", "quant", "temporal")


def add_arguments(parser):
    sub = parser.add_subparsers(dest="topic", metavar="TOPIC", required=True)
    for topic in TOPICS:
        module = importlib.import_module(f"liveseg.commands.bench_{topic}")
        p = sub.add_parser(topic, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_bench=module)


def run(args):
    return args._bench.run(args)
