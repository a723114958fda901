"""`liveseg bench quant`: accuracy, speed and size of a model's quantized variants.

Rows: the ONNX model as fp32, fp16, dynamic-range and int8 PTQ (built here, or given), an int8
QAT model if given, and the simulated low-bit rows (PyTorch fake quantization of the
checkpoint at w/a 32/32, 8/8, 6/6, 6/4, 4/4). mIoU of the ONNX rows is measured through the
runtime (``load_model(..).predict``, the path ``liveseg run`` uses) on the validation split;
the simulated rows through the trainer's evaluation. Runtime: median over interleaved ONNX
Runtime runs (and PyTorch eager for the float checkpoint) at --threads; simulated rows have
no integer kernel to time (their size is the packed weight size they would have).
"""

from __future__ import annotations

HELP = "quantization table: fp32/fp16/dynamic/int8 PTQ/QAT + simulated low-bit mIoU, speed, size"


def add_arguments(parser):
    parser.add_argument("--onnx", required=True, help="float32 ONNX model (with its card)")
    parser.add_argument("--checkpoint", help="training checkpoint of the same model: adds "
                        "PyTorch eager timing and the simulated low-bit rows")
    parser.add_argument("--data", required=True,
                        help="data set: camvid:ROOT, or a training config (.yaml) whose data "
                             "section is used (val split evaluated, train calibrates)")
    parser.add_argument("--val-split", default="val")
    parser.add_argument("--calib-split", default="train")
    parser.add_argument("--calib-samples", type=int, default=64)
    parser.add_argument("--limit", type=int, help="evaluate only the first N val images")
    parser.add_argument("--bits", default="32/32,8/8,6/6,6/4,4/4",
                        help="simulated w/a widths (default 32/32,8/8,6/6,6/4,4/4)")
    parser.add_argument("--variants", default="fp16,dynamic,int8,int8-full,int8-s8act",
                        help="ONNX variants besides fp32: fp16, dynamic, int8 (7-bit weights, "
                             "the default recipe), int8-full (8-bit weights), int8-s8act")
    parser.add_argument("--qat-onnx", help="an int8 QAT model to include (liveseg quantize --qat)")
    parser.add_argument("--workdir", default="out/bench_quant",
                        help="where the variants are written (reused when present)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per variant")
    parser.add_argument("--json", help="also write the rows as JSON here")


# ---------------------------------------------------------------------------------------------
def parse_spec(spec):
    """(kind, root, reader options) from ``kind:ROOT`` or a training config (.yaml), whose data
    section (split, class map ...) is used as it is."""
    from liveseg.errors import ConfigError

    if str(spec).endswith((".yaml", ".yml")):
        from liveseg.train.config import load_config

        data = load_config(spec)["data"]
        return data["dataset"], data["root"], dict(data.get("options") or {})
    kind, _, root = str(spec).partition(":")
    if not root:
        raise ConfigError(f"--data must look like camvid:ROOT or be a training config, got {spec!r}")
    return kind, root, {}


