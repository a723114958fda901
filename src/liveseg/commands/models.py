"""`liveseg models`: the shipped models, then the architectures of the PyTorch model zoo."""

HELP = "list shipped models and model-zoo architectures (--details: params, GMACs, ONNX size)"


def add_arguments(parser):
    parser.add_argument(
        "--details",
        action="store_true",
        help="per architecture: parameters, GMACs and ONNX size (slower)",
    )
    parser.add_argument(
        "--size",
        default="256",
        metavar="N|WxH",
        help="input resolution for --details (default 256 = 256x256)",
    )
    parser.add_argument(
        "--num-classes", type=int, default=21, help="classes for --details (default 21)"
    )
    parser.add_argument(
        "--no-onnx",
        action="store_true",
        help="with --details, skip exporting each model to measure its ONNX size",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help="only these architectures (default: all)"
    )


def parse_size(text, flag: str = "--size") -> tuple[int, int]:
    """N or WxH, 32..4096 per side: the sizes models are profiled at."""
    from liveseg.parsing import parse_size as parse

    return parse(text, flag, square=True, lo=32, hi=4096)


def run(args):
    import json

    from rich.console import Console

    from liveseg.errors import DependencyError
    from liveseg.zoo import list_shipped

    console = Console()
    size = parse_size(args.size)
    shipped = list_shipped()
    report = {"shipped": [c.to_dict() for c in shipped], "architectures": []}

    try:
        from liveseg.models import get_builder, list_models
    except DependencyError as exc:
        list_models, arch_error = None, str(exc)
    names = []
    if list_models is not None:
        names = list(args.names) or list_models()
        for n in names:
            get_builder(n)  # unknown names: ConfigError listing close matches
    rows = []
    for n in names:
        doc = " ".join((get_builder(n).__doc__ or "").split())
        row = {"name": n, "summary": doc}
        if args.details:
            from liveseg.bench.models import summarize

            row.update(summarize(n, args.num_classes, size, with_onnx=not args.no_onnx))
        rows.append(row)
    report["architectures"] = rows

    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    shipped_title = f"Shipped models ({len(shipped)}): liveseg run --model NAME"
    shipped_cols = (
        "name",
        "task / classes",
        "input WxH",
        "val",
        "E2E fps 640x480",
        "MB",
        "training data / license",
    )
    shipped_rows = [
        [
            c.name,
            f"{c.task} / {c.num_classes}",
            f"{c.input_size[0]}x{c.input_size[1]}",
            _val_summary(c),
            _fps_summary(c),
            _size_mb(c.name),
            f"{_first_clause(c.training_data)} / {c.license or '-'}",
        ]
        for c in shipped
    ]
    arch_title = f"Architectures ({len(rows)})"
    if args.details:
        arch_title += f" at {size[0]}x{size[1]}, {args.num_classes} classes"
    arch_cols = ["name"]
    if args.details:
        arch_cols += ["params (M)", "GMACs"] + ([] if args.no_onnx else ["ONNX (MB)"])
    else:
        arch_cols.append("description")
    arch_rows = []
    for r in rows:
        if args.details:
            cells = [f"{r['params'] / 1e6:.2f}", f"{r['macs'] / 1e9:.2f}"]
            if not args.no_onnx:
                cells.append(f"{r['onnx_bytes'] / 1e6:.1f}")
            arch_rows.append([r["name"], *cells])
        else:
            arch_rows.append([r["name"], r["summary"]])
    footer = (
        (
            "GMACs: multiply-accumulates of convolutions and matrix products "
            "(torch FlopCounterMode FLOPs / 2)."
        )
        if args.details
        else None
    )

    if not console.is_terminal:
        # Piped or redirected: plain tab-separated rows, one per model, never wrapped, so
        # names stay whole for grep/cut/awk.
        _plain(shipped_title if shipped else "Shipped models: none yet", shipped_cols, shipped_rows)
        if list_models is None:
            print(f"Architectures: unavailable ({arch_error})")
            return 0
        print()
        _plain(arch_title, arch_cols, arch_rows)
        if footer:
            print(footer)
        return 0

    # A terminal too narrow for a table with whole names gets one block per model instead.
    names = [r[0] for r in shipped_rows + arch_rows]
    stacked = console.width < max(map(len, names), default=0) + 40
    if shipped:
        console.print(
            _stacked(shipped_title, shipped_cols, shipped_rows)
            if stacked
            else _table(shipped_title, shipped_cols, shipped_rows),
            soft_wrap=stacked,
        )
    else:
        console.print("Shipped models: none yet")
    if list_models is None:
        # Plain text: rich markup would eat the brackets of "pip install 'liveseg[train]'".
        console.print(f"Architectures: unavailable ({arch_error})", markup=False)
        return 0
    right = {"params (M)", "GMACs", "ONNX (MB)"}
    console.print(
        _stacked(arch_title, arch_cols, arch_rows)
        if stacked
        else _table(arch_title, arch_cols, arch_rows, right=right),
        soft_wrap=stacked,
    )
    if footer:
        console.print(footer, markup=False)
    return 0


def _plain(title, cols, rows) -> None:
    print(title)
    print("\t".join(cols))
    for r in rows:
        print("\t".join(" ".join(str(c).split()) for c in r))


def _stacked(title, cols, rows):
    """Narrow terminals: the name on its own line (never broken), then its fields indented."""
    from rich.text import Text

    out = Text()
    out.append(title + "\n", style="italic")
    for r in rows:
        out.append(str(r[0]) + "\n", style="bold")
        for col, cell in zip(cols[1:], r[1:], strict=True):
            out.append(f"  {col}: {cell}\n")
    out.rstrip()
    return out


def _table(title, cols, rows, right=()):
    """A rich table whose first column (the name) never wraps: names stay whole and
    copy-pasteable in a narrow terminal; the other columns fold instead. Cells are plain
    text (no rich markup: brackets in cards stay)."""
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=escape(title), title_justify="left")
    width = max([len(cols[0])] + [len(str(r[0])) for r in rows])
    for i, col in enumerate(cols):
        if i == 0:
            t.add_column(col, no_wrap=True, min_width=width, overflow="ignore")
        else:
            t.add_column(col, overflow="fold", justify="right" if col in right else "left")
    for r in rows:
        t.add_row(*(escape(str(c)) for c in r))
    return t


def _val_summary(card) -> str:
    """The card's headline validation figure: J&F for video (DAVIS) models, else mIoU."""
    val = (card.metrics or {}).get("val") or {}
    if "jf" in val:
        return (
            f"J&F {100 * val['jf']:.1f} (J {100 * val['j_mean']:.1f}, F {100 * val['f_mean']:.1f})"
        )
    if "miou" in val:
        return f"mIoU {100 * val['miou']:.1f}"
    return "-"


def _fps_summary(card) -> str:
    lat = card.latency or {}
    two, one = lat.get("2_threads") or {}, lat.get("1_threads") or {}
    if "e2e_fps_median" not in two:
        return "-"
    return f"{two['e2e_fps_median']:.0f} (2 thr), {one.get('e2e_fps_median', 0):.0f} (1 thr)"


def _size_mb(name) -> str:
    from liveseg.zoo import resolve

    path = resolve(name)
    return f"{path.stat().st_size / 1e6:.1f}" if path else "-"


def _first_clause(text) -> str:
    text = text or "-"
    return text.split(":")[0].split(";")[0]
