"""Accuracy against end-to-end speed (``liveseg bench tradeoff``).

For every model x input size x precision x threads x temporal spec: accuracy on labelled data
(``bench.accuracy``: the runtime's own prediction at label resolution; with a temporal spec the
images run in order through that policy) and the fps of ``liveseg run`` itself on a clip made
of the same data's frames (``bench.pipeline.pipeline_fps``: threaded pipeline, H.264 in, the
model's default effect, null sink). The fps of all combinations are measured in interleaved
rounds (order alternating) and the median taken. Combinations that do not apply (a precision a
file cannot be, a size a fixed-input model cannot take) are skipped with a note.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from liveseg.bench import variants as var
from liveseg.bench.accuracy import open_dataset, parse_spec
from liveseg.bench.machine import machine_info, one_line
from liveseg.bench.pareto import pareto_front, plot
from liveseg.bench.pipeline import pipeline_fps
from liveseg.bench.results import result_files, write_json
from liveseg.errors import ConfigError, ModelError


def check_grid(models, precisions, threads, temporal, repeats) -> None:
    """ConfigError for any value of the grid that cannot work, before anything is measured."""
    from liveseg.video.temporal import make_temporal
    from liveseg.video.temporal_spec import resolve_auto

    if not models:
        raise ConfigError("give at least one --model")
    bad = [p for p in precisions if p not in var.PRECISIONS]
    if bad or not precisions:
        raise ConfigError(
            f"--precisions must be among {','.join(var.PRECISIONS)}, got "
            f"{','.join(bad) or 'nothing'}"
        )
    if not threads or min(threads) < 1:
        raise ConfigError("--threads must be positive integers, e.g. 1,2")
    if not temporal:
        raise ConfigError("--temporal needs at least one spec, e.g. off,auto")
    for spec in temporal:
        make_temporal(resolve_auto(spec, images=False))
    if repeats < 1:
        raise ConfigError("--repeats must be >= 1")


def _clip(ds, n, folder: Path) -> Path:
    """The first ``n`` images of the data set as one H.264 clip at the first image's size."""
    import cv2
    import numpy as np

    from liveseg.video.sinks import write_video

    frames = []
    for i in range(min(n, len(ds))):
        img = np.ascontiguousarray(ds.load(i)[0])
        if frames and img.shape != frames[0].shape:
            img = cv2.resize(img, frames[0].shape[1::-1], interpolation=cv2.INTER_AREA)
        frames.append(img)
    return write_video(folder / "frames.mp4", frames, fps=30, crf=18)


def _load(path, size, threads, engine):
    """The runtime model at ``size`` (None: its own), or the reason it cannot be."""
    from liveseg.runtime import IOOverrides, load_model

    overrides = IOOverrides(input_size=tuple(size)) if size else None
    try:
        return load_model(
            str(path), engine=engine, threads=threads, overrides=overrides, siblings=False
        ), None
    except (ConfigError, ModelError) as exc:  # a fixed input size its graph cannot change
        return None, str(exc)


