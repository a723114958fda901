"""``OUTDIR/manifest.jsonl``: one JSON line per input, what became of it.

Row keys: ``input`` (absolute path), ``kind`` (video|image), ``status`` (done|failed|skipped),
``error`` (one line, failures only), ``frames``, ``fps`` (frames per second of processing),
``seconds`` (time spent on it, decode to last write), ``input_fps``, ``outputs`` (paths
relative to OUTDIR), ``attempts`` (more than 1 when a worker process died on it), ``worker``
(host and pid). ``skipped`` rows (``--resume``) repeat the earlier run's figures.

While a batch runs, rows are appended and flushed as inputs finish, so a killed batch keeps a
record of every finished output; at the end the file is rewritten (atomically) with exactly one
line per input. A torn last line (a kill mid-write) is ignored when reading.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from liveseg.atomic import os_reason, write_text_atomic
from liveseg.errors import OutputError

NAME = "manifest.jsonl"
STATUSES = ("done", "failed", "skipped")


def read(outdir) -> dict[str, dict]:
    """The latest row per input of an existing manifest (empty if there is none)."""
    path = Path(outdir) / NAME
    rows: dict[str, dict] = {}
    if not path.is_file():
        return rows
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(f"cannot read {path}: {exc}") from None
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and isinstance(row.get("input"), str):
            rows[row["input"]] = row
    return rows


def finished(row: dict | None, outdir) -> bool:
    """Was this input done by an earlier run, with every output still there?"""
    if not row or row.get("status") not in ("done", "skipped"):
        return False
    outs = row.get("outputs") or []
    return bool(outs) and all((Path(outdir) / o).exists() for o in outs)


class Log:
    """Appends rows as they come (flushed and synced: a killed batch keeps them)."""

    def __init__(self, outdir, fresh: bool):
        self.path = Path(outdir) / NAME
        try:
            self._f = open(self.path, "w" if fresh else "a", encoding="utf-8")  # noqa: SIM115 - open while the batch runs
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {os_reason(exc)}") from None

    def append(self, row: dict) -> None:
        self._f.write(json.dumps(row, default=str) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


def rewrite(outdir, rows: list[dict], earlier: dict[str, dict]) -> None:
    """One line per input: this run's rows in input order, then earlier rows of inputs this
    run did not name (their outputs are still in OUTDIR)."""
    names = {r["input"] for r in rows}
    keep = [r for k, r in earlier.items() if k not in names]
    text = "".join(json.dumps(r, default=str) + "\n" for r in rows + keep)
    try:
        write_text_atomic(Path(outdir) / NAME, text)
    except OSError as exc:
        raise OutputError(f"writing {Path(outdir) / NAME} failed: {os_reason(exc)}") from None
