"""Values users type on the command line: ``WxH`` sizes and thread counts.

One set of rules and one-line messages for every command (run, info, export, models, bench),
so ``--input-size 256x256`` means the same thing everywhere. Imports nothing heavy.
"""

from __future__ import annotations

import re

from liveseg.errors import ConfigError

_SIZE = re.compile(r"\s*(\d+)\s*[xX]\s*(\d+)\s*")
_SIDE = re.compile(r"\s*(\d+)\s*")


def parse_size(
    text, flag: str = "--input-size", *, square: bool = False, lo: int = 1, hi: int | None = None
) -> tuple[int, int]:
    """``"480x360"`` -> ``(480, 360)`` (width, height); ConfigError naming ``flag`` otherwise.

    ``square``: a single number ``N`` means ``NxN`` too. Each side must lie in ``[lo, hi]``.
    """
    t = str(text)
    m = _SIZE.fullmatch(t)
    if m:
        w, h = int(m.group(1)), int(m.group(2))
    elif square and _SIDE.fullmatch(t):
        w = h = int(t)
    else:
        form = "N or WxH, e.g. 256 or 480x360" if square else "WxH, e.g. 256x256"
        raise ConfigError(f"{flag} must be {form}, got {text!r}")
    if w < lo or h < lo or (hi is not None and (w > hi or h > hi)):
        bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise ConfigError(f"{flag} sides must be {bound}, got {text!r}")
    return w, h


def parse_threads(value, flag: str = "--threads") -> int | None:
    """A positive thread count (None stays None: the engine's default)."""
    if value is None:
        return None
    if isinstance(value, bool):  # True is not a thread count
        raise ConfigError(f"{flag} must be a positive integer, got {value!r}")
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{flag} must be a positive integer, got {value!r}") from None
    if n < 1 or (isinstance(value, float) and n != value):
        raise ConfigError(f"{flag} must be a positive integer, got {value!r}")
    return n
