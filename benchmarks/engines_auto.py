"""Engines chosen by measurement (issue 14): every engine/precision on the shipped models,
model-only and end to end, and what `--engine auto` costs on first use and later.

    python benchmarks/engines_auto.py all --json benchmarks/results/engines_auto.json
    python benchmarks/engines_auto.py model   # model-only ms, interleaved
    python benchmarks/engines_auto.py e2e     # `liveseg run --temporal off` fps, interleaved
    python benchmarks/engines_auto.py probe   # first-use probe cost vs cached vs forced

Variants per shipped model (the `-int8` and `-fp16` files share a card):

- ORT fp32: ONNX Runtime on the float32 copy of the fp16 file (``liveseg.quant.fp16``:
  fp16 values are exact in float32), the plain fp32 baseline;
- ORT fp16 file: ONNX Runtime on the shipped fp16 file as it is;
- ORT int8: ONNX Runtime on the shipped int8 QDQ file;
- OV f32 / OV bf16: OpenVINO on the shipped fp16 file with that precision hint;
- OV int8 (bf16 hint) / OV int8 (f32 hint): OpenVINO's int8 kernels on the int8 file;
- auto: ``--engine auto`` on the int8 name (what `liveseg run --model NAME-int8` does now).

Model-only: the first demo-clip frame preprocessed once, ``model.infer`` timed, variants
interleaved (``--rounds`` rounds of ``--runs`` runs each, after warm-up), median of all runs.
E2E: ``liveseg run CLIP --temporal off --engine X --threads T`` in a fresh process per run,
variants interleaved for ``--e2e-rounds`` rounds, median fps (frames / pipeline wall time,
from ``--stats``). Probe: ``load_model(NAME)`` in a fresh process, with an empty cache folder
(first use: probe + OpenVINO compiling cold), then with that folder (cached choice), against
forcing the chosen engine (``--engine`` given, same warm OpenVINO model cache).

Other jobs on a shared machine: every measurement (a model-only round, an E2E run, a load)
waits until no other process uses the CPU, and is repeated (up to ``--retries`` times) when
other processes used more than ``--foreign-max`` of the CPU while it ran (non-idle time in
/proc/stat minus this process's and its children's CPU time); the count of repeats is saved.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from liveseg.bench.fresh_run import run_stats
from liveseg.bench.machine import cpu_busy_seconds
from liveseg.bench.timing import median_of, rotated, summarize

SETTINGS = {"foreign_max": 0.03, "retries": 6, "wait": True}
REDONE = {"model": 0, "e2e": 0, "probe": 0, "kept_noisy": 0}


def _own_seconds() -> float:
    import resource

    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def wait_quiet(max_wait_s: float = 900.0) -> None:
    """Until other processes used under 5% of the CPU over 2 s (or max_wait_s passed)."""
    cores = os.cpu_count() or 1
    t_end = time.time() + max_wait_s
    while time.time() < t_end:
        b0, o0 = cpu_busy_seconds(), _own_seconds()
        time.sleep(2.0)
        if (cpu_busy_seconds() - b0) - (_own_seconds() - o0) < 0.05 * 2.0 * cores:
            return


def guarded(kind: str, fn):
    """Run ``fn`` when the machine is quiet; again if others used the CPU meanwhile."""
    cores = os.cpu_count() or 1
    for _ in range(SETTINGS["retries"]):
        if SETTINGS["wait"]:
            wait_quiet()
        b0, o0, t0 = cpu_busy_seconds(), _own_seconds(), time.perf_counter()
        out = fn()
        wall = time.perf_counter() - t0
        foreign = (cpu_busy_seconds() - b0) - (_own_seconds() - o0)
        if foreign <= SETTINGS["foreign_max"] * wall * cores:
            return out
        REDONE[kind] += 1
    REDONE["kept_noisy"] += 1
    return out


MODELS = (
    "camvid-unet-lite0-mlp-360x480",
    "davis-subject-unet-lite0-mlp-216x384",
    "person-unet-lite0-320x320",
)
EFFECT = {
    "camvid-unet-lite0-mlp-360x480": "overlay",
    "davis-subject-unet-lite0-mlp-216x384": "blur",
    "person-unet-lite0-320x320": "blur",
}


SELECT = {"models": None, "variants": None}  # --models / --variants filters


def variants(base: str, fp32_copy: Path) -> list[tuple[str, str, str]]:
    """(label, model spec, engine spec), those --variants keeps."""
    keep = SELECT["variants"]
    return [v for v in all_variants(base, fp32_copy) if not keep or v[0] in keep]


def all_variants(base: str, fp32_copy: Path) -> list[tuple[str, str, str]]:
    return [
        ("ORT fp32", str(fp32_copy), "onnxruntime"),
        ("ORT fp16 file", f"{base}-fp16", "onnxruntime"),
        ("ORT int8", f"{base}-int8", "onnxruntime"),
        ("OV f32", f"{base}-fp16", "openvino:f32"),
        ("OV bf16", f"{base}-fp16", "openvino:bf16"),
        ("OV int8 (bf16 hint)", f"{base}-int8", "openvino:bf16"),
        ("OV int8 (f32 hint)", f"{base}-int8", "openvino:f32"),
        ("auto", f"{base}-int8", "auto"),
    ]


def selected_models() -> list[str]:
    keep = SELECT["models"]
    return [m for m in MODELS if not keep or any(k in m for k in keep)]


def fp32_copies(folder: Path) -> dict:
    from liveseg import zoo
    from liveseg.quant.fp16 import fp32_source

    out = {}
    for base in MODELS:
        sub = folder / base
        sub.mkdir(parents=True, exist_ok=True)
        out[base] = fp32_source(zoo.resolve(f"{base}-fp16"), sub)
    return out


# ---- model-only ----------------------------------------------------------------------------
def fresh_auto_load(spec, threads):
    """``--engine auto`` measured now (no choice from an earlier, maybe noisy, attempt)."""
    import shutil

    from liveseg.runtime import load_model
    from liveseg.runtime.cache import cache_root

    shutil.rmtree(cache_root() / "engines", ignore_errors=True)
    return load_model(spec, engine="auto", threads=threads)


def model_only(copies: dict, threads_list, rounds: int, runs: int) -> list[dict]:
    from liveseg.runtime import load_model
    from liveseg.runtime.probe import probe_frame

    frame, _ = probe_frame()
    rows = []
    for base in selected_models():
        for threads in threads_list:
            vs = variants(base, copies[base])
            models = []
            for label, spec, eng in vs:
                if eng == "auto":  # the probe itself is measured on a quiet machine too
                    m = guarded("model", partial(fresh_auto_load, spec, threads))
                else:
                    m = load_model(spec, engine=eng, threads=threads)
                x = m.preprocess(frame)
                for _ in range(5):
                    m.infer(x)
                models.append((label, m, x, []))
            for r in range(rounds):
                order = rotated(models, r)

                def one_round(order=order):
                    got = []
                    for _label, m, x, _ in order:
                        ts = []
                        for _ in range(runs):
                            t = time.perf_counter()
                            m.infer(x)
                            ts.append((time.perf_counter() - t) * 1e3)
                        got.append(ts)
                    return got

                for (_, _, _, times), ts in zip(order, guarded("model", one_round), strict=True):
                    times.extend(ts)
            for label, m, _, times in models:
                ch = m.engine_choice
                t = summarize(times)
                rows.append(
                    {
                        "model": base,
                        "threads": threads,
                        "variant": label,
                        "file": m.path.name,
                        "engine": ch.spec if ch else m.engine.name,
                        "median_ms": round(t["median_ms"], 3),
                        "p90_ms": round(t["p90_ms"], 3),
                        "runs": t["runs"],
                    }
                )
            print(json.dumps(rows[-len(models) :]), flush=True)
    return rows


# ---- end to end ----------------------------------------------------------------------------
def e2e(copies: dict, threads_list, rounds: int, clip: Path, env) -> list[dict]:
    rows = []
    for base in selected_models():
        for threads in threads_list:
            vs = variants(base, copies[base])
            runs = {label: [] for label, _, _ in vs}
            chosen = {}
            for r in range(rounds):
                for label, spec, eng in rotated(vs, r):
                    run = partial(
                        run_stats,
                        clip,
                        spec,
                        engine=eng,
                        threads=threads,
                        temporal="off",
                        effect=EFFECT[base],
                        env=env,
                    )
                    s = guarded("e2e", run)
                    runs[label].append(
                        {"fps": s["fps"], "infer_ms": s["stages"]["infer"]["median_ms"]}
                    )
                    chosen[label] = (s.get("engine_choice") or {}).get("summary", eng)
            for label, _, _ in vs:
                rows.append(
                    {
                        "model": base,
                        "threads": threads,
                        "variant": label,
                        "fps_median": median_of(runs[label], "fps"),
                        "fps_runs": [x["fps"] for x in runs[label]],
                        "infer_median_ms": median_of(runs[label], "infer_ms"),
                        "engine": chosen[label],
                    }
                )
            print(json.dumps(rows[-len(vs) :]), flush=True)
    return rows


# ---- probe cost ----------------------------------------------------------------------------
LOAD_SNIPPET = """
import json, sys, time
t = time.perf_counter()
from liveseg.runtime import load_model
m = load_model(sys.argv[1], engine=sys.argv[2], threads=int(sys.argv[3]))
wall = (time.perf_counter() - t) * 1e3
ch = m.engine_choice
print(json.dumps({"wall_ms": wall, "reason": ch.reason, "spec": ch.spec, "file": ch.file,
                  "probe_ms": ch.probe_ms}))
