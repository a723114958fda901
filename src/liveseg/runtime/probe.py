"""The frames the runtime probes a model with: a real photograph and a synthetic image.

The photograph is matplotlib's sample photograph of Grace Hopper (an official U.S. Navy photo,
public domain), which matplotlib ships in every install. ``--engine auto`` compares engines on
``probe_frame()`` (the photograph as the demo clip's first frame shows it); I/O detection runs
``probe_image`` (colour blocks and noise, no dependency). The demo clip
(``liveseg.video.demo``) pans over the same photograph with ``photo_view``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from liveseg.errors import DependencyError, InputError, LivesegError

PHOTO_CREDIT = "Grace Hopper, official U.S. Navy photograph (public domain), shipped by matplotlib"


def _sample_photo() -> Path | None:
    """matplotlib's copy of the photograph, found without importing matplotlib (~0.3 s)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("matplotlib")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        p = Path(folder) / "mpl-data" / "sample_data" / "grace_hopper.jpg"
        if p.is_file():
            return p
    return None


def sample_photo() -> np.ndarray:
    """The photograph as an (H, W, 3) uint8 RGB array (DependencyError without matplotlib)."""
    import cv2

    photo = _sample_photo()
    if photo is not None:
        data = np.fromfile(photo, dtype=np.uint8)
    else:
        try:
            from matplotlib import cbook
        except ImportError:
            raise DependencyError(
                "the demo clip is made from a photograph that matplotlib ships: "
                "pip install 'liveseg[demo]'"
            ) from None
        with cbook.get_sample_data("grace_hopper.jpg") as fh:
            data = np.frombuffer(fh.read(), dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:  # pragma: no cover - matplotlib's own file
        raise InputError("matplotlib's sample photograph could not be decoded")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def photo_view(img: np.ndarray, t: float, size: tuple[int, int]) -> np.ndarray:
    """The view of ``img`` at time ``t`` in [0, 1] of the demo clip's pan and zoom, as an RGB
    frame of ``size`` = (width, height): wide (most of the picture) at 0, closing in on the
    subject while panning towards 1."""
    import cv2

    ih, iw = img.shape[:2]
    out_w, out_h = size
    aspect = out_w / out_h
    full_w = min(iw, ih * aspect)
    ease = 0.5 - 0.5 * np.cos(np.pi * t)
    win_w = full_w * (1.0 - 0.2 * ease)
    win_h = win_w / aspect
    cx = iw / 2 + (ease - 0.5) * (iw - win_w) * 0.8
    cy = win_h / 2 + (ih - win_h) * (0.15 + 0.2 * ease)
    x0 = float(np.clip(cx - win_w / 2, 0, iw - win_w))
    y0 = float(np.clip(cy - win_h / 2, 0, ih - win_h))
    # Affine crop + scale in one warp (sub-pixel smooth motion).
    sx, sy = out_w / win_w, out_h / win_h
    m = np.array([[sx, 0, -x0 * sx], [0, sy, -y0 * sy]], dtype=np.float64)
    return cv2.warpAffine(
        img, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def probe_image(W: int, H: int) -> np.ndarray:
    """A deterministic synthetic RGB frame: colour blocks plus noise (exercises every class)."""
    rng = np.random.default_rng(1234)
    img = rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8)
    img[: H // 2, : W // 2] = (220, 30, 30)
    img[H // 2 :, W // 2 :] = (30, 30, 220)
    return img


def probe_frame() -> tuple[np.ndarray, str]:
    """(RGB frame, what it is): the demo clip's first frame, else a synthetic image."""
    try:
        frame = photo_view(sample_photo(), 0.0, (640, 480))
        return frame, "first frame of the demo clip (640x480 photograph)"
    except (LivesegError, ImportError, OSError) as exc:
        why = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return probe_image(640, 480), f"synthetic 640x480 image (no demo photograph: {why})"
