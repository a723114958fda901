"""`liveseg bench pipeline` (being built)."""

from liveseg.errors import LivesegError

HELP = "pipeline benchmark (not built yet)"


def add_arguments(parser):
    pass


def run(args):
    raise LivesegError("'liveseg bench pipeline' is not built yet")
