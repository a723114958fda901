"""Which files stand for a model at each precision and input size, for the trade-off sweep.

A shipped name brings its shipped siblings (``<base>-int8``, ``-fp16`` ...); a float32 .onnx
file can be turned into fp16 and int8 (calibrated on the sweep's data) here; any other file
(int8 or fp16 already, .tflite, third-party) is what it is, and the precisions it cannot be
are skipped with a note.

Input sizes: a file whose graph takes any size runs at every size as it is. A file fixed at
another size is re-exported at the size asked for when its network can be read back: a liveseg
float ONNX model (a shipped fp32/fp16 sibling, or a file whose liveseg card names its
architecture) goes back to PyTorch (``liveseg.models.checkpoint.load_torch_model``), out again
at the new size (``liveseg.export.onnx_export``) and on to fp16 / int8 as float files do.
Files without a liveseg card are kept as they are: the runtime runs them at the size asked for
when their graph can be rewritten (``liveseg.runtime.input_resize``, as ``--input-size`` does:
same weights, int8 ranges as calibrated), else the sweep skips that size with a note.
"""

from __future__ import annotations

from pathlib import Path

PRECISIONS = ("fp32", "fp16", "int8")
_INT8_OPS = {
    "QuantizeLinear",
    "DequantizeLinear",
    "QLinearConv",
    "QLinearMatMul",
    "ConvInteger",
    "MatMulInteger",
    "DynamicQuantizeLinear",
}


def file_precision(path) -> str:
    """fp32, fp16 or int8: what the weights of an .onnx / .tflite file are stored as."""
    path = Path(path)
    if path.suffix.lower() == ".tflite":
        return _tflite_precision(path)
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    if any(n.op_type in _INT8_OPS for n in m.graph.node):
        return "int8"
    fp16 = onnx.TensorProto.FLOAT16
    if any(t.data_type == fp16 for t in m.graph.initializer):
        return "fp16"
    return "fp32"


def _tflite_precision(path: Path) -> str:
    import numpy as np

    from liveseg.errors import ModelError

    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise ModelError(
            "reading a .tflite model needs ai-edge-litert (pip install 'liveseg[tflite]')"
        ) from None
    dtypes = {d["dtype"] for d in Interpreter(model_path=str(path)).get_tensor_details()}
    if dtypes & {np.int8, np.uint8}:
        return "int8"
    return "fp16" if np.float16 in dtypes else "fp32"


def shipped_family(spec) -> dict[str, Path] | None:
    """{precision: file} of a shipped model, named with or without its variant suffix; None
    when ``spec`` names no shipped model."""
    from liveseg import zoo
    from liveseg.runtime.autoselect import VARIANT_RE

    name = str(spec)
    m = VARIANT_RE.match(name)
    base = m.group("base") if m and zoo.resolve(name) else name
    out = {}
    for prec in PRECISIONS:
        p = zoo.resolve(f"{base}-{prec}")
        if p is not None:
            out[prec] = p
    if not out and zoo.resolve(name) is not None:  # a shipped file without a variant suffix
        p = zoo.resolve(name)
        out[file_precision(p)] = p
    return out or None


def model_variants(spec, precisions, data, workdir, log=print) -> tuple[dict, list[str]]:
    """({precision: file}, notes) for the requested ``precisions`` of model ``spec``."""
    from liveseg.runtime import resolve_model_path

    notes = []
    family = shipped_family(spec)
    if family is not None:
        have = family
        why = f"shipped as {', '.join(sorted(family))} only"
    else:
        path = resolve_model_path(spec)  # ModelError (one line) for a name that is nothing
        prec = file_precision(path)
        have = {prec: path}
        why = f"the file is {prec}"
        derivable = [p for p in precisions if p not in have and p != "fp32"]
        if prec == "fp32" and path.suffix.lower() == ".onnx" and derivable:
            from liveseg.bench.quant import build_variants

            built = build_variants(path, workdir, data, "train", 64, log=log, names=derivable)
            have.update({p: built[p] for p in derivable})
    out = {}
    for p in precisions:
        if p in have:
            out[p] = have[p]
        else:
            notes.append(f"{spec}: {p} skipped ({why})")
    return out, notes


