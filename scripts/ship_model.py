"""Turn a finished training run into shipped zoo models: int8 + fp16 ONNX with measured cards.

Every figure in the cards comes from the public commands, run here in order:
  1. ``liveseg quantize``  fp32 ONNX -> int8 QDQ (calibrated on training images of the run's data
                           set, never its validation split) and -> fp16
  2. ``liveseg eval``      fp32, fp16 and int8 on the run's validation split (mIoU, or J&F
                           for DAVIS)
  3. ``liveseg run``       end-to-end fps on the 640x480 demo clip (decode -> effect, null sink),
                           several repeats, median; 1 and 2 threads
and then the files are written into ``src/liveseg/zoo`` as ``<name>-int8.onnx`` (what the runtime
uses) and ``<name>-fp16.onnx`` (the float reference), each with its ``.json`` card. The fp32
file is not shipped: the zoo's architectures are 2.7-3 M parameters, 10.9-12.1 MB in fp32, over
the 10 MB limit for shipped files; its metrics are in the cards, and ``liveseg train`` with the
run's config reproduces it.

Usage (from the repository root):
  python scripts/ship_model.py runs/<run> --config configs/<run>.yaml --name <zoo name>
      [--int8 runs/<run>/<qat>.onnx]   # ship a QAT model instead of the PTQ one
      [--no-speed]                     # step 3 later, on a quiet CPU:
  python scripts/ship_model.py --speed-only --name <zoo name>   # re-measure a card's speed
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import onnx

from liveseg.bench.fresh_run import run_stats
from liveseg.card import ModelCard

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT / "src" / "liveseg" / "zoo"


def sh(*cmd):
    print("$", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT)


def liveseg(*args):
    sh(sys.executable, "-m", "liveseg", *args)


def evaluate(model: Path, config: str, threads: int, work: Path) -> dict:
    out = work / f"eval-{model.stem}.json"
    liveseg("eval", model, "--config", config, "--threads", threads, "--json", out, "--overwrite")
    return json.loads(out.read_text())


def e2e_fps(model: Path, clip: Path, threads: int, effect: str, repeats: int) -> dict:
    fps, infer, engines = [], [], set()
    for _ in range(repeats):
        # Every frame through the network: the card's speed is the model's, not the reuse's.
        s = run_stats(
            clip,
            model,
            threads=threads,
            effect=effect,
            temporal="off",
            cwd=ROOT,
            log=lambda line: print(line, flush=True),
        )
        fps.append(float(s["fps"]))
        choice = s.get("engine_choice") or {}
        engines.add(choice.get("spec") or (s.get("engine") or {}).get("engine") or "?")
        stage = s["stages"]["infer"]
        if "median_ms" in stage:
            infer.append(float(stage["median_ms"]))
    out = {
        "e2e_fps_median": round(statistics.median(fps), 1),
        "e2e_fps_runs": fps,
        "engine": ", ".join(sorted(engines)),
    }  # what --engine auto chose
    if infer:
        out["inference_ms_median"] = round(statistics.median(infer), 2)
    return out


def measure_speed(models, effect: str, repeats: int, work: Path) -> dict:
    """Step 3: E2E fps of each model on the 640x480 demo clip at 1 and 2 threads."""
    from liveseg.video.demo import make_demo_clip

    clip = make_demo_clip(work / "demo.mp4")
    return {
        m.stem: {f"{t}_threads": e2e_fps(m, clip, t, effect, repeats) for t in (1, 2)}
        for m in models
    }


def latency_entry(model: Path, speed: dict, effect: str, repeats: int) -> dict:
    machine = f"{platform.processor() or platform.machine()}, {platform.system()}, 2 cores"
    return {
        "input": "640x480 demo clip (liveseg run --demo source)",
        "effect": effect,
        "sink": "null",
        "engine": "liveseg run's default --engine auto (choice per thread "
        "count in N_threads.engine)",
        **speed,
        "machine": machine,
        "measured_with": f"liveseg run demo.mp4 --model {model.name} --threads T "
        f"--effect {effect} --temporal off --stats s.json "
        f"(median of {repeats})",
    }


def write_card(model: Path, card: dict) -> None:
    """The same card beside the file and inside it (ONNX metadata)."""
    net = onnx.load(str(model))
    ModelCard.from_dict(card).embed_in_onnx(net)
    onnx.save(net, str(model))
    model.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")


def speed_only(args) -> int:
    """Re-measure the speed of shipped files (quiet CPU) and rewrite their cards' latency."""
    zoo = Path(args.zoo)
    models = [zoo / f"{args.name}-{k}.onnx" for k in ("int8", "fp16")]
    missing = [m for m in models if not m.is_file()]
    if missing:
        sys.exit(f"not shipped: {missing[0]}")
    work = Path(tempfile.mkdtemp(prefix="ship-speed-"))
    copies = []
    for m in models:  # measured and rewritten as copies, then moved over the shipped files
        shutil.copy(m, work / m.name)
        shutil.copy(m.with_suffix(".json"), work / m.with_suffix(".json").name)
        copies.append(work / m.name)
    effect = args.effect
    speed = measure_speed(copies, effect, args.repeats, work)
    for c, m in zip(copies, models, strict=True):
        card = json.loads(c.with_suffix(".json").read_text())
        card["latency"] = latency_entry(c, speed[c.stem], effect, args.repeats)
        write_card(c, card)
        for src, dst in ((c, m), (c.with_suffix(".json"), m.with_suffix(".json"))):
            tmp = dst.with_name(dst.name + ".tmp")
            shutil.copyfile(src, tmp)
            tmp.chmod(0o644)
            tmp.replace(dst)
        print(f"{m.name}: {json.dumps(speed[c.stem])}")
    return 0


