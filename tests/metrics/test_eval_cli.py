import json

import numpy as np
import pytest

from liveseg.cli import main
from tests.helpers.datasets import write_mask


def test_eval_miou_on_saved_predictions(tmp_path):
    gt = np.array([[0, 0], [1, 1]], np.uint8)
    pred = np.array([[0, 1], [1, 1]], np.uint8)
    write_mask(tmp_path / "gt" / "sub" / "a.png", gt)
    write_mask(tmp_path / "pred" / "sub" / "a.png", pred)
    write_mask(tmp_path / "gt" / "b.png", np.array([[255, 2], [2, 2]], np.uint8))
    write_mask(tmp_path / "pred" / "b.png", np.array([[0, 2], [2, 2]], np.uint8))
    out = tmp_path / "m.json"
    rc = main(
        [
            "eval",
            "--pred",
            str(tmp_path / "pred"),
            "--gt",
            str(tmp_path / "gt"),
            "--metric",
            "miou",
            "--num-classes",
            "3",
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    r = json.loads(out.read_text())
    assert r["miou"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3, abs=1e-5)
    assert r["per_class_iou"]["2"] == 1.0 and r["pixel_acc"] == pytest.approx(6 / 7, abs=1e-5)
    assert (
        main(
            [
                "eval",
                "--pred",
                str(tmp_path / "pred"),
                "--gt",
                str(tmp_path / "gt"),
                "--metric",
                "miou",
                "--num-classes",
                "2",
            ]
        )
        == 2
    )  # value 2 outside 2 classes
    (tmp_path / "pred" / "b.png").unlink()
    assert (
        main(
            [
                "eval",
                "--pred",
                str(tmp_path / "pred"),
                "--gt",
                str(tmp_path / "gt"),
                "--num-classes",
                "3",
            ]
        )
        == 2
    )  # missing prediction


def test_eval_jf_on_clip_folders(tmp_path):
    sq = np.zeros((40, 40), np.uint8)
    sq[10:30, 10:30] = 255
    for f in range(5):
        write_mask(tmp_path / "gt" / "clip" / f"{f:05d}.png", sq)
        wrong = f in (0, 4)  # first and last frames are excluded by default
        write_mask(
            tmp_path / "pred" / "clip" / f"{f:05d}.png", np.zeros_like(sq) if wrong else sq // 255
        )
    out = tmp_path / "jf.json"
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
                str(out),
            ]
        )
        == 0
    )
    r = json.loads(out.read_text())
    assert r["jf"] == 1.0 and r["j_mean"] == 1.0 and r["f_mean"] == 1.0
    c = r["per_clip"]["clip"]
    assert {"j", "f", "j_recall", "f_recall", "j_decay", "f_decay"} <= set(c)
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
                "--all-frames",
                "--json",
                str(out),
                "--overwrite",
            ]
        )
        == 0
    )
    r = json.loads(out.read_text())
    assert r["j_mean"] == pytest.approx(3 / 5) and r["per_clip"]["clip"]["frames"] == 5