def calibration_spec(data, split, workdir) -> str:
    """What ``quantize_model`` calibrates on: the data set's ``split`` images. Data sets with
    reader options (a config's) get a folder of links to them, since a spec string has no room
    for options."""
    from pathlib import Path

    from liveseg.data.datasets import read_dataset

    kind, root, opts = parse_spec(data)
    if not opts:
        return f"{kind}:{root}:{split}"
    folder = Path(workdir) / f"calib-{split}"
    if not folder.is_dir():
        tmp = folder.with_name(folder.name + ".tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        for k, sample in enumerate(read_dataset(kind, root, split, **opts)[0]):
            link = tmp / f"{k:05d}{Path(sample.image).suffix}"
            if not link.exists():
                link.symlink_to(Path(sample.image).resolve())
        tmp.rename(folder)
    return str(folder)


def evaluate_onnx(model_path, data, split="val", limit=None, threads=1) -> dict:
    """mIoU of an ONNX model through the runtime, at label resolution."""
    import numpy as np

    from liveseg.data import build_dataset
    from liveseg.metrics.segmentation import ConfusionMatrix
    from liveseg.runtime import load_model

    kind, root, opts = parse_spec(data)
    ds = build_dataset(kind, root, split, transform=None, cache=False, **opts)
    model = load_model(str(model_path), engine="onnxruntime", threads=threads)
    cm = ConfusionMatrix(ds.info.num_classes, ds.info.ignore_index)
    n = len(ds) if not limit else min(limit, len(ds))
    for i in range(n):
        img, mask = ds.load(i)
        pred = model.predict(np.ascontiguousarray(img))
        cm.update(pred.labels(), mask)
    return {"miou": cm.miou(), "pixel_acc": cm.pixel_acc(), "images": n}


def time_interleaved(fns: dict, runs=20, warmup=3) -> dict:
    """Median / p90 milliseconds per call, the variants called in turn (A B C A B C ...)."""
    import time

    import numpy as np

    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {k: [] for k in fns}
    for _ in range(runs):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append((time.perf_counter() - t0) * 1e3)
    return {k: {"median_ms": float(np.median(v)), "p90_ms": float(np.percentile(v, 90)),
                "runs": len(v)} for k, v in times.items()}


def ort_runner(path, threads, x, config=None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    for k, v in (config or {}).items():
        so.add_session_config_entry(k, v)
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: x}
    return lambda: sess.run(None, feed)


def torch_runner(model, threads, x):
    import torch

    torch.set_num_threads(threads)
    xt = torch.from_numpy(x)
    model.eval()

    def run():
        with torch.inference_mode():
            model(xt)

    return run


def build_variants(onnx_path, workdir, data, calib_split, calib_samples, log=print,
                   names=("fp16", "dynamic", "int8", "int8-full", "int8-s8act")) -> dict:
    """fp16 / dynamic / int8 PTQ files of the model in workdir (reused when already there)."""
    from pathlib import Path

    from liveseg.export.fp16 import convert_fp16
    from liveseg.export.quantize import quantize_dynamic_model, quantize_model

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    calib = calibration_spec(data, calib_split, workdir)
    stem = Path(onnx_path).stem
    out = {"fp32": Path(onnx_path)}
    jobs = {
        "fp16": lambda p: convert_fp16(onnx_path, p),
        "dynamic": lambda p: quantize_dynamic_model(onnx_path, p),
        "int8": lambda p: quantize_model(onnx_path, p, calib,
                                         samples=calib_samples, reduce_range=True),
        "int8-full": lambda p: quantize_model(onnx_path, p, calib,
                                              samples=calib_samples, reduce_range=False),
        "int8-s8act": lambda p: quantize_model(onnx_path, p, calib,
                                               samples=calib_samples, activation_type="int8",
                                               reduce_range=True),
    }
    unknown = set(names) - set(jobs)
    if unknown:
        from liveseg.errors import ConfigError

        raise ConfigError(f"unknown variants {sorted(unknown)}; choose from {sorted(jobs)}")
    for name in names:
        job = jobs[name]
        p = workdir / f"{stem}-{name}.onnx"
        if not p.exists():
            log(f"building {p.name} ...")
            job(p)
        out[name] = p
    return out


def simulated_rows(checkpoint, data, bits, calib_split, calib_samples, limit=None,
                   log=print) -> list[dict]:
    """mIoU of the checkpoint under fake quantization at each w/a width."""
    from pathlib import Path

    import torch

    from liveseg.data import build_dataset, collate
    from liveseg.data.transforms import ValTransform
    from liveseg.export.checkpoint_model import build_from_source
    from liveseg.export.lowbit import calibrate, fake_quantize_model, packed_size_bytes
    from liveseg.export.qat import normalize
    from liveseg.train.evaluate import evaluate_model

    kind, root, opts = parse_spec(data)
    from liveseg.export.checkpoint_model import _load
    from liveseg.export.qat import card_from_checkpoint

    model, card, _ = build_from_source(str(checkpoint))
    model.eval()
    card = card_from_checkpoint(_load(Path(checkpoint)), card).to_dict()
    size = card.get("input_size") or [480, 360]
    mean = card.get("mean") or [0.485, 0.456, 0.406]
    std = card.get("std") or [0.229, 0.224, 0.225]
    val = build_dataset(kind, root, "val", transform=ValTransform(size), cache=False, **opts)
    if limit:
        val = torch.utils.data.Subset(val, range(min(limit, len(val))))
        val.info = val.dataset.info
    loader = torch.utils.data.DataLoader(val, batch_size=4, collate_fn=collate)
    calib_ds = build_dataset(kind, root, calib_split, transform=ValTransform(size), cache=False,
                             **opts)
    idx = torch.linspace(0, len(calib_ds) - 1, min(calib_samples, len(calib_ds))).round().long()
    calib_batches = [normalize(collate([calib_ds[int(i)] for i in idx[j:j + 8]])["image"],
                              mean, std) for j in range(0, len(idx), 8)]
    info = val.info if hasattr(val, "info") else val.dataset.info
    rows = []
    for w, a in bits:
        fq = fake_quantize_model(model, w, a, calib_batches[0][:1])
        calibrate(fq, calib_batches)
        res = evaluate_model(fq, loader, info, torch.device("cpu"), mean, std)
        rows.append({"w": w, "a": a, "miou": res["miou"],
                     "packed_bytes": packed_size_bytes(fq.float_model(), w)})
        log(f"  simulated {w}/{a}: mIoU {100 * res['miou']:.2f}")
    return rows, model


def run(args) -> int:
    import json
    import platform
    from pathlib import Path

    import numpy as np
    import onnxruntime as ort

    from liveseg.errors import ConfigError
    from liveseg.export.lowbit import output_stride
    from liveseg.export.quantize import card_for_model, card_preprocess

    try:
        bits = [tuple(int(v) for v in b.split("/")) for b in args.bits.split(",") if b]
    except ValueError:
        raise ConfigError(f"--bits must look like 8/8,6/4, got {args.bits!r}") from None
    if args.json:  # checked now, not after the whole benchmark
        from liveseg.atomic import check_output_file

        check_output_file(args.json, "--json file", overwrite=True)
    card = card_for_model(args.onnx)
    variants = build_variants(args.onnx, args.workdir, args.data, args.calib_split,
                              args.calib_samples,
                              names=[v for v in args.variants.split(",") if v and v != "fp32"])
    if args.qat_onnx:
        variants["int8-qat"] = Path(args.qat_onnx)
    frame = np.random.default_rng(0).integers(0, 255, (card.input_size[1], card.input_size[0], 3),
                                              dtype=np.uint8)
    x = card_preprocess(card)(frame)
    fns = {k: ort_runner(p, args.threads, x) for k, p in variants.items()}
    rows_sim, torch_model = [], None
    if args.checkpoint:
        rows_sim, torch_model = simulated_rows(args.checkpoint, args.data, bits,
                                               args.calib_split, args.calib_samples, args.limit)
        fns["pytorch-eager"] = torch_runner(torch_model, args.threads, x)
    timing = time_interleaved(fns, runs=args.runs)
    rows = []
    stride = output_stride(card.architecture or card.name)
    if stride == "-" and args.checkpoint:
        import torch

        opts = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
        stride = output_stride("", (opts.get("config") or {}).get("model", {}).get("options"))
    net = card.architecture or card.name
    size_txt = f"{card.input_size[0]}x{card.input_size[1]}"
    labels = {"fp32": "fp32 (32/32)", "fp16": "fp16 (16/16)", "dynamic": "dynamic (8/fp32)",
              "int8": "int8 PTQ (8/8, 7-bit w)", "int8-full": "int8 PTQ (8/8, full w)",
              "int8-s8act": "int8 PTQ, int8 act (8/8)",
              "int8-qat": "int8 QAT (8/8)"}
    for k, p in variants.items():
        ev = evaluate_onnx(p, args.data, args.val_split, args.limit, threads=args.threads)
        rows.append({"network": net, "input": size_txt, "stride": stride,
                     "quantization": labels.get(k, k), "engine": "onnxruntime",
                     "miou": ev["miou"], "runtime_ms": timing[k]["median_ms"],
                     "p90_ms": timing[k]["p90_ms"], "file_bytes": Path(p).stat().st_size,
                     "variant": k})
    if "pytorch-eager" in timing:
        rows.append({"network": net, "input": size_txt, "stride": stride,
                     "quantization": "PyTorch eager fp32", "engine": "torch",
                     "miou": next((r["miou"] for r in rows_sim if r["w"] == 32), float("nan")),
                     "runtime_ms": timing["pytorch-eager"]["median_ms"],
                     "p90_ms": timing["pytorch-eager"]["p90_ms"],
                     "file_bytes": Path(args.checkpoint).stat().st_size, "variant": "pytorch"})
    for r in rows_sim:
        rows.append({"network": net, "input": size_txt, "stride": stride,
                     "quantization": f"simulated {r['w']}/{r['a']}", "engine": "torch fake-quant",
                     "miou": r["miou"], "runtime_ms": None, "p90_ms": None,
                     "file_bytes": r["packed_bytes"], "variant": f"sim{r['w']}/{r['a']}"})
    print(format_table(rows))
    base = timing.get("fp32", {}).get("median_ms")
    int8 = timing.get("int8", {}).get("median_ms")
    if base and int8:
        print(f"int8/fp32 speed-up {base / int8:.2f}x", end="")
        if "pytorch-eager" in timing:
            print(f", int8/PyTorch eager {timing['pytorch-eager']['median_ms'] / int8:.2f}x", end="")
        print(f"; int8 file {100 * variants['int8'].stat().st_size / variants['fp32'].stat().st_size:.0f}%"
              f" of fp32; threads={args.threads}, {args.runs} interleaved runs")
    if args.json:
        meta = {"cpu": platform.processor() or platform.machine(), "threads": args.threads,
                "onnxruntime": ort.__version__, "python": platform.python_version()}
        from liveseg.atomic import write_text_atomic

        write_text_atomic(args.json, json.dumps({"machine": meta, "rows": rows}, indent=2) + "\n")
    return 0


def format_table(rows) -> str:
    head = ("Network", "Input", "Stride", "Quantization (w/a)", "mIoU", "Runtime", "File size")
    body = []
    for r in rows:
        rt = "n/a (simulated)" if r["runtime_ms"] is None else \
            f"{r['runtime_ms']:.1f} ms (p90 {r['p90_ms']:.1f})"
        packed = r["runtime_ms"] is None and not str(r.get("variant", "")).startswith("sim32")
        size = f"{r['file_bytes'] / 1e6:.2f} MB" + (" (packed)" if packed else "")
        body.append((r["network"], r["input"], str(r["stride"]), r["quantization"],
                     f"{100 * r['miou']:.2f}", rt, size))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    line = " | ".join(h.ljust(w) for h, w in zip(head, widths))
    out = [line, "-|-".join("-" * w for w in widths)]
    out += [" | ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in body]
    return "\n".join(out)
