"""Reading image files, once for the whole package: which suffixes are images, and a reader
that refuses what it cannot read in one line (missing, empty, corrupt, or a header that
declares more than ``MAX_IMAGE_PIXELS``) and turns every layout into RGB uint8.

The video sources, ``--background``, the teacher, data sets and calibration all read images
here, so a file one of them accepts the others accept too.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path

import numpy as np

from liveseg.errors import InputError

# Suffixes OpenCV decodes that liveseg treats as images (a tuple: ordered, e.g. for label-map
# lookups that try each in turn).
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pnm")


def is_image_path(path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTS


def to_rgb(img: np.ndarray, bgr: bool = True) -> np.ndarray:
    """Any image OpenCV can give (gray, gray+alpha, BGR, BGRA, 16-bit, float) -> RGB uint8."""
    import cv2

    if img.dtype != np.uint8:
        if img.dtype == np.uint16:
            img = (img >> 8).astype(np.uint8)
        elif img.dtype.kind == "f":
            img = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
        else:
            img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    ch = img.shape[2]
    if ch == 1:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if ch == 2:  # gray + alpha: keep the gray
        return cv2.cvtColor(np.ascontiguousarray(img[:, :, 0]), cv2.COLOR_GRAY2RGB)
    if ch == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB if bgr else cv2.COLOR_RGBA2RGB)
    if bgr:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(img)


# Images larger than this are refused before decoding (134 megapixels, e.g. 16384x8192:
# ~400 MB as RGB, and a few copies of it travel through the pipeline).
MAX_IMAGE_PIXELS = 1 << 27

_DECODE_LOCK = threading.Lock()
# What image codecs print on fd 2 by themselves ("libpng error: Not enough image data",
# "Corrupt JPEG data: ..."): part of our error message, never a line of its own.
_CODEC_NOISE = ("libpng", "jpeg", "tiff", "webp")


def read_image(path, what: str = "") -> np.ndarray:
    """Read an image file as RGB uint8; InputError if it is missing, not an image, or larger
    than ``MAX_IMAGE_PIXELS`` (checked on the header, before decoding). ``what`` prefixes the
    messages (e.g. ``--background``)."""
    import cv2

    from liveseg.imageheader import image_size

    path = Path(path)
    label = f"{what} {path}" if what else str(path)
    if not path.is_file():
        raise InputError(f"image not found: {label}")
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise InputError(f"cannot read {label}: {exc.strerror or exc}") from None
    if data.size == 0:
        raise InputError(f"{label} is empty (0 bytes)")
    size = image_size(data[:65536].tobytes())
    if size is not None:
        w, h = size
        if w < 1 or h < 1:
            raise InputError(f"{label} declares an empty {w}x{h} image (corrupt header)")
        if w * h > MAX_IMAGE_PIXELS:
            raise InputError(
                f"{label} declares a {w}x{h} image ({w * h / 1e6:.0f} megapixels); liveseg "
                f"reads images up to {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels: downscale it "
                "first (or the header is corrupt)"
            )
    img, failure = None, ""
    with _native_stderr() as captured:
        try:
            img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        except cv2.error as exc:  # e.g. OpenCV's own pixel limit for headers we cannot read
            failure = _cv2_reason(exc)
    if img is None or img.size == 0:
        lines = [ln.strip() for ln in captured.text.splitlines() if ln.strip()]
        why = failure or (lines[0] if lines else "")
        raise InputError(
            f"{label} is not a readable image (OpenCV could not decode it"
            + (f": {why.strip()[:160]}" if why else "")
            + ")"
        )
    return to_rgb(img)


def _cv2_reason(exc) -> str:
    """The assertion or message of a cv2.error without OpenCV's file/line preamble."""
    text = str(exc).strip().splitlines()
    text = text[-1] if text else ""
    return text.split(") ", 1)[-1] if text.startswith("OpenCV(") else text


class _Captured:
    text = ""


@contextlib.contextmanager
def _native_stderr():
    """Capture what native code writes on fd 2 while decoding one image.

    libpng and libjpeg print their complaints straight to fd 2; those lines become part of
    our one-line error instead. Anything else written meanwhile (another thread's output)
    is passed on afterwards; codec warnings only with --verbose.
    """
    import tempfile

    cap = _Captured()
    with _DECODE_LOCK:
        try:
            sys.stderr.flush()
            tmp = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the with below
        except (OSError, ValueError):  # no temporary space: decode without capturing
            yield cap
            return
        with tmp:
            try:
                saved = os.dup(2)
            except OSError:  # no usable fd 2 (closed, embedded): nothing to capture
                yield cap
                return
            os.dup2(tmp.fileno(), 2)
            try:
                yield cap
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                tmp.seek(0)
                cap.text = tmp.read(1 << 16).decode("utf-8", "replace")
    verbose = bool(os.environ.get("LIVESEG_VERBOSE"))
    rest = [
        ln
        for ln in cap.text.splitlines(keepends=True)
        if verbose or not any(k in ln.lower() for k in _CODEC_NOISE)
    ]
    if rest:
        sys.stderr.write("".join(rest))
