"""`liveseg eval` (being built: see the issue that owns this verb)."""

from liveseg.errors import LivesegError

HELP = "eval (not built yet)"


def add_arguments(parser):
    pass


def run(args):
    raise LivesegError("'liveseg eval' is not built yet")
