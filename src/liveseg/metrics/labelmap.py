"""Reading label maps (numpy, OpenCV; Pillow for palette PNGs): the stored class indices of a
saved mask, for ``liveseg eval --pred/--gt`` and for the data sets' ground truth.

Label maps come back as (H, W) integer arrays holding the stored indices: palette PNGs (PASCAL
VOC, DAVIS 2017) are read as their palette indices, not as colours, through Pillow when it is
installed (OpenCV would convert them to RGB).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from liveseg.errors import InputError


def _is_palette_png(path: Path) -> bool:
    # PNG colour type (byte 25 of the file: IHDR data offset 8+8+9) 3 = indexed colour.
    try:
        with open(path, "rb") as f:
            head = f.read(26)
    except OSError:
        return False
    return len(head) == 26 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[25] == 3


def read_mask(path) -> np.ndarray:
    """Label map as stored: palette indices for palette PNGs, the single channel otherwise.

    Three-channel masks are accepted only when all channels are equal (grey saved as RGB).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"label map not found: {path}")
    if _is_palette_png(path):
        try:
            from PIL import Image
        except ImportError:  # pragma: no cover - pillow comes with matplotlib (train extra)
            raise InputError(
                f"{path} is a palette PNG; reading its indices needs Pillow: pip install pillow"
            ) from None
        try:
            with Image.open(path) as im:
                return np.array(im)
        except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad input
            raise InputError(f"cannot read label map {path}: {exc}") from None
    m = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if m is None:
        raise InputError(f"cannot read label map {path}: not an image file or corrupt")
    if m.ndim == 3:
        if m.shape[2] == 4:
            m = m[:, :, :3]
        if not (np.array_equal(m[:, :, 0], m[:, :, 1]) and np.array_equal(m[:, :, 0], m[:, :, 2])):
            raise InputError(
                f"label map {path} is a colour image; expected one channel of class indices "
                "(or a palette PNG)"
            )
        m = np.ascontiguousarray(m[:, :, 0])
    return m
