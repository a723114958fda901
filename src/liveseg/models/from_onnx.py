"""A network's weights from an exported float model (fp32 or fp16 ONNX) of the same architecture.

A shipped model has no PyTorch checkpoint beside it, and its export folded every
BatchNorm into the convolution before it (and dropped the names). Its weights still load
exactly (to start a fine-tuning run, ``init_from: MODEL.onnx``, or to re-export at another
input size): the ONNX Conv nodes are matched, in graph order, with the network's
convolutions in the order they execute; a convolution followed by a BatchNorm gets the fused
weight, and the BatchNorm becomes the affine map ``x + bias`` (mean 0, var 1 - eps, gamma 1).

To train on from there, ``recalibrate_batchnorm`` gives those BatchNorms real statistics from
a few batches of data while keeping the function the same: without them a folded network has
no normalisation left, and Adam's steps (the same size whatever a weight's scale) knock the
small fused weights about (measured: the loss rose during warm-up with frozen statistics).

The match is checked twice: every pair must agree in shape, groups, stride and dilation, and
the loaded network must reproduce the ONNX model's logits on a random image (``onnx_parity``,
the same check ``liveseg export`` runs on the file it writes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from liveseg.errors import ConfigError, ModelError
from liveseg.models.common import eval_mode, model_logits

# fp16 files store every weight rounded to 11 significant bits; the logits of a deep network
# then differ by ~1e-3 of their range, a wrong mapping by about all of it.
_TOLERANCE = 0.02


def _const_values(graph) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute:
            attr = node.attribute[0]
            if attr.name == "value":
                values[node.output[0]] = numpy_helper.to_array(attr.t)
    # fp16 files may pass a weight through Cast; follow it to the stored array.
    for node in graph.node:
        if node.op_type == "Cast" and node.input[0] in values:
            values[node.output[0]] = values[node.input[0]]
    return values


def _onnx_convs(path: Path) -> tuple[list[dict], tuple[int, ...]]:
    import onnx

    try:
        model = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf raises several types for a corrupt file
        raise ConfigError(f"{path}: not a readable ONNX model ({exc})") from None
    graph = model.graph
    values = _const_values(graph)
    convs = []
    for node in graph.node:
        if node.op_type in ("QLinearConv", "ConvInteger", "DequantizeLinear"):
            raise ConfigError(
                f"{path}: a quantized model's weights cannot be read back "
                "exactly; use its fp32 or fp16 file"
            )
        if node.op_type != "Conv":
            continue
        if node.input[1] not in values:
            raise ConfigError(f"{path}: Conv {node.name!r} has a computed weight")
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        bias = values.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        convs.append(
            {
                "weight": values[node.input[1]].astype(np.float32),
                "bias": None if bias is None else bias.astype(np.float32),
                "group": int(attrs.get("group", 1)),
                "strides": tuple(attrs.get("strides", (1, 1))),
                "dilations": tuple(attrs.get("dilations", (1, 1))),
            }
        )
    dims = graph.input[0].type.tensor_type.shape.dim
    shape = tuple(max(0, d.dim_value) for d in dims)
    return convs, shape


def _torch_convs(
    model: torch.nn.Module, shape
) -> list[tuple[torch.nn.Conv2d, torch.nn.Module | None]]:
    """The network's convolutions in execution order, each with the BatchNorm that takes its
    output directly (or None)."""
    order: list[torch.nn.Conv2d] = []
    produced: dict[int, torch.nn.Conv2d] = {}
    bn_of: dict[int, torch.nn.Module] = {}
    hooks = []

    def conv_hook(mod, _inp, out):
        order.append(mod)
        produced[id(out)] = mod

    def bn_hook(mod, inp):
        conv = produced.get(id(inp[0]))
        if conv is not None:
            bn_of[id(conv)] = mod

    for mod in model.modules():
        if isinstance(mod, torch.nn.Conv2d):
            hooks.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            hooks.append(mod.register_forward_pre_hook(bn_hook))
    try:
        with eval_mode(model), torch.no_grad():
            model(torch.zeros(shape))
    finally:
        for h in hooks:
            h.remove()
    if len({id(m) for m in order}) != len(order):
        raise ConfigError(
            "the network runs one convolution twice; its ONNX weights cannot be told apart"
        )
    return [(conv, bn_of.get(id(conv))) for conv in order]


def _check_coverage(model, pairs):
    """Every trainable tensor must come from the ONNX file: no Linear, LayerNorm, ... ."""
    covered = set()
    for conv, bn in pairs:
        covered.update(id(p) for p in conv.parameters(recurse=False))
        if bn is not None:
            covered.update(id(p) for p in bn.parameters(recurse=False))
    for name, p in model.named_parameters():
        if id(p) not in covered:
            raise ConfigError(
                f"{name} is neither a convolution nor a BatchNorm after one; its "
                "value cannot be read back from an ONNX graph"
            )


def _assign(conv: torch.nn.Conv2d, bn, src: dict, index: int, path: Path):
    w = torch.from_numpy(src["weight"])
    if (
        tuple(w.shape) != tuple(conv.weight.shape)
        or src["group"] != conv.groups
        or src["strides"] != tuple(conv.stride)
        or src["dilations"] != tuple(conv.dilation)
    ):
        raise ConfigError(
            f"{path}: convolution {index} does not match: weight {tuple(w.shape)} "
            f"group {src['group']} stride {src['strides']} dilation {src['dilations']} in the "
            f"file, {tuple(conv.weight.shape)} group {conv.groups} stride {tuple(conv.stride)} "
            f"dilation {tuple(conv.dilation)} in the network: not the same architecture"
        )
    bias = torch.zeros(w.shape[0]) if src["bias"] is None else torch.from_numpy(src["bias"])
    conv.weight.copy_(w)
    if bn is None:
        if conv.bias is not None:
            conv.bias.copy_(bias)
        elif bias.abs().max() > 0:
            raise ConfigError(
                f"{path}: convolution {index} has a bias in the file "
                "but neither a bias nor a BatchNorm in the network"
            )
        return
    if conv.bias is not None:
        conv.bias.zero_()
    bn.running_mean.zero_()
    bn.running_var.fill_(1.0 - bn.eps)  # so that sqrt(var + eps) == 1 exactly
    if bn.weight is not None:
        bn.weight.fill_(1.0)
        bn.bias.copy_(bias)
    elif bias.abs().max() > 0:
        raise ConfigError(f"{path}: BatchNorm after convolution {index} is not affine")


def ort_session(path, threads=1):
    """An ONNX Runtime session for ``path`` on the CPU with ``threads`` threads (ModelError
    with ORT's reason when it cannot load the file)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise ModelError(f"onnxruntime cannot load {path}: {exc}") from None


def onnx_parity(model, path, sizes=None, batch=None, seed=0) -> dict:
    """How closely the ONNX file ``path`` computes what the network ``model`` computes: both
    run on the same random inputs (ONNX Runtime on the CPU; an fp16 file gets them in fp16),
    the network in eval mode (its mode is restored afterwards), its main output
    (``model_logits``) against the file's first output.

    ``sizes`` is a list of (width, height) (default: the file's fixed input size); ``batch``
    defaults to the file's fixed batch size, else 1. Returns {"max_abs_diff": float,
    "max_rel_diff": float (each size's max abs diff over the largest |value| of the file's
    output, the worst size), "argmax_agreement": float, "sizes": [[w, h], ...]}. ModelError
    when the output shapes differ. The export's check (``liveseg export``) and the weight
    read-back's (``load_onnx_weights``) are both this function.
    """
    sess = ort_session(path)
    inp = sess.get_inputs()[0]
    dims = list(inp.shape)
    if sizes is None:
        hh, ww = dims[2], dims[3]
        if not (isinstance(hh, int) and isinstance(ww, int)):
            raise ConfigError("the model has dynamic H/W: pass sizes=[(W, H), ...]")
        sizes = [(ww, hh)]
    if batch is None:
        batch = dims[0] if isinstance(dims[0], int) and dims[0] > 0 else 1
    channels = dims[1] if isinstance(dims[1], int) else int(getattr(model, "in_channels", 3))
    fp16 = inp.type == "tensor(float16)"
    g = torch.Generator().manual_seed(seed)
    worst = worst_rel = 0.0
    agree = total = 0
    with eval_mode(model), torch.no_grad():
        for w, h in sizes:
            x = torch.randn(batch, channels, h, w, generator=g)
            out = model_logits(model(x)).numpy()
            feed = x.numpy().astype(np.float16) if fp16 else x.numpy()
            ref = sess.run(None, {inp.name: feed})[0].astype(np.float32)
            if out.shape != ref.shape:
                raise ModelError(
                    f"{path}: the file gives an output of shape {ref.shape}, "
                    f"the network {out.shape} at {w}x{h}"
                )
            diff = float(np.abs(out - ref).max())
            worst = max(worst, diff)
            worst_rel = max(worst_rel, diff / max(float(np.abs(ref).max()), 1e-6))
            agree += int((out.argmax(1) == ref.argmax(1)).sum())
            total += ref.shape[0] * ref.shape[2] * ref.shape[3]
    return {
        "max_abs_diff": worst,
        "max_rel_diff": worst_rel,
        "argmax_agreement": agree / total,
        "sizes": [list(s) for s in sizes],
    }


def _check_outputs(model, path: Path, shape) -> float:
    """The loaded network's logits against the file's (``onnx_parity``); ConfigError when
    they differ in shape or by more than ``_TOLERANCE`` of their range."""
    try:
        r = onnx_parity(model, path, sizes=[(shape[3], shape[2])], batch=shape[0])
    except ModelError as exc:
        raise ConfigError(f"{exc}: not the same architecture") from None
    err = r["max_rel_diff"]
    if err > _TOLERANCE:
        raise ConfigError(
            f"{path}: the loaded network does not reproduce the file's "
            f"logits (max difference {err:.3f} of their range): not the same "
            "architecture, or options differ"
        )
    return err


def load_onnx_weights(model: torch.nn.Module, path) -> dict:
    """Set ``model``'s weights from a float ONNX export of the same architecture (see the
    module docstring). Returns {"convolutions": N, "folded_bn": M, "max_error": e}."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"model file not found: {path}")
    convs, shape = _onnx_convs(path)
    if len(shape) != 4 or 0 in shape:
        raise ConfigError(f"{path}: needs a fixed input size, the file has {shape}")
    pairs = _torch_convs(model, shape)
    if len(pairs) != len(convs):
        raise ConfigError(
            f"{path}: {len(convs)} convolutions in the file, "
            f"{len(pairs)} in the network: not the same architecture"
        )
    _check_coverage(model, pairs)
    with torch.no_grad():
        for i, ((conv, bn), src) in enumerate(zip(pairs, convs, strict=True)):
            _assign(conv, bn, src, i, path)
    err = _check_outputs(model, path, shape)
    return {
        "convolutions": len(convs),
        "folded_bn": sum(bn is not None for _, bn in pairs),
        "max_error": err,
    }


def recalibrate_batchnorm(model: torch.nn.Module, batches) -> int:
    """Give every BatchNorm the per-channel mean and variance of its input over ``batches``
    (model inputs), with gamma and beta set so that eval-mode outputs stay exactly as they
    were; training mode then normalises with batch statistics close to them, as usual.
    Returns how many BatchNorms were set."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    sums = {id(m): [0.0, 0.0, 0] for m in bns}

    def hook(mod, inp):
        x = inp[0].detach().double()
        acc = sums[id(mod)]
        acc[0] = acc[0] + x.sum(dim=(0, 2, 3))
        acc[1] = acc[1] + (x * x).sum(dim=(0, 2, 3))
        acc[2] += x.numel() // x.shape[1]

    hooks = [m.register_forward_pre_hook(hook) for m in bns]
    try:
        with eval_mode(model), torch.no_grad():
            for x in batches:
                model(x)
    finally:
        for h in hooks:
            h.remove()
    with torch.no_grad():
        for m in bns:
            s1, s2, n = sums[id(m)]
            if n == 0:
                raise ConfigError("recalibrate_batchnorm: a BatchNorm saw no data")
            if m.weight is None:
                raise ConfigError(
                    "recalibrate_batchnorm: a BatchNorm without affine weights "
                    "cannot keep its function with new statistics"
                )
            mean = s1 / n
            var = (s2 / n - mean * mean).clamp_min(0.0)
            # Same eval-mode map y -> g (y - m) / sqrt(v + eps) + b before and after: equal
            # slopes and intercepts.
            slope = m.weight.double() / torch.sqrt(m.running_var.double() + m.eps)
            m.bias.copy_(m.bias.double() + slope * (mean - m.running_mean.double()))
            m.weight.copy_(slope * torch.sqrt(var + m.eps))
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)
    return len(bns)
