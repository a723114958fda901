"""`liveseg bench temporal` end to end on a generated DAVIS-style folder and a tiny ONNX model."""

import json

import cv2
import numpy as np
import pytest

from liveseg.cli import main
from tests.helpers.videos import tiny_onnx

W, H, N = 64, 48, 8


def make_davis(root):
    """Two clips of a bright square moving over a dark textured background, masks for all."""
    rng = np.random.default_rng(0)
    for c, clip in enumerate(("alpha", "beta")):
        (root / "JPEGImages" / clip).mkdir(parents=True)
        (root / "Annotations" / clip).mkdir(parents=True)
        bg = rng.integers(0, 60, (H, W, 3), dtype=np.uint8)
        for t in range(N):
            img, mask = bg.copy(), np.zeros((H, W), np.uint8)
            x, y = 6 + 3 * t + c, 10 + t
            img[y : y + 16, x : x + 16] = 230
            mask[y : y + 16, x : x + 16] = 255
            cv2.imwrite(
                str(root / "JPEGImages" / clip / f"{t:05d}.jpg"),
                img,
                [cv2.IMWRITE_JPEG_QUALITY, 95],
            )
            cv2.imwrite(str(root / "Annotations" / clip / f"{t:05d}.png"), mask)
    return root


@pytest.mark.parametrize("pipeline", [True, False])
def test_bench_temporal_writes_table_json_and_plot(tmp_path, capsys, pipeline):
    pytest.importorskip("matplotlib")
    data = make_davis(tmp_path / "davis")
    model = tiny_onnx(tmp_path / "tiny.onnx", size=(64, 48))
    args = [
        "bench",
        "temporal",
        "--model",
        str(model),
        "--data",
        str(data),
        "--clips",
        "alpha,beta",
        "--specs",
        "off;fixed:2;fixed:2,check=fb+smooth",
        "--repeats",
        "1",
        "--threads",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--tag",
        "t",
    ]
    if not pipeline:
        args.append("--no-pipeline")
    assert main(args) == 0
    out = capsys.readouterr().out
    payload = json.loads((tmp_path / "out" / "t.json").read_text())
    assert (tmp_path / "out" / "t.png").stat().st_size > 0
    rows = {r["spec"]: r for r in payload["results"]}
    assert set(rows) == {"off", "fixed:2", "fixed:2,check=fb+smooth"}
    assert rows["off"]["inferred_share"] == 1.0
    assert rows["fixed:2"]["inferred_share"] == 0.5  # 8 frames per clip: K.K.K.K.
    # The tiny model finds the bright square: every-frame J&F is high, propagation keeps it.
    assert rows["off"]["jf"] > 0.8 and rows["fixed:2"]["jf"] > 0.6
    assert all(r["fps"] > 0 for r in rows.values())
    assert ("liveseg run" in payload["fps_measured_by"]) == pipeline
    assert "| `fixed:2` |" in out
    # Results are kept unless --overwrite.
    assert main(args) != 0


