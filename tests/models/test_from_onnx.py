"""Weights from an exported float ONNX model: folded BatchNorms, fp16 files, statistics again."""

import pytest
import torch

from liveseg.errors import ConfigError
from liveseg.export.onnx_export import export_onnx
from liveseg.models import create_model
from liveseg.models.from_onnx import recalibrate_batchnorm
from liveseg.quant.fp16 import convert_fp16
from liveseg.train.config import load_config
from liveseg.train.init_from import freeze_batchnorm, load_init_weights
from liveseg.train.trainer import train
from tests.helpers.datasets import make_folder
from tests.helpers.tiny_model import NAME

W, H = 64, 48


def _trained_looking(name, seed):
    """A zoo network whose BatchNorms hold non-trivial statistics, so folding them matters."""
    torch.manual_seed(seed)
    model = create_model(name, num_classes=3)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.3, 0.3)
    return model.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    model = _trained_looking("deeplabv3plus_efficientnet_lite0", seed=0)
    fp32 = export_onnx(model, folder / "m.onnx", input_size=(W, H))
    fp16 = folder / "m-fp16.onnx"
    convert_fp16(fp32, fp16)
    return model, fp32, fp16


@pytest.mark.parametrize("which,tol", [("fp32", 1e-4), ("fp16", 2e-2)])
def test_reproduces_the_exported_network(exported, which, tol):
    model, fp32, fp16 = exported
    fresh = _trained_looking("deeplabv3plus_efficientnet_lite0", seed=1)
    x = torch.randn(2, 3, H, W)
    with torch.no_grad():
        ref = model(x)
        assert (fresh(x) - ref).abs().max() > 0.1  # a different start, so the check can fail
    info = load_init_weights(fresh, fp32 if which == "fp32" else fp16)
    assert info["convolutions"] > 50 and info["folded_bn"] == info["convolutions"] - 2
    fresh.eval()
    with torch.no_grad():
        err = (fresh(x) - ref).abs().max() / ref.abs().max()
    assert err < tol


def test_other_architecture_is_refused(exported):
    _, fp32, _ = exported
    other = _trained_looking("unet_efficientnet_lite0_mlp", seed=0)
    with pytest.raises(ConfigError, match="not the same architecture"):
        load_init_weights(other, fp32)


def test_quantized_model_is_refused(exported, tmp_path):
    from onnxruntime.quantization import quantize_dynamic

    _, fp32, _ = exported
    q = tmp_path / "q.onnx"
    quantize_dynamic(str(fp32), str(q), op_types_to_quantize=["Conv"])
    fresh = _trained_looking("deeplabv3plus_efficientnet_lite0", seed=1)
    with pytest.raises(ConfigError, match="quantized model"):
        load_init_weights(fresh, q)


def test_corrupt_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="not a readable ONNX model"):
        load_init_weights(_trained_looking("deeplabv3plus_efficientnet_lite0", 0), bad)


def test_freeze_batchnorm_keeps_statistics():
    model = _trained_looking("unet_efficientnet_lite0_mlp", seed=0).train()
    before = {k: v.clone() for k, v in model.state_dict().items() if "running" in k}
    assert freeze_batchnorm(model) > 10
    model(torch.randn(2, 3, H, W))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def _cfg(tmp_path, root, out, **extra):
    p = tmp_path / "cfg.yaml"
    p.write_text(
        f"name: tiny\nmodel: {{name: {NAME}}}\n"
        f"data: {{dataset: folder, root: {root}}}\nloss: [{{name: ce}}]\n"
    )
    over = [
        f"output_dir={out}",
        "epochs=1",
        "batch_size=2",
        "threads=1",
        "input_size=[32,24]",
        "augment.crop=[24,24]",
        "log_every=100",
    ]
    return load_config(p, over + [f"{k}={v}" for k, v in extra.items()])


def test_recalibration_keeps_the_function_and_restores_normalisation(exported):
    _, fp32, _ = exported
    model = _trained_looking("deeplabv3plus_efficientnet_lite0", seed=1)
    load_init_weights(model, fp32)
    data = [torch.randn(4, 3, H, W) * 0.8 + 0.1 for _ in range(3)]
    model.eval()
    with torch.no_grad():
        before = model(data[0])
    assert recalibrate_batchnorm(model, iter(data)) > 50
    with torch.no_grad():
        after = model(data[0])
        assert (after - before).abs().max() / before.abs().max() < 1e-4
        bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
        assert bn.running_mean.abs().max() > 1e-3 and (bn.running_var - 1).abs().max() > 1e-2
        # training mode normalises with batch statistics, now close to the stored ones
        model.train()
        trained_mode = model(torch.cat(data))
        model.eval()
        ref = model(torch.cat(data))
    assert (trained_mode - ref).abs().max() / ref.abs().max() < 0.1


@pytest.mark.usefixtures("tiny_model")
def test_training_from_onnx_recalibrates(tmp_path, capsys):
    from liveseg.train.checkpoint import load_checkpoint

    root = make_folder(tmp_path / "data", n=6)
    first = train(_cfg(tmp_path, root, tmp_path / "a"))
    train(_cfg(tmp_path, root, tmp_path / "b", init_from=first["onnx"]), export=False)
    log = capsys.readouterr().err
    state = load_checkpoint(tmp_path / "b" / "last.pt")["model"]
    # the folded BatchNorm (body.1) came back as mean 0 / var 1 - eps, then got statistics
    assert state["body.1.running_mean"].abs().max() > 1e-4
    assert not torch.allclose(state["body.1.running_var"], torch.full((8,), 1 - 1e-5))
    assert "statistics of 1 folded layers re-estimated" in log


@pytest.mark.usefixtures("tiny_model")
def test_freeze_bn_must_be_a_boolean(tmp_path):
    root = make_folder(tmp_path / "data", n=3)
    with pytest.raises(ConfigError, match="freeze_bn"):
        _cfg(tmp_path, root, tmp_path / "run", freeze_bn="maybe")


@pytest.mark.usefixtures("tiny_model")
def test_frozen_statistics_stay_through_a_run(tmp_path):
    from liveseg.train.checkpoint import load_checkpoint

    root = make_folder(tmp_path / "data", n=6)
    first = train(_cfg(tmp_path, root, tmp_path / "a"), export=False)
    ckpt = tmp_path / "a" / "last.pt"
    train(_cfg(tmp_path, root, tmp_path / "b", init_from=str(ckpt), freeze_bn="true"), export=False)
    a, b = load_checkpoint(ckpt)["model"], load_checkpoint(tmp_path / "b" / "last.pt")["model"]
    assert first["best_epoch"] >= 0
    assert torch.equal(a["body.1.running_mean"], b["body.1.running_mean"])
    assert torch.equal(a["body.1.running_var"], b["body.1.running_var"])
