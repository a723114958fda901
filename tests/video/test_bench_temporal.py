"""`liveseg bench temporal` end to end on a generated DAVIS-style folder and a tiny ONNX model."""

import json

import cv2
import numpy as np
import pytest

from liveseg.cli import main

from vfixtures import tiny_onnx

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
            img[y:y + 16, x:x + 16] = 230
            mask[y:y + 16, x:x + 16] = 255
            cv2.imwrite(str(root / "JPEGImages" / clip / f"{t:05d}.jpg"), img,
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
            cv2.imwrite(str(root / "Annotations" / clip / f"{t:05d}.png"), mask)
    return root


@pytest.mark.parametrize("pipeline", [True, False])
def test_bench_temporal_writes_table_json_and_plot(tmp_path, capsys, pipeline):
    pytest.importorskip("matplotlib")
    data = make_davis(tmp_path / "davis")
    model = tiny_onnx(tmp_path / "tiny.onnx", size=(64, 48))
    args = ["bench", "temporal", "--model", str(model), "--data", str(data),
            "--clips", "alpha,beta", "--specs", "off;fixed:2;fixed:2,check=fb+smooth",
            "--repeats", "1", "--threads", "1", "--out", str(tmp_path / "out"), "--tag", "t"]
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
