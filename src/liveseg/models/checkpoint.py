"""PyTorch networks from what liveseg writes: training checkpoints, float ONNX exports, or a
bare registered architecture name (``load_torch_model``), and the checkpoint's card.

A checkpoint (written by ``liveseg.train.checkpoint.save_checkpoint``) is a dict holding at
least the model's weights under ``model`` (a state dict), its registered name, build options,
num_classes and a card dict. The key names accepted here are deliberately lenient
(``model_name``/``arch``/``name``, ``model_options``/``options``, ``config['model']``) so that
small changes on the training side don't break export. This module sits below ``train``,
``export`` and ``quant``, which all read checkpoints through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from liveseg.errors import ConfigError, InputError


def load_checkpoint(path, map_location="cpu") -> dict:
    """The checkpoint dict at ``path`` (InputError, one line, for a missing, unreadable or
    foreign file)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # noqa: BLE001 - corrupt / foreign file
        raise InputError(f"cannot read checkpoint {path}: {exc}") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise InputError(f"{path} is not a liveseg checkpoint (no 'model' entry)")
    return ckpt


def _first(d, *keys):
    for k in keys:
        if isinstance(d, Mapping) and d.get(k) not in (None, ""):
            return d[k]
    return None


def describe_checkpoint(ckpt: dict) -> tuple[str, dict, int | None, dict | None, Mapping]:
    """(model name, options, num_classes, card dict, state dict) from a checkpoint dict."""
    cfg = ckpt.get("config") if isinstance(ckpt.get("config"), Mapping) else {}
    cfg_model = cfg.get("model") if isinstance(cfg.get("model"), Mapping) else {}
    model_entry = ckpt.get("model")
    name = _first(ckpt, "model_name", "arch", "architecture") or _first(cfg_model, "name", "arch")
    if isinstance(model_entry, str):
        name = name or model_entry
    if isinstance(model_entry, Mapping) and "state_dict" in model_entry:
        name = name or _first(model_entry, "name", "arch")
        state = model_entry["state_dict"]
    elif isinstance(model_entry, Mapping):
        state = model_entry
    else:
        state = _first(ckpt, "state_dict", "model_state", "model_state_dict")
    card = ckpt.get("card") if isinstance(ckpt.get("card"), Mapping) else None
    if card is None and isinstance(ckpt.get("info"), Mapping) and cfg.get("input_size"):
        card = card_from_training(cfg, ckpt["info"]).to_dict()
    if not name and card:
        name = card.get("architecture")
    options = dict(_first(ckpt, "model_options", "options") or _first(cfg_model, "options") or {})
    num_classes = _first(ckpt, "num_classes") or _first(cfg_model, "num_classes")
    if num_classes is None and card and card.get("classes"):
        num_classes = len(card["classes"])
    if not name:
        raise InputError("the checkpoint does not name its model architecture")
    if not isinstance(state, Mapping):
        raise InputError("the checkpoint holds no model weights (state dict)")
    return str(name), options, num_classes, dict(card) if card else None, state


def card_from_training(
    cfg: Mapping,
    info: Mapping,
    *,
    name: str | None = None,
    metrics: Mapping | None = None,
    notes: str | None = None,
):
    """The ModelCard of a network trained by 'liveseg train': its data set's info (the
    ``DatasetInfo`` fields as a mapping) and its training config. The one place that says how a
    trained network's card is made: the trainer's export, checkpoints without a card (the
    per-epoch ``last.pt``), QAT and re-export all use it."""
    from liveseg.card import ModelCard

    model = cfg.get("model") if isinstance(cfg.get("model"), Mapping) else {}
    export = cfg.get("export") if isinstance(cfg.get("export"), Mapping) else {}
    options = dict(model.get("options") or {})
    run = cfg.get("name", "?")
    return ModelCard(
        name=name or export.get("name") or cfg.get("name") or model.get("name") or "model",
        task=info.get("task") or "semantic",
        classes=list(info.get("classes") or []),
        palette=[list(c) for c in info.get("palette") or []],
        foreground=list(info.get("foreground") or []),
        input_size=[int(v) for v in cfg["input_size"]],
        mean=[float(v) for v in cfg["mean"]],
        std=[float(v) for v in cfg["std"]],
        output_kind="logits",
        # The runtime feeds the previous frame's mask as a 4th channel when the model takes it.
        prev_mask_input=bool(options.get("prev_mask", False)),
        architecture=model.get("name") or "",
        architecture_options=options,
        training_data=info.get("training_data") or "",
        license=info.get("license") or "",
        metrics=dict(metrics or {}),
        notes=notes or f"trained with 'liveseg train' ({run}, {cfg.get('epochs', '?')} epochs)",
    )


