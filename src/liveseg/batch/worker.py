"""The batch worker: one model session, loaded once, that turns tasks into manifest rows.

A task is one video or a group of images of one output folder. Videos go through
``liveseg.video.runner.process_video``, the very path of ``liveseg run`` (audio, frame rate,
timestamps, the output written as ``<name>.partial.<ext>`` and renamed at the end); masks go
to a hidden ``.<name>.masks.partial`` folder renamed into place once complete. Images go
through the same pipeline, effect and PNG encoder as ``liveseg run`` on a folder, each file
written atomically. Any failure of one input becomes a ``failed`` row and the worker goes on.

Ray Data runs ``BatchWorker`` as an actor (``__call__`` takes a batch of task rows), but the
class imports no Ray except to report progress, so it runs without Ray as well.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import time
import traceback
from pathlib import Path

from liveseg.atomic import write_bytes_atomic
from liveseg.batch.inputs import Item
from liveseg.errors import LivesegError
from liveseg.video.sinks import Sink, encode_image, partial_path, write_failed
from liveseg.video.sources import ImageSource


def masks_partial(masks: Path) -> Path:
    return masks.with_name(f".{masks.name}.partial")


def temp_paths(item: Item, outdir: Path) -> list[Path]:
    """The temporary files and folders an unfinished ``item`` may have left in OUTDIR."""
    out = outdir / item.output
    found = []
    if item.kind == "video":
        found.append(partial_path(out))
        if item.masks:
            found.append(masks_partial(outdir / item.masks))
        return [p for p in found if p.exists()]
    for target in [out] + ([outdir / item.masks] if item.masks else []):
        # liveseg.atomic's temporary name: .<stem>.<pid>.tmp<suffix>
        pat = re.compile(rf"^\.{re.escape(target.stem)}\.\d+\.tmp{re.escape(target.suffix)}$")
        if target.parent.is_dir():
            found += [p for p in target.parent.iterdir() if pat.match(p.name)]
    return found


def remove_temp(item: Item, outdir: Path) -> None:
    for p in temp_paths(item, outdir):
        with contextlib.suppress(OSError):
            shutil.rmtree(p) if p.is_dir() else p.unlink()


def gave_up(attempts: int) -> str:
    return (
        f"its worker process died on each of {attempts} attempt(s) (a crash in a decoder or "
        "the engine, or out of memory; see the Ray logs)"
    )


def _error_row(item: Item, exc: BaseException) -> dict:
    row = {"status": "failed"}
    if isinstance(exc, LivesegError):
        row["error"] = str(exc)
    else:  # a bug: the manifest keeps the traceback
        first = (str(exc).strip().splitlines() or [""])[0]
        row["error"] = f"{type(exc).__name__}: {first}".rstrip(": ")
        row["traceback"] = "".join(traceback.format_exception(exc))
    return row


def _make_dirs(folder: Path, outdir: Path) -> list[Path]:
    """Create ``folder`` (inside OUTDIR); returns those created, to remove if left empty."""
    made = []
    p = folder
    while p != outdir and not p.exists():
        made.append(p)
        p = p.parent
    folder.mkdir(parents=True, exist_ok=True)
    return made


def _remove_empty(folders: list[Path]) -> None:
    for p in folders:  # deepest first
        with contextlib.suppress(OSError):
            p.rmdir()


class _TimedImages(ImageSource):
    """An ImageSource whose frames' latency origin is before decoding, not after."""

    def __iter__(self):
        it = super().__iter__()
        while True:
            t = time.perf_counter()
            try:
                sf = next(it)
            except StopIteration:
                return
            sf.t_read = t
            yield sf


class _ImageTargets(Sink):
    """Writes image ``i`` of the group to its own output (and mask) file, atomically."""

    name = "batch-images"

    def __init__(self, outs: list[Path], masks: list[Path | None]):
        self.outs, self.masks = outs, masks
        self.seconds: dict[int, float] = {}

    def write(self, item) -> None:
        i = item.index
        for path, img in (
            (self.outs[i], item.out),
            (self.masks[i], item.pred.labels() if self.masks[i] else None),
        ):
            if path is None:
                continue
            try:
                write_bytes_atomic(path, encode_image(img, ".png"))
            except OSError as exc:
                raise write_failed(path, exc) from None
        self.seconds[i] = time.perf_counter() - item.t_read


