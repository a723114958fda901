"""`liveseg export` and `liveseg models` end to end (small models, tmp dirs)."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from liveseg.cli import main
from liveseg.models import create_model


def _trainer_checkpoint(path, name="lraspp_mobilenetv3_small", options=None):
    """A checkpoint laid out like 'liveseg train' writes it (state dict, config, data info)."""
    options = options or {"width_mult": 0.75}
    model = create_model(name, num_classes=2, **options)
    torch.save(
        {
            "model": model.state_dict(),
            "epoch": 3,
            "config": {
                "name": "fg-test",
                "model": {"name": name, "options": options},
                "input_size": [96, 64],
                "mean": [0.5, 0.5, 0.5],
                "std": [0.25, 0.25, 0.25],
                "export": {},
            },
            "info": {
                "name": "synthetic",
                "classes": ["background", "person"],
                "task": "foreground",
                "foreground": ["person"],
                "palette": [[0, 0, 0], [255, 0, 0]],
                "training_data": "synthetic",
                "license": "CC0",
            },
        },
        path,
    )
    return model


def test_export_trainer_checkpoint_fixed_size(tmp_path, capsys):
    import onnxruntime as ort

    ckpt = tmp_path / "best.pt"
    model = _trainer_checkpoint(ckpt).eval()
    out = tmp_path / "fg.onnx"
    assert main(["export", str(ckpt), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "parity" in printed and "96x64" in printed
    card = json.loads((tmp_path / "fg.json").read_text())
    assert card["name"] == "fg-test" and card["classes"] == ["background", "person"]
    assert card["input_size"] == [96, 64] and card["mean"] == [0.5, 0.5, 0.5]
    assert card["architecture"] == "lraspp_mobilenetv3_small"
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape == [1, 3, 64, 96]
    assert "liveseg.card" in sess.get_modelmeta().custom_metadata_map
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 96)).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], ref, atol=1e-4)
    # an existing output is kept unless --overwrite
    before = out.stat().st_mtime_ns
    assert main(["export", str(ckpt), "-o", str(out)]) != 0
    assert "--overwrite" in capsys.readouterr().err
    assert out.stat().st_mtime_ns == before


def test_export_model_name_dynamic_with_options(tmp_path, capsys):
    out = tmp_path / "d.onnx"
    rc = main(
        [
            "export",
            "deeplabv3plus_mobilenetv2",
            "-o",
            str(out),
            "--dynamic",
            "--input-size",
            "64x48",
            "--num-classes",
            "4",
            "--option",
            "width_mult=0.35",
            "--option",
            "prev_mask=true",
        ]
    )
    assert rc == 0
    assert "max |diff|" in capsys.readouterr().out
    card = json.loads((tmp_path / "d.json").read_text())
    assert card["prev_mask_input"] is True and len(card["classes"]) == 4


@pytest.mark.parametrize(
    "argv,match",
    [
        (["export", "deeplabv3plus_mobilenetv", "-o", "X.onnx"], "did you mean"),
        (["export", "deeplabv3plus_mobilenetv2", "-o", "X.onnx", "--input-size", "big"], "WxH"),
        (["export", "deeplabv3plus_mobilenetv2", "-o", "X.txt"], ".onnx"),
        (
            ["export", "deeplabv3plus_mobilenetv2", "-o", "X.onnx", "--option", "output_stride=5"],
            "output_stride",
        ),
        (["export", "missing.pt", "-o", "X.onnx"], "neither"),
    ],
)
def test_export_bad_input_is_one_clear_error(argv, match, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err
    assert not (tmp_path / "X.onnx").exists()


def test_export_rejects_checkpoint_with_mismatched_weights(tmp_path, capsys):
    ckpt = tmp_path / "c.pt"
    _trainer_checkpoint(ckpt)
    assert (
        main(["export", str(ckpt), "-o", str(tmp_path / "o.onnx"), "--option", "width_mult=1.0"])
        != 0
    )
    assert "do not fit" in capsys.readouterr().err


def test_export_reads_a_float_onnx_back_at_another_size(tmp_path, capsys):
    import onnxruntime as ort

    ckpt = tmp_path / "best.pt"
    model = _trainer_checkpoint(ckpt).eval()
    first = tmp_path / "fg.onnx"
    assert main(["export", str(ckpt), "-o", str(first)]) == 0
    out = tmp_path / "fg-48.onnx"
    assert main(["export", str(first), "-o", str(out), "--input-size", "48x32"]) == 0
    assert "fg.onnx (lraspp_mobilenetv3_small" in capsys.readouterr().out
    card = json.loads((tmp_path / "fg-48.json").read_text())
    assert card["name"] == "fg-48" and card["input_size"] == [48, 32]
    assert card["classes"] == ["background", "person"] and "re-exported" in card["notes"]
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).standard_normal((1, 3, 32, 48)).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], ref, atol=1e-3)
    # a file without a liveseg card cannot say which network it is
    (tmp_path / "fg.json").unlink()
    import onnx

    bare = onnx.load(str(first))
    del bare.metadata_props[:]
    onnx.save(bare, str(tmp_path / "bare.onnx"))
    assert main(["export", str(tmp_path / "bare.onnx"), "-o", str(tmp_path / "b2.onnx")]) != 0
    err = capsys.readouterr().err
    assert "names no liveseg architecture" in err and "Traceback" not in err


def test_models_lists_and_details(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "deeplabv3plus_mobilenetv2" in out and "mobileseg_lite_hrnet_18" in out
    assert (
        main(
            [
                "models",
                "--details",
                "--json",
                "--size",
                "256",
                "--no-onnx",
                "deeplabv3plus_mobilenetv2",
            ]
        )
        == 0
    )
    row = json.loads(capsys.readouterr().out)["architectures"][0]
    # the reference figures: ~2.7 M parameters, ~1.4 GMAC at 256x256 (1.0, OS16, 21 classes)
    assert 2.6e6 < row["params"] < 2.8e6
    assert 1.3e9 < row["macs"] < 1.5e9
    assert main(["models", "--details", "--size", "64", "lraspp_mobilenetv3_small"]) == 0
    assert "ONNX (MB)" in capsys.readouterr().out


def test_tflite_export_parity_with_onnx(tmp_path):
    pytest.importorskip("litert_torch")
    pytest.importorskip("ai_edge_litert")
    from liveseg.export.onnx_export import export_onnx
    from liveseg.export.tflite_export import export_tflite, tflite_parity

    model = create_model("lraspp_mobilenetv3_small", num_classes=3).eval()
    onnx_path = export_onnx(model, tmp_path / "m.onnx", (64, 48))
    tfl = export_tflite(model, tmp_path / "m.tflite", (64, 48))
    r = tflite_parity(tfl, onnx_path)
    assert r["input_shape"] == [1, 3, 48, 64]
    assert r["argmax_agreement"] >= 0.999
    assert r["max_abs_diff"] < 1e-3


def test_bench_models_smoke(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert (
        main(
            [
                "bench",
                "models",
                "--models",
                "lraspp_mobilenetv3_small",
                "--sizes",
                "64",
                "--runs",
                "1",
                "--warmup",
                "0",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    assert "| lraspp_mobilenetv3_small | 64x64 |" in capsys.readouterr().out
    row = json.loads(out.read_text())["rows"][0]
    for k in ("ort_1t", "ort_2t", "torch_1t"):
        assert row[k]["median_ms"] > 0
    assert row["params"] > 0 and row["macs"] > 0 and row["onnx_bytes"] > 0
    assert "cpu" in json.loads(out.read_text())["machine"]
    assert main(["bench", "models", "--models", "nosuchmodel"]) != 0
