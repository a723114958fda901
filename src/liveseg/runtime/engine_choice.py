"""What ``--engine auto`` measured and chose (``Measurement``, ``EngineChoice``: what ran a
model and why, as ``liveseg info`` and ``liveseg run`` report it), and the agreement rule a
candidate engine's output must pass against the reference's (``agreement``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TIE_MARGIN = 0.10  # reference probability gap under which a different class still agrees


@dataclass
class Measurement:
    label: str
    spec: str
    file: str
    status: str  # chosen | ok | rejected | failed | skipped
    ms: float | None = None
    open_ms: float | None = None
    agreement: float | None = None  # tie-tolerant, what the guard uses
    plain_agreement: float | None = None
    why: str = ""

    def describe(self) -> str:
        parts = [self.label]
        if self.ms is not None:
            parts.append(f"{self.ms:.2f} ms")
        if self.agreement is not None and self.why != "reference":
            parts.append(
                f"agrees {100 * self.agreement:.2f}% (plain {100 * self.plain_agreement:.2f}%)"
            )
        tag = {
            "chosen": "chosen",
            "rejected": "rejected",
            "failed": "failed",
            "skipped": "skipped",
        }.get(self.status)
        text = ", ".join(parts)
        if tag:
            text += f" [{tag}{': ' + self.why if self.why else ''}]"
        elif self.why:
            text += f" [{self.why}]"
        return text


@dataclass
class EngineChoice:
    """What ran a model and why: ``reason`` is measured, cached, forced, only candidate or
    not worth probing; ``measurements`` the candidates (from the probe, also for a cached
    choice); ``probe_ms`` what the probe cost when it ran: the time from the reference
    engine being open (as every run opens its model) to the choice being made."""

    spec: str
    file: str
    reason: str
    threads: int | None = None
    measurements: list[Measurement] = field(default_factory=list)
    probe_ms: float | None = None
    probe_input: str | None = None
    cache_file: str | None = None
    notes: list[str] = field(default_factory=list)
    measured_at: str | None = None

    @classmethod
    def forced(cls, spec: str, path: Path, threads: int | None) -> EngineChoice:
        return cls(spec=spec, file=Path(path).name, reason="forced", threads=threads)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> EngineChoice:
        ms = [Measurement(**m) for m in d.get("measurements", [])]
        kw = {k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}}
        kw["measurements"] = ms
        return cls(**kw)

    def summary(self) -> str:
        """One line: what ran, and why."""
        what = self.spec + (f" on {self.file}" if self.file else "")
        if self.reason == "forced":
            return f"{what} (forced by --engine)"
        ok = [m for m in self.measurements if m.ms is not None and m.status in ("chosen", "ok")]
        timed = ", ".join(f"{m.label} {m.ms:.2f} ms" for m in ok)
        if self.reason == "cached":
            when = f" on {self.measured_at[:10]}" if self.measured_at else ""
            return f"{what} (auto, cached choice measured{when}: {timed or 'no timings'})"
        if self.reason == "measured":
            cost = f"; probe {self.probe_ms / 1000:.2f} s" if self.probe_ms is not None else ""
            others = [m for m in self.measurements if m.status in ("rejected", "failed")]
            rej = f"; {len(others)} rejected or failed" if others else ""
            return f"{what} (auto, measured: {timed}{rej}{cost})"
        return f"{what} (auto: {self.reason})"

    def lines(self) -> list[str]:
        """Per-candidate detail for ``liveseg info``."""
        out = [m.describe() for m in self.measurements]
        if self.probe_input:
            out.append(f"probe input: {self.probe_input}")
        out += self.notes
        if self.cache_file:
            out.append(f"cache: {self.cache_file}")
        return out


def class_boundary(labels: np.ndarray) -> np.ndarray:
    """Pixels with a different class among their 8 neighbours (a label map's edges)."""
    padded = np.pad(labels, 1, mode="edge")
    h, w = labels.shape
    edge = np.zeros(labels.shape, bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy != 1 or dx != 1:
                edge |= padded[dy : dy + h, dx : dx + w] != labels
    return edge


def agreement(ref: np.ndarray, cand: np.ndarray, margin: float = TIE_MARGIN) -> tuple[float, float]:
    """(tolerant, plain) argmax agreement of two (C, h, w) probability maps.

    Plain: the fraction of pixels where both pick the same class. Tolerant (what the guard
    uses) also lets a pixel agree when the reference itself gives the candidate's class a
    probability within ``margin`` of its top class (a coin toss for the reference), or when
    the pixel is on one of the reference's class edges (a one-pixel shift of an edge is not a
    disagreement). Non-finite candidate outputs or a shape mismatch agree nowhere."""
    ref = np.asarray(ref, np.float32)
    cand = np.asarray(cand, np.float32)
    if ref.shape != cand.shape or ref.ndim != 3 or not np.isfinite(cand).all():
        return 0.0, 0.0
    lab = cand.argmax(0)
    ref_lab = ref.argmax(0)
    same = lab == ref_lab
    plain = float(same.mean())
    top = ref.max(0)
    pc = np.take_along_axis(ref, lab[None], 0)[0]
    tolerant = float((same | (top - pc <= margin) | class_boundary(ref_lab)).mean())
    return tolerant, plain