def sweep(
    models,
    data,
    sizes=None,
    precisions=("fp32", "fp16", "int8"),
    threads=(1, 2),
    temporal=("off", "auto"),
    split="val",
    limit=None,
    frames=60,
    repeats=3,
    engine="auto",
    workdir="out/bench_tradeoff",
    log=print,
) -> dict:
    """Measure every combination; ``{"rows", "notes", ...}`` (rows carry ``pareto``)."""
    from liveseg.bench.accuracy import runtime_accuracy
    from liveseg.video.temporal_spec import resolve_auto

    check_grid(models, precisions, threads, temporal, repeats)
    parse_spec(data)
    ds = open_dataset(data, split)
    notes, combos = [], []
    for spec in models:
        files, why = var.model_variants(spec, list(precisions), data, workdir, log=log)
        notes += why
        at_size = {}
        for size in sizes or [None]:
            at_size[size], why = var.variants_at_size(spec, files, size)
            notes += why
        for prec in files:
            for size in sizes or [None]:
                path = at_size[size][prec]
                for t in threads:
                    model, err = _load(path, size, t, engine)
                    if model is None:
                        notes.append(f"{spec} {prec} at {size[0]}x{size[1]}: skipped ({err})")
                        break
                    w, h = model.io.input_size
                    for spec_t in temporal:
                        combos.append(
                            {
                                "model": str(spec),
                                "precision": prec,
                                "file": str(path),
                                "size": f"{w}x{h}",
                                "threads": t,
                                "temporal": spec_t,
                                "_model": model,
                            }
                        )
    notes = list(dict.fromkeys(notes))
    if not combos:
        raise ConfigError("nothing to measure: " + "; ".join(notes))
    scores = {}
    for c in combos:  # accuracy does not depend on the thread count: once per the rest
        key = (c["file"], c["size"], c["temporal"])
        if key not in scores:
            log(f"accuracy: {Path(c['file']).name} {c['size']} temporal {c['temporal']} ...")
            scores[key] = runtime_accuracy(
                c["_model"], ds, limit, resolve_auto(c["temporal"], images=False)
            )
        c.update({k: scores[key][k] for k in ("miou", "pixel_acc", "images", "inferred_share")})
    with tempfile.TemporaryDirectory(prefix="liveseg-bench-tradeoff-") as scratch:
        clip = _clip(ds, frames, Path(scratch))
        _measure_fps(combos, clip, repeats, log)
    for c in combos:
        del c["_model"]
        name = f"{Path(c['model']).stem} " if len(models) > 1 else ""  # one model: the title
        c["label"] = f"{name}{c['precision']} {c['size']} {c['threads']}t {c['temporal']}"
    for c, on in zip(combos, pareto_front([(c["fps"], c["miou"]) for c in combos]), strict=True):
        c["pareto"] = on
    return {
        "rows": combos,
        "notes": notes,
        "data": str(data),
        "split": split,
        "images": combos[0]["images"],
        "clip_frames": min(frames, len(ds)),
        "repeats": repeats,
        "engine": engine,
        "machine": machine_info(
            "numpy", "cv2", "av", "onnxruntime", "openvino", threads=list(threads)
        ),
    }


def _measure_fps(combos, clip, repeats, log) -> None:
    import numpy as np

    pipeline_fps(combos[0]["_model"], [clip], combos[0]["temporal"])  # warm-up
    runs = {id(c): [] for c in combos}
    for rep in range(repeats):
        order = combos if rep % 2 == 0 else combos[::-1]  # interleaved, alternating order
        for c in order:
            fps = pipeline_fps(c["_model"], [clip], c["temporal"])
            runs[id(c)].append(fps)
            log(
                f"  pass {rep + 1}/{repeats} {c['model']} {c['precision']} {c['size']} "
                f"{c['threads']}t {c['temporal']}: {fps:.1f} fps"
            )
    for c in combos:
        c["fps_runs"] = [round(v, 2) for v in runs[id(c)]]
        c["fps"] = float(np.median(runs[id(c)]))


def table(result) -> str:
    head = (
        "| model | precision | input | threads | temporal | mIoU | pixel acc | inferred | "
        f"E2E fps (median of {result['repeats']}) | Pareto |"
    )
    lines = [head, "|---|---|---|---:|---|---:|---:|---:|---:|---|"]
    for r in sorted(result["rows"], key=lambda r: -r["fps"]):
        lines.append(
            f"| {r['model']} | {r['precision']} | {r['size']} | {r['threads']} | "
            f"{r['temporal']} | {100 * r['miou']:.2f} | {100 * r['pixel_acc']:.2f} | "
            f"{100 * r['inferred_share']:.0f}% | {r['fps']:.1f} | "
            f"{'yes' if r['pareto'] else ''} |"
        )
    return "\n".join(lines)


def run_bench(
    models, data, out="benchmarks/results", tag="tradeoff", overwrite=False, command=None, **grid
) -> dict:
    """:func:`sweep`, then print the table and write ``<out>/<tag>.json`` and ``.png``."""
    json_path, png_path = result_files(out, tag, overwrite=overwrite)  # before the work
    result = sweep(models, data, log=lambda *a: print(*a, file=sys.stderr), **grid)
    text = table(result)
    print(text)
    for n in result["notes"]:
        print(f"note: {n}")
    print(one_line(result["machine"]))
    result.update(table=text, command=command or " ".join(sys.argv))
    write_json(json_path, result)
    m = result["machine"]
    title = (
        f"{', '.join(dict.fromkeys(r['model'] for r in result['rows']))} | "
        f"{result['data']} ({result['split']}, {result['images']} images); fps: liveseg run "
        f"on {result['clip_frames']} of its frames | {m['cpu']}"
    )
    plot(result["rows"], png_path, title)
    print(f"wrote {json_path} and {png_path}")
    return result