def fixed_input_size(path) -> tuple[int, int] | None:
    """(width, height) an .onnx file's graph fixes its input at; None when the graph takes any
    size or the file is not ONNX (for a .tflite the runtime says whether it takes a size)."""
    from liveseg.card import read_card
    from liveseg.errors import ModelError
    from liveseg.quant.onnx_io import input_shape, load_onnx

    path = Path(path)
    if path.suffix.lower() != ".onnx":
        return None
    model = load_onnx(path)
    try:
        shape = input_shape(model)
    except ModelError:  # several inputs: the runtime refuses it with its own message
        return None
    if len(shape) != 4:
        return None
    card = read_card(path, model).card
    nhwc = card.layout == "nhwc" if card else shape[3] in (1, 3, 4) and shape[1] not in (1, 3, 4)
    h, w = (shape[1], shape[2]) if nhwc else (shape[2], shape[3])
    return (w, h) if w and h else None


def readable_float(spec) -> Path | None:
    """The float ONNX file whose network liveseg can read back for model ``spec`` (the shipped
    fp32, else fp16, sibling; or the file itself), when its card names a liveseg architecture;
    None otherwise (int8 only, .tflite, third-party, or no torch)."""
    from liveseg.card import read_card
    from liveseg.runtime import resolve_model_path

    family = shipped_family(spec)
    candidates = [family.get("fp32"), family.get("fp16")] if family else [resolve_model_path(spec)]
    try:
        from liveseg.models import list_models
    except ImportError:  # the train extra (torch) is not installed
        return None
    for path in candidates:
        if path is None or path.suffix.lower() != ".onnx" or file_precision(path) == "int8":
            continue
        card = read_card(path).card
        if card is not None and card.architecture in list_models():
            return path
    return None


def export_at_size(source, size, workdir, log=print) -> Path:
    """The network of float ONNX file ``source`` re-exported at ``size`` (width, height) as
    ``<workdir>/<base>-at-<W>x<H>.onnx`` with its card (reused when already there)."""
    from liveseg.runtime.autoselect import VARIANT_RE

    w, h = (int(v) for v in size)
    stem = Path(source).stem
    m = VARIANT_RE.match(stem)
    base = m.group("base") if m else stem
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / f"{base}-at-{w}x{h}.onnx"
    if not out.exists():
        from liveseg.export.onnx_export import export_card, export_onnx
        from liveseg.models.checkpoint import load_torch_model

        log(f"re-exporting {Path(source).name} at {w}x{h} ...")
        model, card_dict, what = load_torch_model(str(source))
        model.eval()
        export_onnx(model, out, (w, h), card=export_card(model, card_dict, out.stem, (w, h), what))
    return out


def variants_at_size(spec, files, size, data, workdir, log=print) -> tuple[dict, list[str]]:
    """({precision: file}, notes) of model ``spec`` at input ``size`` (width, height; None: each
    file's own). ``files`` are its variants at their own size (``model_variants``); those fixed
    at another size are replaced by files re-exported at ``size`` when the network can be read
    back (see the module docstring), else kept for the runtime to refuse (the sweep notes it)."""
    from liveseg.errors import LivesegError

    if size is None:
        return dict(files), []
    size = (int(size[0]), int(size[1]))
    fixed = [p for p, f in files.items() if fixed_input_size(f) not in (None, size)]
    if not fixed:
        return dict(files), []
    source = readable_float(spec)
    if source is None:
        why = (
            f"{spec}: its input size is fixed and it has no liveseg float ONNX model "
            "(with a card naming its architecture) to re-export at other sizes"
        )
        return dict(files), [why]
    try:
        fp32 = export_at_size(source, size, workdir, log=log)
        built = {"fp32": fp32}
        derived = [p for p in fixed if p != "fp32"]
        if derived:
            from liveseg.bench.quant import build_variants

            built.update(build_variants(fp32, workdir, data, "train", 64, log=log, names=derived))
    except LivesegError as exc:
        return dict(files), [f"{spec}: cannot re-export at {size[0]}x{size[1]} ({exc})"]
    out = dict(files)
    out.update({p: built[p] for p in fixed})
    return out, []
