"""Run a whole input through a model: pick the source and sinks, check outputs, run, report.

``process_video`` is what both ``liveseg run`` and the Python API
(``liveseg.process_video``) call.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from liveseg.atomic import check_output_file, check_writable_folder, os_reason, write_text_atomic
from liveseg.errors import ConfigError, InputError, OutputError
from liveseg.images import IMAGE_EXTS
from liveseg.video.options import RunInterrupted, RunOptions
from liveseg.video.protocols import FrameSink, FrameSource, RunMode
from liveseg.video.sinks import VIDEO_EXTS, check_output
from liveseg.video.sources import ImageSource, make_source

if TYPE_CHECKING:
    from liveseg.video.pipeline import RunStats


def _check_folder(path: Path, inputs: list[Path], overwrite: bool, what: str) -> None:
    if path.exists() and not path.is_dir():
        raise OutputError(f"{what} {path} exists and is not a folder")
    rp = path.resolve()
    for inp in inputs:
        if inp.resolve() == rp or inp.resolve().parent == rp:
            raise OutputError(f"{what} {path} is the input folder; choose another folder")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise OutputError(f"{what} folder {path} is not empty; pass --overwrite to write into it")
    if path.is_dir():
        check_writable_folder(path, what)
    elif not path.parent.exists():
        raise OutputError(f"{what} parent folder {path.parent} does not exist")
    else:
        check_writable_folder(path.parent, what)  # the folder is created there


def build_sinks(source: FrameSource, output, effect, opts: RunOptions) -> list[FrameSink]:
    """Sinks for ``output`` (file or folder), ``--save-masks`` and ``--show``."""
    from liveseg.video import sinks as S

    save_masks, overwrite = opts.save_masks, opts.overwrite
    inputs = [Path(p) for p in source.paths]
    if source.audio_path:
        inputs.append(Path(source.audio_path))
    elif source.kind == "video" and not source.is_url:
        inputs.append(Path(source.description))
    channels = effect.channels if effect is not None else 3
    out = []  # sink factories: every output is checked before any folder is created
    if output is not None:
        out_path = Path(output)
        ext = out_path.suffix.lower()
        if isinstance(source, ImageSource):
            if ext in IMAGE_EXTS:
                if len(source.paths) != 1:
                    raise ConfigError(f"the input has {len(source.paths)} images: give -o a folder")
                if channels == 4 and ext != ".png":
                    raise ConfigError("the matte effect has an alpha channel: write a .png")
                check_output(out_path, inputs, overwrite)
                out.append(lambda: S.ImageFileSink(out_path))
            elif ext in VIDEO_EXTS:
                raise ConfigError(
                    "image inputs write images: give -o a folder (or an image "
                    "file for a single image)"
                )
            else:
                _check_folder(out_path, inputs, overwrite, "output")
                out.append(lambda: S.ImageDirSink(out_path, ".png", inputs=inputs))
        elif ext in VIDEO_EXTS:
            check_output(out_path, inputs, overwrite)
            tmp = S.partial_path(out_path)
            if tmp.exists() and not overwrite:
                raise OutputError(
                    f"{tmp} (a partial output of an earlier run) exists; "
                    "remove it or pass --overwrite"
                )
            out.append(
                lambda: S.VideoSink(
                    out_path,
                    fps=source.fps,
                    time_base=source.time_base,
                    rate=source.rate,
                    audio_from=source.audio_path,
                    crf=opts.crf,
                    preset=opts.preset,
                    alpha=channels == 4,
                    audio=opts.audio,
                )
            )
        elif ext in IMAGE_EXTS:
            raise ConfigError(
                f"-o {out_path.name}: a video becomes a video file "
                f"({', '.join(sorted(VIDEO_EXTS))}) or a folder of PNGs"
            )
        elif ext:
            raise ConfigError(
                f"unsupported output {out_path.name}: use a video file "
                f"({', '.join(sorted(VIDEO_EXTS))}) or a folder"
            )
        else:
            _check_folder(out_path, inputs, overwrite, "output")
            out.append(lambda: S.ImageDirSink(out_path, ".png", inputs=inputs))
    if save_masks is not None:
        mp = Path(save_masks)
        if output is not None and mp.resolve() == Path(output).resolve():
            raise ConfigError("--save-masks and -o must be different folders")
        _check_folder(mp, inputs, overwrite, "--save-masks")
        out.append(lambda: S.MaskSink(mp, inputs=inputs))
    if opts.show:
        out.append(S.PreviewSink)
    sinks = []
    try:
        for make in out:
            sinks.append(make())
    except BaseException:
        for sink in sinks:  # e.g. --save-masks could not be created: undo the output folder
            sink.finish("error")
        raise
    return sinks


class _Progress:
    """A rich progress bar on stderr for inputs with a known length (off when not a TTY)."""

    def __init__(self, total, enabled):
        self.bar = None
        if not enabled or not total or not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("segmenting"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[fps]} fps"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.task = self.bar.add_task("run", total=total, fps="-")
        self.bar.start()
        import time

        self._t0 = time.perf_counter()

    def __call__(self, done):
        if self.bar is not None:
            import time

            dt = time.perf_counter() - self._t0
            self.bar.update(self.task, completed=done, fps=f"{done / dt:.0f}" if dt > 0 else "-")

    def close(self):
        if self.bar is not None:
            self.bar.stop()


def write_stats(path, stats: dict) -> None:
    path = Path(path)
    if not path.parent.exists():
        raise OutputError(f"--stats folder {path.parent} does not exist")
    try:
        write_text_atomic(path, json.dumps(stats, indent=2, default=str) + "\n")
    except OSError as exc:
        raise OutputError(f"writing --stats {path} failed: {os_reason(exc)}") from None


def _engine_summary(model) -> dict:
    """The run summary's ``engine`` (what ran) and ``engine_choice`` (why) entries."""
    eng = getattr(model, "engine", None)
    out = {}
    if eng is not None:
        out["engine"] = {k: v for k, v in eng.describe().items() if k not in ("inputs", "outputs")}
        out["engine"]["file"] = getattr(getattr(eng, "path", None), "name", None)
    choice = getattr(model, "engine_choice", None)
    if choice is not None:
        out["engine_choice"] = {"summary": choice.summary(), **choice.to_dict()}
    return out


