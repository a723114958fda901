"""The ``--temporal`` grammar: parsed into a :class:`TemporalSpec` and formatted back, here only.

    SPEC     := SCHEDULE [ "+smooth" [ "=" ALPHA ] ]   |   "smooth" [ "=" ALPHA ]   |   "auto"
    SCHEDULE := "off"                                   network on every frame
              | "fixed:" N { "," KEY "=" VALUE }        network every N-th frame, flow in between
              | "adaptive" [ ":" KEY "=" VALUE { "," KEY "=" VALUE } ]

    fixed keys:    cut=C, check=K (as for adaptive)

    adaptive keys: thresh=T  (keyframe when the accumulated doubt since the last keyframe
                              exceeds T; default 1.5)
                   max=M     (at most M-1 propagated frames in a row; default 5)
                   cut=C     (scene-cut threshold, 0 disables; default 0.5)
                   check=K   (which flow to trust: photo (default, warp error) or fb
                              (forward-backward, twice the flow cost); see liveseg.video.flow)
                   budget=MS (live sources: average milliseconds per frame the temporal stage
                              and the network may spend; optional keyframes wait for credit)
    ALPHA: the smallest weight a new prediction gets (at its least confident pixels); default 0.5.

Examples: ``off``, ``fixed:3``, ``adaptive``, ``adaptive:thresh=0.2,max=8``,
``fixed:2+smooth``, ``off+smooth=0.3``. ``auto`` (the default of ``liveseg run``) depends on
the input: ``fixed:4+smooth`` for videos, streams and webcams, ``off`` for images
(``TemporalSpec.resolve``). ``str(spec)`` is the canonical text, which is also the policy's
name in run summaries; ``parse(str(spec)) == spec``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from liveseg.errors import ConfigError

GRAMMAR = (
    "use off | fixed:N[,cut=C,check=photo|fb] | adaptive[:thresh=T,max=M,cut=C,budget=MS,"
    "check=photo|fb], optionally followed by "
    "+smooth or +smooth=ALPHA (e.g. fixed:3+smooth)"
)
# What ``auto`` means for videos, streams and webcams; image inputs get ``off`` (unrelated
# pictures have no motion to reuse). Measured best on the held-out DAVIS clips with the
# shipped subject model (BENCHMARKS.md "Temporal"): the network on 25% of frames, J&F +0.45
# and 30% less flicker than every frame, 1.6-2.3x the fps.
AUTO_VIDEO_SPEC = "fixed:4+smooth"
DEFAULT_SMOOTH_ALPHA = 0.5
DEFAULT_CUT = 0.5
DEFAULT_THRESH = 1.5
DEFAULT_MAX_INTERVAL = 5
CHECKS = ("photo", "fb")  # optical-flow consistency checks (liveseg.video.flow)
SCHEDULES = ("auto", "off", "fixed", "adaptive")


@dataclass(frozen=True)
class TemporalSpec:
    """One ``--temporal`` choice. ``schedule`` is auto, off, fixed or adaptive; the other fields
    apply to the schedules the grammar gives them to (``interval``: fixed only; ``thresh``,
    ``max_interval``, ``budget_ms``: adaptive only)."""

    schedule: str = "off"
    interval: int | None = None
    thresh: float = DEFAULT_THRESH
    max_interval: int = DEFAULT_MAX_INTERVAL
    cut: float = DEFAULT_CUT
    budget_ms: float | None = None
    check: str = "photo"
    smooth: float | None = None  # ALPHA of +smooth; None: no smoothing

    def resolve(self, images: bool) -> TemporalSpec:
        """``auto`` -> ``fixed:4+smooth`` for a video/stream/webcam, ``off`` for images."""
        if self.schedule != "auto":
            return self
        return parse("off" if images else AUTO_VIDEO_SPEC)

    def __str__(self) -> str:
        smooth = "" if self.smooth is None else f"+smooth={self.smooth:g}"
        if self.schedule in ("auto", "off"):
            return self.schedule + smooth
        parts = []
        if self.schedule == "fixed":
            parts.append(str(self.interval))
        else:
            parts += [f"thresh={self.thresh:g}", f"max={self.max_interval}"]
        if self.cut != DEFAULT_CUT:
            parts.append(f"cut={self.cut:g}")
        if self.schedule == "adaptive" and self.budget_ms is not None:
            parts.append(f"budget={self.budget_ms:g}")
        if self.check != "photo":
            parts.append(f"check={self.check}")
        return f"{self.schedule}:" + ",".join(parts) + smooth


def parse(spec) -> TemporalSpec:
    """A ``--temporal`` text (or None: off; or a TemporalSpec, returned as it is) -> spec.
    ConfigError, one line naming the grammar, for anything else."""
    if isinstance(spec, TemporalSpec):
        return spec
    if spec is None:
        return TemporalSpec()
    if not isinstance(spec, str):
        raise spec_error(spec, "not a string")
    text = spec.strip().lower()
    if text in ("", "off"):
        return TemporalSpec()
    if text == "auto":
        return TemporalSpec("auto")
    smooth = None
    base = text
    if "+" in text:
        base, mod = text.split("+", 1)
        if "+" in mod:
            raise spec_error(spec, "only one '+' modifier (smooth) is allowed")
        smooth = _parse_smooth(spec, mod)
    elif text.startswith("smooth"):
        base, smooth = "off", _parse_smooth(spec, text)
    base = base.strip()
    if base == "off":
        return TemporalSpec(smooth=smooth)
    name, colon, args = base.partition(":")
    name = name.strip()
    if name == "fixed":
        if not args.strip():
            raise spec_error(spec, "fixed needs an interval, e.g. fixed:3")
        first, _, rest = args.partition(",")
        n = _number(spec, "the fixed interval", first.strip(), int, lo=1)
        opts = _kv(spec, rest, ("cut", "check")) if rest.strip() else {}
        cut = _number(spec, "cut", opts["cut"], lo=0, hi=2) if "cut" in opts else DEFAULT_CUT
        return TemporalSpec(
            "fixed", interval=int(n), cut=cut, check=_check(spec, opts), smooth=smooth
        )
    if name == "adaptive":
        opts = _kv(spec, args, ("thresh", "max", "cut", "budget", "check")) if args.strip() else {}
        if colon and not args.strip():
            raise spec_error(spec, "adaptive: needs options after ':'")
        kw = {}
        if "thresh" in opts:
            kw["thresh"] = _number(spec, "thresh", opts["thresh"], lo=0, lo_open=True)
        if "max" in opts:
            kw["max_interval"] = int(_number(spec, "max", opts["max"], int, lo=1))
        if "cut" in opts:
            kw["cut"] = _number(spec, "cut", opts["cut"], lo=0, hi=2)
        if "budget" in opts:
            kw["budget_ms"] = _number(spec, "budget", opts["budget"], lo=0, lo_open=True)
        return TemporalSpec("adaptive", check=_check(spec, opts), smooth=smooth, **kw)
    raise spec_error(spec, f"unknown schedule {name!r}")


def resolve_auto(spec, images: bool):
    """``auto`` -> AUTO_VIDEO_SPEC for a video/stream/webcam, ``off`` for images; any other
    value is returned as it is (text stays text, for configs that travel as JSON)."""
    if isinstance(spec, str) and spec.strip().lower() == "auto":
        return "off" if images else AUTO_VIDEO_SPEC
    if isinstance(spec, TemporalSpec):
        return spec.resolve(images)
    return spec


# ---- helpers of the parser -----------------------------------------------------------------
def spec_error(spec, why) -> ConfigError:
    return ConfigError(f"invalid --temporal {spec!r}: {why}; {GRAMMAR}")


def _number(spec, key, value, kind=float, lo=None, hi=None, lo_open=False):
    try:
        x = kind(value)
    except ValueError:
        raise spec_error(
            spec, f"{key} must be {'an integer' if kind is int else 'a number'}, got {value!r}"
        ) from None
    if (
        not math.isfinite(x)
        or (lo is not None and (x < lo or (lo_open and x == lo)))
        or (hi is not None and x > hi)
    ):
        rng = f"{'>' if lo_open else '>='} {lo:g}" if hi is None else f"in [{lo:g}, {hi:g}]"
        raise spec_error(spec, f"{key} must be {rng}, got {value!r}")
    return x


def _kv(spec, text, allowed):
    out = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise spec_error(spec, "empty option")
        if "=" not in part:
            raise spec_error(spec, f"option {part!r} needs KEY=VALUE")
        k, v = (s.strip() for s in part.split("=", 1))
        if k not in allowed:
            raise spec_error(spec, f"unknown option {k!r} (allowed: {', '.join(allowed)})")
        if k in out:
            raise spec_error(spec, f"option {k!r} given twice")
        out[k] = v
    return out


def _check(spec, opts) -> str:
    value = opts.get("check", "photo")
    if value not in CHECKS:
        raise spec_error(spec, f"check must be {' or '.join(CHECKS)}, got {value!r}")
    return value


def _parse_smooth(spec, mod: str) -> float:
    mod = mod.strip()
    if mod == "smooth":
        return DEFAULT_SMOOTH_ALPHA
    key, eq, value = mod.partition("=")
    if key.strip() != "smooth" or not eq:
        raise spec_error(spec, f"unknown modifier {mod!r}")
    return _number(spec, "smooth", value.strip(), lo=0, hi=1)
