"""Training with the previous-mask channel (data.prev_mask), and init_from (3 -> 4 channels)."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from liveseg.cli import main
from liveseg.errors import ConfigError
from liveseg.models.options import in_channels as parse_in_channels
from liveseg.train.checkpoint import load_checkpoint
from liveseg.train.config import load_config
from liveseg.train.init_from import load_init_weights
from liveseg.train.trainer import build_model, train
from tests.helpers.datasets import make_davis2016
from tests.helpers.registry import registered_model

NAME = "_tiny_prev_test_seg"


class TinyPrev(nn.Module):
    """No BN / dropout: with lr 0 a training run leaves the weights exactly as loaded."""

    def __init__(self, num_classes, in_channels):
        super().__init__()
        self.in_channels = in_channels
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, num_classes, 1)
        )

    def forward(self, x):  # the checks every zoo model makes
        if x.dim() != 4:
            raise ConfigError(f"{NAME}: input must have rank 4 (N, C, H, W), got {x.dim()}")
        if x.shape[1] != self.in_channels:
            raise ConfigError(
                f"{NAME}: input has {x.shape[1]} channels, expected {self.in_channels}"
            )
        return self.body(x)


def _build(num_classes=2, in_channels=None, prev_mask=False):
    return TinyPrev(num_classes, parse_in_channels(NAME, in_channels, prev_mask))


@pytest.fixture(autouse=True)
def _tiny_prev_registered():
    """Every test here trains TinyPrev: registered for the test, removed after it."""
    with registered_model(NAME, _build):
        yield


def _cfg(tmp_path, root, out, prev=True, **extra):
    over = [
        f"output_dir={out}",
        "epochs=2",
        "batch_size=2",
        "threads=1",
        "input_size=[32,24]",
        "augment.crop=[32,24]",
        "augment.scale=[1.0,1.0]",
        "optimizer.lr=0.02",
        "log_every=100",
        "best_metric=j_mean",
    ]
    if prev:
        over += ["data.prev_mask=true", "model.options.prev_mask=true"]
    over += [f"{k}={v}" for k, v in extra.items()]
    p = tmp_path / "cfg.yaml"
    p.write_text(
        f"name: tinyprev\nmodel: {{name: {NAME}}}\n"
        f"data: {{dataset: davis2016, root: {root}, options: {{val_clips: [c]}}}}\n"
    )
    return load_config(p, over)


@pytest.fixture()
def davis(tmp_path):
    return make_davis2016(tmp_path / "davis", clips=("a", "b", "c"), frames=4)


def test_prev_mask_run_exports_4_channel_onnx_with_card(tmp_path, davis):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    res = train(_cfg(tmp_path, davis, tmp_path / "run"))
    assert res["finished"] and "val_j_mean" in res["history"][-1]
    card = json.loads((tmp_path / "run" / "tinyprev.json").read_text())
    assert card["prev_mask_input"] is True
    sess = ort.InferenceSession(
        str(tmp_path / "run" / "tinyprev.onnx"), providers=["CPUExecutionProvider"]
    )
    assert sess.get_inputs()[0].shape[1] == 4
    out = sess.run(None, {sess.get_inputs()[0].name: np.zeros((1, 4, 24, 32), np.float32)})[0]
    assert out.shape == (1, 2, 24, 32)
    # the runtime sees a prev-mask model; eval feeds it the previous prediction, frame by frame
    from liveseg.runtime import load_model

    assert load_model(str(tmp_path / "run" / "tinyprev.onnx")).io.prev_mask_input
    js1, js2 = tmp_path / "onnx.json", tmp_path / "ck.json"
    assert (
        main(
            [
                "eval",
                str(tmp_path / "run" / "tinyprev.onnx"),
                "--dataset",
                "davis2016",
                "--root",
                str(davis),
                "--data-option",
                "val_clips=[c]",
                "--json",
                str(js1),
            ]
        )
        == 0
    )
    assert main(["eval", str(tmp_path / "run" / "best.pt"), "--json", str(js2)]) == 0
    r1, r2 = json.loads(js1.read_text()), json.loads(js2.read_text())
    assert r1["video"]["jf"] == pytest.approx(r2["video"]["jf"], abs=0.05)
    assert (
        main(
            [
                "eval",
                str(tmp_path / "run" / "best.pt"),
                "--flip",
                "--json",
                str(tmp_path / "x.json"),
            ]
        )
        == 4
    )


def test_training_input_has_raw_prev_channel(tmp_path, davis, monkeypatch):
    """The 4th channel reaches the model un-normalised, in [0, 1], train and val."""
    seen = []
    orig = TinyPrev.forward

    def spy(self, x):
        seen.append(
            (self.training, x[:, 3].min().item(), x[:, 3].max().item(), x[:, :3].min().item())
        )
        return orig(self, x)

    monkeypatch.setattr(TinyPrev, "forward", spy)
    train(_cfg(tmp_path, davis, tmp_path / "run", epochs=1), export=False)
    assert {t for t, *_ in seen} == {True, False}
    assert all(0.0 <= lo and hi <= 1.0 for _, lo, hi, _ in seen)
    assert any(hi > 0.5 for _, _, hi, _ in seen)
    assert min(rgb for *_, rgb in seen) < 0  # RGB is normalised, the channel is not


def test_init_from_widens_3_to_4_channels(tmp_path, davis):
    src = train(_cfg(tmp_path, davis, tmp_path / "rgb", prev=False, epochs=1), export=False)
    ckpt = tmp_path / "rgb" / "last.pt"
    cfg = _cfg(tmp_path, davis, tmp_path / "pm", init_from=str(ckpt))
    rgb_cfg = _cfg(tmp_path, davis, tmp_path / "rgb", prev=False)
    old = build_model(rgb_cfg, 2)
    old.load_state_dict(load_checkpoint(ckpt)["model"])
    new = build_model(cfg, 2)
    info = load_init_weights(new, cfg["init_from"])
    assert info["widened"] == ["body.0.weight"]
    assert torch.equal(new.body[0].weight[:, 3], torch.zeros_like(new.body[0].weight[:, 3]))
    x = torch.randn(2, 3, 24, 32)
    with torch.no_grad():
        assert torch.equal(old(x), new(torch.cat([x, torch.zeros(2, 1, 24, 32)], 1)))
    # through the trainer: with lr 0 nothing moves, so last.pt holds exactly the widened weights
    assert src["finished"]
    train(
        _cfg(
            tmp_path,
            davis,
            tmp_path / "pm0",
            init_from=str(ckpt),
            epochs=1,
            **{"optimizer.lr": 0.0},
        ),
        export=False,
    )
    got = load_checkpoint(tmp_path / "pm0" / "last.pt")["model"]
    for k, v in new.state_dict().items():
        assert torch.equal(got[k], v), k


def test_init_from_errors_are_one_line(tmp_path, davis):
    other = tmp_path / "other.pt"
    torch.save(
        {"model": build_model(_cfg(tmp_path, davis, tmp_path / "o", prev=False), 3).state_dict()},
        other,
    )  # 3 classes: the last conv differs
    cases = [
        (_cfg(tmp_path, davis, tmp_path / "r1", init_from=str(other)), "body.2.weight has shape"),
        (_cfg(tmp_path, davis, tmp_path / "r2", init_from=str(tmp_path / "none.pt")), "not found"),
    ]
    for cfg, msg in cases:
        with pytest.raises(ConfigError, match=msg) as e:
            train(cfg, export=False)
        assert "\n" not in str(e.value)
    torch.save({"model": {"foo.weight": torch.zeros(1)}}, tmp_path / "foreign.pt")
    with pytest.raises(ConfigError, match="not the same architecture") as e:
        load_init_weights(build_model(cases[0][0], 2), tmp_path / "foreign.pt")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "over,msg",
    [
        (["data.prev_mask=true"], "needs model.options.prev_mask"),
        (["model.options.prev_mask=true"], "needs data.prev_mask"),
        (["data.prev_mask={shfit: 0.1}", "model.options.prev_mask=true"], "unknown keys"),
        (["data.prev_mask={shift: 5}", "model.options.prev_mask=true"], "in \\[0, 1\\]"),
        (["init_from=weights.h5"], "init_from must be"),
    ],
)
def test_config_errors_are_one_line(tmp_path, davis, over, msg):
    p = tmp_path / "c.yaml"
    p.write_text(f"name: x\nmodel: {{name: {NAME}}}\ndata: {{dataset: davis2016, root: {davis}}}\n")
    with pytest.raises(ConfigError, match=msg) as e:
        load_config(p, over)
    assert "\n" not in str(e.value)


def test_cli_reports_config_error_in_one_line(tmp_path, davis, capsys):
    p = tmp_path / "c.yaml"
    p.write_text(
        f"name: x\nmodel: {{name: {NAME}}}\n"
        f"data: {{dataset: davis2016, root: {davis}, prev_mask: true}}\n"
    )
    assert main(["train", str(p)]) == 4
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "prev_mask" in err
