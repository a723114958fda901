"""`liveseg train CONFIG.yaml [key=value ...]`: train a zoo model on a data set (torch extra)."""

HELP = "train a segmentation model from a YAML config (overrides as key.sub=value)"


def _flags(parser):
    parser.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        default=None,
        metavar="CKPT",
        help="continue exactly from a checkpoint (default: OUTPUT_DIR/last.pt)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="start over in an output folder that already holds a run",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (overrides the config's 'threads')"
    )
    parser.add_argument("--device", default=None, help="auto, cpu or cuda (overrides the config)")
    parser.add_argument("--output-dir", default=None, help="where checkpoints/logs/ONNX go")
    parser.add_argument(
        "--stop-after",
        type=int,
        default=None,
        metavar="N",
        help="stop after N epochs of this invocation (resume later with --resume)",
    )
    parser.add_argument("--no-export", action="store_true", help="skip the final ONNX export")


def add_arguments(parser):
    import argparse

    _flags(parser)
    parser.add_argument("config", help="experiment YAML (see configs/)")
    # REMAINDER so that flags may also follow the config and the overrides.
    parser.add_argument(
        "overrides",
        nargs=argparse.REMAINDER,
        metavar="KEY=VALUE",
        help="config overrides, e.g. epochs=2 optimizer.lr=0.01 data.workers=1",
    )
    # -h after CONFIG lands in the overrides too: _split_rest prints this then.
    parser.set_defaults(train_help=parser.format_help)


def _split_rest(args):
    """Flags given after CONFIG land in args.overrides: parse them, keep KEY=VALUE items."""
    import argparse

    from liveseg.errors import ConfigError

    p = argparse.ArgumentParser(add_help=False)
    _flags(p)
    p.add_argument("--debug", action="store_true")
    late, rest = p.parse_known_args(args.overrides)
    if {"-h", "--help"} & set(rest):
        print(args.train_help(), end="")
        raise SystemExit(0)
    for key, value in vars(late).items():
        if value not in (None, False):
            setattr(args, key, value)
    bad = [r for r in rest if "=" not in r]
    if bad:
        raise ConfigError(f"unexpected arguments {bad}: overrides look like key.sub=value")
    return rest


def run(args):
    from liveseg.errors import require

    require("torch", "train")
    from liveseg.train.config import load_config
    from liveseg.train.trainer import train

    overrides = _split_rest(args)
    if args.threads is not None:
        overrides.append(f"threads={args.threads}")
    if args.device:
        overrides.append(f"device={args.device}")
    if args.output_dir:
        overrides.append(f"output_dir={args.output_dir}")
    cfg = load_config(args.config, overrides)
    preflight(cfg, resume=args.resume)
    result = train(
        cfg,
        resume=args.resume,
        overwrite=args.overwrite,
        export=False if args.no_export else None,
        stop_after=args.stop_after,
    )
    best = result["best"]
    print(
        f"best val {result['best_metric']} {best:.4f} at epoch {result['best_epoch']}; "
        f"outputs in {result['output_dir']}"
        + (f"; model {result['onnx']}" if result.get("onnx") else "")
    )
    return 0


def preflight(cfg: dict, resume=None) -> None:
    """What the config names must exist before the run folder is created: the model
    architecture, the data set kind and folder, the teacher's labels, the init checkpoint,
    and a writable place for the output folder. One error line each."""
    import difflib
    from pathlib import Path

    from liveseg.atomic import check_writable_folder
    from liveseg.data.datasets import READERS
    from liveseg.errors import ConfigError, InputError, OutputError
    from liveseg.models import get_builder

    get_builder(cfg["model"]["name"])  # unknown names: ConfigError naming close matches
    name = cfg["data"]["dataset"]
    if name not in READERS:
        close = difflib.get_close_matches(str(name), sorted(READERS), n=1)
        raise ConfigError(
            f"config: unknown data.dataset {name!r}"
            + (f"; did you mean {close[0]!r}?" if close else "")
            + f" (known: {', '.join(sorted(READERS))})"
        )
    root = Path(cfg["data"]["root"])
    if not root.is_dir():
        raise InputError(f"config: data.root folder not found: {root}")
    teacher = cfg["data"].get("teacher")
    if teacher and not Path(teacher["dir"]).is_dir():
        raise InputError(
            f"config: data.teacher.dir folder not found: {teacher['dir']} "
            "(write it with 'liveseg label TEACHER IMAGES -o DIR')"
        )
    init = cfg.get("init_from")
    if init and not resume and not Path(init).is_file():
        raise InputError(f"config: init_from file not found: {init}")
    out = Path(cfg["output_dir"])
    if out.exists() and not out.is_dir():
        raise OutputError(f"output_dir {out} exists and is not a folder")
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"output_dir {out}: {existing} is not a folder")
    check_writable_folder(existing, "output_dir")
