"""Pipeline benchmark: per-stage cost, end-to-end fps, memory over a long stream; and the
end-to-end fps of ``liveseg run`` on given clips, which the temporal and trade-off benchmarks use.

Everything it needs is generated: a synthetic H.264 clip (moving shapes, PyAV) at each
resolution and a small fixed ONNX model (a 4-layer strided conv net built with onnx.helper,
~3 ms per frame on one core at 256x256). Runs are interleaved (config A, B, C, A, B, C, ...)
and summarised as medians and p90 over runs; per-stage figures come from single-threaded
("inline") runs, where a stage's time is its own cost, not time spent waiting for the GIL.
"""

from __future__ import annotations

import os
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from liveseg.bench.machine import machine_info as _machine_info
from liveseg.bench.timing import time_interleaved
from liveseg.video.sources import Source, SourceFrame

OVERHEAD_STAGES = ("decode", "preprocess", "flow", "postprocess", "temporal", "effect")


def machine_info(threads=None) -> dict:
    return _machine_info("numpy", "cv2", "av", "onnxruntime", model_threads=threads)


def make_bench_model(path, size=256, width=16, classes=2) -> Path:
    """A small fixed segmentation net: 4 strided/plain 3x3 convs + 1x1 head, output at 1/4."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from liveseg.card import ModelCard

    rng = np.random.default_rng(0)
    inits, nodes = [], []
    chans = [3, width, 2 * width, 2 * width, 2 * width]
    strides = [2, 2, 1, 1]
    x = "input"
    for i in range(4):
        w = (rng.normal(size=(chans[i + 1], chans[i], 3, 3)) / np.sqrt(9 * chans[i])).astype(
            np.float32
        )
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        nodes.append(
            helper.make_node(
                "Conv", [x, f"w{i}"], [f"c{i}"], pads=[1, 1, 1, 1], strides=[strides[i]] * 2
            )
        )
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
        x = f"r{i}"
    wh = rng.normal(size=(classes, chans[-1], 1, 1)).astype(np.float32)
    inits.append(numpy_helper.from_array(wh, "wh"))
    nodes.append(helper.make_node("Conv", [x, "wh"], ["logits"]))
    graph = helper.make_graph(
        nodes,
        "bench",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [
            helper.make_tensor_value_info(
                "logits", TensorProto.FLOAT, [1, classes, size // 4, size // 4]
            )
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = Path(path)
    onnx.save(model, str(path))
    ModelCard(
        name="bench-fixed",
        task="foreground",
        classes=["background", "person"],
        input_size=[size, size],
        output_kind="logits",
    ).save(path.with_suffix(".json"))
    return path


def synthetic_frame(i: int, w: int, h: int, base=None) -> np.ndarray:
    """A textured frame with a moving bright ellipse (something to segment and to encode)."""
    import cv2

    if base is None:
        yy, xx = np.mgrid[0:h, 0:w]
        base = ((xx * 3 + yy * 2) % 256).astype(np.uint8)
    img = cv2.merge([base, np.roll(base, i * 2, axis=1), np.roll(base, i, axis=0)])
    cx = int(w * (0.3 + 0.4 * (0.5 + 0.5 * np.sin(i / 15))))
    cv2.ellipse(img, (cx, h // 2), (w // 8, h // 3), 0, 0, 360, (240, 220, 200), -1)
    return img


def _clip_frames(w, h, n):
    """Real imagery when available (the demo photograph, panned and zoomed), else synthetic."""
    from liveseg.errors import LivesegError

    try:
        from liveseg.video.demo import demo_frames

        frames = list(demo_frames(seconds=n / 30, fps=30, size=(w, h)))
    except (ImportError, LivesegError):  # matplotlib (the photo's source) may be missing
        frames = []
    if len(frames) == n:
        return frames, "demo photograph pan/zoom"
    yy, xx = np.mgrid[0:h, 0:w]
    base = ((xx * 3 + yy * 2) % 256).astype(np.uint8)
    return [synthetic_frame(i, w, h, base) for i in range(n)], "synthetic pattern"


def make_clip(path, w, h, n=150, fps=30) -> Path:
    from liveseg.video.sinks import write_video

    frames, _ = _clip_frames(w, h, n)
    return write_video(path, frames, fps=fps, crf=23)


def pipeline_fps(model, videos, temporal="off", effect=None, flow_side=None) -> float:
    """Frames per second of ``liveseg run`` itself (the threaded pipeline: decode, model,
    temporal stage, composite; null sink) over the given clips, one after the other.
    ``flow_side``: longest side of the temporal stage's flow grid (None: the default)."""
    from liveseg.video.runner import process_video

    if effect is None:
        effect = "blur" if model.card.task == "foreground" else "overlay"
    frames, wall = 0, 0.0
    for path in videos:
        r = process_video(
            path,
            None,
            model=model,
            effect=effect,
            temporal=temporal,
            audio=False,
            flow_side=flow_side,
        )
        frames += r["frames"]
        wall += r["frames"] / r["fps"]
    return frames / wall


class SyntheticStream(Source):
    """A long synthetic live-like stream (frames generated, not decoded), for memory runs."""

    kind = "synthetic"
    description = "synthetic"
    fps = 30.0
    time_base = Fraction(1, 30)
    rate = Fraction(30)

    def __init__(self, n, w=640, h=480, period=60):
        self.n = n
        self.total_frames = n
        self.frames = [synthetic_frame(i, w, h) for i in range(period)]

    def __iter__(self):
        for i in range(self.n):
            yield SourceFrame(
                i,
                self.frames[i % len(self.frames)].copy(),
                i,
                self.time_base,
                None,
                time.perf_counter(),
            )


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # pragma: no cover - non-Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _q(values, q):
    return round(float(np.percentile(np.asarray(values, float), q)), 3)


