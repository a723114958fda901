"""``init_from``: start a run from another run's model weights (fine-tuning).
An exported float ONNX model works too (``liveseg.models.from_onnx``).

Only the weights: the optimizer, schedule, epoch and RNG start fresh (``--resume`` is for
continuing a run). A 3-channel checkpoint can start a 4-channel (previous-mask) model: the
convolutions that take the image get their 3 input channels copied and the 4th set to zero,
so the new model computes exactly what the old one did until training moves that channel.
"""

from __future__ import annotations

from pathlib import Path

import torch

from liveseg.errors import ConfigError


def _widened(name: str, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor | None:
    """``src`` widened to ``dst``'s shape when they differ only by 3 -> 4 input channels of a
    conv weight (out, in, kh, kw); None otherwise."""
    if src.dim() != 4 or dst.dim() != 4 or src.shape[1] != 3 or dst.shape[1] != 4:
        return None
    if src.shape[0] != dst.shape[0] or src.shape[2:] != dst.shape[2:]:
        return None
    out = torch.zeros_like(dst)
    out[:, :3] = src.to(dst.dtype)
    return out


def load_init_weights(model: torch.nn.Module, path) -> dict:
    """Load the checkpoint's ``model`` weights into ``model``. Returns {"widened": [names]}
    (and, for an .onnx file, what ``liveseg.models.from_onnx.load_onnx_weights`` reports).
    Missing, extra or differently shaped tensors (other than 3 -> 4 input channels) are a
    ConfigError naming the first offender."""
    from liveseg.errors import InputError
    from liveseg.train.checkpoint import load_checkpoint

    path = Path(path)
    if path.suffix.lower() == ".onnx":
        from liveseg.models.from_onnx import load_onnx_weights

        try:
            return {"widened": [], **load_onnx_weights(model, path)}
        except ConfigError as exc:
            raise ConfigError(f"init_from {exc}") from None
    if not path.is_file():
        raise ConfigError(f"init_from: checkpoint not found: {path}")
    try:
        src = load_checkpoint(path)["model"]
    except InputError as exc:
        raise ConfigError(f"init_from: {exc}") from None
    dst = model.state_dict()
    missing = [k for k in dst if k not in src]
    extra = [k for k in src if k not in dst]
    if missing or extra:
        what = (
            f"{len(missing)} tensors missing (first: {missing[0]})"
            if missing
            else f"{len(extra)} unexpected tensors (first: {extra[0]})"
        )
        raise ConfigError(f"init_from {path}: not the same architecture as model.name: {what}")
    new, widened = {}, []
    for k, d in dst.items():
        s = src[k]
        if s.shape == d.shape:
            new[k] = s
            continue
        w = _widened(k, s, d)
        if w is None:
            raise ConfigError(
                f"init_from {path}: {k} has shape {tuple(s.shape)} in the checkpoint "
                f"but {tuple(d.shape)} in this model (only 3 -> 4 input channels "
                "can be widened)"
            )
        new[k] = w
        widened.append(k)
    model.load_state_dict(new)
    return {"widened": widened}


def freeze_batchnorm(model: torch.nn.Module) -> int:
    """Put every BatchNorm in eval mode (statistics fixed, affine weights still trained); call
    after each ``model.train()``. Returns how many there are."""
    n = 0
    for mod in model.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            mod.eval()
            n += 1
    return n
