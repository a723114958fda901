"""`liveseg bench quant` (being built)."""

from liveseg.errors import LivesegError

HELP = "quant benchmark (not built yet)"


def add_arguments(parser):
    pass


def run(args):
    raise LivesegError("'liveseg bench quant' is not built yet")