def run_benchmark(
    sizes=((640, 480), (1280, 720)),
    frames=150,
    repeats=5,
    model_threads=1,
    effect="blur",
    rss_frames=18000,
    workdir=None,
    log=print,
) -> dict:
    from liveseg.runtime import load_model
    from liveseg.video.effects import make_effect
    from liveseg.video.pipeline import Pipeline
    from liveseg.video.sinks import NullSink, VideoSink
    from liveseg.video.sources import make_source

    if workdir is None:  # our own scratch folder (clips, model, outputs): removed at the end
        with tempfile.TemporaryDirectory(prefix="liveseg-bench-") as scratch:
            return run_benchmark(
                sizes=sizes,
                frames=frames,
                repeats=repeats,
                model_threads=model_threads,
                effect=effect,
                rss_frames=rss_frames,
                workdir=scratch,
                log=log,
            )
    tmp = Path(workdir)
    model = load_model(str(make_bench_model(tmp / "bench.onnx")), threads=model_threads)
    # Model alone, for the "~3 ms model" figure.
    x = model.preprocess(synthetic_frame(0, 640, 480))
    mt = time_interleaved({"model": lambda: model.infer(x)}, runs=50, warmup=10)["model"]
    result = {
        "machine": machine_info(model_threads),
        "effect": effect,
        "frames_per_run": frames,
        "repeats": repeats,
        "model_ms": {"median": round(mt["median_ms"], 3), "p90": round(mt["p90_ms"], 3)},
        "sizes": {},
    }
    log(
        f"model alone: median {result['model_ms']['median']:.2f} ms, "
        f"p90 {result['model_ms']['p90']:.2f} ms ({model_threads} thread(s))"
    )

    for w, h in sizes:
        clip = make_clip(tmp / f"clip_{w}x{h}.mp4", w, h, n=frames)
        configs = {
            "inline->composite": {"threaded": False, "encode": False},
            "threads->composite": {"threaded": True, "encode": False},
            "inline->encode": {"threaded": False, "encode": True},
            "threads->encode": {"threaded": True, "encode": True},
        }
        runs = {k: [] for k in configs}
        stages = {}
        for r in range(repeats + 1):  # run 0 is the warm-up
            for name, cfg in configs.items():
                src = make_source(str(clip))
                fx = make_effect(effect, model.card)
                out = tmp / f"out_{w}x{h}.mp4"
                if out.exists():
                    out.unlink()
                sink = (
                    VideoSink(
                        out, fps=src.fps, time_base=src.time_base, rate=src.rate, audio_from=None
                    )
                    if cfg["encode"]
                    else NullSink()
                )
                st = Pipeline(src, model, fx, [sink], threaded=cfg["threaded"]).run()
                if r == 0:
                    continue
                runs[name].append(st["fps"])
                if not cfg["threaded"]:
                    for sname, s in st["stages"].items():
                        if sname == "sink" and not cfg["encode"]:
                            continue
                        key = "encode" if sname == "sink" else sname
                        stages.setdefault(key, []).append(s["median_ms"])
                        stages.setdefault(key + "_p90", []).append(s["p90_ms"])
        per_stage = {
            k: {"median_ms": _q(v, 50), "p90_ms": _q(stages[k + "_p90"], 50)}
            for k, v in stages.items()
            if not k.endswith("_p90")
        }
        overhead = sum(per_stage[s]["median_ms"] for s in OVERHEAD_STAGES if s in per_stage)
        fps = {
            k: {"median": _q(v, 50), "p90": _q(v, 90), "min": round(min(v), 2), "runs": v}
            for k, v in runs.items()
        }
        result["sizes"][f"{w}x{h}"] = {
            "stages": per_stage,
            "overhead_ms": round(overhead, 3),
            "fps": fps,
        }
        log(
            f"\n{w}x{h}: per-stage medians (inline runs; ms): "
            + ", ".join(
                f"{k} {v['median_ms']:.2f} (p90 {v['p90_ms']:.2f})" for k, v in per_stage.items()
            )
        )
        log(f"{w}x{h}: everything but the model: {overhead:.2f} ms/frame")
        for k, v in fps.items():
            log(f"{w}x{h}: {k:<20} fps median {v['median']:7.1f}  p90 {v['p90']:7.1f}")

    if rss_frames:
        src = SyntheticStream(rss_frames)
        samples = []

        def poll(done):
            if not samples or done - samples[-1][0] >= 1000:
                samples.append((done, round(_rss_mb(), 1)))

        t = time.perf_counter()
        pipe = Pipeline(src, model, make_effect(effect, model.card), [NullSink()])
        st = pipe.run(poll=poll)
        samples.append((st["frames"], round(_rss_mb(), 1)))
        base = next((mb for n, mb in samples if n >= 1000), samples[0][1])
        result["rss"] = {
            "frames": st["frames"],
            "seconds_of_video_at_30fps": st["frames"] / 30,
            "wall_s": round(time.perf_counter() - t, 1),
            "fps": st["fps"],
            "rss_mb_after_1000": base,
            "rss_mb_end": samples[-1][1],
            "growth_mb": round(max(mb for n, mb in samples if n >= 1000) - base, 1),
            "max_mb": max(mb for _, mb in samples),
            "samples": samples,
        }
        log(
            f"\nRSS over {st['frames']} synthetic 640x480 frames ({st['frames'] / 30 / 60:.1f} "
            f"min at 30 fps) at {st['fps']:.0f} fps: {base} MB after 1000 frames -> "
            f"{samples[-1][1]} MB at the end (largest growth {result['rss']['growth_mb']} MB)"
        )
    return result
