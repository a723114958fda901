"""``--engine auto``: the fastest engine for this machine, chosen by measurement.

On first use of a model file on a machine, :func:`select_model` opens the file with its
reference engine (ONNX Runtime on the CPU for .onnx, OpenVINO f32 for .xml, LiteRT for
.tflite), runs it on the probe frame (the first frame of the demo clip, a real photograph:
``liveseg.runtime.probe``; a synthetic image only when matplotlib, which ships the photograph, is
missing) and then tries every other engine that can run the file here:

- OpenVINO on the CPU with the precision hints the CPU has (f32; bf16 with AVX-512 BF16/AMX;
  f16 with AMX-FP16 or ARM fp16 arithmetic, float files only); on an int8 QDQ file OpenVINO
  runs its own int8 kernels and the hint applies to what is left in float;
- ONNX Runtime's CUDA and TensorRT providers when ORT has them and an NVIDIA GPU is present,
  OpenVINO's GPU device when OpenVINO sees one (skipped cleanly otherwise, with the reason);
- for a shipped model, its sibling files (``<name>-int8.onnx`` / ``<name>-fp16.onnx`` share a
  card) with the same engines.

A candidate is kept only if its output agrees with the reference's on the probe frame: at
least 99.5% of the output pixels get the reference's class, where a pixel also counts as
agreeing when the reference itself puts the candidate's class within 0.10 probability of its
top class (a coin toss for the reference), or when it lies on one of the reference's class
edges (a one-pixel shift of an edge). Plain argmax agreement would reject every bf16 and
every second int8 implementation of the shipped models on the demo frame (98.4-99.7%: 1-2% of
pixels flip where the reference is itself unsure, OpenVINO's int8 agrees with the float model
exactly as well as ONNX Runtime's does), while a broken path disagrees on tens of percent
(BENCHMARKS.md, "Engines chosen by measurement"). The plain agreement is reported beside it
(the rule and the records of what was measured: ``liveseg.runtime.engine_choice``). The
survivors are timed interleaved for a few rounds with the thread count in use and the fastest
median wins; the reference keeps its place unless another candidate is at least 5% faster. A
model whose reference run takes under 1 ms is not probed (nothing to gain against decode and
effects).

The choice is cached per (model file hashes, card, CPU model + flags, thread count, library
versions, GPU presence, I/O overrides) as one JSON file under liveseg's user cache folder
(``liveseg.runtime.choice_cache``): a later run opens the chosen engine directly, with no
probe. A corrupt entry or an unwritable folder is ignored (the choice is measured again / not
saved). What the machine offers (GPUs, OpenVINO devices) is ``liveseg.runtime.devices``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from liveseg.errors import first_line
from liveseg.runtime.choice_cache import choice_key, read_cached, write_cached
from liveseg.runtime.devices import installed, nvidia_gpu_present, openvino_info
from liveseg.runtime.engine_choice import EngineChoice, Measurement, agreement
from liveseg.runtime.probe import probe_frame

MIN_AGREEMENT = 0.995  # fraction of output pixels that must agree with the reference
MIN_GAIN = 0.05  # another engine must be this much faster than the reference to replace it
NOT_WORTH_MS = 1.0  # reference model time under which no other engine is tried
ROUNDS = 5  # interleaved timing rounds (fewer for slow models, see TIMING_BUDGET_MS)
MIN_ROUNDS = 3
TIMING_BUDGET_MS = 1500.0
VARIANT_RE = re.compile(r"^(?P<base>.+)-(?P<variant>int8(?:-qat)?|fp16|fp32|bf16)$")

_clock = time.perf_counter  # tests replace it with a fake clock


# ------------------------------------------------------------------------------------------
# What is tried
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    """One way to run a file: engine name, option (``openvino:bf16``, ``onnxruntime:cuda``)."""

    engine: str
    path: Path
    option: str | None = None

    @property
    def spec(self) -> str:
        return f"{self.engine}:{self.option}" if self.option else self.engine

    @property
    def gpu(self) -> bool:
        return self.option in ("cuda", "tensorrt", "gpu")

    def label(self, requested: Path | None = None) -> str:
        same = requested is None or Path(self.path).name == Path(requested).name
        return self.spec if same else f"{self.spec} on {Path(self.path).name}"


def reference_candidate(path: Path) -> Candidate:
    """The engine every other candidate is compared with: the one the extension implies (and
    f32 for OpenVINO IR files, whose default on AMX CPUs would be bf16)."""
    ext = Path(path).suffix.lower()
    if ext == ".xml":
        return Candidate("openvino", Path(path), "f32")
    if ext == ".tflite":
        return Candidate("litert", Path(path))
    return Candidate("onnxruntime", Path(path))


def gpu_candidates(path: Path) -> tuple[list[Candidate], list[tuple[str, str]]]:
    """GPU ways to run ``path`` and the GPU ways skipped, with why (no GPU, not installed)."""
    cands, skipped = [], []
    ext = Path(path).suffix.lower()
    if ext == ".onnx":
        providers = []
        if installed("onnxruntime"):
            import onnxruntime as ort

            providers = ort.get_available_providers()
        for ep, opt in (
            ("CUDAExecutionProvider", "cuda"),
            ("TensorrtExecutionProvider", "tensorrt"),
        ):
            c = Candidate("onnxruntime", Path(path), opt)
            if ep not in providers:
                continue  # the CPU-only onnxruntime package: nothing to say
            if nvidia_gpu_present():
                cands.append(c)
            else:
                skipped.append((c.spec, "no NVIDIA GPU"))
    if ext in (".onnx", ".xml") and installed("openvino"):
        info = openvino_info()
        c = Candidate("openvino", Path(path), "gpu")
        if any(str(d).upper().startswith("GPU") for d in info.get("devices", [])):
            cands.append(c)
    return cands, skipped


def cpu_precisions(quantized: bool) -> list[str]:
    """OpenVINO CPU precision hints worth trying on this CPU."""
    from liveseg.sysinfo import cpu_features

    caps = set(openvino_info().get("cpu_caps", []))
    feats = cpu_features()
    out = ["f32"]
    # On an int8 file the hint only sets the precision of the layers left in float (the int8
    # graph's glue); which is faster varies by model and run on a Sapphire Rapids Xeon
    # (BENCHMARKS.md, "Engines chosen by measurement"): both are tried.
    if "BF16" in caps and feats["bf16"]:
        out.append("bf16")
    if not quantized and "FP16" in caps and feats["fp16"]:
        out.append("f16")
    return out


def file_candidates(path: Path, reference_engine) -> tuple[list[Candidate], list[tuple[str, str]]]:
    """Every way to run ``path`` besides its reference, and the ways skipped (with why).
    ``reference_engine`` is the open reference (it tells an int8 file from a float one)."""
    path = Path(path)
    ext = path.suffix.lower()
    ref = reference_candidate(path)
    cands: list[Candidate] = []
    skipped: list[tuple[str, str]] = []
    if ext in (".onnx", ".xml"):
        if installed("openvino"):
            quantized = bool(getattr(reference_engine, "is_quantized", lambda: False)())
            for prec in cpu_precisions(quantized):
                c = Candidate("openvino", path, prec)
                if c != ref:
                    cands.append(c)
        else:
            skipped.append(("openvino", "not installed (pip install 'liveseg[openvino]')"))
        g, gs = gpu_candidates(path)
        cands += g
        skipped += gs
    return cands, skipped


def open_candidate(cand: Candidate, threads: int | None):
    """Open the engine a candidate names (tests replace this with fakes)."""
    from liveseg.runtime.engine import make_engine

    return make_engine(cand.path, cand.spec, threads)


def shipped_siblings(path: Path) -> list[Path]:
    """For a file in the shipped-model folder named ``<base>-<variant>`` (int8, fp16, ...):
    the other shipped files of the same model (same base, a card beside each)."""
    from liveseg import zoo

    path = Path(path)
    try:
        if path.resolve().parent != Path(zoo.ZOO_DIR).resolve():
            return []
    except OSError:
        return []
    m = VARIANT_RE.match(path.stem)
    if not m:
        return []
    out = []
    for other in sorted(Path(zoo.ZOO_DIR).iterdir()):
        if other.name == path.name or other.suffix.lower() not in (".onnx", ".tflite"):
            continue
        mo = VARIANT_RE.match(other.stem)
        if mo and mo.group("base") == m.group("base") and other.with_suffix(".json").is_file():
            out.append(other)
    return out


# ------------------------------------------------------------------------------------------
# The probe
# ------------------------------------------------------------------------------------------
def _compatible(model, io) -> str | None:
    """Why an engine cannot stand in for the reference's I/O (None when it can)."""
    eng = model.engine
    if not eng.inputs or eng.inputs[0].name != io.input_name:
        return "input names differ from the reference's"
    if len(eng.outputs) <= io.output_index or eng.outputs[io.output_index].name != io.output_name:
        return "outputs differ from the reference's"
    return None