def process_video(
    input,
    output=None,
    *,
    model,
    options: RunOptions | None = None,
    notes: list | None = None,
    **kwargs,
) -> RunStats:
    """Segment ``input`` with ``model`` and render the options' effect into ``output``.

    ``model`` is a runtime model object (``liveseg.load(...)``) or a model name/path.
    ``options``: a :class:`RunOptions`; keywords (``effect=``, ``temporal=``, ``live=``... the
    RunOptions fields) are applied on top, so the older keyword call form works too.
    ``effect``: a name, ``auto`` (``liveseg.video.effects.default_effect``: blur for foreground
    models, overlay otherwise; what ``liveseg run`` does without --effect) or None (frames as
    they are). ``temporal``: a ``--temporal`` spec; ``auto`` reuses work between frames of
    videos, streams and webcams and not between images (``TemporalSpec.resolve``).
    Returns the run summary (``RunStats``, a dict). Raises LivesegError subclasses for anything
    the user can fix, and RunInterrupted (a KeyboardInterrupt; its ``notes`` say what was kept)
    on Ctrl-C. ``notes``: a list that also receives those notes (the older call form).
    """
    from liveseg.video.effects import make_effect
    from liveseg.video.pipeline import Pipeline
    from liveseg.video.temporal import make_temporal

    opts = RunOptions.from_kwargs(options, **kwargs)
    if isinstance(model, (str, os.PathLike)):
        from liveseg.runtime import load_model

        model = load_model(str(model))
    effect = opts.effect
    if effect == "auto":
        from liveseg.video.effects import default_effect

        effect = default_effect(model.card)
    fx = (
        make_effect(
            effect,
            model.card,
            foreground=opts.foreground,
            alpha=opts.alpha,
            background=opts.background,
        )
        if effect
        else None
    )
    if opts.stats is not None:  # secondary outputs are checked before the run, not after it
        check_output_file(opts.stats, "--stats file", opts.overwrite)
    source = make_source(str(input), live=opts.live)
    try:
        policy = make_temporal(
            opts.temporal.resolve(images=isinstance(source, ImageSource)), flow_side=opts.flow_side
        )
        sinks = build_sinks(source, output, fx, opts)
    except BaseException:
        source.close()
        raise
    bar = _Progress(source.total_frames, opts.progress and source.mode is not RunMode.LIVE)
    pipe = Pipeline(
        source,
        model,
        fx,
        sinks,
        policy,
        threaded=opts.threaded,
        max_frames=opts.max_frames,
        on_frame=opts.on_frame,
    )
    try:
        result = pipe.run(poll=bar if bar.bar is not None else None)
    except RunInterrupted as exc:
        if notes is not None:
            notes.extend(exc.notes)
        raise
    finally:
        bar.close()
    if result["frames"] == 0:
        for sink in sinks:  # an output folder this run created stays behind only with content
            if sink.created:
                with contextlib.suppress(OSError):
                    sink.path.rmdir()
        if source.skipped:
            raise InputError(
                f"{source.description} has no readable images "
                f"({len(source.skipped)} unreadable; the first: "
                f"{source.skipped[0][1]})"
            )
        why = f" ({source.decode_errors} decode errors)" if source.decode_errors else ""
        raise InputError(f"{source.description} has no decodable frames{why}")
    result.update(
        input=source.description,
        source=source.kind,
        output=str(output) if output is not None else None,
        save_masks=str(opts.save_masks) if opts.save_masks is not None else None,
        effect=effect,
        model=getattr(model.card, "name", ""),
        input_fps=round(source.fps, 3),
    )
    result.update(_engine_summary(model))
    if source.skipped:
        result["skipped"] = [{"path": p, "reason": r} for p, r in source.skipped]
    repaired = sum(s.repaired for s in sinks)
    if repaired:
        result["timestamps_repaired"] = repaired
    if opts.stats is not None:
        write_stats(opts.stats, dict(result))
    return result
