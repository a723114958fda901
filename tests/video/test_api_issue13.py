"""Python API friction (issue 13): class names in pred.foreground, one default effect, dir(),
and the README's Python API snippet, run as written."""

import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import liveseg
from liveseg.errors import ConfigError
from tests.helpers.videos import frame_pattern, make_video, probe, tiny_onnx

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("api")
    return liveseg.load(str(tiny_onnx(d / "tiny.onnx"))), d


def test_foreground_takes_class_names(tiny):
    m, _ = tiny
    pred = m.segment(frame_pattern(0, 64, 48))
    by_name = pred.foreground(["person"])
    assert by_name.shape == (48, 64) and by_name.dtype == np.float32
    np.testing.assert_array_equal(by_name, pred.foreground([1]))
    np.testing.assert_array_equal(pred.foreground(["PERSON", "car"]), pred.foreground([1, 2]))
    np.testing.assert_array_equal(pred.foreground("person"), by_name)
    # no argument: the card's foreground classes (here: person)
    np.testing.assert_array_equal(pred.foreground(), by_name)
    assert by_name[24, 8] > 0.5 > by_name[2, 60]


def test_foreground_bad_classes_are_one_clear_error(tiny):
    m, _ = tiny
    pred = m.segment(frame_pattern(0, 64, 48))
    with pytest.raises(ConfigError, match="unknown class 'dog'.*background, person, car"):
        pred.foreground(["dog"])
    with pytest.raises(ConfigError, match="out of range"):
        pred.foreground([7])


def test_propagated_predictions_keep_class_names(tiny, tmp_path):
    from liveseg.video.temporal import make_temporal

    m, _ = tiny
    policy = make_temporal("fixed:3")
    preds = [
        policy.step(
            frame_pattern(i, 64, 48), lambda prev=None, i=i: m.predict(frame_pattern(i, 64, 48))
        )
        for i in range(3)
    ]
    assert not preds[1].inferred
    assert preds[1].foreground(["person"]).shape == (48, 64)


def test_process_video_default_effect_is_the_cli_default(tiny, tmp_path):
    from liveseg.cli import main

    m, d = tiny
    video = make_video(tmp_path / "in.mp4", n=4, audio=False)
    s_api = liveseg.process_video(str(video), str(tmp_path / "api.mkv"), model=m)
    assert (
        main(
            [
                "run",
                str(video),
                "-o",
                str(tmp_path / "cli.mkv"),
                "--model",
                str(d / "tiny.onnx"),
                "--quiet",
                "--stats",
                str(tmp_path / "s.json"),
            ]
        )
        == 0
    )
    import json

    s_cli = json.loads((tmp_path / "s.json").read_text())
    assert s_api["effect"] == s_cli["effect"] == "overlay"  # the tiny model is 'semantic'
    subject = liveseg.load("davis-subject-unet-lite0-mlp-216x384-int8")
    s = liveseg.process_video(str(video), None, model=subject, max_frames=1)
    assert s["effect"] == "blur"


def test_dir_lists_the_api():
    names = dir(liveseg)
    for n in ("load", "process_video", "Model", "LivesegError", "__version__"):
        assert n in names


def test_readme_python_snippet_runs_as_written(tmp_path):
    text = README.read_text()
    section = text[text.index("## Python API") :]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    assert "liveseg.load(" in code and "process_video(" in code
    make_video(tmp_path / "in.mp4", n=8, w=128, h=96)
    cv2.imwrite(
        str(tmp_path / "photo.jpg"), cv2.cvtColor(frame_pattern(3, 160, 120), cv2.COLOR_RGB2BGR)
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "8 frames at" in out.stdout
    assert probe(tmp_path / "out.mp4")["frames"] == 8
