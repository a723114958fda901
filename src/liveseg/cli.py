"""The ``liveseg`` command: verbs run, batch, models, info, label, bench, train, eval, export,
quantize, web.

Each verb lives in ``liveseg.commands.<verb>`` with ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``. Those modules import nothing heavy at import time, so ``liveseg run``
starts fast and never loads torch. Any LivesegError becomes one line on stderr and its exit
code; ``--debug`` keeps the traceback; ``--verbose`` lets engines print their own log lines.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys

from liveseg import __version__
from liveseg.errors import LivesegError

VERBS = (
    "run",
    "batch",
    "models",
    "info",
    "label",
    "bench",
    "train",
    "eval",
    "export",
    "quantize",
    "web",
)
# Engines print their native log lines (LiteRT's "INFO: Created ... XNNPACK delegate") only
# when this is set; every verb's --verbose sets it.
VERBOSE_ENV = "LIVESEG_VERBOSE"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liveseg", description="Real-time video semantic segmentation for CPUs."
    )
    parser.add_argument("--version", action="version", version=f"liveseg {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb in VERBS:
        module = importlib.import_module(f"liveseg.commands.{verb}")
        p = sub.add_parser(verb, help=module.HELP, description=module.HELP)
        p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
        p.add_argument(
            "--verbose",
            action="store_true",
            help="let engines print their own log lines (e.g. LiteRT's INFO lines)",
        )
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "verb", None):
        parser.print_help()
        return 2
    previous = os.environ.get(VERBOSE_ENV)
    if args.verbose:
        os.environ[VERBOSE_ENV] = "1"
    try:
        return int(args._module.run(args) or 0)
    except LivesegError as exc:
        if args.debug:
            raise
        print(f"liveseg {args.verb}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"liveseg {args.verb}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`liveseg models | head`): not an error of ours. Point stdout
        # at /dev/null so Python's exit-time flush does not complain again.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 141
    finally:
        if args.verbose:
            if previous is None:
                os.environ.pop(VERBOSE_ENV, None)
            else:
                os.environ[VERBOSE_ENV] = previous


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
