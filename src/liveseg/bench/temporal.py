"""Temporal reuse strategies on labelled video (``liveseg bench temporal``).

For every ``--temporal`` spec: the accuracy (DAVIS: J&F, ``liveseg.metrics.video``; CamVid:
mIoU over the sequence, void ignored), flicker (pixels whose label changes while the ground
truth's does not; DAVIS also dtSSD of the soft alpha), the share of frames the network ran on,
and two speeds, with the specs run interleaved ``repeats`` times and medians taken:

- end-to-end fps of ``liveseg run`` itself: each clip encoded once to H.264 (in a temporary
  folder), then decoded, segmented and composited (the model's default effect) by the
  threaded pipeline with a null sink, exactly as ``liveseg run CLIP.mp4 --temporal SPEC`` does;
- the sequential per-frame latency of the quality loop (JPEG decode + the model + the temporal
  stage + the mask at frame size), p50 / p90.

Writes a JSON file and a PNG plot (accuracy against effective fps, one curve per strategy).
The model ``oracle`` replaces the network by the ground truth downscaled to ``oracle_size``:
every-frame J&F is then the resolution ceiling and what the other specs lose is propagation
error alone (its fps have no network in them and say nothing about speed-ups).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from liveseg.bench import temporal_data as td
from liveseg.bench.machine import machine_info as _machine_info
from liveseg.bench.machine import one_line
from liveseg.bench.pipeline import pipeline_fps
from liveseg.bench.results import result_files, save_figure, write_json
from liveseg.bench.temporal_data import DEFAULT_SPECS
from liveseg.errors import ConfigError, InputError
from liveseg.images import read_image
from liveseg.parsing import parse_size


def machine_info(threads: int) -> dict:
    return _machine_info("numpy", "cv2", "onnxruntime", threads=threads)


def run_spec(spec, model, clips, data, measure_quality: bool, flow_side: int | None = None):
    """One pass of ``spec`` over all clips (optical flow on a grid of longest side
    ``flow_side``). Returns timings and (optionally) quality."""
    import time

    import numpy as np

    from liveseg.metrics.video import dtssd, evaluate_sequence, flicker_rate
    from liveseg.video.temporal import make_temporal

    semantic = data.get("_semantic")  # CamVid: {"num_classes", "ignore_index"}; DAVIS: None
    fg_idx = None if semantic else model.foreground_indices
    per_clip, lat_ms, n_frames, n_inferred, wall = {}, [], 0, 0, 0.0
    flow_ms, stats_all = [], []
    dts, flick = [], []
    for clip in clips:
        frames, _ = data[clip]
        gts = data["_gt"][clip]
        policy = make_temporal(spec, flow_side=flow_side)
        preds, alphas = [], []
        t_clip = time.perf_counter()
        for i, path in enumerate(frames):
            t0 = time.perf_counter()
            frame = _decode(path)
            if isinstance(model, td.Oracle):
                model.gt = gts[i]
            pred = policy.step(frame, lambda prev, f=frame: model.predict(f, prev))
            if semantic:
                mask = pred.labels()
            else:
                alpha = pred.foreground(fg_idx)
                mask = alpha > 0.5
            lat_ms.append((time.perf_counter() - t0) * 1e3)
            if measure_quality:
                preds.append(mask)
                if not semantic:
                    alphas.append(alpha)
        wall += time.perf_counter() - t_clip
        s = policy.stats()
        stats_all.append(s)
        n_frames += s["frames"]
        n_inferred += s["inferred_frames"]
        flow_ms.append(s["flow_ms_total"] + s["warp_ms_total"] + s["smooth_ms_total"])
        if measure_quality and semantic:
            from liveseg.metrics.segmentation import ConfusionMatrix

            cm = ConfusionMatrix(semantic["num_classes"], semantic["ignore_index"])
            for p_, g_ in zip(preds, gts, strict=True):
                cm.update(p_, g_)
            per_clip[clip] = {
                "miou": cm.miou(),
                "frames": len(preds),
                "inferred_share": s["inferred_frames"] / s["frames"],
                "decisions": s["decisions"],
                "keyframe_reasons": s["keyframe_reasons"],
            }
            flick.append(flicker_rate(preds, gts))
        elif measure_quality:
            r = evaluate_sequence(gts, preds)
            per_clip[clip] = {k: r[k] for k in ("j", "f", "jf", "frames")}
            per_clip[clip]["inferred_share"] = s["inferred_frames"] / s["frames"]
            per_clip[clip]["decisions"] = s["decisions"]
            per_clip[clip]["keyframe_reasons"] = s["keyframe_reasons"]
            dts.append(dtssd(alphas, [g.astype(np.float32) for g in gts]))
            flick.append(flicker_rate([p.astype(np.uint8) for p in preds], gts))
    out = {
        "fps": n_frames / wall,
        "lat_ms": lat_ms,
        "frames": n_frames,
        "inferred_share": n_inferred / n_frames,
        "temporal_ms_per_frame": float(np.sum(flow_ms)) / n_frames,
    }
    if measure_quality and semantic:
        out.update(
            miou=float(np.mean([v["miou"] for v in per_clip.values()])),
            flicker_rate=float(np.mean(flick)),
            per_clip=per_clip,
        )
    elif measure_quality:
        from liveseg.metrics.video import summarize

        summ = summarize(
            {
                c: {**v, "j_recall": 0, "j_decay": 0, "f_recall": 0, "f_decay": 0}
                for c, v in per_clip.items()
            }
        )
        out.update(
            jf=summ["jf"],
            j=summ["j_mean"],
            f=summ["f_mean"],
            dtssd=float(np.mean(dts)),
            flicker_rate=float(np.mean(flick)),
            per_clip=per_clip,
        )
    return out


def encode_clips(data, clips, folder: Path) -> dict:
    """Each clip's frames as an H.264 MP4 (``write_video``: 24 fps, crf 18) under ``folder``."""
    from liveseg.video.sinks import write_video

    return {
        c: write_video(folder / f"{c}.mp4", (read_image(f) for f in data[c][0]), fps=24, crf=18)
        for c in clips
    }


