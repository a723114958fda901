"""`liveseg info` (being built: see the issue that owns this verb)."""

from liveseg.errors import LivesegError

HELP = "info (not built yet)"


def add_arguments(parser):
    pass


def run(args):
    raise LivesegError("'liveseg info' is not built yet")
