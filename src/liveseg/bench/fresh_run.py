"""``liveseg run`` in a fresh process, as a user runs it, and its ``--stats`` summary.

The benchmark scripts (benchmarks/, scripts/ship_model.py) measure the command itself: a new
interpreter per run, so nothing loaded or cached in the caller's process (models, engine
sessions, warmed imports) flatters the figure. ``run_stats`` builds that command in one place.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

STDERR_TAIL = 2000  # characters of a failed run's stderr quoted in the error


class RunFailed(RuntimeError):
    """``liveseg run`` exited with an error (or wrote no stats); the message ends with the tail
    of its stderr. ``returncode``, ``stderr`` and ``cmd`` are kept for callers."""

    def __init__(self, message: str, cmd: list[str], returncode: int, stderr: str):
        super().__init__(message)
        self.cmd = cmd
        self.returncode = returncode
        self.stderr = stderr


def _command(
    clip,
    model=None,
    *,
    stats,
    threads=None,
    effect=None,
    temporal="off",
    engine=None,
    output=None,
    extra: Iterable = (),
) -> list[str]:
    """The ``python -m liveseg run`` argument list ``run_stats`` runs. ``None`` leaves a flag
    out (liveseg's default: the default model, the engine's threads, the model's default
    effect, ``--temporal auto``, ``--engine auto``, no output file)."""
    cmd = [sys.executable, "-m", "liveseg", "run", str(clip)]
    if output is not None:
        cmd += ["-o", str(output)]
    for flag, value in (
        ("--model", model),
        ("--engine", engine),
        ("--threads", threads),
        ("--effect", effect),
        ("--temporal", temporal),
    ):
        if value is not None:
            cmd += [flag, str(value)]
    cmd += ["--stats", str(stats), "--no-progress", "--quiet", "--overwrite"]
    return cmd + [str(a) for a in extra]


def run_stats(
    clip,
    model=None,
    *,
    threads=None,
    effect=None,
    temporal="off",
    engine=None,
    output=None,
    env: Mapping[str, str] | None = None,
    cwd=None,
    extra: Iterable = (),
    log: Callable[[str], object] | None = None,
) -> dict:
    """Run ``liveseg run CLIP`` in a fresh process and return its ``--stats`` summary (a dict:
    ``frames``, ``fps``, ``stages``, ``engine``, ``engine_choice``, ...).

    ``temporal`` defaults to ``off``: every frame through the network, so the figure is the
    model's and not the reuse's; pass None for liveseg's own default (``auto``). ``output``:
    ``-o`` (default: null sink). ``env``: the process environment (default: this one's);
    ``cwd``: its working folder, where relative paths resolve (default: this one's); ``extra``:
    more arguments for ``liveseg run``; ``log``: called with the command line before it runs.
    The stats go into a temporary file that is removed afterwards. Raises ``RunFailed``, with
    the tail of the command's stderr, when it fails.
    """
    with tempfile.TemporaryDirectory(prefix="liveseg-run-stats-") as tmp:
        stats = Path(tmp) / "stats.json"
        cmd = _command(
            clip,
            model,
            stats=stats,
            threads=threads,
            effect=effect,
            temporal=temporal,
            engine=engine,
            output=output,
            extra=extra,
        )
        if log is not None:
            log("$ " + shlex.join(cmd))
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            check=False,
            env=None if env is None else dict(env),
            cwd=cwd,
        )
        what = f"liveseg run {clip}" + (f" --model {model}" if model is not None else "")
        if proc.returncode != 0:
            raise RunFailed(
                f"{what} failed (exit {proc.returncode}): {_tail(proc.stderr)}",
                cmd,
                proc.returncode,
                proc.stderr,
            )
        if not stats.is_file():
            raise RunFailed(
                f"{what} wrote no --stats file: {_tail(proc.stderr)}", cmd, 0, proc.stderr
            )
        return json.loads(stats.read_text())


def _tail(text: str) -> str:
    text = (text or "").strip()
    if not text:
        return "(nothing on stderr)"
    return text if len(text) <= STDERR_TAIL else "..." + text[-STDERR_TAIL:]
