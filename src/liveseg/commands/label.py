"""`liveseg label MODEL INPUTS... -o DIR`: a teacher model writes soft labels for images.

Any model liveseg runs (shipped name, .onnx, .tflite, OpenVINO .xml) goes through the same
runtime and preprocessing as ``liveseg run``. See ``liveseg.runtime.teacher`` for the files
written and ``read_soft_label`` for reading them back. Nothing heavy is imported here.
"""

from __future__ import annotations

HELP = "label images with a teacher model: soft-label PNGs/NPZs plus labels.json in a folder"


def add_arguments(parser):
    from liveseg.runtime.cli_args import add_model_arguments

    add_model_arguments(parser, positional=True)
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUTS",
        help="image files, folders of images or globs ('frames/*.jpg')",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="DIR",
        help="folder for the labels (created if its parent exists)",
    )
    parser.add_argument(
        "--hard",
        action="store_true",
        help="write class-index PNGs (arg-max) instead of soft labels",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing labels (and a labels.json from another teacher)",
    )
    parser.add_argument("--quiet", action="store_true", help="no summary line")


def run(args) -> int:
    import sys
    import time

    from liveseg.runtime.cli_args import load_model_from_args, overrides_from_args
    from liveseg.runtime.teacher import check_writable_folder, label_images
    from liveseg.video.sources import image_paths

    overrides_from_args(args)  # bad flags fail before anything is read
    paths = image_paths(args.inputs)
    check_writable_folder(args.output, create=False)
    model = load_model_from_args(args, siblings=False)  # labels.json names the teacher file
    progress = None
    if sys.stderr.isatty() and not args.quiet:

        def progress(i, n):
            print(f"\rlabelling {i}/{n}", end="" if i < n else "\n", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    info = label_images(
        model, paths, args.output, hard=args.hard, overwrite=args.overwrite, progress=progress
    )
    if not args.quiet:
        n = info["labelled"]["count"]
        dt = time.perf_counter() - t0
        print(
            f"labelled {n} image{'s' if n != 1 else ''} with {model.path.name} in {dt:.1f} s "
            f"-> {args.output} ({info['encoding']}; {info['description']})"
        )
    return 0
