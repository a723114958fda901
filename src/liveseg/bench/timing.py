"""The one timer of the benchmarks: warm-up, then interleaved rounds, median and p90.

Interleaving (A B C A B C ...) makes load changes on a shared machine hit every variant alike,
so their ratios stay meaningful even when the absolute times drift.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np


def summarize(ms: Iterable[float]) -> dict:
    """{"median_ms", "p90_ms", "runs"} of a list of milliseconds."""
    a = np.asarray(list(ms), dtype=float)
    return {
        "median_ms": float(np.median(a)),
        "p90_ms": float(np.percentile(a, 90)),
        "runs": int(a.size),
    }


def time_interleaved(
    fns: dict[str, Callable[[], object]], runs: int = 20, warmup: int = 3, cpu_time: bool = False
) -> dict:
    """Median / p90 milliseconds per call of each function, called in turn ``runs`` times after
    ``warmup`` untimed calls each. ``cpu_time`` also records the calling thread's CPU time
    (``cpu_median_ms``): for single-threaded work on a busy machine it is far less noisy."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    wall = {k: [] for k in fns}
    cpu = {k: [] for k in fns}
    for _ in range(runs):
        for k, fn in fns.items():
            c0, t0 = time.thread_time(), time.perf_counter()
            fn()
            wall[k].append((time.perf_counter() - t0) * 1e3)
            cpu[k].append((time.thread_time() - c0) * 1e3)
    out = {k: summarize(v) for k, v in wall.items()}
    if cpu_time:
        for k, v in cpu.items():
            out[k]["cpu_median_ms"] = float(np.median(v))
    return out


def timed_rounds(fns: dict[str, Callable[[], object]], rounds: int, runs: int) -> dict:
    """``rounds`` of :func:`time_interleaved` (a longer warm-up before the first): per variant
    the median of the round medians, the median of the round p90s, and the round medians."""
    meds = {k: [] for k in fns}
    p90s = {k: [] for k in fns}
    for r in range(rounds):
        res = time_interleaved(fns, runs=runs, warmup=2 if r == 0 else 1)
        for k, v in res.items():
            meds[k].append(v["median_ms"])
            p90s[k].append(v["p90_ms"])
    return {
        k: {
            "median_ms": float(np.median(meds[k])),
            "p90_ms": float(np.median(p90s[k])),
            "round_medians": [round(m, 2) for m in meds[k]],
        }
        for k in fns
    }


def rotated(items: Sequence, r: int) -> list:
    """Round ``r``'s order of ``items`` for rounds of whole runs (a CLI run, a batch job):
    rotated by ``r``, so that each variant goes first in turn."""
    k = r % len(items) if items else 0
    return [*items[k:], *items[:k]]


def median_of(rows: list[dict], key: str, ndigits: int | None = None):
    """Median of ``row[key]`` over the rows that have it (None when none has), rounded to
    ``ndigits`` when given."""
    values = [r[key] for r in rows if r.get(key) is not None]
    if not values:
        return None
    m = float(np.median(values))
    return m if ndigits is None else round(m, ndigits)
