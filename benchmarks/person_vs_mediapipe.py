"""Models side by side, in one run: accuracy on a config's validation split and end-to-end
speed of an effect on a clip. Made for the person models against MediaPipe's; the same
command compares any models of one task (a new street model with the one it replaces:
``--effect overlay --clip-frames '../shared/data/camvid/val/*.png'``).

Rows:
- any model liveseg runs (shipped names, .onnx, .tflite; e.g. MediaPipe's selfie segmenters
  taken from the mediapipe==0.10.14 wheel, Apache-2.0), through liveseg itself:
  ``liveseg eval`` (per-image IoU and boundary F per source; ``--portrait`` adds the person
  data's close-up view, head-and-shoulders crops of its ccp_person val photos) and
  ``liveseg run --effect blur --temporal off`` (every frame through the network; null sink;
  ``--temporal auto`` for liveseg's default reuse between frames), interleaved repeats;
- per-frame latency as a webcam loop sees it: segment + blur of one 640x480 frame, frame after
  frame, through liveseg's Python API (``liveseg.load``, ``make_effect``), median and p90;
  ``liveseg run``'s own end-to-end latency on a file includes the time frames wait in its queues
  (decode runs ahead), so it says nothing about a live source;
- MediaPipe's own Python loop (``mp.solutions.selfie_segmentation`` as in its documentation:
  OpenCV decode, segment, blur the background where the mask is under 0.5), when a Python with
  ``mediapipe`` is given (``--mediapipe-python``; it conflicts with liveseg's numpy 2, so it
  usually lives in a venv of its own).

Usage (repository root):
  python benchmarks/person_vs_mediapipe.py --config configs/person_unet_lite0_mlp_256.yaml \\
      --model person-unet-lite0-320x320-int8 --model .../selfie_segmentation.tflite ... \\
      --mediapipe-python /tmp/mpvenv/bin/python --repeats 3 --threads 1,2 \\
      --out benchmarks/results/person_vs_mediapipe.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from liveseg.bench.fresh_run import run_stats
from liveseg.bench.machine import machine_info
from liveseg.bench.timing import median_of

ROOT = Path(__file__).resolve().parents[1]

MEDIAPIPE_LOOP = r"""
import json, sys, time
import cv2, numpy as np
import mediapipe as mp
clip, selection = sys.argv[1], int(sys.argv[2])
seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=selection)
cap = cv2.VideoCapture(clip)
lat, t0, n = [], None, 0
while True:
    ok, frame = cap.read()
    if not ok:
        break
    t = time.perf_counter()
    if t0 is None:
        t0 = t
    res = seg.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cond = np.stack((res.segmentation_mask,) * 3, axis=-1) > 0.5
    out = np.where(cond, frame, cv2.GaussianBlur(frame, (55, 55), 0))
    lat.append((time.perf_counter() - t) * 1000)
    n += 1
total = time.perf_counter() - t0
lat = lat[5:]  # warm-up
print(json.dumps({"frames": n, "fps": n / total, "latency_median_ms": float(np.median(lat)),
                  "latency_p90_ms": float(np.percentile(lat, 90)), "mediapipe": mp.__version__}))
