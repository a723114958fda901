"""One shared test class runs every registered model; then bad inputs, export CLI, helpers."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from liveseg.errors import ConfigError
from liveseg.models import create_model, list_models
from liveseg.models.common import adaptive_avg_pool

NUM_CLASSES = 3
SIZES = [(64, 64), (45, 67)]  # (H, W); the second one odd and not a multiple of 32


def _randomize_bn(model, seed=0):
    """Non-trivial BatchNorm statistics so that eval-mode outputs are not near-identity."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)
    return model


def _model(name, **kw):
    torch.manual_seed(0)
    return _randomize_bn(create_model(name, num_classes=NUM_CLASSES, **kw)).eval()


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


# Tests register their throwaway models only for the test that uses them (tests/conftest.py,
# tests/helpers/registry.py), so at collection the registry holds exactly the zoo.
ZOO_MODELS = list_models()


@pytest.mark.parametrize("name", ZOO_MODELS)
class TestEveryModel:
    def test_forward_any_size_batch_and_determinism(self, name):
        model = _model(name)
        with torch.no_grad():
            for h, w in SIZES:
                x = torch.randn(2, 3, h, w)
                y = model(x)
                assert y.shape == (2, NUM_CLASSES, h, w)
                assert torch.isfinite(y).all()
                assert torch.equal(y, model(x)), "eval mode must be deterministic"
                # batch items are independent: item 1 alone gives the same logits
                assert torch.allclose(model(x[1:]), y[1:], atol=1e-5)

    def test_gradients_reach_first_layer(self, name):
        model = create_model(name, num_classes=NUM_CLASSES).train()
        y = model(torch.randn(2, 3, 64, 64))
        y.logsumexp(1).mean().backward()
        first = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
        assert first.in_channels == 3
        assert first.weight.grad is not None and first.weight.grad.abs().sum() > 0
        no_grad = [n for n, p in model.named_parameters() if p.grad is None]
        assert not no_grad, f"parameters without gradient: {no_grad[:5]}"

    def test_onnx_round_trip(self, name, tmp_path):
        pytest.importorskip("onnxruntime")
        import onnx

        from liveseg.card import ModelCard
        from liveseg.export.onnx_export import export_onnx
        from liveseg.models.from_onnx import onnx_parity

        model = _model(name)
        card = ModelCard(name=name, classes=["a", "b", "c"], input_size=[64, 64], architecture=name)
        path = export_onnx(model, tmp_path / "m.onnx", (64, 64), dynamic=True, card=card)
        r = onnx_parity(model, path, sizes=[(64, 64), (67, 45)])
        assert r["max_abs_diff"] < 1e-4, r
        assert r["argmax_agreement"] == 1.0
        meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        assert json.loads(meta["liveseg.card"])["name"] == name
        assert ModelCard.load(tmp_path / "m.json") == card

    def test_prev_mask_variant(self, name):
        model = _model(name, prev_mask=True)
        assert model.in_channels == 4
        assert create_model(name, num_classes=2, in_channels=4).in_channels == 4
        with torch.no_grad():
            y = model(torch.randn(1, 4, 45, 67))
        assert y.shape == (1, NUM_CLASSES, 45, 67)
        with pytest.raises(ConfigError, match="4"):
            model(torch.randn(1, 3, 64, 64))

    def test_wrong_rank_or_channels(self, name):
        model = create_model(name, num_classes=NUM_CLASSES).eval()
        with pytest.raises(ConfigError, match="rank 4"):
            model(torch.randn(3, 64, 64))
        with pytest.raises(ConfigError, match="channels"):
            model(torch.randn(1, 1, 64, 64))


def test_every_required_architecture_is_registered():
    names = set(list_models())
    for n in (
        "deeplabv3plus_mobilenetv2",
        "deeplabv3_mobilenetv2",
        "unet_efficientnet_lite0",
        "lraspp_mobilenetv3_large",
        "lraspp_mobilenetv3_small",
        "mobileseg_mobilenetv3_large",
        "mobileseg_mobilenetv3_small",
        "mobileseg_mobilenetv2",
        "mobileseg_shufflenetv2_x1_0",
        "mobileseg_ghostnet_x1_0",
        "mobileseg_lite_hrnet_18",
        "deeplabv3plus_efficientnet_lite0",
    ):
        assert n in names


