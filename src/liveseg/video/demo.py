"""A demo clip the package makes offline from real imagery.

The picture is matplotlib's sample photograph of Grace Hopper (an official U.S. Navy photo,
public domain), which matplotlib ships in every install (``liveseg.runtime.probe`` reads it:
``--engine auto`` probes engines on this clip's first frame). A slow pan and zoom over it (a
"Ken Burns" move) gives a short clip with a person as the moving subject, so ``liveseg run --demo``
works on a machine with no network and no video of its own.
"""

from __future__ import annotations

from pathlib import Path

from liveseg.runtime.probe import photo_view, sample_photo


def demo_frames(seconds: float = 4.0, fps: int = 30, size: tuple[int, int] = (640, 480)):
    """Yield RGB frames of a pan-and-zoom over the demo photograph (``size`` = (width, height))."""
    img = sample_photo()
    n = max(1, round(seconds * fps))
    for i in range(n):
        yield photo_view(img, i / max(1, n - 1), size)


def make_demo_clip(path, seconds: float = 4.0, fps: int = 30, size=(640, 480)) -> Path:
    """Write the demo clip as H.264 MP4 to ``path`` (atomically) and return the path."""
    from liveseg.video.sinks import write_video

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_video(path, demo_frames(seconds, fps, size), fps, crf=18)
