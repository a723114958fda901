"""`liveseg info MODEL`: what liveseg detected about a model (engine, I/O, normalisation,
output kind, classes, where the card came from), as a table or as JSON (--json)."""

HELP = "show a model's inputs, outputs and the conventions liveseg detected"


def add_arguments(parser):
    from liveseg.runtime.cli_args import add_model_arguments

    add_model_arguments(parser, positional=True)
    parser.add_argument("--json", action="store_true", help="print the description as JSON")


def _fmt(v):
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def run(args):
    import json
    import sys

    from liveseg.runtime.cli_args import load_model_from_args

    model = load_model_from_args(args)
    d = model.describe()
    if args.json:
        json.dump(d, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    io, eng, card = d["io"], d["engine"], d["card"]
    t = Table(title=f"liveseg info: {model.path.name}", show_header=False, title_justify="left")
    t.add_column("field", style="bold")
    t.add_column("value", overflow="fold")
    rows = [
        ("model", d["model"]),
        ("card", d["card_source"]),
        ("name / task", f"{card['name']} / {card['task']}"),
        ("engine", eng["engine"] + (f" (delegate: {eng['delegate']})" if eng.get("delegate") else "")
         + (f", xnnpack fallback: {eng['xnnpack_fallback']}" if eng.get("xnnpack_fallback") else "")),
        ("threads", eng["threads"] or "engine default"),
        ("inputs", "\n".join(eng["inputs"])),
        ("outputs", "\n".join(eng["outputs"])),
        ("input layout", io["layout"] + f"  [from {io['layout_source']}]"
         + (" (4th channel: previous mask)" if io["prev_mask_input"] else "")),
        ("input size", f"{io['input_size'][0]}x{io['input_size'][1]}"
         + (" (dynamic)" if io["dynamic_size"] else " (fixed)")),
        ("input dtype", io["input_dtype"] + (f", quant scale={io['input_quant'][0]:.6g} "
                                              f"zp={io['input_quant'][1]:g}" if io["input_quant"] else "")),
        ("normalisation", f"{io['norm']}  [from {io['norm_source']}]  "
                          f"mean={_fmt(io['mean'])} std={_fmt(io['std'])}"),
        ("output", f"{io['output_name']}: {io['output_kind']}"
                   + (f" [from {io['output_kind_source']}]" if io.get("output_kind_source") else "")
                   + f", layout {io['output_layout']}, "
                   f"{io['output_size'][1]}x{io['output_size'][0]} (WxH)"
                   + (f", decoded as (q - {io['output_quant'][1]:g}) * {io['output_quant'][0]:.6g}"
                      if io.get("output_quant") else "")),
        ("classes", f"{io['num_classes']}: {_fmt(io['classes'])}  [from {io['classes_source']}]"),
        ("foreground", _fmt(card["foreground"]) or "-"),
    ]
    if card.get("training_data") or card.get("license"):
        rows.append(("training data / license", f"{card.get('training_data') or '-'} / "
                                                 f"{card.get('license') or '-'}"))
    if card.get("metrics"):
        rows.append(("metrics", json.dumps(card["metrics"])))
    for note in io["notes"]:
        rows.append(("note", note))
    for k, v in rows:
        t.add_row(k, escape(str(v)))
    Console(soft_wrap=False).print(t)
    return 0
