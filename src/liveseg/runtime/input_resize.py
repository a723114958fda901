"""A fixed-size ONNX model at another input size, without PyTorch (``--input-size`` on a model
whose graph fixes its size: ``liveseg run``, ``liveseg web``, ``load_model``).

The networks liveseg exports are fully convolutional: only their Resize nodes (decoder
upsampling, the final resize to the input) hold sizes, as constants. Each Resize output sits at
a power-of-two stride ``s`` of the input (a stride-2 convolution with "same" padding maps n to
ceil(n / 2), so a chain of them maps n to ceil(n / s)), so at a new input W x H its size becomes
ceil(H / s) x ceil(W / s). The rewritten graph goes through ONNX's strict shape inference (a
Concat of maps that no longer match fails it), so a graph this cannot handle is refused, never
run wrong. The weights are untouched: int8, fp16 and fp32 files all work. Accuracy at another
size is the network's own (a smaller input sees less detail); the card keeps the metrics it had,
labelled with the size they were measured at.

Rewritten files go to liveseg's user cache (``resized/``), named by the source file's hash and
the size, and are reused; without a writable cache, to a temporary folder for this process.
"""

from __future__ import annotations

import atexit
import hashlib
import math
import shutil
import tempfile
from pathlib import Path

from liveseg.errors import ModelError
from liveseg.runtime.onnx_file import graph_inputs, load_onnx

MAX_STRIDE = 128
# Ops whose constant inputs can hold spatial shapes this rewrite does not follow.
SHAPE_OPS = ("Reshape", "Expand", "Tile", "ConstantOfShape", "Upsample", "Slice", "Pad")
_TMP: list[Path] = []


def _stride(original: int, resized: int) -> int | None:
    """The power-of-two stride s with ceil(original / s) == resized (None if there is none)."""
    s = 1
    while s <= MAX_STRIDE:
        if math.ceil(original / s) == resized:
            return s
        s *= 2
    return None


def _static_nchw(model) -> tuple[object, int, int]:
    ins = graph_inputs(model)
    if len(ins) != 1:
        raise ModelError(f"the model has {len(ins)} inputs; resizing needs one image input")
    dims = ins[0].type.tensor_type.shape.dim
    vals = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]
    if len(vals) != 4 or vals[1] not in (3, 4) or vals[2] is None or vals[3] is None:
        raise ModelError(
            f"input shape {vals} is not a fixed-size NCHW image; resizing needs N x 3|4 x H x W"
        )
    return ins[0], vals[2], vals[3]


def _fixed_nchw_size(model) -> tuple[int, int] | None:
    """(W, H) of a model whose NCHW image input has a fixed size, else None."""
    try:
        _, h, w = _static_nchw(model)
    except ModelError:
        return None
    return w, h


def _int_constant(name, inits, producers):
    """The int values of a constant tensor (an initializer or a Constant node), else None."""
    from onnx import numpy_helper

    if name in inits:
        return numpy_helper.to_array(inits[name]).astype("int64")
    node = producers.get(name)
    if node is not None and node.op_type == "Constant" and node.attribute:
        attr = node.attribute[0]
        if attr.name == "value":
            return numpy_helper.to_array(attr.t).astype("int64")
    return None


def _spatial_sizes(resize, inits, producers):
    """(holder node, input index, values) of the constant that fixes a Resize's output height
    and width: the ``sizes`` input itself (N, C, H, W), or, as fp16 exports compute it, the
    constant (H, W) that a Concat appends to the input's own N and C (Shape -> Slice)."""
    name = resize.input[3]
    values = _int_constant(name, inits, producers)
    if values is not None and values.shape == (4,):
        return resize, 3, values
    concat = producers.get(name)
    if concat is not None and concat.op_type == "Concat" and len(concat.input) == 2:
        head = producers.get(concat.input[0])
        tail = _int_constant(concat.input[1], inits, producers)
        if head is not None and head.op_type in ("Slice", "Shape") and tail is not None:
            if tail.shape == (2,):
                return concat, 1, tail
    where = resize.name or resize.output[0]
    raise ModelError(f"Resize node {where} has sizes that are not a constant this can rewrite")


def _refuse_whole_map_pooling(model) -> None:
    """A pooling whose window is its whole input map (how some exporters write global
    pooling) would stop being global at another size: refuse it."""
    import onnx

    pools = [n for n in model.graph.node if n.op_type in ("AveragePool", "MaxPool", "LpPool")]
    if not pools:
        return
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - then the rewritten graph's inference will say
        return
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in [*inferred.graph.value_info, *inferred.graph.input]
    }
    for node in pools:
        kernel = next((list(a.ints) for a in node.attribute if a.name == "kernel_shape"), [])
        if kernel and kernel != [1] * len(kernel) and shapes.get(node.input[0], [])[2:] == kernel:
            raise ModelError(
                f"the {node.op_type} node {node.name or node.output[0]} pools its whole "
                f"{kernel[1]}x{kernel[0]} map, which would not stay global at another size"
            )


