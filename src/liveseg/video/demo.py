"""A demo clip the package makes offline from real imagery.

The picture is matplotlib's sample photograph of Grace Hopper (an official U.S. Navy photo,
public domain), which matplotlib ships in every install. A slow pan and zoom over it (a "Ken
Burns" move) gives a short clip with a person as the moving subject, so ``liveseg run --demo``
works on a machine with no network and no video of its own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from liveseg.errors import DependencyError, InputError

DEMO_CREDIT = "Grace Hopper, official U.S. Navy photograph (public domain), shipped by matplotlib"


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


def demo_image() -> np.ndarray:
    """The demo photograph as an (H, W, 3) uint8 RGB array."""
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


def demo_frames(seconds: float = 4.0, fps: int = 30, size: tuple[int, int] = (640, 480)):
    """Yield RGB frames of a pan-and-zoom over the demo photograph (``size`` = (width, height))."""
    import cv2

    img = demo_image()
    ih, iw = img.shape[:2]
    out_w, out_h = size
    aspect = out_w / out_h
    n = max(1, round(seconds * fps))
    # The window starts wide (most of the picture) and closes in on the subject while panning.
    full_w = min(iw, ih * aspect)
    for i in range(n):
        t = i / max(1, n - 1)
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
        yield cv2.warpAffine(
            img, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )


def make_demo_clip(path, seconds: float = 4.0, fps: int = 30, size=(640, 480)) -> Path:
    """Write the demo clip as H.264 MP4 to ``path`` (atomically) and return the path."""
    from liveseg.video.sinks import write_video

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_video(path, demo_frames(seconds, fps, size), fps, crf=18)
