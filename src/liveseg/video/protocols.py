"""What the pipeline and the runner rely on from the stages around them, declared once.

A frame source, a sink, a temporal policy and an effect are anything with these members; the
classes in ``sources``, ``sinks``, ``temporal`` and ``effects`` implement them (their base
classes give every member a default, so a new stage states only what differs). Code that drives
stages reads these
members directly, never ``getattr(stage, "x", default)``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


class RunMode(enum.Enum):
    """How frames are taken from a source."""

    AUTO = "auto"  # guess from the input: webcams and rtsp/rtmp/udp/srt streams are live
    FILE = "file"  # every frame, in order; the source waits for the pipeline
    LIVE = "live"  # the newest frame wins; frames the pipeline could not take are dropped

    @classmethod
    def parse(cls, value) -> RunMode:
        """A RunMode, its name, or the ``live=`` values of the API (None: auto, True, False)."""
        if isinstance(value, cls):
            return value
        if value is None:
            return cls.AUTO
        if isinstance(value, bool):
            return cls.LIVE if value else cls.FILE
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            from liveseg.errors import ConfigError

            raise ConfigError(f"mode must be auto, file or live, got {value!r}") from None

    @property
    def live(self) -> bool | None:
        """True/False for LIVE/FILE, None for AUTO (``make_source``'s ``live=``)."""
        return None if self is RunMode.AUTO else self is RunMode.LIVE


@runtime_checkable
class FrameSource(Protocol):
    """Yields ``SourceFrame``s (RGB uint8 image, pts, time base, name) and describes itself."""

    kind: str  # video | webcam | images
    description: str  # what the user named, for messages and the summary
    live: bool  # drop frames when behind (see ``mode``)
    fps: float
    time_base: Fraction | None
    rate: Fraction | None  # the container's frame rate, when it has one
    total_frames: int | None  # None: unknown (streams, webcams)
    audio_path: str | None  # a file whose audio a video sink may copy
    is_url: bool
    paths: Sequence[Path]  # image inputs: the files, in order
    decode_errors: int
    skipped: Sequence[tuple[str, str]]  # (path, reason) of unreadable images

    @property
    def mode(self) -> RunMode: ...

    def __iter__(self) -> Iterator[Any]: ...

    def close(self) -> None: ...


@runtime_checkable
class FrameSink(Protocol):
    """Takes each finished frame (``item.out``, ``item.pred``, ``item.pts``...) in order."""

    name: str
    path: Path | None
    created: bool  # it created its output folder (removed again when nothing was written)
    repaired: int  # frames whose timestamp did not increase and were moved on
    stop_requested: bool  # the user asked to stop (a preview window closed)

    def write(self, item) -> None: ...

    def finish(self, status: str) -> str | None:
        """Close; ``status`` is done|interrupted|error. Returns a note for the user or None."""


@runtime_checkable
class TemporalPolicy(Protocol):
    """Decides per frame whether the network runs (see ``liveseg.video.temporal``)."""

    name: str  # the canonical --temporal text
    uses_motion: bool  # steps use optical flow: the pipeline computes ``motion`` ahead

    def motion(self, frame) -> Any: ...

    def step(self, frame, infer: Callable, motion=None) -> Any: ...

    def stats(self) -> dict: ...


@runtime_checkable
class Effect(Protocol):
    """Turns a frame and its prediction into the output picture (``liveseg.video.effects``)."""

    name: str
    channels: int  # 3 (RGB), or 4 (RGBA: the matte)

    def __call__(self, frame, pred) -> Any: ...

    def close(self) -> None:
        """Release what the effect holds (a background video); the pipeline calls it at the end."""