def test_scoped_registration_leaves_only_the_zoo(tiny_model):
    """The tiny_model fixture registers for one test; unregister_model takes the name out again."""
    from liveseg.models.registry import register_model, unregister_model

    assert tiny_model in list_models() and tiny_model not in ZOO_MODELS
    builder = unregister_model(tiny_model)
    assert tiny_model not in list_models()
    with pytest.raises(ConfigError, match="unknown model"):
        unregister_model(tiny_model)
    register_model(builder, name=tiny_model)  # the fixture removes it after the test


def test_unknown_name_lists_close_matches():
    with pytest.raises(ConfigError, match="deeplabv3plus_mobilenetv2"):
        create_model("deeplabv3plus_mobilnetv2")


@pytest.mark.parametrize(
    "name,options,match",
    [
        ("deeplabv3plus_mobilenetv2", {"width_mult": 0.3}, "width_mult"),
        ("deeplabv3plus_mobilenetv2", {"output_stride": 4}, "output_stride"),
        ("unet_efficientnet_lite0", {"decoder": "transformer"}, "decoder"),
        ("unet_efficientnet_lite0", {"conv": "full"}, "conv"),
        ("unet_efficientnet_lite0", {"width_mult": 3.0}, "width_mult"),
        ("lraspp_mobilenetv3_small", {"in_channels": 5}, "in_channels"),
        ("mobileseg_mobilenetv2", {"prev_mask": True, "in_channels": 3}, "prev_mask"),
        ("mobileseg_ghostnet_x1_0", {"context_bins": "big"}, "context_bins"),
        ("lraspp_mobilenetv3_large", {"no_such_option": 1}, "invalid options"),
    ],
)
def test_invalid_options(name, options, match):
    with pytest.raises(ConfigError, match=match):
        create_model(name, num_classes=2, **options)
    with pytest.raises(ConfigError, match="num_classes"):
        create_model(name, num_classes=0)


@pytest.mark.parametrize(
    "options",
    [
        {"width_mult": 0.35, "output_stride": 8},
        {"width_mult": 0.5, "output_stride": 32, "separable": False},
    ],
)
def test_deeplab_width_and_output_stride(options):
    model = _model("deeplabv3plus_mobilenetv2", **options)
    feats = model.backbone(torch.randn(1, 3, 64, 64))
    assert feats[-1].shape[-1] == 64 // options["output_stride"]
    with torch.no_grad():
        assert model(torch.randn(1, 3, 45, 67)).shape == (1, NUM_CLASSES, 45, 67)


@pytest.mark.parametrize("decoder", ["bilinear", "attention", "mlp"])
@pytest.mark.parametrize("conv,width", [("dw", 1.0), ("group", 1.5)])
def test_unet_decoder_and_conv_options(decoder, conv, width):
    model = _model("unet_efficientnet_lite0", decoder=decoder, conv=conv, width_mult=width)
    convs3 = [
        m
        for m in model.head.modules()
        if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)
    ]
    assert convs3
    if conv == "dw":
        assert all(m.groups == m.in_channels for m in convs3)
    else:
        assert all(m.groups < m.in_channels for m in convs3)
        assert any(m.groups > 1 for m in convs3)
    with torch.no_grad():
        assert model(torch.randn(1, 3, 45, 67)).shape == (1, NUM_CLASSES, 45, 67)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_adaptive_pool_export_form_matches_torch():
    x = torch.randn(2, 5, 7, 10)
    for bins in (2, 3, 4):
        ref = torch.nn.functional.adaptive_avg_pool2d(x, bins)
        traced = torch.jit.trace(lambda t, b=bins: adaptive_avg_pool(t, b), (x,))
        np.testing.assert_allclose(traced(x).numpy(), ref.numpy(), atol=1e-6)
        y = torch.randn(1, 5, 13, 3)  # the traced form is valid for other sizes too
        np.testing.assert_allclose(
            traced(y).numpy(), torch.nn.functional.adaptive_avg_pool2d(y, bins).numpy(), atol=1e-6
        )
