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

``--variants int8,fp16,fp32``: each model's precision variants instead (issue 15: does
onnxruntime-web's WASM backend run a float graph faster than the int8 QDQ one?): the zoo's
``<base>-int8.onnx`` and ``<base>-fp16.onnx`` and a plain float32 graph made here from the fp16
file (``fp32_from_fp16``: weights widened, the fp16 conversion's Casts removed; no torch), each
served by its own ``liveseg web`` (a copy in a folder of its own, card beside). Measured, all
interleaved: the page (WASM, as above) and ``liveseg run`` per variant, then
``--session-rounds`` runs of one onnxruntime-web session per variant alternating in one worker
(``wasm_sessions`` rows: ``session.run`` alone, nothing else of the page competing; on a busy
machine the ratio between variants is the figure to read).

Needs what the web tests need (scripts/setup_web_tests.sh, ``pip install -e '.[webtest]'``).
Usage (repository root, on a quiet machine):
  python benchmarks/web_latency.py --out benchmarks/results/web_latency.json
Smoke (few frames, one round): --models person-unet-lite0-320x320-int8 --repeats 1 --warmup 3
Variants: --models person-unet-lite0-320x320-int8 --variants int8,fp16,fp32
  --out benchmarks/results/web_variants.json
Input sizes (each file rewritten as ``--input-size`` does): --sizes 320x320,256x256,224x224
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from liveseg import zoo
from liveseg.bench.fresh_run import run_stats
from liveseg.bench.machine import machine_info
from liveseg.bench.timing import median_of
from liveseg.web.assets import pinned_version
from liveseg.web.browser import WebServer, find_chromium, launch, wait_frames

ROOT = Path(__file__).resolve().parents[1]
MODELS = (
    "person-unet-lite0-320x320-int8",
    "davis-subject-unet-lite0-mlp-216x384-int8",
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


def python_once(model: str, clip: Path, threads: int) -> dict:
    s = run_stats(
        clip, model, engine="onnxruntime", threads=threads, temporal="off", effect="blur", cwd=ROOT
    )
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


def at_size(subject: dict, size: str | None) -> dict:
    """The subject at input ``size`` (WxH): the file ``--input-size`` would run
    (``liveseg.runtime.input_resize``: the graph rewritten, same weights), or itself."""
    if size is None:
        return dict(subject, size=None)
    from liveseg.parsing import parse_size
    from liveseg.runtime.input_resize import model_at_input_size

    src = Path(subject["path"]) if Path(subject["path"]).is_file() else zoo.resolve(subject["path"])
    w, h = parse_size(size, "--sizes")
    path = model_at_input_size(src, (w, h))
    dims = subject.get("dims")
    return dict(subject, path=path, size=size, dims=dims and [*dims[:2], h, w])


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


# One worker, one onnxruntime-web session per variant, runs alternating on the same input:
# the variants share every slowdown of a busy machine, so their ratio holds.
SESSIONS_WORKER = """
import * as ort from '/ort/ort.wasm.min.mjs';
self.onmessage = async (e) => {
  const { urls, threads, dims, warmup, rounds } = e.data;
  try {
    ort.env.wasm.wasmPaths = '/ort/';
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = 'error';
    const sessions = [];
    for (const url of urls) {
      sessions.push(await ort.InferenceSession.create(url, {
        executionProviders: ['wasm'], graphOptimizationLevel: 'all' }));
    }
    const n = dims.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const x = new ort.Tensor('float32', data, dims);
    const once = async (s) => {
      const t0 = performance.now();
      const out = await s.run({ [s.inputNames[0]]: x });
      const ms = performance.now() - t0;
      for (const t of Object.values(out)) t.dispose?.();
      return ms;
    };
    for (const s of sessions) for (let i = 0; i < warmup; i++) await once(s);
    const times = urls.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < sessions.length; k++) {
        const i = (k + r) % sessions.length; // each round starts with the next variant
        times[i].push(await once(sessions[i]));
      }
    }
    const used = ort.env.wasm.numThreads;
    self.postMessage({ times, threads: used, isolated: self.crossOriginIsolated });
  } catch (err) {
    self.postMessage({ error: String(err?.message || err) });
  }
};
"""


def sessions_interleaved(browser, subjects, threads: int, warmup: int, rounds: int) -> list:
    """Per subject: the session.run times (ms) of ``rounds`` alternating runs in one worker
    (WASM, ``threads`` threads), served by liveseg web's own server and headers."""
    import threading

    from liveseg.web.assets import ort_dir
    from liveseg.web.server import Site, make_server

    first = Path(subjects[0]["path"])
    with tempfile.TemporaryDirectory() as tmp:
        worker = Path(tmp) / "sessions.mjs"
        worker.write_text(SESSIONS_WORKER)
        page_html = Path(tmp) / "blank.html"
        page_html.write_text("<!doctype html><title>sessions</title>")
        site = Site(ort_dir(), first, {})
        site.files["/bench/sessions.mjs"] = worker
        site.files["/bench/blank.html"] = page_html
        urls = []
        for i, s in enumerate(subjects):
            url = f"/bench/{i}-{Path(s['path']).name}"
            site.files[url] = Path(s["path"])
            urls.append(url)
        server = make_server(site, "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        page = browser.new_page()
        try:
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/bench/blank.html")
            res = page.evaluate(
                """([urls, threads, dims, warmup, rounds]) => new Promise((resolve) => {
                    const w = new Worker('/bench/sessions.mjs', { type: 'module' });
                    w.onmessage = (e) => { w.terminate(); resolve(e.data); };
                    w.onerror = (e) => resolve({ error: e.message || 'worker error' });
                    w.postMessage({ urls, threads, dims, warmup, rounds });
                })""",
                [urls, threads, subjects[0]["dims"], warmup, rounds],
            )
        finally:
            page.close()
            server.shutdown()
            server.server_close()
    if res.get("error"):
        raise RuntimeError(f"the sessions worker failed: {res['error']}")
    if not res["isolated"] or res["threads"] != threads:
        raise RuntimeError(f"asked for {threads} WASM threads, got {res['threads']}")
    return res["times"]


def _drop_identity_casts(model) -> int:
    """Remove the Cast nodes whose input already has the target type (after widening an fp16
    graph: every Cast the fp16 conversion inserted); how many were removed."""
    import onnx

    g = onnx.shape_inference.infer_shapes(model).graph
    types = {v.name: v.type.tensor_type.elem_type for v in (*g.value_info, *g.input)}
    types.update({i.name: i.data_type for i in g.initializer})
    graph = model.graph
    outputs = {o.name for o in graph.output}
    inputs = {i.name for i in graph.input} | {i.name for i in graph.initializer}
    removed = 0
    for node in list(graph.node):
        if node.op_type != "Cast":
            continue
        to = next(a.i for a in node.attribute if a.name == "to")
        src, dst = node.input[0], node.output[0]
        if types.get(src) != to or (dst in outputs and src in inputs):
            continue  # a different type, or a graph input passed straight to an output
        # A graph output keeps its name: the producer writes it directly.
        old, new = (src, dst) if dst in outputs else (dst, src)
        graph.node.remove(node)
        for n in graph.node:
            for names in (n.input, n.output):
                for i, name in enumerate(names):
                    if name == old:
                        names[i] = new
        removed += 1
    used = {t for n in graph.node for t in (*n.input, *n.output)}
    keep = [v for v in graph.value_info if v.name in used]
    del graph.value_info[:]
    graph.value_info.extend(keep)
    return removed


def fp32_from_fp16(path: Path):
    """The fp16 ONNX file as a plain float32 graph (no torch): fp16 initializers widened
    (``liveseg.quant.fp16.upcast_to_fp32``; exact), then the Casts the fp16 conversion put at
    the input, the output and around its blocked ops (Resize) removed. Checked against the
    fp16 graph in ONNX Runtime (same labels, logits within fp16 rounding)."""
    import onnx
    import onnxruntime as ort

    from liveseg.quant.fp16 import upcast_to_fp32

    half = onnx.load(str(path))
    wide = upcast_to_fp32(half)
    removed = _drop_identity_casts(wide)
    left = sum(n.op_type == "Cast" for n in wide.graph.node)
    onnx.checker.check_model(wide)
    shape = [d.dim_value for d in wide.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    name = wide.graph.input[0].name
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    a = ort.InferenceSession(str(path), so).run(None, {name: x})[0].astype(np.float32)
    b = ort.InferenceSession(wide.SerializeToString(), so).run(None, {name: x})[0]
    err = float(np.abs(a - b).max())
    agree = float((a.argmax(1) == b.argmax(1)).mean())
    if err > 0.02 * max(1.0, float(np.abs(a).max())) or agree < 0.99:
        raise RuntimeError(f"fp32 copy of {path.name} differs: max |diff| {err}, labels {agree}")
    return wide, {"casts_removed": removed, "casts_left": left, "max_abs_diff_vs_fp16": err}


def variant_files(model: str, precisions: list[str], folder: Path) -> list[dict]:
    """The precision variants of a shipped model (``<base>-int8``, ``<base>-fp16`` in the zoo;
    fp32 made from the fp16 file), each in a folder of its own with its card beside."""
    import onnx

    from liveseg.card import read_card

    base = re.sub(r"-(int8|fp16)$", "", zoo.resolve(model).stem)
    out = []
    for p in precisions:
        sub = folder / p
        sub.mkdir(parents=True, exist_ok=True)
        src = zoo.resolve(f"{base}-{'fp16' if p == 'fp32' else p}")
        if src is None:
            sys.exit(f"no shipped {base}-{p}")
        dst = sub / f"{base}-{p}.onnx"
        note = {}
        if p == "fp32":
            wide, note = fp32_from_fp16(src)
            onnx.save(wide, str(dst))
        else:
            shutil.copyfile(src, dst)
        card, _ = read_card(src)
        card.save(dst.with_suffix(".json"))
        shape = onnx.load(str(dst)).graph.input[0].type.tensor_type.shape
        dims = [d.dim_value for d in shape.dim]
        out.append({"precision": p, "path": dst, "made_from": src.name, "dims": dims, **note})
    return out


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
    ap.add_argument(
        "--variants",
        default=None,
        help="comma list of int8,fp16,fp32: these precision variants of each model",
    )
    ap.add_argument(
        "--sizes",
        default=None,
        help="comma list of WxH: run each model (or variant) at these input sizes too, as "
        "`liveseg web/run --input-size` does (the graph rewritten; default: the file's own)",
    )
    ap.add_argument("--no-python", action="store_true", help="the browser only")
    ap.add_argument(
        "--session-rounds",
        type=int,
        default=40,
        help="with --variants: also this many alternating session.run rounds of all variants "
        "in one worker per thread count (0: none)",
    )
    ap.add_argument(
        "--no-page", action="store_true", help="with --variants: only the alternating sessions"
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
    precisions = [v for v in (args.variants or "").split(",") if v]
    sizes = [v for v in (args.sizes or "").split(",") if v] or [None]
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
            if precisions:
                files = variant_files(model, precisions, work / model)
            else:
                files = [{"precision": None, "path": model}]
            subjects = [at_size(f, size) for f in files for size in sizes]
            runs = {}
            with contextlib.ExitStack() as stack:
                servers = [
                    stack.enter_context(WebServer("--model", s["path"], "--video", clip))
                    for s in subjects
                ]
                gpu = None if precisions else webgpu_adapter(browser, servers[0].url)
                # Interleaved: every round runs every subject at every thread count.
                for _ in range(0 if args.no_page else args.repeats):
                    for t in threads:
                        for i, (s, server) in enumerate(zip(subjects, servers, strict=True)):
                            if not args.no_python:
                                runs.setdefault((i, "python", t), []).append(
                                    python_once(str(s["path"]), clip, t)
                                )
                            runs.setdefault((i, "wasm", t), []).append(
                                browser_once(browser, server.url, "wasm", t, args.warmup)
                            )
                    if gpu:
                        for i, server in enumerate(servers):
                            runs.setdefault((i, "webgpu", 0), []).append(
                                browser_once(browser, server.url, "webgpu", 0, args.warmup)
                            )
            if precisions and args.session_rounds:
                for _ in range(args.repeats):
                    for t in threads:
                        times = sessions_interleaved(
                            browser, subjects, t, args.warmup, args.session_rounds
                        )
                        for i, ts in enumerate(times):
                            ms = float(np.median(ts))
                            runs.setdefault((i, "wasm_sessions", t), []).append(
                                {
                                    "infer_median_ms": round(ms, 2),
                                    "fps": round(1000 / ms, 2),
                                    "times_ms": [round(x, 1) for x in ts],
                                }
                            )
            from liveseg.card import read_card

            card = read_card(subjects[0]["path"] if precisions else zoo.resolve(model))[0]
            w, h = card.input_size
            for (i, where, t), rs in sorted(runs.items(), key=lambda kv: kv[0]):
                s = subjects[i]
                row = {
                    "model": model,
                    "input": s["size"] or f"{w}x{h}",
                    "where": where,
                    "threads": t,
                    "infer_median_ms": median_of(rs, "infer_median_ms", 2),
                    "fps": median_of(rs, "fps", 2),
                    "runs": rs,
                }
                if s["precision"]:
                    row["precision"] = s["precision"]
                    row["file"] = Path(s["path"]).name
                    row["made_from"] = s["made_from"]
                    row.update({k: s[k] for k in s if k.startswith(("casts_", "max_abs"))})
                rows.append(row)
        browser.close()
    info["webgpu_adapter"] = gpu
    print_table(rows, bool(precisions))
    if not gpu and not precisions:
        print("\nWebGPU: no adapter in this headless Chromium (not measured)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps({"machine": info, "command": " ".join(sys.argv), "rows": rows}, indent=1)
            + "\n"
        )
        print(f"wrote {args.out}")
    return 0


def print_table(rows: list[dict], variants: bool) -> None:
    label = {
        "python": "liveseg run (ORT Python)",
        "wasm": "browser WASM",
        "webgpu": "browser WebGPU",
        "wasm_sessions": "browser WASM, sessions alternating",
    }
    if variants:
        print(
            "\n| model | input | precision | backend | threads | ms / inference (median) | "
            "inferences/s | x int8 |"
        )
        print("|---|---|---|---|---|---|---|---|")
    else:
        print("\n| model | input | backend | threads | ms / inference (median) | fps |")
        print("|---|---|---|---|---|---|")
    for r in rows:
        if not variants:
            print(
                f"| {r['model']} | {r['input']} | {label[r['where']]} | {r['threads'] or '-'} | "
                f"{r['infer_median_ms']} | {r['fps']} |"
            )
            continue
        base = next(
            (
                b["infer_median_ms"]
                for b in rows
                if (b["model"], b["input"], b["where"], b["threads"], b.get("precision"))
                == (r["model"], r["input"], r["where"], r["threads"], "int8")
            ),
            None,
        )
        speedup = f"{base / r['infer_median_ms']:.2f}" if base and r["infer_median_ms"] else "-"
        print(
            f"| {r['model']} | {r['input']} | {r['precision']} | {label[r['where']]} | "
            f"{r['threads'] or '-'} | {r['infer_median_ms']} | {r['fps']} | {speedup} |"
        )


if __name__ == "__main__":
    sys.exit(main())
