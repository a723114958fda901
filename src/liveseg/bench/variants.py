"""Which files stand for a model at each precision and input size, for the trade-off sweep.

A shipped name brings its shipped siblings (``<base>-int8``, ``-fp16`` ...); a float32 .onnx
file can be turned into fp16 and int8 (calibrated on the sweep's data) here; any other file
(int8 or fp16 already, .tflite, third-party) is what it is, and the precisions it cannot be
are skipped with a note.

Input sizes: a file whose graph takes any size runs at every size as it is. A file fixed at
another size runs at the size asked for as ``--input-size`` runs it: its graph rewritten, same
weights, int8 ranges as calibrated (``liveseg.runtime.input_resize``; the copy in the user
cache). Graphs that cannot be rewritten keep their size; the other sizes are skipped with a note.
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


def variants_at_size(spec, files, size) -> tuple[dict, list[str]]:
    """({precision: file}, notes) of model ``spec`` at input ``size`` (width, height; None: each
    file's own). ``files`` are its variants at their own size (``model_variants``); those fixed
    at another size are replaced by their rewritten copies, or kept and noted where the graph
    cannot be rewritten (the runtime then refuses that size)."""
    from liveseg.errors import LivesegError
    from liveseg.runtime.input_resize import model_at_input_size

    out, notes = dict(files), []
    if size is None:
        return out, notes
    size = (int(size[0]), int(size[1]))
    for prec, path in files.items():
        if Path(path).suffix.lower() != ".onnx":
            continue  # a .tflite: the runtime says whether it takes the size
        try:  # the file itself when its graph takes any size, or this one already
            out[prec] = model_at_input_size(path, size)
        except LivesegError as exc:
            notes.append(f"{spec} {prec}: cannot run at {size[0]}x{size[1]} ({exc})")
    return out, notes
