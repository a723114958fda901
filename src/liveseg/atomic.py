"""Atomic outputs: write beside the target under a temporary name, rename over it at the end.

A reader never sees a half-written file under the final name, and a failed or interrupted write
leaves the previous file (if any) untouched and no temporary file behind.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path


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
