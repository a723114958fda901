"""`liveseg quantize` (being built: see the issue that owns this verb)."""

from liveseg.errors import LivesegError

HELP = "quantize (not built yet)"


def add_arguments(parser):
    pass


def run(args):
    raise LivesegError("'liveseg quantize' is not built yet")
