"""Quantization-aware training: fine-tune a trained model under fake quantization, then export
a QDQ ONNX model that ONNX Runtime runs with integer kernels.

1. ``liveseg.quant.lowbit.fake_quantize_model``: BN folded, per-channel symmetric weights and
   per-tensor asymmetric activations fake-quantized (torch.ao FakeQuantize, straight-through
   gradients), activation ranges calibrated on training images and frozen.
2. Fine-tune the weights (AdamW): cross-entropy with the data set's ignore index plus, by
   default, distillation from the float model (KL divergence of the per-pixel class
   distributions). The labels alone let a few hundred noisy steps wander away from the
   converged float solution; the teacher term pulls the int8 network towards the float one,
   which is what "lose no accuracy to quantization" asks for.
3. Export: the fine-tuned float network (BN folded) goes to ONNX, and ONNX Runtime's QDQ
   quantizer quantizes it with the *QAT ranges pinned* (TensorQuantOverrides rmin/rmax on each
   conv's input tensor; other tensors calibrated as in PTQ). Its int8 weight grid is the one QAT
   trained on (ORT per-channel symmetric int8 = quant range +-127 from max|w|), so ORT runs
   what was trained. Only 8/8 can be exported: ORT has no kernels below 8 bits; lower widths
   are evaluated in simulation (``liveseg bench quant``).
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from liveseg.errors import ConfigError
from liveseg.models.common import eval_mode, model_logits
from liveseg.quant.lowbit import FakeQuantModel, calibrate, fake_quantize_model
from liveseg.train.evaluate import model_input
from liveseg.train.loop import distillation_loss, train_one_epoch


def input_channels(model) -> int:
    """The channels a network takes: its ``in_channels`` (the zoo's models say), else its first
    convolution's; 4 is RGB plus the previous-mask channel."""
    n = getattr(model, "in_channels", None)
    if isinstance(n, int):
        return n
    conv = next((m for m in model.modules() if isinstance(m, torch.nn.Conv2d)), None)
    return int(conv.in_channels) if conv is not None else 3


@torch.no_grad()
def runtime_prev_inputs(model, x: torch.Tensor, foreground=None) -> list[torch.Tensor]:
    """The inputs ``liveseg run`` feeds a previous-mask network for a batch of frames ``x``
    (normalised RGB, (N,3,H,W)): each frame as a first frame (zero channel) and as the next
    frame of a still scene, whose channel is the network's own foreground probability on the
    first at input size. That is what the runtime's ``Preprocessor`` builds from the previous
    ``Prediction`` (softmax of the logits, summed over ``foreground``, the card's foreground
    class indices, default the last class; resized bilinearly)."""
    first = torch.cat([x, x.new_zeros(x.shape[0], 1, *x.shape[-2:])], 1)
    with eval_mode(model):
        probs = model_logits(model(first)).float().softmax(1)
    n = probs.shape[1]
    fg = [i for i in (foreground or []) if 0 <= i < n] or [max(1, n - 1)]
    m = probs[:, fg].sum(1, keepdim=True)
    if m.shape[-2:] != x.shape[-2:]:
        m = F.interpolate(m, size=x.shape[-2:], mode="bilinear", align_corners=False)
    return [first, torch.cat([x, m.to(x.dtype)], 1)]


def calibration_inputs(model, batches, mean, std, foreground=None) -> list[torch.Tensor]:
    """The network inputs that calibrate ``model``'s activation ranges, from batches of dicts
    with ``image`` (N,3,H,W) uint8 (``calibration_batches``; ``prev`` too if they carry the
    previous-mask channel). A previous-mask model's batches without ``prev`` are fed as the
    runtime feeds the model (``runtime_prev_inputs``, with ``foreground``: the card's
    foreground class indices): each frame as a first frame and as the next of a still scene."""
    cpu = torch.device("cpu")
    prev_model = input_channels(model) == 4
    out = []
    for b in batches:
        x = model_input(b, cpu, mean, std)
        out.extend(
            runtime_prev_inputs(model, x, foreground) if x.shape[1] == 3 and prev_model else [x]
        )
    return out


def qat_finetune(
    model,
    train_batches,
    calib_batches,
    *,
    mean,
    std,
    w_bits=8,
    a_bits=8,
    iters=200,
    lr=5e-5,
    weight_decay=0.0,
    ignore_index=255,
    example=None,
    progress=None,
    w_qmax=None,
    distill=1.0,
    foreground=None,
) -> FakeQuantModel:
    """Fine-tune ``model`` under w_bits/a_bits fake quantization.

    ``train_batches``: an iterable (re-iterated as needed) of dicts with ``image`` (N,3,H,W)
    uint8 and ``mask`` (N,H,W) int64 (and ``prev``, the previous-mask channel, for a model that
    takes one); ``calib_batches``: the same kind, used to calibrate the activation ranges first.
    A previous-mask model's calibration batches without ``prev`` are fed as the runtime feeds
    the model (``calibration_inputs``, with ``foreground``: the card's foreground class
    indices). ``distill``: weight of the KL term towards the float model's predictions (0:
    labels only).
    The steps are the trainer's (``liveseg.train.loop.train_one_epoch``) with QAT's loss
    (``distillation_loss``). Returns the fake-quant model in eval mode.
    """
    if iters < 0:
        raise ConfigError("QAT iterations must be >= 0")
    cpu = torch.device("cpu")
    calib = calibration_inputs(model, calib_batches, mean, std, foreground)
    if not calib:
        raise ConfigError("QAT needs calibration images")
    example = calib[0][:1] if example is None else example
    if distill < 0:
        raise ConfigError("the distillation weight must be >= 0")
    fq = fake_quantize_model(model, w_bits, a_bits, example, w_qmax=w_qmax)
    calibrate(fq, calib)
    teacher = fq.float_model().eval() if distill > 0 else None
    if teacher is not None:
        for p in teacher.parameters():
            p.requires_grad_(False)
    params = [p for p in fq.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    # cosine decay to 0 over the iterations (the factor of step i applies to step i)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: 0.5 * (1 + math.cos(math.pi * i / max(iters, 1)))
    )
    loss_fn = distillation_loss(teacher, distill, ignore_index)
    done = 0
    t0 = time.perf_counter()

    def on_iter(it, loss_value):
        if progress:
            progress(done + it + 1, iters, loss_value, time.perf_counter() - t0)

    while done < iters:  # train_batches is re-iterated until ``iters`` steps are done
        stats = train_one_epoch(
            fq,
            train_batches,
            opt,
            loss_fn,
            device=cpu,
            mean=mean,
            std=std,
            max_iters=iters - done,
            scheduler=schedule,
            on_iter=on_iter,
            nonfinite=_not_finite,
        )
        if stats.iters == 0:
            raise ConfigError("QAT got no training batches")
        done += stats.iters
    fq.eval()
    return fq


def _not_finite(it, value):
    return ConfigError("QAT loss is not finite; lower --qat-lr")


def conv_input_overrides(fq: FakeQuantModel):
    """A callable for quantize_model: pre-processed ONNX graph -> TensorQuantOverrides that pin
    each QAT-wrapped conv's input range. Conv nodes exported by torch are named after their
    module scopes (``/backbone/backbone.features/backbone.features.0/Conv``)."""
    ranges = fq.activation_ranges()

    def unqualified(path: str) -> str:
        # torch.onnx's scope name of a module: its path from the last non-numeric atom
        # ("backbone.stages.1.0" -> "stages.1.0"); containers that are never called leave none.
        atoms = path.split(".")
        for i in range(len(atoms) - 1, -1, -1):
            if not atoms[i].isnumeric():
                return ".".join(atoms[i:])
        return path

    def chain(path: str) -> list[str]:
        atoms = path.split(".")
        return [unqualified(".".join(atoms[:i])) for i in range(1, len(atoms) + 1)]

    def is_subsequence(sub, seq) -> bool:
        it = iter(seq)
        return all(any(s == x for x in it) for s in sub)

    def module_of(node_name: str) -> str | None:
        # "/backbone/stages.1/stages.1.0/conv/conv.0/conv.0.0/Conv": the scopes of the called
        # modules from the root down; the layer's own scope is the last.
        scopes = node_name.strip("/").split("/")[:-1]
        if not scopes:
            return None
        cands = [
            m for m in ranges if unqualified(m) == scopes[-1] and is_subsequence(scopes, chain(m))
        ]
        return cands[0] if len(cands) == 1 else None

    def build(pre_model) -> dict:
        out, used = {}, set()
        for n in pre_model.graph.node:
            if n.op_type not in ("Conv", "Gemm", "MatMul") or not n.name:
                continue
            layer = module_of(n.name)
            if layer is None or layer in used:
                continue
            used.add(layer)
            lo, hi = ranges[layer]
            lo, hi = min(lo, 0.0), max(hi, 0.0)
            out[n.input[0]] = [{"rmin": np.float32(lo), "rmax": np.float32(hi)}]
        return out

    return build


def export_qat_onnx(
    fq: FakeQuantModel,
    output,
    card,
    calib,
    *,
    input_size,
    samples=64,
    overwrite=False,
    calib_label=None,
):
    """QDQ int8 ONNX from a QAT model (8/8 only); returns the QuantizeResult. A model trained
    with ``w_qmax=64`` is exported with ORT's reduce_range (the same +-64 weight grid)."""
    from liveseg.export.onnx_export import export_onnx
    from liveseg.quant.ptq import quantize_model

    if (fq.w_bits, fq.a_bits) != (8, 8):
        raise ConfigError(
            f"only 8/8 QAT models can be exported (ONNX Runtime has no {fq.w_bits}/{fq.a_bits}-bit "
            "kernels); lower bit widths are evaluated in simulation"
        )
    net = fq.float_model().eval()
    prev = input_channels(net) == 4
    if bool(card.prev_mask_input) != prev:  # a checkpoint's card may not say: the network does
        card = dataclasses.replace(card, prev_mask_input=prev)
    with tempfile.TemporaryDirectory(prefix="liveseg-qat-") as tmp:
        fp32 = Path(tmp) / "qat_float.onnx"
        export_onnx(net, fp32, input_size=tuple(input_size), card=card)
        overrides = conv_input_overrides(fq)
        res = quantize_model(
            fp32,
            output,
            calib,
            samples=samples,
            overwrite=overwrite,
            tensor_overrides=overrides,
            reduce_range=fq.w_qmax == 64,
            note_extra=f"QAT fine-tuned ({fq.w_bits}/{fq.a_bits}), ranges pinned",
            calib_label=calib_label,
        )
    res.info["qat"] = True
    return res


def calibration_batches(
    dataset: str, root, split: str, input_size, n: int = 64, batch: int = 8, options=None
) -> list[dict]:
    """n images spread evenly over a split, resized to the model input (the validation
    transform), as batches of {"image": uint8 (N,3,H,W)} (``calibration_inputs`` adds a
    previous-mask model's channel as the runtime feeds it). ``options``: the data set reader's
    options."""
    from liveseg.data import build_dataset, collate
    from liveseg.data.transforms import ValTransform

    ds = build_dataset(
        dataset, root, split, transform=ValTransform(input_size), cache=False, **(options or {})
    )
    if len(ds) == 0:
        raise ConfigError(f"{dataset}:{root}:{split} has no images")
    idx = np.linspace(0, len(ds) - 1, min(n, len(ds))).round().astype(int).tolist()
    idx = list(dict.fromkeys(idx))
    return [
        {"image": collate([ds[i] for i in idx[j : j + batch]])["image"]}
        for j in range(0, len(idx), batch)
    ]


def qat_from_checkpoint(
    checkpoint,
    output,
    *,
    data_root=None,
    calib=None,
    iters=100,
    lr=5e-5,
    batch_size=8,
    calib_samples=64,
    bits=(8, 8),
    threads=None,
    overwrite=False,
    reduce_range=True,
    distill=1.0,
    log=print,
):
    """`liveseg quantize CKPT.pt --qat`: fine-tune with fake quantization on the checkpoint's
    own training data (its config), export int8 QDQ ONNX (8/8) with the QAT ranges pinned."""
    from liveseg.data import collate
    from liveseg.errors import InputError
    from liveseg.models.checkpoint import card_from_checkpoint, load_checkpoint, load_torch_model
    from liveseg.quant.onnx_io import check_output
    from liveseg.train.trainer import build_datasets

    if threads:
        torch.set_num_threads(int(threads))
    ckpt = load_checkpoint(checkpoint)
    cfg = ckpt.get("config") if isinstance(ckpt, dict) else None
    if not isinstance(cfg, dict) or "data" not in cfg:
        raise InputError(f"{checkpoint} has no training config: QAT needs its data set")
    if bits == (8, 8):
        check_output(checkpoint, output, overwrite)
    cfg = dict(cfg)
    cfg["data"] = dict(cfg["data"])
    if data_root:
        cfg["data"]["root"] = str(data_root)
    cfg["data"]["val_split"] = None
    model, card_dict, _ = load_torch_model(str(checkpoint))
    card = card_from_checkpoint(ckpt, card_dict)
    train_ds, _ = build_datasets(cfg)
    loader = torch.utils.data.DataLoader(
        train_ds,
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        collate_fn=lambda b: collate(b, train_ds.info.ignore_index),
        generator=torch.Generator().manual_seed(0),
    )
    dataset, root = cfg["data"]["dataset"], cfg["data"]["root"]
    split, options = cfg["data"].get("train_split", "train"), cfg["data"].get("options") or {}
    # The reader options (class_map, val_every, ...) decide which images are training images.
    calib_b = calibration_batches(
        dataset, root, split, card.input_size, calib_samples, options=options
    )

    def progress(i, n, loss, secs):
        if i == 1 or i % 10 == 0 or i == n:
            log(f"  QAT {bits[0]}/{bits[1]} iter {i}/{n} loss {loss:.4f} ({secs:.0f}s)")

    fq = qat_finetune(
        model,
        loader,
        calib_b,
        mean=card.mean,
        std=card.std,
        w_bits=bits[0],
        a_bits=bits[1],
        iters=iters,
        lr=lr,
        ignore_index=train_ds.info.ignore_index,
        progress=progress,
        w_qmax=64 if reduce_range and bits[0] == 8 else None,
        distill=distill,
        foreground=card.class_indices(card.foreground) if card.foreground else None,
    )
    if bits != (8, 8):
        return fq, None
    from liveseg.quant.calibration import dataset_calibration_spec

    with tempfile.TemporaryDirectory(prefix="liveseg-qat-calib-") as work:
        label = None
        if not calib:
            calib = dataset_calibration_spec(dataset, root, options, split, work)
            label = f"{dataset}:{root}:{split}" + "".join(
                f" {k}={v}" for k, v in sorted(options.items())
            )
        res = export_qat_onnx(
            fq,
            output,
            card,
            calib,
            input_size=card.input_size,
            samples=calib_samples,
            overwrite=overwrite,
            calib_label=label,
        )
    return fq, res


def evaluate_fake_quant(
    fq: FakeQuantModel, checkpoint, data_root=None, split=None, *, data=None, limit=None
) -> dict:
    """Val-split metrics of a (QAT) fake-quant model with the trainer's evaluator, on the
    checkpoint's own data set, or on ``data`` = (kind, root, reader options) when given
    (``liveseg bench quant --data``); ``limit``: its first images only. ``checkpoint``: a
    path, or the checkpoint dict already loaded (a caller scoring several widths reads it
    once). A previous-mask network is scored with the trainer's validation channel: as its
    config's ``data.prev_mask`` says, the default one when the checkpoint has no training
    config."""
    from liveseg.data import build_dataset, collate
    from liveseg.data.prevmask import PrevMaskAug, PrevMaskDataset, parse_prev_mask
    from liveseg.data.transforms import ValTransform
    from liveseg.models.checkpoint import card_from_checkpoint, load_checkpoint
    from liveseg.train.evaluate import evaluate_model

    ckpt = checkpoint if isinstance(checkpoint, dict) else load_checkpoint(checkpoint)
    cfg = ckpt.get("config") or {}
    card = card_from_checkpoint(ckpt, ckpt.get("card"))
    d = cfg.get("data") or {}
    if data is None:  # the reader's options, as the trainer passes them
        data = (d.get("dataset", "camvid"), data_root or d.get("root"), d.get("options"))
    kind, root, options = data
    ds = build_dataset(
        kind,
        root,
        split or d.get("val_split") or "val",
        transform=ValTransform(card.input_size),
        cache=False,
        **dict(options or {}),
    )
    prev = parse_prev_mask(d.get("prev_mask"))
    if prev is None and input_channels(fq.net) == 4:
        prev = PrevMaskAug()
    if prev is not None:
        ds = PrevMaskDataset(ds, prev, fixed=True)
    info = ds.info
    if limit:
        ds = torch.utils.data.Subset(ds, range(min(limit, len(ds))))
    loader = torch.utils.data.DataLoader(ds, batch_size=4, collate_fn=collate)
    return evaluate_model(fq, loader, info, torch.device("cpu"), card.mean, card.std)
