"""`liveseg train` (being built: see the issue that owns this verb)."""

from liveseg.errors import LivesegError

HELP = "train (not built yet)"


def add_arguments(parser):
    pass


def run(args):
    raise LivesegError("'liveseg train' is not built yet")