@dataclass
class _Live:
    cand: Candidate
    model: object
    x: np.ndarray
    meas: Measurement
    times: list = field(default_factory=list)


def _release(model) -> None:
    eng = getattr(model, "engine", None)
    close = getattr(eng, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # noqa: BLE001 - releasing a candidate must never fail the run
            return


def select_model(
    path, threads: int | None = None, overrides=None, siblings=(), use_cache: bool = True
):
    """Open ``path`` with the fastest engine (or sibling file) that agrees with its
    reference; returns a SegModel whose ``engine_choice`` says what ran and why."""
    from liveseg.runtime.model import SegModel

    path = Path(path)
    files = [path] + [Path(s) for s in siblings if Path(s).name != path.name]
    notes: list[str] = []
    key = entry = cache_path = None
    if use_cache:
        try:
            key = choice_key(files, threads, overrides)
        except OSError as exc:
            notes.append(f"choice not cached: {exc.strerror or exc}")
        if key is not None:
            entry, cache_path, note = read_cached(key)
            if note:
                notes.append(note)
    if entry is not None:
        model = _open_cached(entry, files, threads, overrides, cache_path, notes)
        if model is not None:
            return model

    ref_cand = reference_candidate(path)
    t0 = _clock()
    ref_model = SegModel.from_engine(path, open_candidate(ref_cand, threads), overrides)
    ref_open = (_clock() - t0) * 1e3
    # The probe's cost is what first use adds to opening the model as any run does.
    t_probe = _clock()
    ref_meas = Measurement(
        ref_cand.label(path), ref_cand.spec, path.name, "ok", open_ms=ref_open, why="reference"
    )
    measurements = [ref_meas]
    main_cands, main_skipped = _safe_file_candidates(path, ref_model.engine)
    if not main_cands and len(files) == 1:  # nothing to compare: no probe, nothing cached
        ref_meas.status = "chosen"
        measurements += [
            Measurement(spec, spec, path.name, "skipped", why=why) for spec, why in main_skipped
        ]
        choice = EngineChoice(
            ref_cand.spec, path.name, "only candidate", threads, measurements, notes=notes
        )
        return _finish(ref_model, choice, None)

    frame, frame_desc = probe_frame()
    size = frame.shape[:2]
    x_ref = ref_model.preprocess(frame)
    ref_probs = ref_model.postprocess(ref_model.infer(x_ref), size).probs
    live = [_Live(ref_cand, ref_model, x_ref, ref_meas)]

    # Not worth probing: the reference is already negligible next to decode and effects.
    quick = []
    for _ in range(2):
        t = _clock()
        ref_model.infer(x_ref)
        quick.append((_clock() - t) * 1e3)
    if min(quick) < NOT_WORTH_MS:
        ref_meas.ms = float(np.median(quick))
        ref_meas.status = "chosen"
        choice = EngineChoice(
            ref_cand.spec,
            path.name,
            "not worth probing",
            threads,
            measurements,
            probe_ms=(_clock() - t_probe) * 1e3,
            probe_input=frame_desc,
            notes=notes,
        )
        choice.notes.append(
            f"the reference runs in {ref_meas.ms:.2f} ms (< {NOT_WORTH_MS:g} ms): "
            "no other engine tried"
        )
        return _finish(ref_model, choice, key)

    for f in files:
        group_ref = ref_model
        x = x_ref
        if f != path:  # a sibling file: its own reference output must agree first
            sib = reference_candidate(f)
            m = Measurement(sib.label(path), sib.spec, f.name, "ok")
            measurements.append(m)
            try:
                t0 = _clock()
                group_ref = SegModel.from_engine(f, open_candidate(sib, threads), overrides)
                m.open_ms = (_clock() - t0) * 1e3
                x = group_ref.preprocess(frame)
                probs = group_ref.postprocess(group_ref.infer(x), size).probs
            except Exception as exc:  # noqa: BLE001 - a candidate that breaks is only skipped
                m.status, m.why = "failed", first_line(exc, 200)
                continue
            m.agreement, m.plain_agreement = agreement(ref_probs, probs)
            if m.agreement < MIN_AGREEMENT:
                m.status = "rejected"
                m.why = f"agreement {100 * m.agreement:.2f}% < {100 * MIN_AGREEMENT:g}%"
                _release(group_ref)
                others, _ = _safe_file_candidates(f, group_ref.engine)
                for c in others:
                    measurements.append(
                        Measurement(
                            c.label(path),
                            c.spec,
                            f.name,
                            "skipped",
                            why=f"{f.name} disagrees with the reference",
                        )
                    )
                continue
            live.append(_Live(sib, group_ref, x, m))
        cands, skipped = (
            (main_cands, main_skipped) if f == path else _safe_file_candidates(f, group_ref.engine)
        )
        for spec, why in skipped:
            label = spec if f == path else f"{spec} on {f.name}"
            measurements.append(Measurement(label, spec, f.name, "skipped", why=why))
        for c in cands:
            m = Measurement(c.label(path), c.spec, f.name, "ok")
            measurements.append(m)
            try:
                t0 = _clock()
                eng = open_candidate(c, threads)
                m.open_ms = (_clock() - t0) * 1e3
                model = SegModel(f, eng, group_ref.card, group_ref.io, group_ref.card_source)
                bad = _compatible(model, group_ref.io)
                if bad:
                    raise ValueError(bad)
                probs = model.postprocess(model.infer(x), size).probs
            except Exception as exc:  # noqa: BLE001 - a candidate that breaks is only skipped
                m.status, m.why = "failed", first_line(exc, 200)
                continue
            m.agreement, m.plain_agreement = agreement(ref_probs, probs)
            if m.agreement < MIN_AGREEMENT:
                m.status = "rejected"
                m.why = f"agreement {100 * m.agreement:.2f}% < {100 * MIN_AGREEMENT:g}%"
                _release(model)
                continue
            live.append(_Live(c, model, x, m))

    if len(live) == 1:  # every other candidate failed or disagreed
        ref_meas.ms = float(np.median(quick))
        ref_meas.status = "chosen"
        choice = EngineChoice(
            ref_cand.spec,
            path.name,
            "measured",
            threads,
            measurements,
            probe_ms=(_clock() - t_probe) * 1e3,
            probe_input=frame_desc,
            notes=notes,
        )
        return _finish(ref_model, choice, key)

    _time_interleaved(live, float(np.median(quick)))
    best = min(live, key=lambda lv: lv.meas.ms)
    ref_ms = live[0].meas.ms
    if best is not live[0] and best.meas.ms > ref_ms * (1 - MIN_GAIN):
        notes.append(
            f"{best.meas.label} is less than {100 * MIN_GAIN:g}% faster than the "
            f"reference: kept {ref_cand.spec}"
        )
        best = live[0]
    best.meas.status = "chosen"
    for lv in live:
        if lv is not best and lv.model is not best.model:
            _release(lv.model)
    choice = EngineChoice(
        best.cand.spec,
        best.cand.path.name,
        "measured",
        threads,
        measurements,
        probe_ms=(_clock() - t_probe) * 1e3,
        probe_input=frame_desc,
        notes=notes,
    )
    return _finish(best.model, choice, key)


def _safe_file_candidates(f, engine):
    try:
        return file_candidates(f, engine)
    except Exception as exc:  # noqa: BLE001 - enumeration trouble means fewer candidates
        return [], [("other engines", f"could not list them ({first_line(exc, 200)})")]


def _time_interleaved(live: list[_Live], ref_ms: float) -> None:
    """Median ms per candidate over interleaved rounds (one untimed warm-up run each)."""
    for lv in live:
        lv.model.infer(lv.x)
    per_round = max(ref_ms, 0.01) * len(live)
    rounds = int(max(MIN_ROUNDS, min(ROUNDS, TIMING_BUDGET_MS // per_round)))
    for r in range(rounds):
        order = live[r % len(live) :] + live[: r % len(live)]
        for lv in order:
            t = _clock()
            lv.model.infer(lv.x)
            lv.times.append((_clock() - t) * 1e3)
    for lv in live:
        lv.meas.ms = float(np.median(lv.times))


def _finish(model, choice: EngineChoice, key):
    from datetime import datetime, timezone

    choice.measured_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if key is not None:
        saved, why = write_cached(key, choice)
        if saved is not None:
            choice.cache_file = str(saved)
        elif why:
            choice.notes.append(why)
    model.engine_choice = choice
    return model


def _open_cached(entry, files, threads, overrides, cache_path, notes):
    """The SegModel for a cached choice, or None (noted) if it cannot be opened now."""
    from liveseg.runtime.engine import parse_engine
    from liveseg.runtime.model import SegModel

    spec, fname = entry["choice"]["spec"], entry["choice"]["file"]
    target = next((f for f in files if f.name == fname), None)
    try:
        name, opt = parse_engine(spec)
        if target is None or name == "auto":
            raise ValueError(f"{fname!r} / {spec!r} is not a candidate here")
        model = SegModel.from_engine(
            target, open_candidate(Candidate(name, target, opt), threads), overrides
        )
    except Exception as exc:  # noqa: BLE001 - a stale entry: measure again
        notes.append(
            f"cached choice {spec} on {fname} did not open ({first_line(exc, 200)}); measured again"
        )
        return None
    try:
        prev = EngineChoice.from_dict(entry.get("result") or {})
    except (TypeError, ValueError):
        prev = EngineChoice(spec, fname, "measured")
    when = f" at {prev.measured_at}" if prev.measured_at else ""
    model.engine_choice = EngineChoice(
        spec,
        fname,
        "cached",
        threads,
        prev.measurements,
        probe_ms=prev.probe_ms,
        probe_input=prev.probe_input,
        cache_file=str(cache_path),
        notes=[*notes, f"measured on first use{when} ({prev.reason}); no probe this time"],
        measured_at=prev.measured_at,
    )
    return model
