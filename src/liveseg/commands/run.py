"""`liveseg run` (being built: see the issue that owns this verb)."""

from liveseg.errors import LivesegError

HELP = "run (not built yet)"


def add_arguments(parser):
    pass


def run(args):
    raise LivesegError("'liveseg run' is not built yet")
