"""`liveseg bench quant` end to end on a tiny synthetic CamVid-like set and an untrained model."""

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from liveseg.card import ModelCard
from liveseg.cli import main


def fake_camvid(root, n=3, size=(48, 64)):
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        (root / split).mkdir(parents=True)
        (root / f"{split}annot").mkdir()
        for i in range(n):
            img = cv2.GaussianBlur(rng.integers(0, 255, (*size, 3), dtype=np.uint8), (5, 5), 0)
            cv2.imwrite(str(root / split / f"0001TP_{i:03d}.png"), img)
            lab = (np.arange(size[1])[None, :] * 12 // size[1]).repeat(size[0], 0).astype(np.uint8)
            cv2.imwrite(str(root / f"{split}annot" / f"0001TP_{i:03d}.png"), lab)
    return root


def test_bench_quant_table(tmp_path, capsys):
    from liveseg.export.onnx_export import export_onnx
    from liveseg.models import create_model

    torch.manual_seed(0)
    name = "lraspp_mobilenetv3_small"
    model = create_model(name, num_classes=11).eval()
    card = ModelCard(
        name="t", classes=[str(i) for i in range(11)], input_size=[64, 48], architecture=name
    )
    export_onnx(model, tmp_path / "m.onnx", input_size=(64, 48), card=card)
    ckpt = tmp_path / "m.pt"
    torch.save(
        {
            "model": model.state_dict(),
            "model_name": name,
            "num_classes": 11,
            "card": card.to_dict(),
        },
        ckpt,
    )
    data = fake_camvid(tmp_path / "camvid")
    out_json = tmp_path / "rows.json"
    rc = main(
        [
            "bench",
            "quant",
            "--onnx",
            str(tmp_path / "m.onnx"),
            "--checkpoint",
            str(ckpt),
            "--data",
            f"camvid:{data}",
            "--bits",
            "32/32,4/4",
            "--runs",
            "2",
            "--calib-samples",
            "3",
            "--variants",
            "int8",
            "--workdir",
            str(tmp_path / "work"),
            "--json",
            str(out_json),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    for col in ("Network", "Input", "Stride", "Quantization (w/a)", "mIoU", "Runtime", "File size"):
        assert col in out
    for row in (
        "fp32 (32/32)",
        "int8 PTQ (8/8",
        "PyTorch eager",
        "simulated 32/32",
        "simulated 4/4",
        "int8/fp32 speed-up",
    ):
        assert row in out
    import json

    rows = json.loads(out_json.read_text())["rows"]
    by = {r["variant"]: r for r in rows}
    assert by["int8"]["file_bytes"] < 0.5 * by["fp32"]["file_bytes"]
    assert 0.0 <= by["int8"]["miou"] <= 1.0
    # the simulated float row is the same network as the ONNX fp32 one
    assert abs(by["sim32/32"]["miou"] - by["fp32"]["miou"]) < 0.05


def test_data_from_a_training_config_keeps_its_split_and_class_map(tmp_path):
    """--data CONFIG.yaml: the config's reader options (val_every split, class map) apply, and
    calibration links only the training split's images."""
    from liveseg.bench.accuracy import calibration_spec, parse_spec
    from tests.helpers.datasets import make_folder

    root = make_folder(tmp_path / "f", n=10, num_classes=4)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"name: t\ndata:\n  dataset: folder\n  root: {root}\n"
        "  options: {val_every: 5, class_map: {0: 0, 1: 1, 2: 1, 3: 0}}\n"
        "model: {name: deeplabv3plus_mobilenetv2}\n"
    )
    kind, got_root, opts = parse_spec(str(cfg))
    assert kind == "folder" and str(got_root) == str(root) and opts["val_every"] == 5
    assert parse_spec(f"camvid:{root}") == ("camvid", str(root), {})
    calib = calibration_spec(str(cfg), "train", tmp_path / "work")
    linked = sorted(p.resolve().name for p in (tmp_path / "work" / "calib-train").iterdir())
    assert calib.endswith("calib-train") and len(linked) == 8
    assert "im00.png" not in linked and "im05.png" not in linked  # the val images
    assert calibration_spec(f"camvid:{root}", "train", tmp_path / "work") == f"camvid:{root}:train"
