import subprocess
import sys

import numpy as np

import liveseg
from tests.helpers.videos import frame_pattern, make_video, probe, tiny_onnx


def test_three_line_api(tmp_path):
    model_path = tiny_onnx(tmp_path / "tiny.onnx")
    video = make_video(tmp_path / "in.mp4", n=6)
    m = liveseg.load(str(model_path))
    pred = m.segment(frame_pattern(0, 64, 48))
    labels = pred.labels()
    assert labels.shape == (48, 64) and labels.dtype == np.uint8
    assert labels[24, 8] == 1 and labels[2, 60] == 0  # the bright square is 'person'
    assert pred.probs.shape[0] == 3 and np.allclose(pred.probs.sum(0), 1, atol=1e-4)
    assert m.segment(np.full((10, 12), 250, np.uint8)).labels().shape == (10, 12)  # gray in
    stats = liveseg.process_video(str(video), str(tmp_path / "out.mp4"), model=m, effect="blur")
    assert stats["frames"] == 6 and probe(tmp_path / "out.mp4")["frames"] == 6
    assert m.classes == ["background", "person", "car"]


def test_import_liveseg_stays_light():
    code = (
        "import sys, liveseg; liveseg.load; "
        "print(any(k in sys.modules for k in ('cv2', 'av', 'onnxruntime', 'torch')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