def _decode(path):
    """A frame of the timed quality loop: OpenCV's decode alone, as in the recorded results
    (the files were read once by load_clips; ``read_image``'s checks would add to the timing)."""
    import cv2

    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def strategy_of(spec: str) -> str:
    base, _, mod = spec.partition("+")
    name = base.split(":")[0] or "off"
    return name + ("+smooth" if mod else "")


def plot(
    results, path: Path, title: str, oracle: bool, metric: str = "jf", metric_name: str = "J&F"
):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    curves: dict[str, list] = {}
    for r in results:
        curves.setdefault(strategy_of(r["spec"]), []).append(r)
    for name, rs in sorted(curves.items()):
        style = "--" if "smooth" in name else "-"
        for ax, key in ((axes[0], "fps"), (axes[1], "inferred_share")):
            pts = sorted(rs, key=lambda r: r[key])
            ax.plot(
                [r[key] for r in pts], [100 * r[metric] for r in pts], style, marker="o", label=name
            )
            for r in pts:
                lab = r["spec"].split("+")[0].replace("adaptive:", "a:").replace(",max=5", "")
                ax.annotate(
                    lab,
                    (r[key], 100 * r[metric]),
                    fontsize=6,
                    alpha=0.7,
                    xytext=(2, 2),
                    textcoords="offset points",
                )
    axes[0].set_xlabel("effective fps, end to end" + (" (oracle: no network)" if oracle else ""))
    axes[1].set_xlabel("share of frames the network ran on")
    for ax in axes:
        ax.set_ylabel(f"{metric_name} (x100)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def _load(model_name, camvid, threads, oracle_size):
    """(model, description): the oracle, or a runtime model checked against the data set."""
    if model_name == "oracle":
        if camvid:
            raise ConfigError("--model oracle works on DAVIS only (binary masks)")
        w, h = parse_size(oracle_size, "--oracle-size")
        return td.Oracle(
            (w, h)
        ), f"oracle: ground truth at {w}x{h} (propagation error alone; no network)"
    from liveseg.runtime import load_model

    model = load_model(model_name, threads=threads)
    if camvid and model.num_classes != td.CAMVID_VOID:
        raise ConfigError(
            f"{model_name} predicts {model.num_classes} classes; CamVid needs "
            f"a model of its {td.CAMVID_VOID} classes"
        )
    if not camvid and model.card.task != "foreground" and len(model.foreground_indices) < 1:
        raise ConfigError(f"{model_name} has no foreground classes; use a subject model")
    return model, repr(model)


def _clip_names(camvid, root: Path, clips, config):
    if camvid:
        if not (root / "val").is_dir():
            raise InputError(f"{root} is not a CamVid folder (no val/); set --data")
        return list(clips) if clips else ["val"]  # CamVid splits play the role of clips
    if not (root / "JPEGImages").is_dir():
        raise InputError(f"{root} is not a DAVIS-2016 folder (no JPEGImages/); set --data")
    return list(clips) if clips else td.held_out_clips(config)


def table(rows, specs, camvid, repeats) -> str:
    metric, name = ("miou", "mIoU") if camvid else ("jf", "J&F")
    extra_hdr = "" if camvid else " J | F | dtSSD |"
    hdr = (
        f"| spec | {name} | d{name} vs {specs[0]} |{extra_hdr} flicker | inferred | "
        f"fps (median of {repeats}) | x {specs[0]} | ms/frame p50 / p90 | temporal ms/frame |"
    )
    lines = [hdr, "|" + "---|" * (9 if camvid else 12)]
    for r in rows:
        extra = "" if camvid else f" {100 * r['j']:.2f} | {100 * r['f']:.2f} | {r['dtssd']:.4f} |"
        lines.append(
            f"| `{r['spec']}` | {100 * r[metric]:.2f} | {100 * r[metric + '_delta']:+.2f} |"
            f"{extra} {r['flicker_rate']:.4f} | "
            f"{100 * r['inferred_share']:.0f}% | {r['fps']:.1f} | {r['fps_ratio']:.2f} | "
            f"{r['lat_ms_median']:.1f} / {r['lat_ms_p90']:.1f} | {r['temporal_ms_per_frame']:.2f} |"
        )
    return "\n".join(lines)


def run_bench(
    model="oracle",
    dataset="davis2016",
    data=None,
    clips=None,
    config=td.DEFAULT_CONFIG,
    specs=DEFAULT_SPECS,
    threads=2,
    repeats=3,
    max_frames=0,
    oracle_size="320x192",
    flow_max_side=None,
    frame_scale=1.0,
    pipeline=True,
    out="benchmarks/results",
    tag=None,
    overwrite=False,
    command=None,
) -> dict:
    """Measure every spec of ``specs`` (a ';'-separated string or a list); print the table,
    write ``<out>/<tag>.json`` and ``.png``; return the JSON payload."""
    import tempfile

    import cv2

    from liveseg.video.flow import check_flow_side
    from liveseg.video.temporal import make_temporal

    if isinstance(specs, str):
        specs = [s.strip() for s in specs.split(";") if s.strip()]
    if not specs:
        raise ConfigError("--specs is empty; give ';'-separated --temporal specs")
    for s in specs:
        make_temporal(s)  # validate all before spending time
    if repeats < 1 or threads < 1:
        raise ConfigError("--repeats and --threads must be >= 1")
    if not 0.25 <= frame_scale <= 4:
        raise ConfigError(f"--frame-scale must be in [0.25, 4], got {frame_scale}")
    camvid = dataset == "camvid"
    root = Path(data or (td.DEFAULT_CAMVID if camvid else td.DEFAULT_DATA))
    clips = _clip_names(camvid, root, clips, config)
    side = check_flow_side(flow_max_side)  # validated before any model loads
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    cv2.setNumThreads(threads)
    net, model_desc = _load(model, camvid, threads, oracle_size)
    oracle = model == "oracle"
    stem = tag or ("temporal_" + ("oracle" if oracle else Path(str(net.path)).stem))
    json_path, png_path = result_files(out, stem, overwrite=overwrite)
    with tempfile.TemporaryDirectory(prefix="liveseg-bench-temporal-") as scratch:
        clip_data = td.load_clips(
            dataset, root, clips, max_frames, frame_scale, Path(scratch) / "scaled"
        )
        info = machine_info(threads)
        print(f"model: {model_desc}")
        print(
            f"clips ({len(clips)}): {', '.join(clips)}  frames: "
            f"{sum(len(clip_data[c][0]) for c in clips)}"
        )
        print(one_line(info))
        videos = None
        if not oracle and pipeline:
            videos = encode_clips(clip_data, clips, Path(scratch))
        rows = _measure(net, specs, clips, clip_data, videos, repeats, camvid, side)
        frame_size = list(read_image(clip_data[clips[0]][0][0]).shape[1::-1])
    fps_kind = (
        "liveseg run (threaded pipeline, H.264 in, null sink)"
        if videos
        else "sequential loop (JPEG decode + model + temporal + mask)"
    )
    text = table(rows, specs, camvid, repeats)
    print(text)
    print(f"fps: {fps_kind}")
    metric = "miou" if camvid else "jf"
    payload = {
        "model": model_desc,
        "oracle": oracle,
        "dataset": dataset,
        "data": str(root),
        "clips": clips,
        "metric": metric,
        "machine": info,
        "flow_max_side": side,
        "frame_scale": frame_scale,
        "frame_size": frame_size,
        "fps_measured_by": fps_kind,
        "command": command or " ".join(sys.argv),
        "repeats": repeats,
        "results": rows,
        "table": text,
    }
    write_json(json_path, payload, indent=1)
    title = f"{model_desc} | clips: {', '.join(clips)} | {info['cpu']}, {threads} thread(s)"
    plot(rows, png_path, title, oracle, metric, "mIoU" if camvid else "J&F")
    print(f"wrote {json_path} and {png_path}")
    return payload


def _measure(model, specs, clips, data, videos, repeats, camvid, flow_side=None) -> list[dict]:
    """Warm up, then ``repeats`` interleaved passes over the specs (order alternating);
    quality from the first pass, fps and latency medians over all."""
    import numpy as np

    from liveseg.video.temporal import make_temporal

    metric = "miou" if camvid else "jf"
    quality_keys = (
        ("miou", "flicker_rate", "per_clip")
        if camvid
        else ("jf", "j", "f", "dtssd", "flicker_rate", "per_clip")
    )
    # Warm-up: a few frames through the model and the flow, and one pipeline run.
    if isinstance(model, td.Oracle):
        model.gt = data["_gt"][clips[0]][0]
    pol = make_temporal("fixed:2", flow_side=flow_side)
    for path in data[clips[0]][0][:6]:
        frame = _decode(path)
        pol.step(frame, lambda prev, f=frame: model.predict(f, prev))
    if videos:
        pipeline_fps(model, [videos[clips[0]]], "fixed:2", flow_side=flow_side)

    results = {s: {"spec": s, "fps_runs": [], "lat_ms": []} for s in specs}
    for rep in range(repeats):
        order = specs if rep % 2 == 0 else specs[::-1]  # interleaved, alternating order
        for s in order:
            r = run_spec(s, model, clips, data, measure_quality=(rep == 0), flow_side=flow_side)
            if videos:
                r["fps"] = pipeline_fps(model, list(videos.values()), s, flow_side=flow_side)
            res = results[s]
            res["fps_runs"].append(r["fps"])
            res["lat_ms"].extend(r["lat_ms"])
            res["inferred_share"] = r["inferred_share"]
            res["temporal_ms_per_frame"] = r["temporal_ms_per_frame"]
            res["frames"] = r["frames"]
            if rep == 0:
                res.update({k: r[k] for k in quality_keys})
            print(f"  pass {rep + 1}/{repeats} {s:42s} {r['fps']:7.1f} fps", file=sys.stderr)

    base = results[specs[0]]
    rows = []
    for s in specs:
        r = results[s]
        r["fps"] = float(np.median(r["fps_runs"]))
        r["lat_ms_median"] = float(np.median(r["lat_ms"]))
        r["lat_ms_p90"] = float(np.percentile(r["lat_ms"], 90))
        r["fps_ratio"] = r["fps"] / float(np.median(base["fps_runs"]))
        r[metric + "_delta"] = r[metric] - base[metric]
        del r["lat_ms"]
        rows.append(r)
    return rows
