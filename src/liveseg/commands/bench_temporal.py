"""`liveseg bench temporal`: temporal reuse strategies on labelled video (DAVIS-2016 clips or
CamVid's validation sequence); what is measured: ``liveseg.bench.temporal``."""

from __future__ import annotations

import sys

from liveseg.bench.temporal_data import (
    DEFAULT_CAMVID,
    DEFAULT_CONFIG,
    DEFAULT_DATA,
    DEFAULT_SPECS,
)

HELP = "temporal reuse on DAVIS clips: J&F, flicker, frames inferred, E2E fps per --temporal spec"


def add_arguments(parser):
    parser.add_argument(
        "--model",
        default="oracle",
        help="foreground model (shipped name or .onnx path), or 'oracle' "
        "(ground truth as the model: propagation error alone)",
    )
    parser.add_argument(
        "--dataset",
        choices=("davis2016", "camvid"),
        default="davis2016",
        help="davis2016 (foreground model, held-out clips) or camvid (street "
        "model, the val sequence); default %(default)s",
    )
    parser.add_argument(
        "--data", default=None, help=f"data set root (default: {DEFAULT_DATA} or {DEFAULT_CAMVID})"
    )
    parser.add_argument(
        "--clips",
        default=None,
        help="comma-separated clip names (default: the held-out val_clips of --config)",
    )
    parser.add_argument(
        "--config",
        default=DEFAULT_CONFIG,
        help="training config whose data.options.val_clips are the held-out clips "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--specs",
        default=DEFAULT_SPECS,
        help="';'-separated --temporal specs (default: every frame, fixed 2/3/5, "
        "adaptive at three thresholds, each with and without smoothing)",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="inference/OpenCV threads (default 2)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per spec (default 3)")
    parser.add_argument("--max-frames", type=int, default=0, help="frames per clip (0: all)")
    parser.add_argument(
        "--oracle-size",
        default="320x192",
        help="WxH of the oracle's output maps (default %(default)s)",
    )
    parser.add_argument(
        "--flow-side",
        type=int,
        default=None,
        metavar="PX",
        help="longest side of the grid optical flow runs on (default: "
        "liveseg.video.flow.MAX_FLOW_SIDE)",
    )
    parser.add_argument(
        "--frame-scale",
        type=float,
        default=1.0,
        metavar="S",
        help="resize every frame (bilinear) and ground-truth mask (nearest) by S "
        "before the run: 2 turns the shared half-size DAVIS copy (427x240) "
        "into full-size 854x480 frames (default 1)",
    )
    parser.add_argument(
        "--no-pipeline",
        action="store_true",
        help="skip the end-to-end `liveseg run` timing (fps then comes from the "
        "sequential quality loop)",
    )
    parser.add_argument("--out", default="benchmarks/results", help="folder for JSON + PNG")
    parser.add_argument("--tag", default=None, help="file name stem (default: temporal_<model>)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing result files")


def _names(text):
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def run(args):
    from liveseg.bench import temporal

    command = (
        " ".join(["liveseg", "bench", "temporal", *sys.argv[3:]])
        if sys.argv[1:3] == ["bench", "temporal"]
        else " ".join(sys.argv)
    )
    temporal.run_bench(
        model=args.model,
        dataset=args.dataset,
        data=args.data,
        clips=_names(args.clips),
        config=args.config,
        specs=args.specs,
        threads=args.threads,
        repeats=args.repeats,
        max_frames=args.max_frames,
        oracle_size=args.oracle_size,
        flow_max_side=args.flow_side,
        frame_scale=args.frame_scale,
        pipeline=not args.no_pipeline,
        out=args.out,
        tag=args.tag,
        overwrite=args.overwrite,
        command=command,
    )
    return 0
