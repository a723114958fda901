"""`liveseg run INPUT`: segment a video, stream, webcam or images and render an effect.

Nothing heavy is imported at module level; the pipeline, PyAV, OpenCV and ONNX Runtime load
inside ``run``.
"""

from __future__ import annotations

HELP = "segment a video file, stream, webcam or image folder and render an effect"

EFFECTS = ("overlay", "blur", "replace", "matte", "mask", "side-by-side")


def add_arguments(parser):
    import argparse

    from liveseg.runtime.cli_args import add_model_arguments

    parser.add_argument(
        "input",
        nargs="?",
        metavar="INPUT",
        help="video file, image file, folder of images, glob, webcam[:N] or a "
        "stream URL (rtsp://, http://, ...)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUTPUT",
        help="video file (.mp4/.mkv/.mov: H.264; .webm: VP9, with alpha for "
        "matte) or a folder (PNG per frame / per image)",
    )
    parser.add_argument(
        "--demo", action="store_true", help="run on the built-in demo clip (no INPUT needed)"
    )
    parser.add_argument(
        "--effect",
        default=None,
        metavar="|".join(EFFECTS),
        help="what to render (default: blur for foreground models, overlay otherwise)",
    )
    parser.add_argument(
        "--alpha", type=float, default=0.5, help="overlay opacity in [0, 1] (default 0.5)"
    )
    parser.add_argument(
        "--background",
        metavar="IMAGE|VIDEO",
        help="replacement background for --effect replace (a video loops)",
    )
    parser.add_argument(
        "--foreground",
        metavar="CLASSES",
        help="classes that count as foreground, names or indices, comma "
        "separated (default: the model card's, else all but class 0)",
    )
    parser.add_argument(
        "--temporal",
        default="auto",
        metavar="SPEC",
        help="reuse work between frames: off | fixed:N | adaptive[:...], "
        "optionally +smooth (see liveseg.video.temporal_spec). Default auto: "
        "fixed:4+smooth for videos, streams and webcams (network on 1 "
        "frame in 4, optical flow in between), off for images",
    )
    add_model_arguments(parser)  # --model, --engine, --threads, foreign-model overrides
    parser.add_argument(
        "--save-masks",
        metavar="DIR",
        help="also write one uint8 PNG of class indices per frame into DIR",
    )
    parser.add_argument(
        "--show",
        action="store_true",
        help="show a preview window (needs a display; q or Esc stops)",
    )
    parser.add_argument("--stats", metavar="FILE.json", help="write the run summary as JSON")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument(
        "--crf",
        type=int,
        default=23,
        help="video quality, lower is better (H.264/VP9 CRF; default 23)",
    )
    parser.add_argument(
        "--preset", default="veryfast", help="libx264 speed preset (default veryfast)"
    )
    parser.add_argument(
        "--live",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="--live: drop frames when the pipeline falls behind (real time); "
        "--no-live: keep every frame. Default: guessed; webcams and "
        "rtsp/rtmp/udp/srt streams are live, files are not, also over "
        "http(s) when their length is known",
    )
    parser.add_argument("--no-audio", action="store_true", help="do not copy the input's audio")
    parser.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--quiet", action="store_true", help="no summary")


def _load(args):
    from liveseg import zoo
    from liveseg.errors import ModelError
    from liveseg.runtime.cli_args import load_model_from_args

    spec = args.model
    if spec is None:
        spec = zoo.DEFAULT_MODEL
        if zoo.resolve(spec) is None:
            raise ModelError(
                f"the default model {spec!r} is not shipped in this install yet; "
                "pass --model NAME|PATH.onnx"
            )
    return load_model_from_args(args, model=spec)


def _demo_input() -> str:
    import tempfile
    from pathlib import Path

    from liveseg.video.demo import make_demo_clip

    path = Path(tempfile.gettempdir()) / "liveseg-demo" / "demo.mp4"
    if not path.is_file():
        make_demo_clip(path)
    return str(path)


def run_options(args, effect: str):
    """The parsed flags as RunOptions (a bad --temporal, --crf or --max-frames fails here)."""
    from liveseg.video.options import RunOptions
    from liveseg.video.protocols import RunMode

    return RunOptions(
        effect=effect,
        background=args.background,
        foreground=args.foreground,
        alpha=args.alpha,
        temporal=args.temporal,
        save_masks=args.save_masks,
        show=args.show,
        overwrite=args.overwrite,
        crf=args.crf,
        preset=args.preset,
        stats=args.stats,
        progress=not args.no_progress,
        max_frames=args.max_frames,
        mode=RunMode.parse(args.live),
        audio=not args.no_audio,
    )


def run(args) -> int:
    import sys

    from liveseg.errors import ConfigError

    if args.demo and args.input:
        raise ConfigError("give either INPUT or --demo, not both")
    if not args.demo and not args.input:
        raise ConfigError("no INPUT: give a video, images, webcam[:N], a stream URL, or --demo")
    run_options(args, "auto")  # bad values fail before the model loads
    from liveseg.video.effects import default_effect
    from liveseg.video.options import RunInterrupted
    from liveseg.video.runner import process_video

    model = _load(args)
    opts = run_options(args, args.effect or default_effect(model.card))
    inp = _demo_input() if args.demo else args.input
    try:
        stats = process_video(inp, args.output, model=model, options=opts)
    except RunInterrupted as exc:
        for n in exc.notes:
            print(f"liveseg run: {n}", file=sys.stderr)
        raise
    if not args.quiet:
        print(stats.format())
        where = [x for x in (args.output, args.save_masks, args.stats) if x]
        if where:
            print("wrote: " + ", ".join(where))
    skipped = stats.get("skipped") or []
    for s in skipped:  # the other images were written; these were not
        print(f"liveseg run: skipped: {s['reason']}", file=sys.stderr)
    if skipped:
        from liveseg.errors import InputError

        return InputError.exit_code
    return 0
