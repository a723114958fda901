"""`liveseg eval`: segmentation metrics for a model on a data set, or for saved predictions.

liveseg eval MODEL.onnx|MODEL.tflite|NAME --config configs/x.yaml [--flip] [--scales ...]
liveseg eval runs/x/best.pt [--flip] [--scales 0.75,1,1.25]
liveseg eval --pred DIR --gt DIR --metric miou --num-classes N [--ignore-index V]
liveseg eval --pred DIR --gt DIR --metric jf [--all-frames]
"""

HELP = "evaluate a model (checkpoint, ONNX, TFLite) or saved predictions: mIoU, J&F, flicker"


def add_arguments(parser):
    parser.add_argument(
        "model", nargs="?", help="PyTorch checkpoint (.pt), ONNX/TFLite file or zoo name"
    )
    g = parser.add_argument_group("data set (for a model)")
    g.add_argument("--config", help="take the data set from this training YAML (data section)")
    g.add_argument("--dataset", help="camvid, davis2016, davis2017, voc, cityscapes, folder")
    g.add_argument("--root", help="data set folder")
    g.add_argument(
        "--split", default=None, help="split to evaluate (default: the config's val split)"
    )
    g.add_argument(
        "--data-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="reader option, e.g. val_clips=[bear,hike] or aug=true (repeatable)",
    )
    g.add_argument("--limit", type=int, default=None, help="evaluate only the first N images")
    t = parser.add_argument_group("test-time augmentation")
    t.add_argument(
        "--flip", action="store_true", help="average with the horizontally flipped input"
    )
    t.add_argument(
        "--scales",
        default="1.0",
        help="comma-separated input scales, e.g. 0.75,1.0,1.25 (multi-scale)",
    )
    t.add_argument(
        "--all-frames",
        action="store_true",
        help="J&F: keep each clip's first and last frames (DAVIS drops them)",
    )
    f = parser.add_argument_group("saved predictions")
    f.add_argument("--pred", help="folder of predicted label maps (PNG, matched by file name)")
    f.add_argument("--gt", help="folder of ground-truth label maps")
    f.add_argument("--metric", choices=("miou", "jf"), default="miou")
    f.add_argument("--num-classes", type=int, help="number of classes (--metric miou)")
    f.add_argument("--ignore-index", type=int, default=255, help="ground-truth value to ignore")
    o = parser.add_argument_group("run")
    o.add_argument("--engine", default="auto", help="runtime engine for model files")
    o.add_argument("--threads", type=int, default=None, help="inference threads")
    o.add_argument("--device", default="auto", help="checkpoints: auto, cpu or cuda")
    o.add_argument(
        "--save-pred",
        metavar="DIR",
        help="write predicted label PNGs (Cityscapes: labelIds; DAVIS: 0/255 per clip)",
    )
    o.add_argument("--json", dest="json_out", help="write the metrics to this JSON file")
    o.add_argument("--overwrite", action="store_true", help="replace an existing --json file")


