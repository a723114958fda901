"""The options of one run (``liveseg run`` and ``liveseg.process_video``), as one typed value.

The CLI builds a :class:`RunOptions` from its flags, the Python API from its keywords (same
names as before: ``effect=``, ``temporal=``, ``live=``...), and the runner reads nothing else.
Values are checked here, once, so the CLI and the API refuse the same things with the same
one-line messages.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from liveseg.errors import ConfigError
from liveseg.video.protocols import RunMode
from liveseg.video.temporal_spec import TemporalSpec, parse

PathLike = str | os.PathLike


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run; ``notes`` say what was kept (a playable partial video...).

    A KeyboardInterrupt, so code that stops on Ctrl-C still does."""

    def __init__(self, notes: Sequence[str] = ()):
        super().__init__()
        self.notes = list(notes)


@dataclass(frozen=True)
class RunOptions:
    """Everything about a run but its input, output and model."""

    effect: str | None = "auto"  # a name, auto (blur for foreground models, else overlay), None
    background: PathLike | None = None  # --effect replace: an image or a video (loops)
    foreground: str | Sequence | None = None  # classes that count as foreground
    alpha: float = 0.5  # overlay opacity
    temporal: str | TemporalSpec = "auto"  # a --temporal spec; checked when the options are made
    flow_side: int | None = None  # longest side of the temporal stage's flow grid (None: 128)
    save_masks: PathLike | None = None  # folder for class-index PNGs
    show: bool = False  # preview window
    overwrite: bool = False
    crf: int = 23
    preset: str = "veryfast"
    stats: PathLike | None = None  # JSON file for the run summary
    progress: bool = False  # progress bar on a terminal, for inputs of known length
    max_frames: int | None = None
    threaded: bool = True  # stages in threads (False: one after another, for benchmarks)
    mode: RunMode = RunMode.AUTO  # live or file; AUTO guesses from the input
    audio: bool = True  # copy the input's audio
    on_frame: Callable[[int], None] | None = None  # called with the frames written so far

    def __post_init__(self):
        object.__setattr__(self, "mode", RunMode.parse(self.mode))
        object.__setattr__(self, "temporal", parse(self.temporal))  # a bad spec fails first
        if self.flow_side is not None:
            from liveseg.video.flow import check_flow_side

            check_flow_side(self.flow_side)
        if self.max_frames is not None and self.max_frames < 1:
            raise ConfigError("--max-frames must be at least 1")
        if not 0 <= self.crf <= 63:
            raise ConfigError("--crf must be between 0 and 63")

    @property
    def live(self) -> bool | None:
        return self.mode.live

    @classmethod
    def from_kwargs(cls, base: RunOptions | None = None, **kwargs) -> RunOptions:
        """Options from keywords (``live=True/False/None`` stands for ``mode``), on top of
        ``base``; TypeError for a keyword that is not an option, as a function would raise."""
        if "live" in kwargs:
            if "mode" in kwargs:
                raise TypeError("give live= or mode=, not both")
            kwargs["mode"] = RunMode.parse(kwargs.pop("live"))
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise TypeError(f"process_video() got an unexpected keyword argument {unknown[0]!r}")
        if base is None:
            return cls(**kwargs)
        return dataclasses.replace(base, **kwargs) if kwargs else base
