"""The model flags shared by ``liveseg info`` and ``liveseg run`` (and anything else that
opens a model): --model / MODEL, --engine, --threads and the foreign-model overrides
--input-size WxH, --mean R,G,B, --std R,G,B, --layout nchw|nhwc, --classes a,b,...

    add_model_arguments(parser)                      # run: --model NAME|PATH
    add_model_arguments(parser, positional=True)     # info: MODEL
    overrides = overrides_from_args(args)            # IOOverrides, ConfigError on bad values
    model = load_model(args.model, args.engine, args.threads, overrides)

Values are validated in ``overrides_from_args`` (not by argparse), so a bad value is one
ConfigError line through the CLI's usual error path.
"""

from __future__ import annotations

import math
import re

from liveseg.errors import ConfigError
from liveseg.parsing import parse_size, parse_threads

ENGINE_CHOICES = ("auto", "onnxruntime", "litert", "openvino")
ENGINE_HELP = (
    "inference engine (default: auto: the fastest engine that agrees with the "
    "reference, measured on first use on this machine and cached); a name forces "
    "one: onnxruntime[:cuda|:tensorrt], openvino[:f32|:bf16|:f16|:gpu], litert"
)


def add_model_arguments(
    parser,
    positional: bool = False,
    model_default=None,
    model_required: bool = False,
    threads: bool = True,
):
    """Add the model flags to an argparse parser (MODEL positional when ``positional``;
    ``threads=False`` leaves out --threads for verbs that set it their own way)."""
    if positional:
        parser.add_argument("model", metavar="MODEL", help="shipped model name or model file path")
    else:
        parser.add_argument(
            "--model",
            default=model_default,
            required=model_required,
            metavar="NAME|PATH",
            help="shipped model name or model file (.onnx, .tflite, OpenVINO .xml)",
        )
    g = parser.add_argument_group("engine and foreign-model overrides")
    g.add_argument("--engine", default="auto", metavar="|".join(ENGINE_CHOICES), help=ENGINE_HELP)
    if threads:
        g.add_argument(
            "--threads", default=None, metavar="N", help="intra-op threads for the engine"
        )
    g.add_argument(
        "--input-size",
        default=None,
        metavar="WxH",
        help="model input size: for models with dynamic input dimensions, or to run a "
        "fully convolutional ONNX model (e.g. a shipped one) at another size, such as "
        "256x256 for speed (at most 8192 per side and 4096x4096 pixels)",
    )
    g.add_argument(
        "--mean",
        default=None,
        metavar="R,G,B",
        help="input normalisation mean in units of pixel/255 (e.g. 0.485,0.456,0.406)",
    )
    g.add_argument(
        "--std",
        default=None,
        metavar="R,G,B",
        help="input normalisation std in units of pixel/255 (e.g. 0.229,0.224,0.225)",
    )
    g.add_argument("--layout", default=None, metavar="nchw|nhwc", help="model input layout")
    g.add_argument(
        "--classes",
        default=None,
        metavar="a,b,...",
        help="class names, in the model's output order",
    )
    return parser


def parse_triplet(text: str, flag: str) -> tuple[float, float, float]:
    parts = [p for p in re.split(r"[,\s]+", str(text).strip()) if p]
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise ConfigError(f"{flag} must be three numbers R,G,B, got {text!r}") from None
    if len(vals) == 1:
        vals = vals * 3
    if len(vals) != 3 or any(math.isnan(v) for v in vals):
        raise ConfigError(f"{flag} must be three numbers R,G,B, got {text!r}")
    if max(abs(v) for v in vals) > 1.5:
        raise ConfigError(
            f"{flag} is in units of pixel/255 (e.g. 0.5 rather than 127.5), got {text!r}"
        )
    if flag == "--std" and min(abs(v) for v in vals) == 0:
        raise ConfigError(f"{flag} values must be non-zero, got {text!r}")
    return tuple(vals)


def overrides_from_args(args):
    """IOOverrides from parsed args (validates --engine and --threads too, in place)."""
    from liveseg.runtime.engine import parse_engine
    from liveseg.runtime.iospec import IOOverrides

    parse_engine(getattr(args, "engine", "auto") or "auto")  # ConfigError on a bad name
    args.threads = parse_threads(getattr(args, "threads", None))
    layout = getattr(args, "layout", None)
    if layout is not None:
        layout = str(layout).lower()
        if layout not in ("nchw", "nhwc"):
            raise ConfigError(f"--layout must be nchw or nhwc, got {args.layout!r}")
    size = getattr(args, "input_size", None)
    mean = getattr(args, "mean", None)
    std = getattr(args, "std", None)
    classes = getattr(args, "classes", None)
    if classes is not None:
        classes = [c.strip() for c in str(classes).split(",")]
        if not classes or any(not c for c in classes):
            raise ConfigError(
                f"--classes must be comma-separated non-empty names, got {args.classes!r}"
            )
        if len({c.lower() for c in classes}) != len(classes):
            raise ConfigError(f"--classes has duplicate names: {args.classes!r}")
    return IOOverrides(
        input_size=parse_size(size) if size is not None else None,
        mean=parse_triplet(mean, "--mean") if mean is not None else None,
        std=parse_triplet(std, "--std") if std is not None else None,
        layout=layout,
        classes=classes,
    )


def load_model_from_args(args, model=None, siblings: bool = True):
    """Open the model named by ``args`` (or ``model``) with its engine flags and overrides
    (``siblings=False``: never run a shipped model's sibling file instead of the one named)."""
    from liveseg.runtime.model import load_model

    overrides = overrides_from_args(args)
    spec = model if model is not None else args.model
    return load_model(
        spec,
        engine=args.engine or "auto",
        threads=args.threads,
        overrides=overrides,
        siblings=siblings,
    )
