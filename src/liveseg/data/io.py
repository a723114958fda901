"""Data set file lists and label checks with clear errors: image files in a folder, split
list files, label values outside the class set.

Images are read by ``liveseg.images.read_image`` and label maps by
``liveseg.metrics.labelmap.read_mask`` (below this layer, since ``liveseg eval`` scores saved
label maps without torch).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from liveseg.errors import InputError
from liveseg.images import IMAGE_EXTS


def list_files(folder, exts=IMAGE_EXTS) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"folder not found: {folder}")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in exts)


def read_list_file(path) -> list[str]:
    """Non-empty, stripped lines of a split list (``ImageSets/...txt``)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"split list not found: {path}")
    return [
        ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")
    ]


def check_values(mask: np.ndarray, num_classes: int, ignore_index: int | None, name) -> None:
    """InputError naming the file and the values when a label lies outside the class set."""
    if mask.dtype == np.uint8:
        counts = np.bincount(mask.ravel(), minlength=256)
        present = np.nonzero(counts)[0]
    else:
        present = np.unique(mask)
    bad = [int(v) for v in present if not (0 <= v < num_classes) and v != ignore_index]
    if bad:
        ign = f" or {ignore_index} (ignore)" if ignore_index is not None else ""
        raise InputError(
            f"label map {name} has values {bad[:10]} outside the class set "
            f"(0..{num_classes - 1}{ign})"
        )
