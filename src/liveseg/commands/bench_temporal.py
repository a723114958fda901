"""`liveseg bench temporal`: temporal reuse strategies on labelled video.

Two data sets: DAVIS-2016 clips (a foreground model; the held-out clips of a config) and
CamVid's validation sequence (``--dataset camvid``: a street model; ``val/`` is one 101-frame
drive, 0016E5, labelled on every frame at 15 Hz). For every ``--temporal`` spec: the accuracy
(DAVIS: J&F, ``liveseg.metrics.video``; CamVid: mIoU over the sequence, void ignored), flicker
(the flicker rate: pixels whose label changes while the ground truth's does not; DAVIS also
dtSSD of the soft alpha), the share of frames the network ran on, and two speeds, with the specs run interleaved ``--repeats`` times and medians
taken:

- end-to-end fps of ``liveseg run`` itself: each clip encoded once to H.264 (in a temporary
  folder), then decoded, segmented and composited (the model's default effect) by the
  threaded pipeline with a null sink, exactly as ``liveseg run CLIP.mp4 --temporal SPEC`` does;
- the sequential per-frame latency of the quality loop (JPEG decode + the model + the temporal
  stage + the mask at frame size), p50 / p90.

Writes a JSON file and a PNG plot (J&F against effective fps, one curve per strategy) under
``--out``.

``--model oracle`` replaces the network by the ground truth downscaled to ``--oracle-size``:
every-frame J&F is then the resolution ceiling and what the other specs lose is propagation
error alone (its fps have no network in them and say nothing about speed-ups).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from liveseg.atomic import write_text_atomic
from liveseg.benchinfo import machine_info as _machine_info

HELP = "temporal reuse on DAVIS clips: J&F, flicker, frames inferred, E2E fps per --temporal spec"

DEFAULT_SPECS = (
    "off;off+smooth;"
    "fixed:2;fixed:2+smooth;fixed:3;fixed:3+smooth;fixed:4;fixed:4+smooth;fixed:5;fixed:5+smooth;"
    "adaptive:thresh=0.6,max=5;adaptive:thresh=0.6,max=5+smooth;"
    "adaptive:thresh=1,max=5;adaptive:thresh=1,max=5+smooth;"
    "adaptive:thresh=1.5,max=5;adaptive:thresh=1.5,max=5+smooth"
)
DEFAULT_DATA = "../shared/data/davis2016"
DEFAULT_CAMVID = "../shared/data/camvid"
CAMVID_VOID = 11
DEFAULT_CONFIG = "configs/davis_subject_unet_lite.yaml"


def add_arguments(parser):
    parser.add_argument("--model", default="oracle",
                        help="foreground model (shipped name or .onnx path), or 'oracle' "
                             "(ground truth as the model: propagation error alone)")
    parser.add_argument("--dataset", choices=("davis2016", "camvid"), default="davis2016",
                        help="davis2016 (foreground model, held-out clips) or camvid (street "
                             "model, the val sequence); default %(default)s")
    parser.add_argument("--data", default=None,
                        help=f"data set root (default: {DEFAULT_DATA} or {DEFAULT_CAMVID})")
    parser.add_argument("--clips", default=None,
                        help="comma-separated clip names (default: the held-out val_clips of --config)")
    parser.add_argument("--config", default=DEFAULT_CONFIG,
                        help="training config whose data.options.val_clips are the held-out clips "
                             "(default: %(default)s)")
    parser.add_argument("--specs", default=DEFAULT_SPECS,
                        help="';'-separated --temporal specs (default: every frame, fixed 2/3/5, "
                             "adaptive at three thresholds, each with and without smoothing)")
    parser.add_argument("--threads", type=int, default=2, help="inference/OpenCV threads (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per spec (default 3)")
    parser.add_argument("--max-frames", type=int, default=0, help="frames per clip (0: all)")
    parser.add_argument("--oracle-size", default="320x192",
                        help="WxH of the oracle's output maps (default %(default)s)")
    parser.add_argument("--flow-side", type=int, default=None, metavar="PX",
                        help="longest side of the grid optical flow runs on (default: "
                             "liveseg.video.flow.MAX_FLOW_SIDE)")
    parser.add_argument("--frame-scale", type=float, default=1.0, metavar="S",
                        help="resize every frame (bilinear) and ground-truth mask (nearest) by S "
                             "before the run: 2 turns the shared half-size DAVIS copy (427x240) "
                             "into full-size 854x480 frames (default 1)")
    parser.add_argument("--no-pipeline", action="store_true",
                        help="skip the end-to-end `liveseg run` timing (fps then comes from the "
                             "sequential quality loop)")
    parser.add_argument("--out", default="benchmarks/results", help="folder for JSON + PNG")
    parser.add_argument("--tag", default=None, help="file name stem (default: temporal_<model>)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing result files")


def machine_info(threads: int) -> dict:
    return _machine_info("numpy", "cv2", "onnxruntime", threads=threads)

def _held_out_clips(config_path) -> list[str]:
    import yaml

    from liveseg.errors import ConfigError

    p = Path(config_path)
    if not p.is_file():
        raise ConfigError(f"config {p} not found; name the clips with --clips a,b,c")
    cfg = yaml.safe_load(p.read_text()) or {}
    clips = ((cfg.get("data") or {}).get("options") or {}).get("val_clips")
    if not clips:
        raise ConfigError(f"config {p} lists no data.options.val_clips; name the clips with --clips")
    return [str(c) for c in clips]


def _camvid_sequence(root: Path, split: str, max_frames: int):
    """CamVid ``split`` frames in order with their label maps (one sequence: val is 0016E5)."""
    from liveseg.errors import InputError

    frames = sorted(f for f in (root / split).glob("*") if f.suffix.lower() in (".jpg", ".png"))
    if not frames:
        raise InputError(f"no CamVid frames under {root / split}; set --data to the camvid root")
    seqs = {f.name.split("_")[0] for f in frames}
    if len(seqs) != 1:
        raise InputError(f"{root / split} holds {len(seqs)} sequences ({', '.join(sorted(seqs))}); "
                         "temporal reuse needs one continuous sequence")
    if max_frames:
        frames = frames[:max_frames]
    masks = [root / f"{split}annot" / (f.stem + ".png") for f in frames]
    missing = [m for m in masks if not m.is_file()]
    if missing:
        raise InputError(f"CamVid {split}: no labels {missing[0]}")
    return frames, masks


def _clip_files(root: Path, clip: str, max_frames: int):
    from liveseg.errors import InputError

    frames = sorted((root / "JPEGImages" / clip).glob("*.jpg"))
    if not frames:
        raise InputError(f"no frames for clip {clip!r} under {root / 'JPEGImages'}")
    if max_frames:
        frames = frames[:max_frames]
    masks = [root / "Annotations" / clip / (f.stem + ".png") for f in frames]
    missing = [m for m in masks if not m.is_file()]
    if missing:
        raise InputError(f"clip {clip!r}: no ground truth {missing[0]}")
    return frames, masks


class Oracle:
    """Ground truth as a model: the true mask, area-downscaled to the output map size."""

    def __init__(self, size_wh):
        self.size = size_wh
        self.foreground_indices = [1]
        self.gt = None  # set per frame by the benchmark

    def predict(self, frame, prev=None):
        import cv2
        import numpy as np

        from liveseg.runtime.prediction import Prediction

        fg = cv2.resize(self.gt.astype(np.float32), self.size, interpolation=cv2.INTER_AREA)
        return Prediction(np.stack([1.0 - fg, fg]), frame_size=frame.shape[:2])


def scaled_copy(frames, masks, scale: float, folder: Path):
    """The clip's frames (JPEG q95, bilinear) and masks (PNG, nearest) resized by ``scale``,
    written under ``folder``: every later stage reads them as it reads the originals."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    out_f, out_m = [], []
    for f, m in zip(frames, masks):
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        size = (max(2, round(w * scale)), max(2, round(h * scale)))
        dst = folder / f"{f.stem}.jpg"
        cv2.imwrite(str(dst), cv2.resize(img, size, interpolation=cv2.INTER_LINEAR),
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        lab = cv2.imread(str(m), cv2.IMREAD_UNCHANGED)
        mdst = folder / f"{m.stem}.mask.png"
        cv2.imwrite(str(mdst), cv2.resize(lab, size, interpolation=cv2.INTER_NEAREST))
        out_f.append(dst)
        out_m.append(mdst)
    return out_f, out_m


def run_spec(spec, model, clips, data, measure_quality: bool):
    """One pass of ``spec`` over all clips. Returns timings and (optionally) quality."""
    import time

    import cv2
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
        policy = make_temporal(spec)
        preds, alphas = [], []
        t_clip = time.perf_counter()
        for i, path in enumerate(frames):
            t0 = time.perf_counter()
            frame = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            if isinstance(model, Oracle):
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
            for p_, g_ in zip(preds, gts):
                cm.update(p_, g_)
            per_clip[clip] = {"miou": cm.miou(), "frames": len(preds),
                              "inferred_share": s["inferred_frames"] / s["frames"],
                              "decisions": s["decisions"],
                              "keyframe_reasons": s["keyframe_reasons"]}
            flick.append(flicker_rate(preds, gts))
        elif measure_quality:
            r = evaluate_sequence(gts, preds)
            per_clip[clip] = {k: r[k] for k in ("j", "f", "jf", "frames")}
            per_clip[clip]["inferred_share"] = s["inferred_frames"] / s["frames"]
            per_clip[clip]["decisions"] = s["decisions"]
            per_clip[clip]["keyframe_reasons"] = s["keyframe_reasons"]
            dts.append(dtssd(alphas, [g.astype(np.float32) for g in gts]))
            flick.append(flicker_rate([p.astype(np.uint8) for p in preds], gts))
    out = {"fps": n_frames / wall, "lat_ms": lat_ms, "frames": n_frames,
           "inferred_share": n_inferred / n_frames,
           "temporal_ms_per_frame": float(np.sum(flow_ms)) / n_frames}
    if measure_quality and semantic:
        out.update(miou=float(np.mean([v["miou"] for v in per_clip.values()])),
                   flicker_rate=float(np.mean(flick)), per_clip=per_clip)
    elif measure_quality:
        from liveseg.metrics.video import summarize

        summ = summarize({c: {**v, "j_recall": 0, "j_decay": 0, "f_recall": 0, "f_decay": 0}
                          for c, v in per_clip.items()})
        out.update(jf=summ["jf"], j=summ["j_mean"], f=summ["f_mean"],
                   dtssd=float(np.mean(dts)), flicker_rate=float(np.mean(flick)),
                   per_clip=per_clip)
    return out


def encode_clips(data, clips, folder: Path) -> dict:
    """Each clip's JPEG frames as an H.264 MP4 (even-sized, 24 fps) under ``folder``."""
    import av
    import cv2

    videos = {}
    for clip in clips:
        path = folder / f"{clip}.mp4"
        with av.open(str(path), "w") as c:
            s = None
            for f in data[clip][0]:
                img = cv2.cvtColor(cv2.imread(str(f), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
                h, w = img.shape[:2]
                img = img[: h - h % 2, : w - w % 2]
                if s is None:
                    s = c.add_stream("libx264", rate=24, options={"preset": "veryfast",
                                                                  "crf": "18"})
                    s.width, s.height, s.pix_fmt = img.shape[1], img.shape[0], "yuv420p"
                for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    c.mux(pkt)
            for pkt in s.encode(None):
                c.mux(pkt)
        videos[clip] = path
    return videos


def pipeline_fps(spec, model, videos) -> float:
    """Frames per second of the threaded `liveseg run` pipeline over all clips (null sink)."""
    from liveseg.video.runner import process_video

    effect = "blur" if model.card.task == "foreground" else "overlay"
    frames, wall = 0, 0.0
    for path in videos.values():
        r = process_video(path, None, model=model, effect=effect, temporal=spec, audio=False)
        frames += r["frames"]
        wall += r["frames"] / r["fps"]
    return frames / wall


def strategy_of(spec: str) -> str:
    base, _, mod = spec.partition("+")
    name = base.split(":")[0] or "off"
    return name + ("+smooth" if mod else "")


def plot(results, path: Path, title: str, oracle: bool, metric: str = "jf",
         metric_name: str = "J&F"):
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
            ax.plot([r[key] for r in pts], [100 * r[metric] for r in pts], style, marker="o",
                    label=name)
            for r in pts:
                lab = r["spec"].split("+")[0].replace("adaptive:", "a:").replace(",max=5", "")
                ax.annotate(lab, (r[key], 100 * r[metric]), fontsize=6, alpha=0.7,
                            xytext=(2, 2), textcoords="offset points")
    axes[0].set_xlabel("effective fps, end to end" + (" (oracle: no network)" if oracle else ""))
    axes[1].set_xlabel("share of frames the network ran on")
    for ax in axes:
        ax.set_ylabel(f"{metric_name} (x100)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def run(args):
    import json
    import tempfile

    import cv2
    import numpy as np

    from liveseg.errors import ConfigError, InputError, OutputError
    from liveseg.video.temporal import make_temporal

    specs = [s.strip() for s in args.specs.split(";") if s.strip()]
    if not specs:
        raise ConfigError("--specs is empty; give ';'-separated --temporal specs")
    for s in specs:
        make_temporal(s)  # validate all before spending time
    if args.repeats < 1 or args.threads < 1:
        raise ConfigError("--repeats and --threads must be >= 1")
    if not 0.25 <= args.frame_scale <= 4:
        raise ConfigError(f"--frame-scale must be in [0.25, 4], got {args.frame_scale}")
    camvid = args.dataset == "camvid"
    root = Path(args.data or (DEFAULT_CAMVID if camvid else DEFAULT_DATA))
    if camvid:
        if not (root / "val").is_dir():
            raise InputError(f"{root} is not a CamVid folder (no val/); set --data")
        if args.model == "oracle":
            raise ConfigError("--model oracle works on DAVIS only (binary masks)")
        clips = [c.strip() for c in args.clips.split(",") if c.strip()] if args.clips \
            else ["val"]  # CamVid splits play the role of clips
    else:
        if not (root / "JPEGImages").is_dir():
            raise InputError(f"{root} is not a DAVIS-2016 folder (no JPEGImages/); set --data")
        clips = [c.strip() for c in args.clips.split(",") if c.strip()] if args.clips \
            else _held_out_clips(args.config)

    if args.flow_side is not None:
        from liveseg.video import flow

        if not flow.MIN_FLOW_SIDE <= args.flow_side <= 1024:
            raise ConfigError(f"--flow-side must be in [{flow.MIN_FLOW_SIDE}, 1024]")
        flow.MAX_FLOW_SIDE = args.flow_side
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    cv2.setNumThreads(args.threads)
    oracle = args.model == "oracle"
    if oracle:
        try:
            w, h = (int(v) for v in args.oracle_size.lower().split("x"))
        except ValueError:
            raise ConfigError(f"--oracle-size must be WxH, got {args.oracle_size!r}") from None
        model = Oracle((w, h))
        model_desc = f"oracle: ground truth at {w}x{h} (propagation error alone; no network)"
    else:
        from liveseg.runtime import load_model

        model = load_model(args.model, threads=args.threads)
        model_desc = repr(model)
        if camvid and model.num_classes != CAMVID_VOID:
            raise ConfigError(f"{args.model} predicts {model.num_classes} classes; CamVid needs "
                              f"a model of its {CAMVID_VOID} classes")
        if not camvid and model.card.task != "foreground" and len(model.foreground_indices) < 1:
            raise ConfigError(f"{args.model} has no foreground classes; use a subject model")

    out_dir = Path(args.out)
    stem = args.tag or ("temporal_" + ("oracle" if oracle else Path(str(model.path)).stem))
    json_path, png_path = out_dir / f"{stem}.json", out_dir / f"{stem}.png"
    for p in (json_path, png_path):
        if p.exists() and not args.overwrite:
            raise OutputError(f"{p} exists; pass --overwrite to replace it or --tag to rename")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {out_dir}: {exc.strerror or exc}") from None
    from liveseg.atomic import check_writable_folder

    check_writable_folder(out_dir, "--out")

    scaled_dir = None
    if args.frame_scale != 1:
        scaled_dir = tempfile.TemporaryDirectory(prefix="liveseg-bench-scaled-")
    data = {"_gt": {}}
    if camvid:
        data["_semantic"] = {"num_classes": CAMVID_VOID, "ignore_index": CAMVID_VOID}
    for c in clips:
        if camvid:
            frames, masks = _camvid_sequence(root, c, args.max_frames)
        else:
            frames, masks = _clip_files(root, c, args.max_frames)
        if scaled_dir is not None:
            frames, masks = scaled_copy(frames, masks, args.frame_scale, Path(scaled_dir.name) / c)
        if camvid:
            data["_gt"][c] = [cv2.imread(str(m), cv2.IMREAD_UNCHANGED) for m in masks]
        else:
            data["_gt"][c] = [cv2.imread(str(m), cv2.IMREAD_GRAYSCALE) > 127 for m in masks]
        data[c] = (frames, masks)
    metric, metric_name = ("miou", "mIoU") if camvid else ("jf", "J&F")
    quality_keys = ("miou", "flicker_rate", "per_clip") if camvid else \
        ("jf", "j", "f", "dtssd", "flicker_rate", "per_clip")

    info = machine_info(args.threads)
    print(f"model: {model_desc}")
    print(f"clips ({len(clips)}): {', '.join(clips)}  frames: "
          f"{sum(len(data[c][0]) for c in clips)}")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))

    # Warm-up: a few frames through the model and the flow.
    warm = data[clips[0]]
    if oracle:
        model.gt = data["_gt"][clips[0]][0]
    pol = make_temporal("fixed:2")
    for path in warm[0][:6]:
        frame = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        pol.step(frame, lambda prev, f=frame: model.predict(f, prev))

    videos = None
    if not oracle and not args.no_pipeline:
        tmp = tempfile.TemporaryDirectory(prefix="liveseg-bench-temporal-")
        videos = encode_clips(data, clips, Path(tmp.name))
        pipeline_fps("fixed:2", model, {clips[0]: videos[clips[0]]})  # warm-up
    fps_kind = "liveseg run (threaded pipeline, H.264 in, null sink)" if videos \
        else "sequential loop (JPEG decode + model + temporal + mask)"

    results = {s: {"spec": s, "fps_runs": [], "lat_ms": []} for s in specs}
    for rep in range(args.repeats):
        order = specs if rep % 2 == 0 else specs[::-1]  # interleaved, alternating order
        for s in order:
            r = run_spec(s, model, clips, data, measure_quality=(rep == 0))
            if videos:
                r["fps"] = pipeline_fps(s, model, videos)
            res = results[s]
            res["fps_runs"].append(r["fps"])
            res["lat_ms"].extend(r["lat_ms"])
            res["inferred_share"] = r["inferred_share"]
            res["temporal_ms_per_frame"] = r["temporal_ms_per_frame"]
            res["frames"] = r["frames"]
            if rep == 0:
                res.update({k: r[k] for k in quality_keys})
            print(f"  pass {rep + 1}/{args.repeats} {s:42s} {r['fps']:7.1f} fps", file=sys.stderr)

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

    extra_hdr = "" if camvid else " J | F | dtSSD |"
    hdr = (f"| spec | {metric_name} | d{metric_name} vs {specs[0]} |{extra_hdr} flicker | inferred | "
           f"fps (median of {args.repeats}) | x {specs[0]} | ms/frame p50 / p90 | temporal ms/frame |")
    lines = [hdr, "|" + "---|" * (9 if camvid else 12)]
    for r in rows:
        extra = "" if camvid else \
            f" {100 * r['j']:.2f} | {100 * r['f']:.2f} | {r['dtssd']:.4f} |"
        lines.append(
            f"| `{r['spec']}` | {100 * r[metric]:.2f} | {100 * r[metric + '_delta']:+.2f} |"
            f"{extra} {r['flicker_rate']:.4f} | "
            f"{100 * r['inferred_share']:.0f}% | {r['fps']:.1f} | {r['fps_ratio']:.2f} | "
            f"{r['lat_ms_median']:.1f} / {r['lat_ms_p90']:.1f} | {r['temporal_ms_per_frame']:.2f} |"
        )
    table = "\n".join(lines)
    print(table)

    print(f"fps: {fps_kind}")
    from liveseg.video import flow as _flow

    payload = {"model": model_desc, "oracle": oracle, "dataset": args.dataset, "data": str(root),
               "clips": clips, "metric": metric, "machine": info,
               "flow_max_side": _flow.MAX_FLOW_SIDE, "frame_scale": args.frame_scale,
               "frame_size": list(cv2.imread(str(data[clips[0]][0][0])).shape[1::-1]),
               "fps_measured_by": fps_kind,
               "command": " ".join(["liveseg", "bench", "temporal", *sys.argv[3:]])
               if sys.argv[1:3] == ["bench", "temporal"] else " ".join(sys.argv),
               "repeats": args.repeats, "results": rows, "table": table}
    write_text_atomic(json_path, json.dumps(payload, indent=1) + "\n")
    title = f"{model_desc} | clips: {', '.join(clips)} | {info['cpu']}, {args.threads} thread(s)"
    plot(rows, png_path, title, oracle, metric, metric_name)
    print(f"wrote {json_path} and {png_path}")
    return 0
