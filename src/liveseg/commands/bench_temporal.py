"""`liveseg bench temporal` (being built)."""

from liveseg.errors import LivesegError

HELP = "temporal benchmark (not built yet)"


def add_arguments(parser):
    pass


def run(args):
    raise LivesegError("'liveseg bench temporal' is not built yet")
