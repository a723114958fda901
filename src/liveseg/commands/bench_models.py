"""`liveseg bench models` (being built)."""

from liveseg.errors import LivesegError

HELP = "models benchmark (not built yet)"


def add_arguments(parser):
    pass


def run(args):
    raise LivesegError("'liveseg bench models' is not built yet")