class BatchWorker:
    """``config``: model, engine, threads, overrides, effect, foreground, alpha, background,
    temporal, crf, preset, audio, outdir (see ``liveseg.batch.driver``). ``tally``: a Ray
    actor handle that counts task starts and frames (progress), or None. A task started more
    than ``retries + 1`` times (its worker process died each time) is not run again."""

    def __init__(self, config: dict, tally=None, retries: int = 3):
        from liveseg.runtime import IOOverrides, load_model

        self.config = config
        ov = config.get("overrides")
        ov = (
            IOOverrides(
                **{
                    k: tuple(v) if isinstance(v, list) and k != "classes" else v
                    for k, v in ov.items()
                }
            )
            if ov
            else None
        )
        self.model = load_model(
            config["model"],
            engine=config.get("engine", "auto"),
            threads=config.get("threads"),
            overrides=ov,
        )
        self.outdir = Path(config["outdir"])
        self.tally = tally
        self.retries = retries
        self.where = {"host": socket.gethostname(), "pid": os.getpid()}
        self._sent = 0
        self._frames = 0
        self._last = 0.0

    # ---- Ray Data entry point: a batch of task rows in, a batch of result rows out --------
    def __call__(self, batch: dict) -> dict:
        return {"result": [json.dumps(self.run_task(json.loads(t))) for t in batch["task"]]}

    def run_task(self, task: dict) -> list[dict]:
        attempt = self._started(task["id"])
        items = [Item(**d) for d in task["items"]]
        if attempt > self.retries + 1:
            for it in items:  # what the killed attempts left
                remove_temp(it, self.outdir)
            rows = [{"status": "failed", "error": gave_up(attempt - 1)} for _ in items]
            attempt -= 1
        elif task["kind"] == "video":
            rows = [self._video(items[0])]
        else:
            rows = self._images(items)
        self._flush_frames()
        cfg = self.config
        for item, row in zip(items, rows, strict=True):
            base = {"input": item.input, "kind": item.kind, "status": "done", "error": None}
            row.update({k: v for k, v in base.items() if k not in row})
            row.update(
                attempts=attempt, worker=self.where, model=cfg["model_name"], effect=cfg["effect"]
            )
        return rows

    # ---- progress ---------------------------------------------------------------------------
    def _started(self, task_id: int) -> int:
        if self.tally is None:
            return 1
        import ray

        return int(ray.get(self.tally.started.remote(task_id)))

    def _on_frame(self, _done: int) -> None:
        self._frames += 1
        now = time.perf_counter()
        if now - self._last >= 0.5:  # a remote call per frame would cost more than the frame
            self._flush_frames(now)

    def _flush_frames(self, now: float | None = None) -> None:
        self._last = now or time.perf_counter()
        delta, self._sent = self._frames - self._sent, self._frames
        if delta and self.tally is not None:
            self.tally.add_frames.remote(delta)

    # ---- one video ------------------------------------------------------------------------
    def _video(self, item: Item) -> dict:
        from liveseg.video.options import RunOptions
        from liveseg.video.runner import process_video

        cfg, outdir = self.config, self.outdir
        out = outdir / item.output
        masks = outdir / item.masks if item.masks else None
        t0 = time.perf_counter()
        made: list[Path] = []
        try:
            remove_temp(item, outdir)  # an earlier attempt's leftovers (a killed worker)
            made = _make_dirs(out.parent, outdir)
            # The output may be an earlier, unfinished run's: the driver decided it is ours.
            opts = RunOptions(
                effect=cfg["effect"],
                background=cfg.get("background"),
                foreground=cfg.get("foreground"),
                alpha=cfg.get("alpha", 0.5),
                temporal=cfg.get("temporal", "auto"),
                save_masks=masks_partial(masks) if masks else None,
                overwrite=True,
                crf=cfg.get("crf", 23),
                preset=cfg.get("preset", "veryfast"),
                audio=cfg.get("audio", True),
                on_frame=self._on_frame,
            )
            stats = process_video(item.input, out, model=self.model, options=opts)
            if masks is not None:
                if masks.exists():
                    shutil.rmtree(masks)
                os.replace(masks_partial(masks), masks)
        except Exception as exc:  # noqa: BLE001 - one input fails alone
            remove_temp(item, outdir)
            _remove_empty(made)
            return _error_row(item, exc) | {"seconds": round(time.perf_counter() - t0, 3)}
        return {
            "frames": int(stats["frames"]),
            "fps": stats["fps"],
            "seconds": round(time.perf_counter() - t0, 3),
            "input_fps": stats.get("input_fps"),
            "decode_errors": stats["decode_errors"],
            "outputs": item.outputs(),
        }

    # ---- a group of images (one output folder) --------------------------------------------
    def _images(self, items: list[Item]) -> list[dict]:
        from liveseg.video.effects import make_effect
        from liveseg.video.pipeline import Pipeline
        from liveseg.video.temporal import make_temporal

        cfg, outdir = self.config, self.outdir
        outs = [outdir / it.output for it in items]
        masks = [outdir / it.masks if it.masks else None for it in items]
        sink = _ImageTargets(outs, masks)
        failure: BaseException | None = None
        skipped: dict[str, str] = {}
        made: list[Path] = []
        try:
            made = _make_dirs(outs[0].parent, outdir)
            source = _TimedImages(
                [Path(it.input) for it in items], f"{len(items)} images for {outs[0].parent}"
            )
            fx = make_effect(
                cfg["effect"],
                self.model.card,
                foreground=cfg.get("foreground"),
                alpha=cfg.get("alpha", 0.5),
                background=cfg.get("background"),
            )
            # Each image stands alone (as `liveseg run` on images): no temporal reuse.
            pipe = Pipeline(
                source, self.model, fx, [sink], make_temporal("off"), on_frame=self._on_frame
            )
            try:
                pipe.run()
            finally:
                skipped = dict(source.skipped)
        except Exception as exc:  # noqa: BLE001 - the images not written yet fail with it
            failure = exc
        rows = []
        for i, it in enumerate(items):
            if i in sink.seconds:
                rows.append(
                    {
                        "frames": 1,
                        "fps": None,
                        "seconds": round(sink.seconds[i], 4),
                        "outputs": it.outputs(),
                    }
                )
            elif it.input in skipped:
                rows.append({"status": "failed", "error": skipped[it.input]})
            else:
                remove_temp(it, outdir)
                exc = failure or LivesegError("not written (the image group stopped early)")
                rows.append(_error_row(it, exc))
        if not sink.seconds:
            _remove_empty(made)
        return rows
