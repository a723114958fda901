"""Inference time of the shipped models in the browser (`liveseg web`, headless Chromium)
beside the same model in `liveseg run` (ONNX Runtime, Python), in one session.

Per model, interleaved over ``--repeats`` rounds:
- browser: the page of ``liveseg web --video demo.webm`` (the 640x480 demo clip, 30 fps, blur)
  with ``?backend=wasm&threads=T`` for each ``--threads`` value, and WebGPU when the browser
  has an adapter; the figure is the page's median ``session.run`` time over 30 frames after
  ``--warmup`` frames (``window.livesegStats.inferMsMedian``), the network's runs per second
  (``inferFps``: pre/postprocessing and drawing included) beside it;
- Python: ``liveseg run demo.webm --engine onnxruntime --threads T --temporal off --effect
  blur``: the median of its inference stage (``--stats``), fps beside it.
The table is the median over rounds. Machine info (CPU model and flags, Chromium,
onnxruntime, onnxruntime-web) is printed and saved with the figures.

Needs what the web tests need (scripts/setup_web_tests.sh, ``pip install -e '.[webtest]'``).
Usage (repository root, on a quiet machine):
  python benchmarks/web_latency.py --out benchmarks/results/web_latency.json
Smoke (few frames, one round): --models person-unet-lite0-256x256-int8 --repeats 1 --warmup 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from liveseg.bench.machine import machine_info
from liveseg.bench.timing import median_of
from liveseg.web.assets import pinned_version
from liveseg.web.browser import WebServer, find_chromium, launch, wait_frames

ROOT = Path(__file__).resolve().parents[1]
MODELS = (
    "person-unet-lite0-256x256-int8",
    "davis-subject-unet-lite0-mlp-144x256-int8",
    "camvid-unet-lite0-mlp-360x480-int8",
)


def demo_webm(path: Path) -> Path:
    """The demo clip (640x480, 4 s, 30 fps) as VP8 WebM, which every Chromium build plays."""
    import av

    from liveseg.video.demo import demo_frames

    with av.open(str(path), "w") as out:
        s = out.add_stream("libvpx", rate=30)
        s.width, s.height, s.pix_fmt = 640, 480, "yuv420p"
        s.options = {"crf": "10", "b:v": "4M"}
        for f in demo_frames():
            for pkt in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    return path


def python_once(model: str, clip: Path, threads: int, work: Path, k: int) -> dict:
    stats = work / f"run-{model}-{threads}-{k}.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "liveseg",
            "run",
            str(clip),
            "--model",
            model,
            "--engine",
            "onnxruntime",
            "--threads",
            str(threads),
            "--temporal",
            "off",
            "--effect",
            "blur",
            "--stats",
            str(stats),
            "--no-progress",
            "--quiet",
            "--overwrite",
        ],
        check=True,
        cwd=ROOT,
    )
    s = json.loads(stats.read_text())
    return {"infer_median_ms": s["stages"]["infer"]["median_ms"], "fps": float(s["fps"])}


def browser_once(browser, url: str, backend: str, threads: int, warmup: int) -> dict:
    page = browser.new_page()
    try:
        page.goto(f"{url}&backend={backend}&threads={threads}&effect=blur")
        start = wait_frames(page, warmup)["inferred"]
        s = wait_frames(page, start + 30)
    finally:
        page.close()
    if s["backend"] != backend:
        raise RuntimeError(f"asked for {backend}, the page ran {s['backend']}")
    return {
        "infer_median_ms": round(s["inferMsMedian"], 2),
        "fps": round(s["inferFps"], 1),
        "shown_fps": round(s["fps"], 1),
        "threads": s["threads"],
    }


def webgpu_adapter(browser, url: str) -> str | None:
    page = browser.new_page()
    try:
        page.goto(url)
        return page.evaluate("""async () => {
            if (!navigator.gpu) return null;
            const a = await navigator.gpu.requestAdapter();
            if (!a) return null;
            const i = a.info || {};
            return [i.vendor, i.architecture, i.description].filter(Boolean).join(' ') || 'adapter';
        }""")
    finally:
        page.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument(
        "--threads",
        default=f"1,{os.cpu_count()}",
        help="WASM / ONNX Runtime thread counts (default 1 and all cores)",
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=10, help="page frames before measuring")
    ap.add_argument("--out", type=Path, help="JSON results")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    if chromium is None:
        sys.exit("no Chromium: run scripts/setup_web_tests.sh")
    models = [m for m in args.models.split(",") if m]
    threads = sorted({int(t) for t in args.threads.split(",")})
    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        work = Path(tmp)
        clip = demo_webm(work / "demo.webm")
        browser = launch(pw, chromium)
        info = machine_info(
            "onnxruntime", "cv2", chromium=browser.version, onnxruntime_web=pinned_version()
        )
        print(
            f"# {info['cpu']} ({info['cores']} logical cores); Chromium {browser.version}, "
            f"onnxruntime-web {info['onnxruntime_web']}, onnxruntime {info.get('onnxruntime')}"
        )
        print(f"# CPU flags: {info['cpu_flags']}")
        gpu = None
        for model in models:
            runs = {}
            with WebServer("--model", model, "--video", clip) as server:
                gpu = webgpu_adapter(browser, server.url)
                for k in range(args.repeats):
                    for t in threads:
                        runs.setdefault(("python", t), []).append(
                            python_once(model, clip, t, work, k)
                        )
                        runs.setdefault(("wasm", t), []).append(
                            browser_once(browser, server.url, "wasm", t, args.warmup)
                        )
                    if gpu:
                        runs.setdefault(("webgpu", 0), []).append(
                            browser_once(browser, server.url, "webgpu", 0, args.warmup)
                        )
            from liveseg.card import ModelCard
            from liveseg.zoo import ZOO_DIR

            w, h = ModelCard.load(ZOO_DIR / f"{model}.json").input_size
            for (where, t), rs in runs.items():
                row = {
                    "model": model,
                    "input": f"{w}x{h}",
                    "where": where,
                    "threads": t,
                    "infer_median_ms": median_of(rs, "infer_median_ms", 2),
                    "fps": median_of(rs, "fps", 2),
                    "runs": rs,
                }
                rows.append(row)
        browser.close()
    info["webgpu_adapter"] = gpu
    print("\n| model | input | backend | threads | ms / inference (median) | fps |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        label = {
            "python": "liveseg run (ORT Python)",
            "wasm": "browser WASM",
            "webgpu": "browser WebGPU",
        }[r["where"]]
        print(
            f"| {r['model']} | {r['input']} | {label} | {r['threads'] or '-'} | "
            f"{r['infer_median_ms']} | {r['fps']} |"
        )
    if not gpu:
        print("\nWebGPU: no adapter in this headless Chromium (not measured)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps({"machine": info, "command": " ".join(sys.argv), "rows": rows}, indent=1)
            + "\n"
        )
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
