"""`liveseg batch` throughput (issue 16): the same generated clips through `liveseg run` once per
file, one after another, and through `liveseg batch` with 1 and 2 workers; Ray's start-up cost.

    python benchmarks/batch_throughput.py --json benchmarks/results/batch_throughput.json

Clips: ``--clips`` (20) H.264 clips of the demo photograph panned and zoomed
(``liveseg.video.demo``), 640x480 at 30 fps, 2 to 6 s long (4 s on average), so that workers
get unequal tasks as in a real archive. Model: the shipped default (person, int8), its default
effect (blur) and ``--temporal auto``, as a user would run them.

Configurations, each in a fresh process as a user runs it, interleaved over ``--rounds``
rounds (after one warm-up of each, which also caches the ``--engine auto`` choice per thread
count):

- ``run``: ``liveseg run CLIP -o OUT`` per clip, sequentially (the engine's default threads);
- ``batch WxT``: ``liveseg batch CLIPS -o OUTDIR --workers W --threads-per-worker T``.

Figures: frames per second over the whole batch (all frames / wall time of the whole command
or of all `liveseg run` commands), per-video latency (``run``: the wall time of each command,
what a user waits per file; ``batch``: the manifest's seconds per video, open to last write
inside a worker), and the medians over rounds. Ray start-up: ``process_batch`` in this
process on a 1-second clip, ``--rounds`` times: ``ray.init`` of a local instance, then the
time until the first result minus that result's own processing time (Ray Data planning, the
actor's start and its model load); the checks and model load before Ray are reported apart. The CPU
model and flags are printed and saved with the figures; so are, per run, the
1-minute load average before it and the share of all cores busy during it (ours included:
with nothing else running it is what the configuration itself keeps busy).
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

from liveseg.bench.fresh_run import RunFailed, run_stats
from liveseg.bench.machine import cpu_busy_seconds, machine_info
from liveseg.bench.timing import median_of, rotated, summarize
from liveseg.parsing import parse_size


def make_clips(folder: Path, n: int, size=(640, 480), fps: int = 30) -> list[Path]:
    from liveseg.video.demo import make_demo_clip

    folder.mkdir(parents=True, exist_ok=True)
    return [
        make_demo_clip(folder / f"clip{i:02d}.mp4", seconds=2 + i % 5, fps=fps, size=size)
        for i in range(n)
    ]


def liveseg(*args: str) -> list[str]:
    return [sys.executable, "-m", "liveseg", *args]


def timed(fn):
    """(fn's result, wall seconds, CPU busy seconds of the machine meanwhile) of ``fn()``."""
    b0, t0 = cpu_busy_seconds(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, cpu_busy_seconds() - b0


def must_work(cmd: list[str]) -> None:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr[-2000:]}")


def run_sequential(clips: list[Path], out: Path, model: str | None) -> dict:
    out.mkdir(parents=True)
    walls, frames, busy = [], 0, 0.0
    for clip in clips:
        # As a user runs it: the default effect and --temporal auto (None: flag left out).
        run = partial(run_stats, clip, model or None, temporal=None, output=out / clip.name)
        try:
            stats, wall, b = timed(run)
        except RunFailed as exc:
            raise SystemExit(str(exc)) from None
        walls.append(wall)
        busy += b
        frames += stats["frames"]
    total = sum(walls)
    return {
        "frames": frames,
        "wall_s": total,
        "fps": frames / total,
        "video_s": walls,
        "cpu_busy_s": busy,
    }


def run_batch(clips_dir: Path, out: Path, workers: int, threads: int, model: str | None) -> dict:
    cmd = liveseg(
        "batch",
        str(clips_dir),
        "-o",
        str(out),
        "--workers",
        str(workers),
        "--threads-per-worker",
        str(threads),
        "--no-progress",
        "--quiet",
    )
    if model:
        cmd += ["--model", model]
    _, wall, busy = timed(partial(must_work, cmd))
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    if any(r["status"] != "done" for r in rows):
        raise SystemExit(f"batch {workers}x{threads}: not every clip was done: {rows}")
    frames = sum(r["frames"] for r in rows)
    return {
        "frames": frames,
        "wall_s": wall,
        "fps": frames / wall,
        "video_s": [r["seconds"] for r in rows],
        "cpu_busy_s": busy,
    }


def ray_startup(clip: Path, out: Path, model: str | None) -> dict:
    """ray.init of a local instance; then actor start + model load until the first result."""
    from liveseg.batch import process_batch

    t = {}

    def first(row):
        t.setdefault("first", (time.perf_counter(), row["seconds"]))

    info: dict = {}
    t0 = time.perf_counter()
    process_batch([str(clip)], out, model=model, workers=1, info=info, on_row=first)
    t_first, work = t["first"]
    return {
        "prepare_s": info["prepare_s"],
        "ray_init_s": info["ray_startup_s"],
        "call_to_first_result_s": t_first - t0,
        "first_worker_ready_s": (t_first - t0) - info["prepare_s"] - info["ray_startup_s"] - work,
    }


def summarize_runs(runs: list[dict]) -> dict:
    lat = summarize(1e3 * s for r in runs for s in r["video_s"])  # seconds per video, as ms
    return {
        "fps_median": median_of(runs, "fps", 1),
        "wall_s_median": median_of(runs, "wall_s", 2),
        "frames": runs[0]["frames"],
        "video_s_median": round(lat["median_ms"] / 1e3, 3),
        "video_s_p90": round(lat["p90_ms"] / 1e3, 3),
        "runs": len(runs),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument(
        "--configs",
        default="run,batch:1x1,batch:2x1,batch:1x2",
        help="comma-separated: run, batch:WORKERSxTHREADS",
    )
    ap.add_argument("--model", default=None, help="default: the shipped default model")
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--json", default=None, help="write the figures and raw runs here")
    args = ap.parse_args()

    info = machine_info("onnxruntime", "openvino", "cv2", "av", "ray")
    print("machine:", json.dumps(info), flush=True)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    w, h = parse_size(args.size, "--size")
    raw: dict[str, list] = {c: [] for c in configs}
    with tempfile.TemporaryDirectory(prefix="liveseg-batch-bench-") as tmp:
        tmp = Path(tmp)
        clips = make_clips(tmp / "clips", args.clips, size=(w, h))
        print(f"{len(clips)} clips in {tmp / 'clips'}", flush=True)

        def one(cfg: str, tag: str) -> dict:
            out = tmp / f"out-{cfg.replace(':', '-')}-{tag}"
            if cfg == "run":
                return run_sequential(clips, out, args.model)
            workers, threads = (int(x) for x in cfg.split(":")[1].split("x"))
            return run_batch(tmp / "clips", out, workers, threads, args.model)

        for cfg in configs:  # warm-up: page cache, engine choice cached per thread count
            if cfg == "run":
                run_sequential(clips[:1], tmp / "warmup-run", args.model)
            else:
                one(cfg, "warmup")
        cores = os.cpu_count() or 1
        for r in range(args.rounds):
            for cfg in rotated(configs, r):
                load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
                res = one(cfg, f"r{r}")
                res["loadavg_1min_before"] = load
                res["machine_busy_share"] = round(res["cpu_busy_s"] / (res["wall_s"] * cores), 3)
                raw[cfg].append(res)
                print(
                    f"round {r} {cfg:<10} {res['frames']} frames in {res['wall_s']:.1f} s: "
                    f"{res['fps']:.1f} fps",
                    flush=True,
                )
        from liveseg.video.demo import make_demo_clip

        short = make_demo_clip(tmp / "short" / "short.mp4", seconds=1, fps=30, size=(w, h))
        startup = [ray_startup(short, tmp / f"startup{i}", args.model) for i in range(args.rounds)]
    summary = {c: summarize_runs(raw[c]) for c in configs}
    base = summary.get("run", {}).get("fps_median")
    print(
        "\n| configuration | frames | wall s | fps (whole batch) | vs run | video s median | "
        "video s p90 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for c in configs:
        s = summary[c]
        rel = f"{s['fps_median'] / base:.2f}x" if base else "-"
        print(
            f"| {c} | {s['frames']} | {s['wall_s_median']} | {s['fps_median']} | {rel} | "
            f"{s['video_s_median']} | {s['video_s_p90']} |"
        )
    st = {k: median_of(startup, k, 2) for k in startup[0]}
    print(
        f"\nRay start-up (median of {len(startup)}): checks + model before Ray "
        f"{st['prepare_s']} s, ray.init {st['ray_init_s']} s, first "
        f"worker ready (actor + model) {st['first_worker_ready_s']} s after it"
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": info,
                    "clips": args.clips,
                    "size": [w, h],
                    "fps": 30,
                    "model": args.model or "default",
                    "summary": summary,
                    "ray_startup": st,
                    "ray_startup_runs": startup,
                    "runs": raw,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