def load_torch_model(source: str, num_classes: int | None = None, options: dict | None = None):
    """(model, card dict or None, description) for a checkpoint path, a float ONNX model made
    by liveseg (a file or a shipped name such as ``person-unet-lite0-320x320-fp16``: its
    weights read back, ``liveseg.models.from_onnx``), or a registered architecture name
    (random init, ``create_model``)."""
    from liveseg.models import create_model, list_models
    from liveseg.zoo import resolve

    options = dict(options or {})
    p = Path(source)
    shipped = resolve(source)
    if (
        p.suffix.lower() == ".onnx"
        and p.is_file()
        or shipped is not None
        and shipped.suffix == ".onnx"
    ):
        return _from_onnx(p if p.is_file() else shipped, num_classes, options)
    if p.is_file():
        name, ck_options, ck_classes, card, state = describe_checkpoint(load_checkpoint(p))
        if num_classes is not None and ck_classes is not None and num_classes != ck_classes:
            raise ConfigError(
                f"--num-classes {num_classes} contradicts the checkpoint ({ck_classes} classes)"
            )
        ck_options.update(options)
        if card is not None:
            card["architecture_options"] = dict(ck_options)
        model = create_model(name, num_classes=int(num_classes or ck_classes or 21), **ck_options)
        state = {k.removeprefix("module."): v for k, v in state.items()}
        try:
            missing, unexpected = model.load_state_dict(state, strict=True)
        except RuntimeError as exc:  # shape mismatches
            first = str(exc).strip().splitlines()[1:2] or [str(exc)[:200]]
            raise InputError(
                f"checkpoint weights do not fit {name} {ck_options}: {first[0].strip()}"
            ) from None
        if missing or unexpected:
            raise InputError(
                f"checkpoint weights do not fit {name} {ck_options}: "
                f"{len(missing)} missing (e.g. {missing[:2]}), "
                f"{len(unexpected)} unexpected (e.g. {unexpected[:2]})"
            )
        return model, card, f"checkpoint {p.name} ({name})"
    if source in list_models() or not (p.suffix or "/" in source):
        model = create_model(source, num_classes=int(num_classes or 21), **options)
        return model, None, f"{source} (random init, untrained)"
    raise InputError(f"{source} is neither a checkpoint file nor a registered model name")


def _from_onnx(path: Path, num_classes, options):
    """The network of a float ONNX export, weights loaded back (liveseg.models.from_onnx):
    its card names the architecture and the classes; ``options`` are the architecture's
    options when they differ from the defaults (the load fails clearly when they must)."""
    from liveseg.card import read_card
    from liveseg.errors import ModelError
    from liveseg.models import create_model, list_models
    from liveseg.models.from_onnx import load_onnx_weights

    # The card as the runtime finds it (liveseg.card.read_card).
    try:
        found = read_card(path).card
    except (ConfigError, ModelError) as exc:
        raise InputError(f"{path}: cannot read its model card ({exc})") from None
    card = found.to_dict() if found is not None else {}
    arch = card.get("architecture")
    if not arch or arch not in list_models():
        raise InputError(
            f"{path}: its card names no liveseg architecture "
            f"({arch or 'none'}); only models exported by liveseg can be re-exported"
        )
    classes = len(card.get("classes") or []) or None
    if num_classes is not None and classes is not None and num_classes != classes:
        raise ConfigError(
            f"--num-classes {num_classes} contradicts the model's card ({classes} classes)"
        )
    options = {**(card.get("architecture_options") or {}), **options}
    model = create_model(arch, num_classes=int(num_classes or classes or 2), **options)
    try:
        info = load_onnx_weights(model, path)
    except ConfigError as exc:
        raise InputError(str(exc)) from None
    # name: the output's; metrics and latency: measured at the original size, not this one
    card = {k: v for k, v in card.items() if k not in ("name", "metrics", "latency")}
    card["notes"] = (
        f"re-exported from {path.name} (weights read back from its ONNX graph, "
        f"logits reproduced to {info['max_error']:.1e}); metrics and latency of "
        "the original do not carry over to another input size"
    )
    return model, card, f"{path.name} ({arch}, {info['convolutions']} convolutions)"


def card_from_checkpoint(ckpt: dict, card_dict: dict | None = None):
    """The checkpoint's card, or one made from its training config and data-set info (the
    per-epoch ``last.pt`` of the trainer carries no card)."""
    from liveseg.card import ModelCard

    if card_dict:
        return ModelCard.from_dict(card_dict)
    cfg = ckpt.get("config") if isinstance(ckpt, dict) else None
    info = ckpt.get("info") if isinstance(ckpt, dict) else None
    if not isinstance(cfg, dict) or not isinstance(info, dict):
        raise InputError("the checkpoint carries neither a model card nor its training config")
    return card_from_training(cfg, info, notes=f"from checkpoint epoch {ckpt.get('epoch', '?')}")
