"""`liveseg export`: a checkpoint, a float ONNX model made by liveseg (e.g. a shipped one, to
change its input size) or a registered model name -> ONNX (+ TFLite), card embedded."""

HELP = (
    "export a checkpoint, a liveseg float ONNX model or a model-zoo architecture to ONNX "
    "(and TFLite), with its card"
)


def add_arguments(parser):
    parser.add_argument(
        "source",
        metavar="CHECKPOINT|MODEL",
        help="a training checkpoint (.pt); a float .onnx exported by liveseg or a "
        "shipped fp16 model's name (its weights are read back, e.g. to "
        "export at another --input-size); or an architecture name from "
        "'liveseg models'",
    )
    parser.add_argument("-o", "--output", required=True, help="output .onnx path")
    parser.add_argument(
        "--input-size",
        default=None,
        metavar="WxH",
        help="export resolution, width x height (default: the card's, or 256x256)",
    )
    parser.add_argument(
        "--dynamic",
        action="store_true",
        help="dynamic batch/height/width axes instead of a fixed input size",
    )
    parser.add_argument(
        "--num-classes",
        type=int,
        default=None,
        help="classes of a bare model name (default 21; checkpoints know theirs)",
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model option, e.g. --option width_mult=0.5 (repeatable)",
    )
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 17, default 17)")
    parser.add_argument(
        "--tflite",
        action="store_true",
        help="also write a .tflite beside the .onnx (needs a TFLite converter)",
    )
    parser.add_argument(
        "--no-check", action="store_true", help="skip the onnxruntime-vs-PyTorch parity check"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")


def parse_options(items):
    import yaml

    from liveseg.errors import ConfigError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--option must look like KEY=VALUE, got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def run(args):
    from pathlib import Path

    from liveseg.card import card_path_for
    from liveseg.errors import OutputError
    from liveseg.export.onnx_export import export_card, export_onnx
    from liveseg.models.checkpoint import load_torch_model
    from liveseg.models.from_onnx import onnx_parity
    from liveseg.parsing import parse_size

    out = Path(args.output)
    if out.suffix.lower() != ".onnx":
        raise OutputError(f"-o must name a .onnx file, got {out}")
    src = Path(args.source)
    if src.exists() and src.resolve() in (out.resolve(), card_path_for(out).resolve()):
        raise OutputError("the output would overwrite the input")
    targets = [out, card_path_for(out)] + ([out.with_suffix(".tflite")] if args.tflite else [])
    existing = [str(t) for t in targets if t.exists()]
    if existing and not args.overwrite:
        raise OutputError(f"{', '.join(existing)} exists; pass --overwrite to replace it")

    options = parse_options(args.option)
    model, card_dict, what = load_torch_model(args.source, args.num_classes, options)
    model.eval()
    if args.input_size:
        size = parse_size(args.input_size, "--input-size", lo=8)
    elif card_dict and card_dict.get("input_size"):
        size = tuple(card_dict["input_size"])
    else:
        size = (256, 256)
    card = export_card(model, card_dict, out.stem, size, what, options)
    export_onnx(model, out, size, dynamic=args.dynamic, card=card, opset=args.opset)
    print(
        f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) from {what}, input "
        f"{'dynamic, example ' if args.dynamic else ''}{size[0]}x{size[1]}, "
        f"{model.in_channels} channels, {model.num_classes} classes, opset {args.opset}"
    )
    if not args.no_check:
        sizes = [size] + ([(size[0] // 2 + 1, size[1] // 2 + 3)] if args.dynamic else [])
        r = onnx_parity(model, out, sizes=sizes)
        print(
            f"parity onnxruntime vs PyTorch: max |diff| {r['max_abs_diff']:.2e}, "
            f"argmax agreement {100 * r['argmax_agreement']:.3f}% at "
            + ", ".join(f"{w}x{h}" for w, h in sizes)
        )
    if args.tflite:
        from liveseg.export.tflite_export import export_tflite, tflite_parity

        tfl = export_tflite(model, out.with_suffix(".tflite"), size, card=card)
        print(f"wrote {tfl} ({tfl.stat().st_size / 1e6:.2f} MB)")
        if not args.no_check:
            r = tflite_parity(tfl, out)
            print(
                f"parity TFLite vs ONNX: max |diff| {r['max_abs_diff']:.2e}, "
                f"argmax agreement {100 * r['argmax_agreement']:.3f}%"
            )
    return 0
