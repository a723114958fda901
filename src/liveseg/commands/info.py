"""`liveseg info MODEL`: what liveseg detected about a model (engine and why it was chosen,
I/O, normalisation, output kind, classes, where the card came from), as a table or as JSON
(--json). `liveseg info --system`: the CPU's ISA features that matter for inference, the
engines installed and their versions, GPUs, and the cache of measured engine choices."""

HELP = (
    "show a model's inputs, outputs, engine and the conventions liveseg detected; "
    "--system: CPU features and engines"
)


def add_arguments(parser):
    from liveseg.runtime.cli_args import add_model_arguments

    add_model_arguments(parser, positional=True)
    parser.add_argument("--json", action="store_true", help="print the description as JSON")
    parser.add_argument(
        "--system",
        action="store_true",
        help="report this machine: CPU ISA features (AVX2, AVX-512, VNNI, AMX, "
        "bf16, fp16, ARM dot-product), engines installed and their versions, "
        "GPUs; with MODEL the model too",
    )
    # MODEL is optional with --system.
    for action in parser._actions:
        if action.dest == "model":
            action.nargs = "?"


def system_report() -> dict:
    """CPU features, engines, GPUs and liveseg's cache folder (``liveseg info --system``)."""
    from liveseg.runtime.cache import cache_root
    from liveseg.runtime.choice_cache import gpu_signature
    from liveseg.runtime.devices import nvidia_gpu_present
    from liveseg.sysinfo import cpu_features, engines_installed, library_versions

    engines = engines_installed()
    ort = engines.get("onnxruntime") or {}
    ovi = engines.get("openvino") or {}
    gpus = {
        "nvidia_gpu": nvidia_gpu_present(),
        "onnxruntime_gpu_providers": [
            p
            for p in ort.get("providers", [])
            if p in ("CUDAExecutionProvider", "TensorrtExecutionProvider")
        ],
        "openvino_gpu_devices": [d for d in ovi.get("devices", []) if str(d).startswith("GPU")],
        "render_nodes": gpu_signature()["dri"],
    }
    try:
        root = cache_root()
        cached = len(list((root / "engines").glob("*.json"))) if (root / "engines").is_dir() else 0
        cache = {"folder": str(root), "engine_choices": cached}
    except (OSError, RuntimeError) as exc:
        cache = {"folder": None, "error": str(exc)}
    return {
        "cpu": cpu_features(),
        "engines": engines,
        "gpu": gpus,
        "versions": library_versions(),
        "cache": cache,
    }


def _print_system(report: dict) -> None:
    cpu = report["cpu"]
    print(f"CPU: {cpu['cpu']} ({cpu['arch']}, {cpu['cores']} logical CPUs)")
    have = [k for k, v in cpu["isa"].items() if v]
    lack = [k for k, v in cpu["isa"].items() if not v]
    print(f"  ISA: {', '.join(have) or '-'}")
    if lack:
        print(f"  not present: {', '.join(lack)}")
    print(
        f"  int8 dot products (VNNI/AMX/ARM dot-product): {'yes' if cpu['int8_dot'] else 'no'}"
        f"; bf16: {'yes' if cpu['bf16'] else 'no'}; fast fp16: {'yes' if cpu['fp16'] else 'no'}"
        f"; AMX: {'yes' if cpu['amx'] else 'no'}"
    )
    print("Engines:")
    eng = report["engines"]
    ort, ovi, lit = eng.get("onnxruntime"), eng.get("openvino"), eng.get("litert")
    print(
        f"  onnxruntime {ort['version']}: providers {', '.join(ort['providers'])}"
        if ort
        else "  onnxruntime: not installed"
    )
    if ovi:
        caps = (
            f"; CPU capabilities {', '.join(ovi['cpu_capabilities'])}"
            if ovi.get("cpu_capabilities")
            else ""
        )
        print(f"  openvino {ovi['version']}: devices {', '.join(ovi['devices'])}{caps}")
    else:
        print("  openvino: not installed (pip install 'liveseg[openvino]')")
    print(
        f"  litert {lit['version']}"
        if lit
        else "  litert: not installed (pip install 'liveseg[litert]')"
    )
    g = report["gpu"]
    gpu_bits = []
    if g["nvidia_gpu"]:
        gpu_bits.append("NVIDIA GPU present")
    if g["onnxruntime_gpu_providers"]:
        gpu_bits.append("onnxruntime " + ", ".join(g["onnxruntime_gpu_providers"]))
    if g["openvino_gpu_devices"]:
        gpu_bits.append("OpenVINO " + ", ".join(g["openvino_gpu_devices"]))
    print(f"GPU: {'; '.join(gpu_bits) if gpu_bits else 'none usable (CPU engines only)'}")
    c = report["cache"]
    if c.get("folder"):
        print(f"Cache: {c['folder']} ({c['engine_choices']} measured engine choice(s))")


