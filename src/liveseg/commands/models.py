"""`liveseg models` (being built: see the issue that owns this verb)."""

from liveseg.errors import LivesegError

HELP = "models (not built yet)"


def add_arguments(parser):
    pass


def run(args):
    raise LivesegError("'liveseg models' is not built yet")