def headline(metrics: dict) -> dict:
    """The few numbers a card shows first (mIoU for semantic models, J&F for DAVIS, per-image
    IoU and boundary F per source for photo collections)."""
    keep = {}
    for key in (
        "miou",
        "pixel_acc",
        "mean_class_acc",
        "per_class_iou",
        "jf",
        "j_mean",
        "f_mean",
        "flicker",
        "dtssd",
        "j_and_f",
    ):
        if key in metrics:
            keep[key] = metrics[key]
    video = metrics.get("video") or {}
    for key in ("jf", "j_mean", "f_mean", "flicker", "dtssd"):
        if key in video and key not in keep:
            keep[key] = video[key]
    stills = metrics.get("stills")
    if stills:  # photo sources (person data): mean per-image IoU and boundary F per source
        keep["iou_per_image_mean"] = round(stills["j_mean"], 4)
        keep["boundary_f_mean"] = round(stills["f_mean"], 4)
        for group, c in stills["per_group"].items():
            keep[f"iou_{group}"] = round(c["j"], 4)
            keep[f"boundary_f_{group}"] = round(c["f"], 4)
    return keep


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "run", nargs="?", help="training run folder (holds <name>.onnx + .json from liveseg train)"
    )
    ap.add_argument("--config", help="the run's training YAML (data set for eval)")
    ap.add_argument("--name", required=True, help="zoo name, e.g. davis-subject-unet-lite0-144x256")
    ap.add_argument("--calib-samples", type=int, default=128)
    ap.add_argument("--effect", default="blur", help="effect for the E2E fps figure")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--eval-threads", type=int, default=2)
    ap.add_argument("--zoo", default=str(ZOO), help="where to write the shipped files")
    ap.add_argument("--onnx", help="the fp32 ONNX to ship (default: the run's final export)")
    ap.add_argument("--training-data", help="replace the card's training_data text")
    ap.add_argument("--notes", help="text appended to the cards' notes (initial weights, split...)")
    ap.add_argument(
        "--target-cpu",
        default="avx2",
        choices=("avx2", "vnni", "arm", "host"),
        help="CPU the int8 file is quantized for (default avx2: runs right anywhere)",
    )
    ap.add_argument(
        "--int8",
        help="ship this int8 ONNX instead of post-training quantizing the "
        "fp32 one (e.g. the output of liveseg quantize CKPT --qat)",
    )
    ap.add_argument(
        "--no-speed", action="store_true", help="skip step 3 (busy CPU); run --speed-only later"
    )
    ap.add_argument(
        "--speed-only",
        action="store_true",
        help="only re-measure the speed of the shipped --name files, rewrite their cards",
    )
    args = ap.parse_args(argv)
    if args.speed_only:
        return speed_only(args)
    if not args.run or not args.config:
        ap.error("RUN and --config are needed (or --speed-only)")

    run = Path(args.run)
    fp32_src = Path(args.onnx) if args.onnx else run / f"{run.name}.onnx"
    if not args.onnx and not fp32_src.is_file():
        # the config's export.name, when it differs from the run's: the run's only export
        exports = [p for p in run.glob("*.onnx") if p.with_suffix(".json").is_file()]
        fp32_src = exports[0] if len(exports) == 1 else fp32_src
    if not fp32_src.is_file():
        fp32_src = None
    if fp32_src is None:
        sys.exit(f"no exported ONNX in {run}: finish the training run (liveseg train) first")
    card = json.loads(fp32_src.with_suffix(".json").read_text())

    work = Path(tempfile.mkdtemp(prefix="ship-"))
    fp32 = work / f"{args.name}-fp32.onnx"
    fp16 = work / f"{args.name}-fp16.onnx"
    int8 = work / f"{args.name}-int8.onnx"
    shutil.copy(fp32_src, fp32)
    shutil.copy(fp32_src.with_suffix(".json"), fp32.with_suffix(".json"))
    shipped = (int8, fp16)

    # 1. int8: calibration images come from the run's own training split (never the val split).
    import yaml

    cfg = yaml.safe_load(Path(args.config).read_text())
    root = (ROOT / cfg["data"]["root"]).resolve()
    dataset = cfg["data"]["dataset"]
    val_clips = set(cfg["data"].get("options", {}).get("val_clips", []))
    if dataset in ("camvid", "davis2016"):
        calib_dir = {"camvid": root / "train", "davis2016": root / "JPEGImages"}[dataset]
    else:  # person photos, folders (SYSU -> VOC-21): the training split's own images, spread out
        from liveseg.data.datasets import read_dataset

        calib_dir = work / "calib"
        calib_dir.mkdir()
        samples, _, _ = read_dataset(
            dataset, root, cfg["data"].get("train_split", "train"), **cfg["data"].get("options", {})
        )
        for k, sample in enumerate(samples[:: max(1, len(samples) // (2 * args.calib_samples))]):
            (calib_dir / f"{k:04d}{sample.image.suffix}").symlink_to(sample.image)
    if val_clips:  # DAVIS: calibrate on training clips only
        calib_dir = work / "calib"
        calib_dir.mkdir()
        for clip in sorted((root / "JPEGImages").iterdir()):
            if clip.name not in val_clips:
                for f in sorted(clip.glob("*.jpg"))[::8]:
                    (calib_dir / f"{clip.name}-{f.name}").symlink_to(f)
    if args.int8:
        shutil.copy(args.int8, int8)
        qat = "QAT" in json.loads(Path(args.int8).with_suffix(".json").read_text()).get("notes", "")
    else:
        qat = False
        # Shipped files run on any CPU: 7-bit weights (reduce_range), which AVX2 CPUs without
        # VNNI need (their int16 pair sums saturate) and VNNI/AMX CPUs run as fast.
        liveseg(
            "quantize",
            fp32,
            "--calib",
            calib_dir,
            "--samples",
            args.calib_samples,
            "-o",
            int8,
            "--overwrite",
            "--target-cpu",
            args.target_cpu,
        )
    liveseg("quantize", fp32, "--format", "fp16", "-o", fp16, "--overwrite")

    # 2. accuracy on the validation split, fp32 and int8 through the same runtime.
    metrics = {
        m.stem: evaluate(m, args.config, args.eval_threads, work) for m in (fp32, fp16, int8)
    }

    # 3. speed on the 640x480 demo clip.
    speed = (
        {m.stem: {} for m in (fp32, fp16, int8)}
        if args.no_speed
        else measure_speed((fp32, fp16, int8), args.effect, args.repeats, work)
    )
    weight_range = (
        "reduce_range, for any x86 CPU"
        if args.target_cpu == "avx2"
        else f"full 8-bit, for {args.target_cpu} CPUs"
    )
    for m in shipped:
        c = dict(card)
        c["name"] = m.stem
        c["metrics"] = {
            "val": headline(metrics[m.stem]),
            "split": cfg["data"].get("val_split", "val"),
            "val_clips": sorted(val_clips) or None,
            "measured_with": f"liveseg eval {m.name} --config {args.config}",
            "fp32_val": headline(metrics[fp32.stem]),
        }
        c["latency"] = (
            latency_entry(m, speed[m.stem], args.effect, args.repeats)
            if speed[m.stem]
            else {"pending": "ship_model.py --speed-only"}
        )
        c["notes"] = (
            (c.get("notes") or "")
            + (
                " int8: ONNX Runtime static QDQ, uint8 activations, int8 per-channel weights "
                f"({weight_range}), "
                "calibrated on training images"
                + (
                    ", fine-tuned with quantization-aware training (fake quant, distillation from "
                    "the float model) and its activation ranges pinned."
                    if qat
                    else "."
                )
                if m is int8
                else " fp16 weights of the fp32 export (the fp32 file is over the 10 MB limit)"
            )
        ).strip()
        if args.training_data:
            c["training_data"] = args.training_data
        if args.notes:
            c["notes"] = (c["notes"] + " " + args.notes).strip()
        write_card(m, c)
        size = m.stat().st_size
        if size > 10 * 1000 * 1000:
            sys.exit(f"{m.name} is {size / 2**20:.1f} MiB: over the 10 MB limit for shipped files")

    for m in shipped:
        for src in (m, m.with_suffix(".json")):
            dst = Path(args.zoo) / src.name
            shutil.copyfile(src, dst)
            dst.chmod(0o644)
        print(f"shipped {Path(args.zoo) / m.name} ({m.stat().st_size / 2**20:.2f} MiB)")
    summary = {
        m.stem: {
            "metrics": headline(metrics[m.stem]),
            "speed": speed[m.stem],
            "size_mib": round(m.stat().st_size / 2**20, 2),
        }
        for m in (fp32, fp16, int8)
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