"""


def liveseg(*args) -> None:
    subprocess.run(
        [sys.executable, "-m", "liveseg", *map(str, args)],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )


def accuracy(model: str, config: str, threads: int, work: Path, options=()) -> dict:
    out = work / f"eval-{abs(hash((model, *options)))}.json"
    extra = [a for o in options for a in ("--data-option", o)]
    liveseg(
        "eval",
        model,
        "--config",
        config,
        "--threads",
        threads,
        *extra,
        "--json",
        out,
        "--overwrite",
    )
    r = json.loads(out.read_text())
    st = r.get("stills")
    if not st:  # semantic classes (mIoU) or video clips (J&F)
        video = r.get("video") or {}
        keys = ("miou", "pixel_acc", "per_class_iou", "jf", "j_mean", "f_mean")
        return {k: r.get(k, video.get(k)) for k in keys if r.get(k, video.get(k)) is not None}
    row = {
        "iou_mean": st["j_mean"],
        "boundary_f": st["f_mean"],
        "fg_iou_pooled": r["per_class_iou"][list(r["per_class_iou"])[1]],
    }
    for g, c in st["per_group"].items():
        row[f"iou_{g}"] = c["j"]
        row[f"f_{g}"] = c["f"]
    return row


def run_once(model: str, clip: Path, threads: int, effect="blur", temporal="off") -> dict:
    # Default --temporal off: every frame through the network (null sink).
    s = run_stats(clip, model, threads=threads, effect=effect, temporal=temporal, cwd=ROOT)
    e2e = s.get("e2e_latency_ms") or {}
    return {
        "fps": float(s["fps"]),
        "e2e_p90_ms": e2e.get("p90_ms"),
        "e2e_median_ms": e2e.get("median_ms"),
        "infer_median_ms": s["stages"]["infer"].get("median_ms"),
    }


def frame_latency(model: str, threads: int, repeats: int = 2, effect="blur") -> dict:
    """Segment + effect per 640x480 demo frame, sequentially (ms): what a webcam loop waits."""
    import time

    import numpy as np

    import liveseg
    from liveseg.video.demo import demo_frames
    from liveseg.video.effects import make_effect

    m = liveseg.load(model, threads=threads)
    effect = make_effect(effect, m.card)
    frames = list(demo_frames())
    lat = []
    for r in range(repeats + 1):
        for f in frames:
            t = time.perf_counter()
            effect(f, m.segment(f))
            if r:  # the first pass warms up
                lat.append((time.perf_counter() - t) * 1000)
    return {
        "latency_median_ms": float(np.median(lat)),
        "latency_p90_ms": float(np.percentile(lat, 90)),
    }


def clip_from_frames(pattern: str, fps: int, path: Path) -> Path:
    """The frames matching ``pattern`` (sorted) as an H.264 MP4: a clip at their own size."""
    import glob

    from liveseg.images import read_image
    from liveseg.video.sinks import write_video

    files = sorted(glob.glob(pattern))
    if not files:
        sys.exit(f"--clip-frames {pattern!r} matches no files")
    return write_video(path, (read_image(f) for f in files), fps=fps, crf=18)


def mediapipe_once(python: str, clip: Path, selection: int) -> dict:
    out = subprocess.run(
        [python, "-c", MEDIAPIPE_LOOP, str(clip), str(selection)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--config", required=True, help="training config naming the validation data")
    ap.add_argument("--model", action="append", required=True, help="a model row (repeatable)")
    ap.add_argument("--mediapipe-python", help="a Python with mediapipe installed")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--eval-threads", type=int, default=2)
    ap.add_argument("--no-accuracy", action="store_true")
    ap.add_argument(
        "--portrait",
        action="store_true",
        help="also score the close-up view (person data: head-and-shoulders crops, portrait=true)",
    )
    ap.add_argument("--effect", default="blur", help="effect of the speed runs (default blur)")
    ap.add_argument(
        "--clip-frames",
        help="glob of frames made into the speed clip (default: the 640x480 demo clip)",
    )
    ap.add_argument("--clip-fps", type=int, default=15)
    ap.add_argument(
        "--temporal",
        default="off",
        help="--temporal of the liveseg run rows (default off: every frame through the network; "
        "auto: what a user gets by default)",
    )
    ap.add_argument("--out", help="JSON results file")
    args = ap.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]

    from liveseg.video.demo import make_demo_clip

    work = Path(tempfile.mkdtemp(prefix="person-bench-"))
    if args.clip_frames:
        clip = clip_from_frames(args.clip_frames, args.clip_fps, work / "clip.mp4")
        clip_desc = f"{args.clip_frames} as an H.264 clip at {args.clip_fps} fps"
    else:
        clip = make_demo_clip(work / "demo.mp4")  # 640x480, a person (Grace Hopper) panned, zoomed
        clip_desc = "liveseg --demo clip, 640x480, 120 frames"
    info = machine_info("onnxruntime", "cv2", "av", "numpy")
    print(f"machine: {info['cpu']} ({info['cpu_flags']}), {info['cores']} cores", flush=True)
    results = {
        "machine": info,
        "clip": clip_desc,
        "effect": args.effect,
        "temporal": args.temporal,
        "config": args.config,
        "rows": {},
    }
    if not args.no_accuracy:
        for m in args.model:
            row = accuracy(m, args.config, args.eval_threads, work)
            if args.portrait:
                close = accuracy(m, args.config, args.eval_threads, work, ["portrait=true"])
                row.update({k: v for k, v in close.items() if k.endswith("_ccp_portrait")})
            results["rows"].setdefault(m, {})["accuracy"] = row
            print(m, results["rows"][m]["accuracy"], flush=True)
    for t in threads:
        runs: dict[str, list] = {m: [] for m in args.model}
        mp_runs: dict[int, list] = {0: [], 1: []}
        for _ in range(args.repeats):  # interleaved: A B C ... A B C ...
            for m in args.model:
                runs[m].append(run_once(m, clip, t, args.effect, args.temporal))
            if args.mediapipe_python and t == threads[-1]:
                for sel, rs in mp_runs.items():
                    rs.append(mediapipe_once(args.mediapipe_python, clip, sel))
        for m in args.model:
            results["rows"].setdefault(m, {})[f"frame_latency_{t}_threads"] = frame_latency(
                m, t, effect=args.effect
            )
            print(
                m,
                t,
                "threads: per-frame",
                results["rows"][m][f"frame_latency_{t}_threads"],
                flush=True,
            )
        for m, rs in runs.items():
            results["rows"].setdefault(m, {})[f"speed_{t}_threads"] = {
                "fps_median": median_of(rs, "fps", 2),
                "e2e_p90_ms_median": median_of(rs, "e2e_p90_ms", 2),
                "e2e_median_ms": median_of(rs, "e2e_median_ms", 2),
                "infer_median_ms": median_of(rs, "infer_median_ms", 2),
                "runs": rs,
            }
            print(
                m,
                t,
                "threads:",
                results["rows"][m][f"speed_{t}_threads"]["fps_median"],
                "fps",
                flush=True,
            )
        for sel, rs in mp_runs.items():
            if rs:
                name = f"mediapipe-own-loop-{'landscape' if sel else 'general'}"
                results["rows"][name] = {
                    "speed_own_threads": {
                        "fps_median": median_of(rs, "fps", 2),
                        "latency_p90_ms_median": median_of(rs, "latency_p90_ms", 2),
                        "latency_median_ms": median_of(rs, "latency_median_ms", 2),
                        "runs": rs,
                    }
                }
                print(
                    name,
                    results["rows"][name]["speed_own_threads"]["fps_median"],
                    "fps",
                    flush=True,
                )
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
