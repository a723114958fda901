import json

import numpy as np
import pytest
import torch

from liveseg.cli import main
from liveseg.errors import OutputError
from liveseg.train.checkpoint import load_checkpoint
from liveseg.train.config import load_config
from liveseg.train.trainer import train
from tests.helpers.datasets import make_davis2016, make_folder
from tests.helpers.tiny_model import NAME

# every test trains the tiny model: registered for each test, removed after it
pytestmark = pytest.mark.usefixtures("tiny_model")


def _cfg(tmp_path, root, out, **extra):
    over = [
        f"output_dir={out}",
        "epochs=2",
        "batch_size=2",
        "threads=1",
        "input_size=[32,24]",
        "augment.crop=[24,24]",
        "augment.scale=[0.75,1.25]",
        "optimizer.lr=0.01",
        "schedule.warmup_iters=2",
        "log_every=100",
    ]
    over += [f"{k}={v}" for k, v in extra.items()]
    p = tmp_path / "cfg.yaml"
    p.write_text(
        f"name: tiny\nmodel: {{name: {NAME}}}\n"
        f"data: {{dataset: folder, root: {root}}}\n"
        "loss: [{name: ce}, {name: lovasz, weight: 0.5}]\n"
    )
    return load_config(p, over)


def _state(path):
    return load_checkpoint(path)["model"]