"""


def load_in_fresh_process(spec, eng, threads, env) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", LOAD_SNIPPET, spec, eng, str(threads)],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def first_use(cache, name, threads, env) -> dict:
    """Load with an empty cache folder (a retry starts from an empty one again)."""
    import shutil

    for f in Path(cache).iterdir():
        shutil.rmtree(f) if f.is_dir() else f.unlink()
    return load_in_fresh_process(name, "auto", threads, env)


def probe_cost(threads_list, repeats: int) -> list[dict]:
    rows = []
    for base in selected_models():
        name = f"{base}-int8"
        for threads in threads_list:
            cold, cached, forced = [], [], []
            chosen = None
            for _ in range(repeats):
                with tempfile.TemporaryDirectory() as cache:
                    env = {**os.environ, "LIVESEG_CACHE_DIR": cache}
                    first = guarded("probe", partial(first_use, cache, name, threads, env))
                    assert first["reason"] in ("measured", "not worth probing"), first
                    cold.append(first)
                    chosen = first
                    again = guarded(
                        "probe", partial(load_in_fresh_process, name, "auto", threads, env)
                    )
                    assert again["reason"] == "cached", again
                    cached.append(again)
                    forced_spec = first["file"].rsplit(".", 1)[0]  # a shipped name
                    forced.append(
                        guarded(
                            "probe",
                            partial(
                                load_in_fresh_process, forced_spec, first["spec"], threads, env
                            ),
                        )
                    )
            rows.append(
                {
                    "model": name,
                    "threads": threads,
                    "chosen": f"{chosen['spec']} on {chosen['file']}",
                    "probe_ms": [round(c["probe_ms"], 1) for c in cold],
                    "first_load_ms": [round(c["wall_ms"], 1) for c in cold],
                    "cached_load_ms": [round(c["wall_ms"], 1) for c in cached],
                    "forced_load_ms": [round(c["wall_ms"], 1) for c in forced],
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


# ---- report --------------------------------------------------------------------------------
def _table(rows, value, ref_label, ratio, fmt, title) -> list[str]:
    labels = [v for v, _, _ in all_variants("", Path()) if v in {r["variant"] for r in rows}]
    ref_label = ref_label if ref_label in labels else labels[0]
    out = [
        title.format(ref=ref_label),
        "",
        "| model | threads | " + " | ".join(labels) + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    for base in MODELS:
        for t in sorted({r["threads"] for r in rows}):
            rs = {r["variant"]: r for r in rows if r["model"] == base and r["threads"] == t}
            if not rs:
                continue
            ref = rs[ref_label][value]
            cells = [
                f"{fmt.format(rs[v][value])} ({ratio(rs[v][value], ref):.2f}x)" for v in labels
            ]
            out.append(f"| {base} | {t} | " + " | ".join(cells) + " |")
    return [*out, ""]


def markdown(result: dict) -> str:
    lines = []
    mo = result.get("model_only") or []
    if mo:
        lines += _table(
            mo,
            "median_ms",
            "ORT fp32",
            lambda v, ref: ref / v,
            "{:.2f}",
            "Model-only, median ms (x = {ref} / variant, same run):",
        )
    ee = result.get("e2e") or []
    if ee:
        lines += _table(
            ee,
            "fps_median",
            "ORT int8",
            lambda v, ref: v / ref,
            "{:.1f}",
            "End to end, `liveseg run --temporal off`, median fps (x = variant / {ref}, same run):",
        )
    pc = result.get("probe") or []
    if pc:
        lines += [
            (
                "| model | threads | chosen | probe ms | first load ms | cached load ms | "
                "forced load ms |"
            ),
            "|---|---|---|---|---|---|---|",
        ]
        for r in pc:
            med = {
                k: summarize(r[k])["median_ms"]
                for k in ("probe_ms", "first_load_ms", "cached_load_ms", "forced_load_ms")
            }
            lines.append(
                f"| {r['model']} | {r['threads']} | {r['chosen']} | {med['probe_ms']:.0f} "
                f"| {med['first_load_ms']:.0f} | {med['cached_load_ms']:.0f} | "
                f"{med['forced_load_ms']:.0f} |"
            )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("all", "model", "e2e", "probe"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--e2e-rounds", type=int, default=3)
    ap.add_argument("--clip-seconds", type=float, default=12.0)
    ap.add_argument("--probe-repeats", type=int, default=3)
    ap.add_argument(
        "--foreign-max",
        type=float,
        default=SETTINGS["foreign_max"],
        help="share of the CPU other processes may use during a measurement",
    )
    ap.add_argument("--retries", type=int, default=SETTINGS["retries"])
    ap.add_argument("--models", help="comma list of substrings of the model names to run")
    ap.add_argument("--variants", help="comma list of variant labels to run (default: all)")
    ap.add_argument(
        "--no-wait", action="store_true", help="measure at once, busy machine or not (smoke tests)"
    )
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    SETTINGS.update(foreign_max=args.foreign_max, retries=args.retries, wait=not args.no_wait)
    SELECT.update(
        models=[m for m in (args.models or "").split(",") if m] or None,
        variants=[v for v in (args.variants or "").split(",") if v] or None,
    )
    threads_list = [int(t) for t in args.threads.split(",")]

    from liveseg.bench.machine import machine_info
    from liveseg.sysinfo import cpu_features, engines_installed

    result = {
        "machine": machine_info("numpy", "cv2", "onnxruntime", "openvino"),
        "cpu_features": cpu_features(),
        "engines": engines_installed(),
        "args": vars(args),
    }
    print(json.dumps(result["machine"]), flush=True)
    with tempfile.TemporaryDirectory(prefix="liveseg-bench-") as tmp:
        tmp = Path(tmp)
        cache = tmp / "cache"
        os.environ["LIVESEG_CACHE_DIR"] = str(cache)  # auto probes once here, then cached
        env = {**os.environ}
        copies = fp32_copies(tmp / "fp32")
        if args.what in ("all", "model"):
            result["model_only"] = model_only(copies, threads_list, args.rounds, args.runs)
        if args.what in ("all", "e2e"):
            from liveseg.video.demo import make_demo_clip

            clip = make_demo_clip(tmp / "demo.mp4", seconds=args.clip_seconds)
            result["e2e"] = e2e(copies, threads_list, args.e2e_rounds, clip, env)
        if args.what in ("all", "probe"):
            result["probe"] = probe_cost(threads_list, args.probe_repeats)
    result["redone"] = dict(REDONE)
    text = markdown(result)
    print(text)
    print("repeated because other processes used the CPU:", json.dumps(REDONE))
    if args.json:
        from liveseg.atomic import write_text_atomic

        result["markdown"] = text
        write_text_atomic(args.json, json.dumps(result, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
