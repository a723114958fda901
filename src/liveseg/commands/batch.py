"""`liveseg batch INPUT... -o OUTDIR`: many videos and images on Ray, locally or on a cluster.

Only argument parsing and printing here; the work is ``liveseg.batch.process_batch``.
"""

from __future__ import annotations

HELP = "segment many videos and images on a local Ray or a Ray cluster (needs liveseg[ray])"


def add_arguments(parser):
    from liveseg.commands.run import EFFECTS
    from liveseg.runtime.cli_args import add_model_arguments

    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="video or image files, folders (searched recursively), globs, or "
        "@list.txt (one path per line, relative to the list's folder)",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUTDIR",
        help="output folder: OUTDIR/<relative path> per input (videos as "
        "`liveseg run` writes them, images as PNG) and manifest.jsonl",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes, each with its own model session (default: "
        "CPUs / --threads-per-worker, of this machine or the cluster)",
    )
    parser.add_argument(
        "--threads-per-worker",
        type=int,
        default=None,
        metavar="T",
        help="CPUs each worker takes and its engine threads (default 1)",
    )
    parser.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="join a running Ray cluster from one of its nodes: auto or "
        "HOST:PORT (default: start a local Ray inside this process; "
        "from elsewhere, submit the command with `ray job submit`)",
    )
    parser.add_argument(
        "--effect",
        default=None,
        metavar="|".join(EFFECTS),
        help="what to render (default: blur for foreground models, overlay otherwise)",
    )
    parser.add_argument("--alpha", type=float, default=0.5, help="overlay opacity (default 0.5)")
    parser.add_argument(
        "--background", metavar="IMAGE|VIDEO", help="replacement background for --effect replace"
    )
    parser.add_argument(
        "--foreground", metavar="CLASSES", help="classes that count as foreground, names or indices"
    )
    parser.add_argument(
        "--temporal",
        default="auto",
        metavar="SPEC",
        help="reuse work between frames of a video, as in `liveseg run` "
        "(images always stand alone)",
    )
    add_model_arguments(parser, threads=False)
    parser.add_argument(
        "--save-masks",
        action="store_true",
        help="also write class-index PNG masks beside each output "
        "(<name>.masks/%%05d.png for videos, <name>.mask.png for images)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip inputs an earlier run into OUTDIR finished (manifest.jsonl) "
        "whose outputs are still there; redo the rest",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="redo every input, replacing existing outputs"
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=3,
        metavar="K",
        help="retries of an input whose worker process died (default 3)",
    )
    parser.add_argument("--crf", type=int, default=23, help="video quality (default 23)")
    parser.add_argument("--preset", default="veryfast", help="libx264 preset (default veryfast)")
    parser.add_argument("--no-audio", action="store_true", help="do not copy the inputs' audio")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--quiet", action="store_true", help="no summary table")


def run(args) -> int:
    import sys

    from liveseg.batch import process_batch
    from liveseg.batch.manifest import NAME
    from liveseg.batch.report import failure_lines, print_summary
    from liveseg.errors import InputError
    from liveseg.runtime.cli_args import overrides_from_args

    args.threads = None  # overrides_from_args checks --engine and reads the override flags
    ov = overrides_from_args(args)
    info: dict = {}
    try:
        rows = process_batch(
            args.inputs,
            args.output,
            model=args.model,
            engine=args.engine,
            overrides=ov,
            effect=args.effect or "auto",
            foreground=args.foreground,
            alpha=args.alpha,
            background=args.background,
            temporal=args.temporal,
            save_masks=args.save_masks,
            workers=args.workers,
            threads_per_worker=args.threads_per_worker,
            address=args.address,
            resume=args.resume,
            overwrite=args.overwrite,
            retries=args.retries,
            crf=args.crf,
            preset=args.preset,
            audio=not args.no_audio,
            progress=not args.no_progress,
            verbose=args.verbose,
            info=info,
        )
    except KeyboardInterrupt:
        print(
            f"liveseg batch: the finished outputs and {args.output}/{NAME} are kept; run "
            "the same command with --resume to continue",
            file=sys.stderr,
        )
        raise
    if not args.quiet:
        print_summary(info, info["manifest"])
    for line in failure_lines(rows, info["manifest"]):
        print(f"liveseg batch: {line}", file=sys.stderr)
    return InputError.exit_code if info["failed"] else 0
