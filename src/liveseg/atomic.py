"""Atomic outputs: write beside the target under a temporary name, rename over it at the end.

A reader never sees a half-written file under the final name, and a failed or interrupted write
leaves the previous file (if any) untouched and no temporary file behind.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from liveseg.errors import OutputError


@contextmanager
def atomic_output(path):
    """Yield a temporary path in ``path``'s folder (same suffix, so writers that go by the
    extension still work); on success it is renamed over ``path``, on failure removed."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path, text: str) -> Path:
    with atomic_output(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_bytes_atomic(path, data: bytes) -> Path:
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def os_reason(exc: BaseException) -> str:
    """'No space left on device' from an OSError / PyAV error, without errno and file name."""
    reason = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    return str(reason).splitlines()[0][:200]


def check_writable_folder(folder, what: str = "output") -> None:
    """OutputError unless ``folder`` exists, is a folder, and a file can be created in it.

    Called before any work starts, so a read-only folder, a permission problem or a path
    under a regular file is one line up front instead of a failure after the whole run.
    (A full disk can still strike later; the writers turn that into one line too.)
    """
    folder = Path(folder)
    if not folder.exists():
        raise OutputError(f"{what} folder {folder} does not exist")
    if not folder.is_dir():
        raise OutputError(f"{what} folder {folder} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".liveseg-probe-")
    except OSError as exc:
        raise OutputError(f"cannot write in {what} folder {folder}: {os_reason(exc)}") from None
    os.close(fd)
    os.unlink(probe)


def check_output_file(path, what: str = "output", overwrite: bool = False) -> Path:
    """An output file we are about to write at the end of a run: refuse an existing one
    without ``overwrite``, and check its folder is writable now."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{what} {path} is a folder; give a file name")
    if path.exists() and not overwrite:
        raise OutputError(f"{what} {path} already exists; pass --overwrite to replace it")
    check_writable_folder(path.parent, what)
    return path