def camvid_onnx(path, size=(64, 48)):
    """11 CamVid classes: Car (8) where pixels are bright, Road (3) elsewhere."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from liveseg.card import ModelCard

    w_, h_ = size
    weight = np.zeros((11, 3, 1, 1), np.float32)
    bias = np.full(11, -20.0, np.float32)
    weight[8], bias[8] = 4.0, -6.0
    weight[3], bias[3] = -4.0, 6.0
    g = helper.make_graph(
        [helper.make_node("Conv", ["input", "w", "b"], ["logits"])],
        "camvid_tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, h_, w_])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 11, h_, w_])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
    names = [
        "Sky",
        "Building",
        "Pole",
        "Road",
        "Pavement",
        "Tree",
        "SignSymbol",
        "Fence",
        "Car",
        "Pedestrian",
        "Bicyclist",
    ]
    ModelCard(
        name="camvid-tiny",
        classes=names,
        input_size=[w_, h_],
        mean=[0, 0, 0],
        std=[1, 1, 1],
        output_kind="logits",
    ).save(path.with_suffix(".json"))
    return path


def make_camvid(root, seqs=("0016E5",)):
    (root / "val").mkdir(parents=True)
    (root / "valannot").mkdir(parents=True)
    rng = np.random.default_rng(1)
    bg = rng.integers(0, 60, (H, W, 3), dtype=np.uint8)
    for t in range(N):
        img, lab = bg.copy(), np.full((H, W), 3, np.uint8)
        x, y = 6 + 3 * t, 10 + t
        img[y : y + 16, x : x + 16] = 230
        lab[y : y + 16, x : x + 16] = 8
        lab[:2] = 11  # void rows: ignored by the metric
        seq = seqs[t % len(seqs)]
        cv2.imwrite(str(root / "val" / f"{seq}_{t:05d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        cv2.imwrite(str(root / "valannot" / f"{seq}_{t:05d}.png"), lab)
    return root


def test_bench_temporal_on_a_camvid_sequence(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    data = make_camvid(tmp_path / "camvid")
    model = camvid_onnx(tmp_path / "c.onnx")
    args = [
        "bench",
        "temporal",
        "--dataset",
        "camvid",
        "--model",
        str(model),
        "--data",
        str(data),
        "--specs",
        "off;fixed:2+smooth",
        "--repeats",
        "1",
        "--threads",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--tag",
        "c",
    ]
    assert main(args) == 0
    payload = json.loads((tmp_path / "out" / "c.json").read_text())
    rows = {r["spec"]: r for r in payload["results"]}
    assert payload["metric"] == "miou" and payload["clips"] == ["val"]
    assert rows["off"]["miou"] > 0.9 and rows["fixed:2+smooth"]["miou"] > 0.6
    assert rows["fixed:2+smooth"]["inferred_share"] == 0.5
    assert "| mIoU |" in capsys.readouterr().out


def test_bench_temporal_camvid_needs_one_sequence_and_its_classes(tmp_path, capsys):
    data = make_camvid(tmp_path / "camvid", seqs=("0016E5", "0006R0"))
    model = camvid_onnx(tmp_path / "c.onnx")
    base = [
        "bench",
        "temporal",
        "--dataset",
        "camvid",
        "--data",
        str(data),
        "--repeats",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--specs",
        "off",
    ]
    assert main(base + ["--model", str(model)]) != 0
    assert "sequences" in capsys.readouterr().err
    assert main(base + ["--model", str(tiny_onnx(tmp_path / "t.onnx"))]) != 0
    assert "11 classes" in capsys.readouterr().err


def test_bench_temporal_frame_scale_runs_on_upscaled_frames(tmp_path, capsys):
    """--frame-scale 2 measures on frames and masks twice the stored size (full-size DAVIS from
    the half-size copy); the square is still found, the stored clips stay untouched."""
    pytest.importorskip("matplotlib")
    data = make_davis(tmp_path / "davis")
    before = sorted(p.stat().st_mtime_ns for p in data.rglob("*.*"))
    model = tiny_onnx(tmp_path / "tiny.onnx", size=(64, 48))
    args = [
        "bench",
        "temporal",
        "--model",
        str(model),
        "--data",
        str(data),
        "--clips",
        "alpha",
        "--specs",
        "off;fixed:2",
        "--repeats",
        "1",
        "--threads",
        "1",
        "--no-pipeline",
        "--frame-scale",
        "2",
        "--out",
        str(tmp_path / "out"),
        "--tag",
        "s",
    ]
    assert main(args) == 0
    payload = json.loads((tmp_path / "out" / "s.json").read_text())
    assert payload["frame_scale"] == 2 and payload["frame_size"] == [2 * W, 2 * H]
    rows = {r["spec"]: r for r in payload["results"]}
    assert rows["off"]["jf"] > 0.8
    assert sorted(p.stat().st_mtime_ns for p in data.rglob("*.*")) == before
    assert main([*args[:-2], "--tag", "bad", "--frame-scale", "9"]) != 0
    assert "--frame-scale must be in" in capsys.readouterr().err
