"""Simulated (fake) quantization in PyTorch: the low-bit study and the base of QAT.

The float model is copied, its BatchNorms folded into the preceding convolutions (what the
ONNX export and ONNX Runtime do), and every Conv2d / Linear is wrapped so that

* its **weight** goes through ``torch.ao.quantization.FakeQuantize`` with a
  ``PerChannelMinMaxObserver`` (per-output-channel, symmetric, ``quant_min/quant_max`` =
  +-(2^(b-1) - 1): the int8 case is exactly ONNX Runtime's symmetric int8 weights), re-observed
  at every call so the scale follows the weights while they train;
* its **input activation** goes through a ``FakeQuantize`` with a ``MinMaxObserver``
  (per-tensor, asymmetric, 0..2^b - 1: ONNX Runtime's uint8 activations at 8 bits), its range
  calibrated on sample images and then frozen;

and the model's output (the logits) is fake-quantized the same way. Bit widths of 32 mean
"leave it float". The wrapping is by hand (module replacement + forward hooks to find
conv->BN pairs) rather than ``torch.ao.quantization.prepare_qat``/FX/PT2E because the zoo's
models are not FX/export-traceable as written (they check their input type) and eager
``prepare_qat`` needs QuantStub/FloatFunctional edits inside model code we don't own; the
fake-quant arithmetic itself is torch.ao's.
"""

from __future__ import annotations

import copy
import re

import torch
import torch.nn.functional as F
from torch import nn
from torch.ao.quantization import FakeQuantize, MinMaxObserver, PerChannelMinMaxObserver
from torch.nn.utils.fusion import fuse_conv_bn_eval

from liveseg.errors import ConfigError, ModelError
from liveseg.models.common import model_logits

STUDY_BITS = ((32, 32), (8, 8), (6, 6), (6, 4), (4, 4))


# ---------------------------------------------------------------------------------------------
# BatchNorm folding
# ---------------------------------------------------------------------------------------------
def _set_module(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)


@torch.no_grad()
def fold_batchnorm(model: nn.Module, example: torch.Tensor, atol: float = 1e-3) -> nn.Module:
    """A copy of ``model`` (eval) with every BatchNorm2d that directly follows a Conv2d folded
    into that conv. Pairs are found by running ``example`` with hooks (a BN whose input is the
    very tensor a conv produced); the result is checked against the original outputs."""
    model = copy.deepcopy(model).eval()
    produced: dict[int, str] = {}
    keep = []  # keep produced tensors alive so ids are not reused
    pairs: list[tuple[str, str]] = []
    hooks = []
    names = {m: n for n, m in model.named_modules()}

    def conv_hook(mod, inp, out):
        produced[id(out)] = names[mod]
        keep.append(out)

    def bn_hook(mod, inp):
        src = produced.get(id(inp[0]))
        if src is not None:
            pairs.append((src, names[mod]))

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.BatchNorm2d):
            hooks.append(m.register_forward_pre_hook(bn_hook))
    ref = model_logits(model(example))
    for h in hooks:
        h.remove()
    convs_used = [c for c, _ in pairs]
    for conv_name, bn_name in pairs:
        if convs_used.count(conv_name) > 1:
            continue  # one conv feeding two BNs (or called twice): leave as is
        conv, bn = model.get_submodule(conv_name), model.get_submodule(bn_name)
        _set_module(model, conv_name, fuse_conv_bn_eval(conv, bn))
        _set_module(model, bn_name, nn.Identity())
    out = model_logits(model(example))
    err = (out - ref).abs().max().item()
    if err > atol * max(1.0, ref.abs().max().item()):
        raise ModelError(
            f"BatchNorm folding changed the model's output (max error {err:.3g}); "
            "the model reuses a conv output elsewhere"
        )
    return model


# ---------------------------------------------------------------------------------------------
# Fake-quant modules
# ---------------------------------------------------------------------------------------------
def weight_fake_quant(bits: int, qmax: int | None = None) -> nn.Module:
    """``qmax`` overrides the symmetric range: 64 is ONNX Runtime's ``reduce_range`` int8."""
    if bits >= 32:
        return nn.Identity()
    if not 2 <= bits <= 8:
        raise ConfigError(f"weight bits must be 2..8 or 32, got {bits}")
    q = qmax or 2 ** (bits - 1) - 1
    return FakeQuantize(
        observer=PerChannelMinMaxObserver,
        quant_min=-q,
        quant_max=q,
        dtype=torch.qint8,
        qscheme=torch.per_channel_symmetric,
        ch_axis=0,
    )


def act_fake_quant(bits: int) -> nn.Module:
    if bits >= 32:
        return nn.Identity()
    if not 2 <= bits <= 8:
        raise ConfigError(f"activation bits must be 2..8 or 32, got {bits}")
    return FakeQuantize(
        observer=MinMaxObserver,
        quant_min=0,
        quant_max=2**bits - 1,
        dtype=torch.quint8,
        qscheme=torch.per_tensor_affine,
    )


