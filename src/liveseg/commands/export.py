"""`liveseg export` (being built: see the issue that owns this verb)."""

from liveseg.errors import LivesegError

HELP = "export (not built yet)"


def add_arguments(parser):
    pass


def run(args):
    raise LivesegError("'liveseg export' is not built yet")