def test_resume_continues_exactly(tmp_path):
    root = make_folder(tmp_path / "data", n=9)
    straight = train(_cfg(tmp_path, root, tmp_path / "a"), export=False)
    assert straight["best_epoch"] >= 1 and len(straight["history"]) == 2
    # same run, stopped after epoch 1, then resumed
    part = train(_cfg(tmp_path, root, tmp_path / "b"), export=False, stop_after=1)
    assert not part["finished"] and len(part["history"]) == 1
    cfg = _cfg(tmp_path, root, tmp_path / "b")
    with pytest.raises(OutputError, match="--resume"):
        train(cfg, export=False)
    train(cfg, resume="auto", export=False)
    a, b = _state(tmp_path / "a" / "last.pt"), _state(tmp_path / "b" / "last.pt")
    for k in a:
        assert torch.equal(a[k], b[k]), k
    ca, cb = (
        load_checkpoint(tmp_path / "a" / "last.pt"),
        load_checkpoint(tmp_path / "b" / "last.pt"),
    )
    assert ca["optimizer"]["state"].keys() == cb["optimizer"]["state"].keys()
    assert ca["scheduler"]["last_epoch"] == cb["scheduler"]["last_epoch"]
    # logs
    rows = (tmp_path / "b" / "log.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,") and len(rows) == 3
    hist = json.loads((tmp_path / "b" / "log.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2] and "val_miou" in hist[0]
    assert (tmp_path / "a" / "best.pt").exists()


def test_balanced_class_weights_come_from_the_training_labels(tmp_path, capsys):
    import cv2

    from liveseg.train.losses import balanced_class_weights
    from liveseg.train.trainer import build_datasets

    root = make_folder(tmp_path / "data", n=6)
    cfg = _cfg(tmp_path, root, tmp_path / "run", epochs=1, class_weights="balanced")
    train_set, _ = build_datasets(cfg)
    counts = np.zeros(3, np.int64)
    for s in train_set.samples:  # the label files themselves
        counts += np.bincount(cv2.imread(str(s.mask), 0).ravel(), minlength=3)[:3]
    assert train_set.class_pixel_counts().tolist() == counts.tolist()
    expected = balanced_class_weights(counts)
    assert len(set(expected)) > 1  # the fixture's classes are unbalanced: a real test
    result = train(cfg, export=False)
    assert result["finished"]
    logged = capsys.readouterr().err
    assert "class weights (balanced): background " + f"{expected[0]:.2f}" in logged


def test_learns_and_exports_onnx_with_card(tmp_path):
    pytest.importorskip("onnx")
    root = make_folder(tmp_path / "data", n=9)
    cfg = _cfg(
        tmp_path,
        root,
        tmp_path / "run",
        epochs=6,
        **{"optimizer.lr": 0.05, "augment.scale": "[1.0,1.0]"},
    )
    res = train(cfg)
    first, last = res["history"][0], res["history"][-1]
    assert last["train_loss"] < first["train_loss"]
    assert res["best"] >= first["val_miou"]
    from liveseg.card import ModelCard

    card = ModelCard.load(tmp_path / "run" / "tiny.json")
    assert card.classes == ["background", "thing", "stuff"] and card.input_size == [32, 24]
    assert card.metrics["val_miou"] == pytest.approx(res["best"], abs=1e-4)
    import onnxruntime as ort

    sess = ort.InferenceSession(
        str(tmp_path / "run" / "tiny.onnx"), providers=["CPUExecutionProvider"]
    )
    out = sess.run(None, {sess.get_inputs()[0].name: np.zeros((1, 3, 24, 32), np.float32)})[0]
    assert out.shape == (1, 3, 24, 32)
    assert "liveseg.card" in sess.get_modelmeta().custom_metadata_map

    # eval of the checkpoint and of the ONNX file through the runtime agree closely
    js1, js2 = tmp_path / "ck.json", tmp_path / "onnx.json"
    assert (
        main(["eval", str(tmp_path / "run" / "best.pt"), "--json", str(js1), "--threads", "1"]) == 0
    )
    assert (
        main(
            [
                "eval",
                str(tmp_path / "run" / "tiny.onnx"),
                "--dataset",
                "folder",
                "--root",
                str(root),
                "--split",
                "val",
                "--json",
                str(js2),
                "--flip",
            ]
        )
        == 0
    )
    r1, r2 = json.loads(js1.read_text()), json.loads(js2.read_text())
    assert r1["miou"] == pytest.approx(res["best"], abs=1e-4)
    assert set(r2) >= {"miou", "per_class_iou", "pixel_acc"} and r2["flip"] is True
    assert main(["eval", str(tmp_path / "run" / "best.pt"), "--json", str(js1)]) != 0  # exists


def test_cli_train_flags_after_config_and_davis_j(tmp_path, capsys):
    root = make_davis2016(tmp_path / "davis", clips=("a", "b", "c"), frames=4)
    p = tmp_path / "d.yaml"
    p.write_text(
        f"name: dv\nmodel: {{name: {NAME}}}\n"
        f"data: {{dataset: davis2016, root: {root}, options: {{val_clips: [c]}}}}\n"
        "best_metric: j_mean\n"
    )
    rc = main(
        [
            "train",
            str(p),
            "--no-export",
            "epochs=1",
            "batch_size=2",
            "threads=1",
            "input_size=[32,24]",
            "augment.crop=[32,24]",
            f"output_dir={tmp_path / 'o'}",
        ]
    )
    assert rc == 0
    hist = json.loads((tmp_path / "o" / "log.json").read_text())
    assert "val_j_mean" in hist[0] and "val_fg_iou" in hist[0]
    assert "best val j_mean" in capsys.readouterr().out
    # eval with J&F on the held-out clip from the checkpoint's own config
    js = tmp_path / "e.json"
    assert (
        main(
            [
                "eval",
                str(tmp_path / "o" / "last.pt"),
                "--json",
                str(js),
                "--save-pred",
                str(tmp_path / "pred"),
            ]
        )
        == 0
    )
    r = json.loads(js.read_text())
    assert r["video"]["clips"] == 1 and set(r["video"]["per_clip"]["c"]) >= {"j", "f", "j_decay"}
    # saved predictions scored by --pred/--gt give the same J&F
    import shutil

    shutil.copytree(root / "Annotations" / "c", tmp_path / "gt" / "c")
    js2 = tmp_path / "jf.json"
    assert (
        main(
            [
                "eval",
                "--pred",
                str(tmp_path / "pred"),
                "--gt",
                str(tmp_path / "gt"),
                "--metric",
                "jf",
                "--json",
                str(js2),
            ]
        )
        == 0
    )
    r2 = json.loads(js2.read_text())
    assert r2["j_mean"] == pytest.approx(r["video"]["j_mean"]) and r2["jf"] == pytest.approx(
        r["video"]["jf"]
    )
    assert main(["train", str(p), "bogus"]) == 4  # ConfigError exit code


def test_cli_train_help_after_config_prints_usage(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", str(tmp_path / "any.yaml"), "epochs=1", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: liveseg train") and "--resume" in out
    assert not (tmp_path / "runs").exists()
