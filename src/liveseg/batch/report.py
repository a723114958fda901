"""What the user sees: a progress bar over inputs and frames while the batch runs (stderr, only
on a terminal), and the summary table at the end."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np


class BatchProgress:
    """Two rich bars: inputs (of the total) and frames written (a count and a rate)."""

    def __init__(self, total: int, enabled: bool):
        self.bar = None
        self._lock = threading.Lock()
        if not enabled or not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description:<7}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.inputs = self.bar.add_task("inputs", total=total, rate="")
        self.frames = self.bar.add_task("frames", total=None, rate="")
        self._t0 = time.perf_counter()
        self.bar.start()

    def add_inputs(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.advance(self.inputs, n)

    def set_frames(self, n: int) -> None:
        if self.bar is not None:
            dt = time.perf_counter() - self._t0
            self.bar.update(
                self.frames, completed=n, rate=f"{n / dt:.0f} fps" if dt > 0 and n else ""
            )

    def print(self, line: str) -> None:
        """A line on stderr above the bars (or plainly, without them)."""
        if self.bar is not None:
            self.bar.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def summarize(rows: list[dict], wall_s: float, workers: int | None) -> dict:
    """The batch's figures: counts per status, frames and fps over the whole batch (inputs
    done in this run), and the per-video latency (seconds per video: median, p90)."""
    done = [r for r in rows if r["status"] == "done"]
    frames = sum(int(r.get("frames") or 0) for r in done)
    videos = [float(r["seconds"]) for r in done if r["kind"] == "video" and r.get("seconds")]
    out = {
        "inputs": len(rows),
        "done": len(done),
        "failed": sum(r["status"] == "failed" for r in rows),
        "skipped": sum(r["status"] == "skipped" for r in rows),
        "retried": sum(int(r.get("attempts") or 1) > 1 for r in rows),
        "frames": frames,
        "wall_s": round(wall_s, 3),
        "fps": round(frames / wall_s, 2) if wall_s > 0 else 0.0,
        "workers": workers,
    }
    if videos:
        out["video_seconds"] = {
            "median": round(float(np.median(videos)), 3),
            "p90": round(float(np.percentile(videos, 90)), 3),
            "count": len(videos),
        }
    return out


def print_summary(summary: dict, manifest: str, file=None) -> None:
    """The final table (stdout); the CLI lists the failed inputs on stderr."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file or sys.stdout, highlight=False)
    t = Table(title="liveseg batch", title_justify="left", show_header=False)
    t.add_column()
    t.add_column()
    s = summary
    t.add_row(
        "inputs", f"{s['inputs']}  (done {s['done']}, failed {s['failed']}, skipped {s['skipped']})"
    )
    t.add_row("frames", f"{s['frames']} in {s['wall_s']:.1f} s: {s['fps']:.1f} fps")
    vs = s.get("video_seconds")
    if vs:
        t.add_row("seconds per video", f"median {vs['median']:.2f}, p90 {vs['p90']:.2f}")
    if s.get("workers"):
        t.add_row("workers", str(s["workers"]))
    if s["retried"]:
        t.add_row("retried", f"{s['retried']} (a worker process died)")
    t.add_row("manifest", manifest)
    console.print(t)


def failure_lines(rows: list[dict], manifest: str, limit: int = 20) -> list[str]:
    """One line per failed input (the first ``limit``), for stderr."""
    failed = [r for r in rows if r["status"] == "failed"]
    lines = [f"failed: {r['input']}: {r.get('error')}" for r in failed[:limit]]
    if len(failed) > limit:
        lines.append(f"... and {len(failed) - limit} more failed inputs (see {manifest})")
    return lines
