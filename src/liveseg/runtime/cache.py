"""liveseg's folder in the user cache: engine choices measured by ``--engine auto`` and
OpenVINO's compiled-model blobs.

``LIVESEG_CACHE_DIR`` names the folder outright; otherwise it is ``$XDG_CACHE_HOME/liveseg``
(``~/.cache/liveseg`` when XDG_CACHE_HOME is unset or not absolute; ``~/Library/Caches/liveseg``
on macOS, ``%LOCALAPPDATA%\\liveseg\\cache`` on Windows). Nothing here raises: a folder that
cannot be created or written is reported as None and liveseg carries on without a cache.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

CACHE_ENV = "LIVESEG_CACHE_DIR"


def cache_root() -> Path:
    """Where liveseg's cache lives (it may not exist yet)."""
    explicit = os.environ.get(CACHE_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "liveseg"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "liveseg"
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "liveseg" / "cache"
    return Path.home() / ".cache" / "liveseg"


def writable_cache_dir(sub: str) -> tuple[Path | None, str | None]:
    """``cache_root()/sub``, created if needed, and whether a file can be written there:
    (path, None), or (None, why not)."""
    try:
        folder = cache_root() / sub
    except RuntimeError as exc:  # Path.home() without a home
        return None, f"no user cache folder ({exc})"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return None, f"cache folder {folder} is not writable ({reason})"
    return folder, None
