"""``process_batch``: check everything, plan the outputs, run the tasks on Ray, keep the manifest.

Order of work: options, model and effect are checked and the inputs expanded before OUTDIR is
touched; then the manifest decides what ``--resume`` skips; then Ray starts (or is joined) and
rows are recorded as they come. Ctrl-C stops the workers, removes the temporary files of the
inputs that were in flight (local Ray: its processes are gone by then) and keeps the rows of
every input already done, so ``--resume`` continues where it stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from pathlib import Path

from liveseg.atomic import check_writable_folder, os_reason
from liveseg.batch import manifest as M
from liveseg.batch.inputs import Item, plan
from liveseg.errors import ConfigError, OutputError

IMAGES_PER_TASK = 16  # images travel in groups: one task per image would cost more than it


def _check_options(workers, threads, retries, crf, images_per_task) -> None:
    for name, value, low in (
        ("--workers", workers, 1),
        ("--threads-per-worker", threads, 1),
        ("--retries", retries, 0),
        ("images_per_task", images_per_task, 1),
    ):
        if value is not None and (not isinstance(value, int) or value < low):
            raise ConfigError(f"{name} must be an integer of at least {low}, got {value!r}")
    if not 0 <= int(crf) <= 63:
        raise ConfigError("--crf must be between 0 and 63")


def _model_spec(model) -> str:
    """A name or path every worker can open (paths made absolute: workers may run elsewhere)."""
    if model is None:
        from liveseg import zoo

        return zoo.DEFAULT_MODEL
    if not isinstance(model, (str, os.PathLike)):
        raise ConfigError(
            "model must be a shipped model name or a model file path "
            "(each worker opens its own session)"
        )
    p = Path(model)
    return str(p.resolve()) if p.exists() else str(model)


def _prepare_outdir(outdir: Path) -> bool:
    """Create OUTDIR if needed (True when this run created it); OutputError if unwritable."""
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"output folder {outdir} exists and is not a folder")
    if not outdir.exists():
        if not outdir.parent.is_dir():
            raise OutputError(f"output parent folder {outdir.parent} does not exist")
        check_writable_folder(outdir.parent, "output")
        try:
            outdir.mkdir()
        except OSError as exc:
            raise OutputError(
                f"cannot create the output folder {outdir}: {os_reason(exc)}"
            ) from None
        return True
    check_writable_folder(outdir, "output")
    return False


def _check_outdir(outdir: Path) -> None:
    """What _prepare_outdir will need, checked before Ray starts."""
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"output folder {outdir} exists and is not a folder")
    if outdir.is_dir():
        check_writable_folder(outdir, "output")
    elif not outdir.parent.is_dir():
        raise OutputError(f"output parent folder {outdir.parent} does not exist")
    else:
        check_writable_folder(outdir.parent, "output")


def _tasks(items: list[Item], per_task: int) -> list[dict]:
    """One task per video; images in groups of one output folder. Biggest inputs first, so the
    last tasks to finish are short ones and workers do not idle at the end."""
    tasks, groups = [], {}
    for it in items:
        if it.kind == "video":
            tasks.append([it])
        else:
            groups.setdefault(str(Path(it.output).parent), []).append(it)
    for group in groups.values():
        tasks += [group[i : i + per_task] for i in range(0, len(group), per_task)]

    def size(task):
        return sum(Path(it.input).stat().st_size for it in task if os.path.exists(it.input))

    tasks.sort(key=size, reverse=True)
    return [
        {"id": i, "kind": t[0].kind, "items": [dataclasses.asdict(it) for it in t]}
        for i, t in enumerate(tasks)
    ]


def process_batch(
    inputs,
    outdir,
    *,
    model=None,
    engine: str = "auto",
    overrides=None,
    effect: str = "auto",
    foreground=None,
    alpha: float = 0.5,
    background=None,
    temporal: str = "auto",
    save_masks: bool = False,
    workers: int | None = None,
    threads_per_worker: int | None = None,
    address: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    retries: int = 3,
    crf: int = 23,
    preset: str = "veryfast",
    audio: bool = True,
    progress: bool = False,
    verbose: bool = False,
    on_row=None,
    images_per_task: int = IMAGES_PER_TASK,
    info: dict | None = None,
) -> list[dict]:
    """Segment many videos and images on Ray; returns this run's manifest rows, input order.

    ``inputs``: paths, folders, globs or ``@list.txt`` (a string or a list). Each video gives
    ``outdir/<relative path>`` as ``liveseg run`` writes it, each image a PNG; ``save_masks``
    adds ``<name>.masks/`` (videos) or ``<name>.mask.png`` (images). ``model``: a shipped name
    or a model file; ``overrides``: ``liveseg.load``'s input_size/mean/std/layout/classes.
    ``workers``/``threads_per_worker``: actors and the CPUs (engine threads) of each;
    ``address``: None (a fresh local Ray), ``"auto"`` or ``"host:port"`` (a running cluster;
    Ray Client's ``ray://`` cannot run Ray Data, so it is refused with what to do instead).
    ``resume`` skips inputs done by an earlier run into ``outdir``; ``overwrite`` redoes all.
    ``on_row(row)`` is called for each row as it is recorded. ``info``, if a dict, receives
    the summary (counts, frames, fps, per-video latency, seconds spent before Ray started
    and in starting or joining it).
    Raises LivesegError for anything wrong before the work starts; a failing input only gives
    a ``failed`` row.
    """
    from liveseg.batch.cluster import RaySession, execute, require_ray
    from liveseg.batch.report import BatchProgress, summarize
    from liveseg.batch.worker import remove_temp
    from liveseg.runtime import IOOverrides, load_model
    from liveseg.video.effects import default_effect, make_effect
    from liveseg.video.temporal_spec import parse as parse_temporal

    t_start = time.perf_counter()
    threads = threads_per_worker or 1
    _check_options(workers, threads, retries, crf, images_per_task)
    if resume and overwrite:
        raise ConfigError("give either --resume or --overwrite, not both")
    if address is not None and str(address).startswith("ray://"):
        # Ray Data's streaming executor needs a driver inside the cluster (ray-project/ray
        # #39860); under Ray Client it fails in Ray's internals.
        raise ConfigError(
            "Ray Data does not run through Ray Client (ray://); run liveseg "
            "batch on a cluster node with --address auto, or submit it as a Ray "
            "job: ray job submit --address http://HEAD:8265 -- liveseg batch ... "
            "--address auto"
        )
    require_ray()  # before loading anything: a missing extra is the first thing to say
    parse_temporal(temporal)  # a bad --temporal fails before any work
    spec = _model_spec(model)
    ov = IOOverrides(**overrides) if isinstance(overrides, dict) else overrides
    seg = load_model(spec, engine=engine, threads=threads, overrides=ov)
    if effect in (None, "auto"):
        effect = default_effect(seg.card)
    if background is not None:
        background = str(Path(background).resolve())
    fx = make_effect(effect, seg.card, foreground=foreground, alpha=alpha, background=background)
    fx.close()
    model_name = getattr(seg.card, "name", "") or Path(spec).stem
    del seg, fx  # checked; the workers open their own sessions
    outdir = Path(outdir)
    items = plan(
        [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs),
        outdir,
        effect=effect,
        save_masks=save_masks,
    )
    outdir = outdir.resolve()

    # ---- what an earlier run into OUTDIR did ----------------------------------------------
    earlier = M.read(outdir) if outdir.is_dir() else {}
    has_manifest = (outdir / M.NAME).is_file()
    if has_manifest and not (resume or overwrite):
        raise OutputError(
            f"{outdir} holds an earlier batch ({M.NAME}); pass --resume to "
            "continue it or --overwrite to redo every input"
        )
    rows: dict[str, dict] = {}
    todo: list[Item] = []
    for it in items:
        prev = earlier.get(it.input)
        same = (
            prev is not None
            and prev.get("outputs") == it.outputs()
            and prev.get("model") == model_name
            and prev.get("effect") == effect
        )
        if resume and same and M.finished(prev, outdir):
            rows[it.input] = {**prev, "status": "skipped", "note": "done by an earlier run"}
        else:
            todo.append(it)
    _check_outdir(outdir)
    if not overwrite and not (resume and has_manifest):
        for it in todo:
            for o in it.outputs():
                if (outdir / o).exists():
                    raise OutputError(
                        f"{outdir / o} already exists; pass --overwrite to "
                        "replace it (or --resume to continue a batch)"
                    )
    config = {
        "model": spec,
        "model_name": model_name,
        "engine": engine,
        "threads": threads,
        "overrides": dataclasses.asdict(ov) if ov is not None else None,
        "effect": effect,
        "foreground": foreground,
        "alpha": alpha,
        "background": background,
        "temporal": temporal,
        "crf": int(crf),
        "preset": preset,
        "audio": bool(audio),
        "outdir": str(outdir),
    }
    runnable = [it for it in todo if not it.error]
    tasks = _tasks(runnable, images_per_task)
    prepare_s = time.perf_counter() - t_start  # options, model, inputs, OUTDIR: before Ray
    session = RaySession(address, workers, threads, verbose)
    if tasks:
        session.__enter__()  # Ray up (or joined) before OUTDIR is touched: it can fail too
    fresh = overwrite or not has_manifest
    log = bar = None
    completed = False
    try:
        created = _prepare_outdir(outdir)
        log = M.Log(outdir, fresh=fresh)
        bar = BatchProgress(len(items), progress)

        def record(row: dict) -> None:
            rows[row["input"]] = row
            log.append(row)
            bar.add_inputs()
            if on_row is not None:
                on_row(row)

        for it in items:  # skipped ones and those known to fail (missing listed files) first
            if it.input in rows:
                log.append(rows[it.input])
                bar.add_inputs()
                if on_row is not None:
                    on_row(rows[it.input])
            elif it.error:
                record(
                    {
                        "input": it.input,
                        "kind": it.kind,
                        "status": "failed",
                        "error": it.error,
                        "attempts": 0,
                        "model": model_name,
                        "effect": effect,
                    }
                )
        if tasks:
            execute(
                tasks,
                config,
                workers=session.workers,
                threads=threads,
                retries=retries,
                on_rows=lambda rs: [record(r) for r in rs],
                on_frames=bar.set_frames if bar.bar is not None else None,
            )
        completed = True
    finally:
        session.__exit__(None, None, None)  # a local Ray stops: its workers are gone
        if bar is not None:
            bar.close()
        unfinished = [it for it in runnable if it.input not in rows]
        if log is not None:
            if session.local:
                for it in unfinished:  # nothing writes these any more
                    remove_temp(it, outdir)
            if completed:
                for it in unfinished:  # Ray gave up on these (an errored task)
                    record(
                        {
                            "input": it.input,
                            "kind": it.kind,
                            "status": "failed",
                            "error": "Ray returned no result for it (its task failed; run "
                            "with --verbose to see Ray's messages)",
                            "model": model_name,
                            "effect": effect,
                        }
                    )
            log.close()
            ordered = [rows[it.input] for it in items if it.input in rows]
            if fresh and not ordered:  # nothing happened: leave OUTDIR as it was
                with contextlib.suppress(OSError):
                    (outdir / M.NAME).unlink()
                    if created:
                        outdir.rmdir()
            else:
                with contextlib.suppress(OutputError):
                    M.rewrite(outdir, ordered, earlier)
    result = [rows[it.input] for it in items]
    if info is not None:
        info.update(summarize(result, time.perf_counter() - t_start, session.workers))
        info["prepare_s"] = round(prepare_s, 3)
        info["ray_startup_s"] = round(session.startup_s, 3)
        info["manifest"] = str(outdir / M.NAME)
    return result