# ---- helpers -------------------------------------------------------------------------------------
def _scales(text):
    from liveseg.errors import ConfigError

    try:
        vals = [float(s) for s in str(text).split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--scales must be comma-separated numbers, got {text!r}") from None
    if not vals or min(vals) <= 0:
        raise ConfigError(f"--scales must be positive numbers, got {text!r}")
    return vals


def _check_json_out(args):
    from pathlib import Path

    from liveseg.errors import OutputError

    if not args.json_out:
        return None
    p = Path(args.json_out)
    if p.exists() and not args.overwrite:
        raise OutputError(f"{p} exists; pass --overwrite to replace it")
    if not p.parent.exists():
        raise OutputError(f"output folder {p.parent} does not exist")
    return p


def _write_json(path, result):
    import json

    if path is None:
        return
    from liveseg.atomic import write_text_atomic

    write_text_atomic(path, json.dumps(result, indent=2) + "\n")


def _data_spec(args, ckpt_cfg=None):
    """(dataset name, root, split, reader options) from flags > --config > checkpoint config."""
    from liveseg.errors import ConfigError
    from liveseg.train.config import parse_override

    data = {}
    if ckpt_cfg is not None:
        data = dict(ckpt_cfg["data"])
    if args.config:
        import yaml

        from liveseg.errors import ConfigError as CE

        try:
            with open(args.config) as fh:
                y = yaml.safe_load(fh) or {}
        except OSError as exc:
            raise CE(f"cannot read config {args.config}: {exc}") from None
        data.update(y.get("data") or {})
        if data.get("root") and not args.root:
            from liveseg.train.config import resolve_root

            data["root"] = resolve_root(data["root"], args.config)
    name = args.dataset or data.get("dataset")
    root = args.root or data.get("root")
    split = args.split or data.get("val_split") or "val"
    opts = (
        dict(data.get("options") or {})
        if (not args.dataset or args.dataset == data.get("dataset"))
        else {}
    )
    for text in args.data_option:
        path, value = parse_override(text)
        opts[".".join(path)] = value
    if not name or not root:
        raise ConfigError(
            "say which data set to evaluate on: --config CONFIG.yaml, or "
            "--dataset NAME --root DIR [--split S]"
        )
    return name, root, split, opts


def _saver(args, ds, name):
    """on_label callback writing predictions under --save-pred, or None."""
    if not args.save_pred:
        return None

    from pathlib import Path

    import cv2
    import numpy as np

    from liveseg.atomic import atomic_output
    from liveseg.errors import OutputError

    out = Path(args.save_pred)
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise OutputError(f"{out} is not empty; pass --overwrite to write into it")
    if out.resolve() in {
        Path(ds.samples[0].image).resolve().parent,
        Path(str(args.root or "")).resolve(),
    }:
        raise OutputError(f"--save-pred {out} would write into the input data")
    binary = ds.info.task == "foreground"
    if name == "cityscapes":
        from liveseg.data.datasets import cityscapes_train_to_label_ids as to_ids
    else:
        to_ids = None

    def save(n, label):
        s = ds.samples[n]
        rel = Path(s.name if binary and "/" in s.name else Path(s.image).stem).with_suffix(".png")
        lab = label.astype(np.uint8)
        lab = to_ids(lab) if to_ids else (lab * 255 if binary else lab)
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(dst) as tmp:
            if not cv2.imwrite(str(tmp), lab):
                raise OutputError(f"cannot write {dst}")

    return save


def _items(ds, limit=None):
    for i in range(len(ds) if not limit else min(limit, len(ds))):
        img, mask = ds.read(i)
        yield img, mask, ds.samples[i].group


# ---- output --------------------------------------------------------------------------------------
def _print(result, title):
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    con = Console()

    def f(v):
        return "-" if v is None else f"{v:.4f}"

    table = Table(title=escape(title))  # paths and class names are text, not rich markup
    table.add_column("class")
    table.add_column("IoU", justify="right")
    table.add_column("acc", justify="right")
    for name, iou in result["per_class_iou"].items():
        table.add_row(escape(name), f(iou), f(result.get("per_class_acc", {}).get(name)))
    con.print(table)
    con.print(
        f"mIoU {f(result['miou'])}  pixel acc {f(result['pixel_acc'])}  "
        f"mean class acc {f(result['mean_class_acc'])}  ({result['images']} images)"
    )
    v = result.get("video")
    if v:
        _print_video(con, v)
    st = result.get("stills")
    if st:
        con.print(
            f"per-image IoU (J) {st['j_mean']:.4f}  boundary F {st['f_mean']:.4f}  "
            f"(means over {st['groups']} sources)"
        )
        for g, c in st["per_group"].items():
            con.print(
                f"  {g}: IoU {c['j']:.4f}  F {c['f']:.4f}  ({c['images']} images)", markup=False
            )


def _print_video(con, v):
    con.print(
        f"J&F {v['jf']:.4f}  J mean {v['j_mean']:.4f} recall {v['j_recall']:.4f} decay "
        f"{v['j_decay']:.4f}  F mean {v['f_mean']:.4f} recall {v['f_recall']:.4f} decay "
        f"{v['f_decay']:.4f}  flicker {v['flicker']:.4f} dtSSD {v['dtssd']:.4f} "
        f"({v['clips']} clips)"
    )


# ---- run -----------------------------------------------------------------------------------------
def run(args):
    from pathlib import Path

    from liveseg.errors import ConfigError

    out_path = _check_json_out(args)
    if args.pred or args.gt:
        if not (args.pred and args.gt):
            raise ConfigError("--pred and --gt go together")
        if args.model:
            raise ConfigError("give either a MODEL or --pred/--gt, not both")
        return _run_dirs(args, out_path)
    if not args.model:
        raise ConfigError(
            "give a MODEL to evaluate (checkpoint, ONNX, TFLite, zoo name) or --pred/--gt"
        )
    scales = _scales(args.scales)
    if Path(args.model).suffix.lower() in (".pt", ".pth", ".ckpt"):
        result, title = _run_checkpoint(args, scales)
    else:
        result, title = _run_runtime(args, scales)
    _print(result, title)
    _write_json(out_path, result)
    return 0


def _run_dirs(args, out_path):
    from rich.console import Console

    from liveseg.errors import ConfigError
    from liveseg.metrics.evaluate import evaluate_clip_dirs, evaluate_label_dirs

    if args.metric == "miou":
        if not args.num_classes or args.num_classes < 1:
            raise ConfigError("--metric miou needs --num-classes N")
        ignore = None if args.ignore_index < 0 else args.ignore_index
        result = evaluate_label_dirs(args.pred, args.gt, args.num_classes, ignore)
        _print(result, f"{args.pred} vs {args.gt}")
    else:
        result = evaluate_clip_dirs(args.pred, args.gt, all_frames=args.all_frames)
        con = Console()
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=escape(f"{args.pred} vs {args.gt}"))
        for col in (
            "clip",
            "J",
            "F",
            "J&F",
            "J recall",
            "F recall",
            "J decay",
            "F decay",
            "flicker",
        ):
            table.add_column(col, justify="right" if col != "clip" else "left")
        for clip, c in result["per_clip"].items():
            table.add_row(
                escape(clip),
                *(
                    f"{c[k]:.4f}"
                    for k in (
                        "j",
                        "f",
                        "jf",
                        "j_recall",
                        "f_recall",
                        "j_decay",
                        "f_decay",
                        "flicker",
                    )
                ),
            )
        con.print(table)
        _print_video(con, result)
    _write_json(out_path, result)
    return 0