class FakeQuantConv(nn.Module):
    """Conv2d / Linear with fake-quantized weight (per channel) and input (per tensor)."""

    def __init__(self, layer: nn.Module, w_bits: int, a_bits: int, w_qmax: int | None = None):
        super().__init__()
        self.layer = layer
        self.weight_fq = weight_fake_quant(w_bits, w_qmax)
        self.input_fq = act_fake_quant(a_bits)

    def quant_weight(self):
        fq = self.weight_fq
        if isinstance(fq, FakeQuantize):
            # The scale follows the current weights (ORT recomputes it from the final ones).
            fq.activation_post_process.reset_min_max_vals()
        return fq(self.layer.weight)

    def forward(self, x):
        x = self.input_fq(x)
        w = self.quant_weight()
        if isinstance(self.layer, nn.Linear):
            return F.linear(x, w, self.layer.bias)
        return self.layer._conv_forward(x, w, self.layer.bias)


class FakeQuantModel(nn.Module):
    """The wrapped network plus a fake-quantized output."""

    def __init__(self, net: nn.Module, w_bits: int, a_bits: int, w_qmax: int | None = None):
        super().__init__()
        self.net = net
        self.w_bits, self.a_bits, self.w_qmax = w_bits, a_bits, w_qmax
        self.output_fq = act_fake_quant(a_bits)

    def forward(self, x):
        return self.output_fq(model_logits(self.net(x)))

    def act_quantizers(self):
        return [
            m
            for m in self.modules()
            if isinstance(m, FakeQuantize) and m.qscheme == torch.per_tensor_affine
        ]

    def wrapped(self) -> list[tuple[str, FakeQuantConv]]:
        return [
            (n.removeprefix("net."), m)
            for n, m in self.named_modules()
            if isinstance(m, FakeQuantConv)
        ]

    def float_model(self) -> nn.Module:
        """A plain copy of the network (BN folded, current weights, no fake quant)."""
        net = copy.deepcopy(self.net)
        for name, m in list(net.named_modules()):
            if isinstance(m, FakeQuantConv):
                _set_module(net, name, m.layer)
        return net

    def activation_ranges(self) -> dict[str, tuple[float, float]]:
        """Calibrated/learned (min, max) of each wrapped layer's input, by layer name."""
        out = {}
        for name, m in self.wrapped():
            fq = m.input_fq
            if isinstance(fq, FakeQuantize):
                obs = fq.activation_post_process
                if torch.isfinite(obs.min_val) and torch.isfinite(obs.max_val):
                    out[name] = (float(obs.min_val), float(obs.max_val))
        return out


def fake_quantize_model(
    model: nn.Module,
    w_bits: int,
    a_bits: int,
    example: torch.Tensor,
    fold_bn: bool = True,
    w_qmax: int | None = None,
) -> FakeQuantModel:
    """Copy, fold BN, wrap every Conv2d/Linear; calibrate with ``calibrate`` before use.
    ``w_qmax=64`` simulates ORT's reduce_range int8 weights (+-64)."""
    net = fold_batchnorm(model, example) if fold_bn else copy.deepcopy(model).eval()
    count = 0
    for name, m in list(net.named_modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            _set_module(net, name, FakeQuantConv(m, w_bits, a_bits, w_qmax))
            count += 1
    if not count:
        raise ModelError("the model has no Conv2d/Linear layer to quantize")
    return FakeQuantModel(net, w_bits, a_bits, w_qmax).eval()


@torch.no_grad()
def calibrate(fq_model: FakeQuantModel, batches) -> int:
    """Observe activation ranges on float activations, then freeze them and turn fake quant on.
    ``batches`` yields normalised float input tensors. Returns the number of images seen."""
    acts = fq_model.act_quantizers()
    fq_model.eval()
    for q in acts:
        q.enable_observer()
        q.disable_fake_quant()
    n = 0
    for x in batches:
        fq_model(x)
        n += len(x)
    if not n:
        raise ConfigError("calibration needs at least one image")
    for q in acts:
        q.disable_observer()
        q.enable_fake_quant()
    return n


# ---------------------------------------------------------------------------------------------
# Sizes and names for the study table
# ---------------------------------------------------------------------------------------------
def packed_size_bytes(model: nn.Module, w_bits: int) -> int:
    """Theoretical size with conv/linear weights packed at w_bits (plus a float scale per
    output channel) and everything else (biases, other params) float32."""
    total = 0.0
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            w = m.weight
            total += w.numel() * (w_bits / 8)
            if w_bits < 32:
                total += w.shape[0] * 4
            if m.bias is not None:
                total += m.bias.numel() * 4
        elif not list(m.children()):
            total += sum(p.numel() for p in m.parameters(recurse=False)) * 4
    return int(total)


def output_stride(name: str, options: dict | None = None) -> str:
    options = options or {}
    for key in ("output_stride", "os", "stride"):
        if options.get(key):
            return str(options[key])
    m = re.search(r"_os(\d+)", name or "")
    return m.group(1) if m else "-"