def _fmt(v):
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def run(args):
    import json
    import sys

    from liveseg.errors import ConfigError
    from liveseg.runtime.cli_args import load_model_from_args

    if args.model is None and not args.system:
        raise ConfigError("give a MODEL (shipped name or file), or --system")
    report = system_report() if args.system else None
    if args.model is None:
        if args.json:
            json.dump({"system": report}, sys.stdout, indent=2, default=str)
            sys.stdout.write("\n")
        else:
            _print_system(report)
        return 0
    model = load_model_from_args(args)
    d = model.describe()
    if args.json:
        if report is not None:
            d = {"system": report, **d}
        json.dump(d, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    if report is not None:
        _print_system(report)
        print()

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
        (
            "engine",
            eng["engine"]
            + (f" (delegate: {eng['delegate']})" if eng.get("delegate") else "")
            + (
                f", xnnpack fallback: {eng['xnnpack_fallback']}"
                if eng.get("xnnpack_fallback")
                else ""
            )
            + (
                f" ({eng['device']}, precision {eng.get('precision', 'default')}, "
                f"{eng.get('performance_hint', '').lower()} hint)"
                if eng.get("device")
                else ""
            )
            + (f" ({', '.join(eng['providers'])})" if eng.get("providers") else ""),
        ),
        ("threads", eng["threads"] or "engine default"),
    ]
    choice = model.engine_choice
    if choice is not None:
        rows.append(("engine choice", choice.summary()))
        if choice.reason != "forced":
            rows.append(("candidates", "\n".join(choice.lines())))
    rows += [
        ("inputs", "\n".join(eng["inputs"])),
        ("outputs", "\n".join(eng["outputs"])),
        (
            "input layout",
            io["layout"]
            + f"  [from {io['layout_source']}]"
            + (" (4th channel: previous mask)" if io["prev_mask_input"] else ""),
        ),
        (
            "input size",
            f"{io['input_size'][0]}x{io['input_size'][1]}"
            + (" (dynamic)" if io["dynamic_size"] else " (fixed)"),
        ),
        (
            "input dtype",
            io["input_dtype"]
            + (
                f", quant scale={io['input_quant'][0]:.6g} zp={io['input_quant'][1]:g}"
                if io["input_quant"]
                else ""
            ),
        ),
        (
            "normalisation",
            f"{io['norm']}  [from {io['norm_source']}]  "
            f"mean={_fmt(io['mean'])} std={_fmt(io['std'])}",
        ),
        (
            "output",
            f"{io['output_name']}: {io['output_kind']}"
            + (f" [from {io['output_kind_source']}]" if io.get("output_kind_source") else "")
            + f", layout {io['output_layout']}, "
            f"{io['output_size'][1]}x{io['output_size'][0]} (WxH)"
            + (
                f", decoded as (q - {io['output_quant'][1]:g}) * {io['output_quant'][0]:.6g}"
                if io.get("output_quant")
                else ""
            ),
        ),
        ("classes", f"{io['num_classes']}: {_fmt(io['classes'])}  [from {io['classes_source']}]"),
        ("foreground", _fmt(card["foreground"]) or "-"),
    ]
    if card.get("training_data") or card.get("license"):
        rows.append(
            (
                "training data / license",
                f"{card.get('training_data') or '-'} / {card.get('license') or '-'}",
            )
        )
    if card.get("metrics"):
        rows.append(("metrics", json.dumps(card["metrics"])))
    for note in io["notes"]:
        rows.append(("note", note))
    for k, v in rows:
        t.add_row(k, escape(str(v)))
    Console(soft_wrap=False).print(t)
    return 0
