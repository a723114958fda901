"""One family of user-facing errors.

The CLI turns any LivesegError into a single line on stderr and its ``exit_code``;
everything else is a bug and keeps its traceback.
"""


class LivesegError(Exception):
    """Base class: something the user can fix (bad input, bad model, bad config)."""

    exit_code = 1


class InputError(LivesegError):
    """A missing, unreadable, corrupt or unsupported input (video, image, folder, data set)."""

    exit_code = 2


class ModelError(LivesegError):
    """A model file that is not a model, or whose inputs/outputs cannot be understood."""

    exit_code = 3


class ConfigError(LivesegError):
    """Invalid options, flags or configuration values."""

    exit_code = 4


class OutputError(LivesegError):
    """The output cannot be written (exists without --overwrite, would overwrite an input, ...)."""

    exit_code = 5


class DependencyError(LivesegError):
    """An optional dependency (torch, ai-edge-litert, openvino, ...) is not installed."""

    exit_code = 6


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an exception's message (its type's name when the message is empty),
    cut at ``limit`` characters: the reason a one-line error message quotes."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:limit]


def require(module: str, extra: str):
    """Import an optional module or raise a DependencyError naming the extra that brings it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise DependencyError(
            f"{module} is not installed: pip install 'liveseg[{extra}]' ({exc})"
        ) from None