def resize_graph(model, size):
    """A copy of ``model`` (onnx.ModelProto, fixed NCHW input) taking ``size`` = (W, H);
    raises ModelError, naming the node, where the graph holds sizes this cannot rewrite."""
    import onnx
    from onnx import numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    inp, h0, w0 = _static_nchw(model)
    _refuse_whole_map_pooling(model)
    w, h = int(size[0]), int(size[1])
    inits = {t.name: t for t in model.graph.initializer}
    producers = {o: n for n in model.graph.node for o in n.output}
    for node in model.graph.node:
        where = node.name or node.output[0]
        shape_arithmetic = (
            node.op_type == "Slice"
            and getattr(producers.get(node.input[0]), "op_type", None) == "Shape"
        )
        if node.op_type in SHAPE_OPS and not shape_arithmetic:
            raise ModelError(
                f"the graph has a {node.op_type} node ({where}) that may hold a fixed size; "
                "only fully convolutional graphs can be resized"
            )
        if node.op_type != "Resize" or len(node.input) < 4 or not node.input[3]:
            continue  # a Resize by constant scales does not depend on the input size
        holder, index, values = _spatial_sizes(node, inits, producers)
        oh, ow = int(values[-2]), int(values[-1])
        sh, sw = _stride(h0, oh), _stride(w0, ow)
        if sh is None or sw is None:
            raise ModelError(
                f"Resize node {where} makes {ow}x{oh} from a {w0}x{h0} input: not a "
                "power-of-two stride of it"
            )
        new = values.copy()
        new[-2], new[-1] = math.ceil(h / sh), math.ceil(w / sw)
        name = f"{holder.input[index]}_at_{w}x{h}"
        if name not in inits:
            inits[name] = numpy_helper.from_array(new, name)
            model.graph.initializer.append(inits[name])
        holder.input[index] = name
    used = {x for n in model.graph.node for x in n.input}
    for t in [t for t in model.graph.initializer if t.name not in used]:
        model.graph.initializer.remove(t)
    for n in [n for n in model.graph.node if n.op_type == "Constant" and n.output[0] not in used]:
        model.graph.node.remove(n)
    inp.type.tensor_type.shape.dim[2].dim_value = h
    inp.type.tensor_type.shape.dim[3].dim_value = w
    del model.graph.value_info[:]
    for out in model.graph.output:
        out.type.tensor_type.ClearField("shape")
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - onnx raises InferenceError and others
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"the graph does not resize to {w}x{h}: {first[:300]}") from None


def _resized_card(card, size, original):
    from liveseg.card import ModelCard

    d = card.to_dict()
    ow, oh = original
    d["input_size"] = [int(size[0]), int(size[1])]
    d["notes"] = (card.notes + " | " if card.notes else "") + (
        f"input size changed from {ow}x{oh} to {size[0]}x{size[1]} by liveseg "
        "(Resize sizes rewritten; same weights)"
    )
    for key in ("metrics", "latency"):
        if d.get(key):
            d[key] = {f"measured_at_{ow}x{oh}": d[key]}
    return ModelCard.from_dict(d)


def _folder() -> Path:
    from liveseg.runtime.cache import writable_cache_dir

    folder, _ = writable_cache_dir("resized")
    if folder is not None:
        return folder
    if not _TMP:
        _TMP.append(Path(tempfile.mkdtemp(prefix="liveseg-resized-")))
        atexit.register(shutil.rmtree, _TMP[0], True)
    return _TMP[0]


def model_at_input_size(path, size) -> Path:
    """``path`` itself when its input is dynamic or already ``size`` (W, H); else the path of a
    copy whose graph takes ``size`` (made once, then reused), with its card beside it."""
    from liveseg.atomic import atomic_output
    from liveseg.card import card_path_for, read_card

    path = Path(path)
    model = load_onnx(path)
    fixed = _fixed_nchw_size(model)
    size = (int(size[0]), int(size[1]))
    if fixed is None or fixed == size:
        return path
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    out = _folder() / f"{path.stem}-{size[0]}x{size[1]}-{digest}.onnx"
    if out.is_file():  # written last, so complete
        return out
    import onnx

    try:
        resized = resize_graph(model, size)
    except ModelError as exc:
        raise ModelError(
            f"{path.name} takes {fixed[0]}x{fixed[1]} images and cannot run at "
            f"{size[0]}x{size[1]}: {exc}"
        ) from None
    card = read_card(path, model).card
    if card is not None:
        card = _resized_card(card, size, fixed)
        card.embed_in_onnx(resized)
        card.save(card_path_for(out))
    with atomic_output(out) as tmp:
        onnx.save(resized, str(tmp))
    return out