def _run_runtime(args, scales):
    from pathlib import Path

    from liveseg.data.datasets import read_dataset
    from liveseg.errors import ConfigError

    name, root, split, opts = _data_spec(args)
    samples, info, lut = read_dataset(name, root, split, **opts)
    from liveseg.data.base import SegmentationDataset

    ds = SegmentationDataset(samples, info, lut, cache=False)
    from liveseg.runtime.predictor import RuntimePredictor

    pred = RuntimePredictor(args.model, args.engine, args.threads, scales, args.flip)
    if pred.main.num_classes != info.num_classes:
        raise ConfigError(
            f"the model predicts {pred.main.num_classes} classes but {name} has {info.num_classes}"
        )
    result = _evaluate(pred, ds, info, args, name)
    choice = getattr(pred.main, "engine_choice", None)
    result.update(
        model=str(args.model),
        engine=choice.spec if choice else pred.main.engine.name,
        dataset=name,
        split=split,
        flip=args.flip,
        scales=scales,
    )
    return result, f"{Path(str(args.model)).name} on {name}/{split}"


def _evaluate(pred, ds, info, args, name) -> dict:
    """Score a predictor (runtime or checkpoint) over the data set, with a progress bar."""
    from liveseg.metrics.evaluate import evaluate_predictor

    fg = 1 if info.task == "foreground" else None
    return _with_progress(
        lambda progress: evaluate_predictor(
            pred,
            _items(ds, args.limit),
            info.num_classes,
            info.ignore_index,
            info.classes,
            foreground_index=fg,
            all_frames=args.all_frames,
            progress=progress,
            reset=pred.reset,
            on_label=_saver(args, ds, name),
            stills=not info.groups_are_clips,
        ),
        min(len(ds), args.limit or len(ds)),
    )


def _run_checkpoint(args, scales):
    from pathlib import Path

    import torch

    from liveseg.data.base import SegmentationDataset
    from liveseg.data.datasets import read_dataset
    from liveseg.train.checkpoint import load_checkpoint
    from liveseg.train.evaluate import TorchPredictor
    from liveseg.train.trainer import build_model, pick_device

    ckpt = load_checkpoint(args.model)
    cfg = ckpt["config"]
    if args.threads:
        torch.set_num_threads(args.threads)
    name, root, split, opts = _data_spec(args, cfg)
    samples, info, lut = read_dataset(name, root, split, **opts)
    ds = SegmentationDataset(samples, info, lut, cache=False)
    device = pick_device(args.device, 0)
    model = build_model(cfg, len(ckpt["info"]["classes"])).to(device)
    model.load_state_dict(ckpt["model"])
    model.eval()
    from liveseg.data.prevmask import foreground_ids

    pred = TorchPredictor(model, cfg, device, scales, args.flip, foreground_ids(info))
    result = _evaluate(pred, ds, info, args, name)
    result.update(
        model=str(args.model),
        epoch=int(ckpt["epoch"]) + 1,
        dataset=name,
        split=split,
        flip=args.flip,
        scales=scales,
    )
    return result, f"{Path(str(args.model)).name} (epoch {ckpt['epoch'] + 1}) on {name}/{split}"


def _with_progress(fn, total):
    from rich.console import Console
    from rich.progress import Progress

    con = Console(stderr=True)
    if not con.is_terminal:
        return fn(None)
    with Progress(console=con, transient=True) as bar:
        task = bar.add_task("evaluating", total=total)
        return fn(lambda n: bar.advance(task, n))
