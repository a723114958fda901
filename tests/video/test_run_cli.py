"""`liveseg run` end to end with a real (tiny) ONNX model, and every bad input via main()."""

import json

import cv2
import numpy as np
import pytest

from liveseg.cli import main
from tests.helpers.videos import make_video, probe, tiny_onnx


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    return {"dir": d, "model": tiny_onnx(d / "tiny.onnx"), "video": make_video(d / "in.mp4", n=10)}


def _main(capsys, *argv):
    code = main(["run", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_run_video_with_stats_and_masks(env, tmp_path, capsys):
    out, stats = tmp_path / "out.mp4", tmp_path / "s.json"
    code, so, err = _main(
        capsys,
        env["video"],
        "-o",
        out,
        "--model",
        env["model"],
        "--effect",
        "replace",
        "--background",
        env["video"],
        "--foreground",
        "person",
        "--save-masks",
        tmp_path / "m",
        "--stats",
        stats,
    )
    assert code == 0, err
    assert "fps" in so and "infer" in so
    s = json.loads(stats.read_text())
    # The default --temporal auto reuses frames of a video: the network ran on some of them.
    assert s["frames"] == 10 and 3 <= s["inferred_frames"] < 10 and s["fps"] > 0
    assert s["temporal"]["policy"].startswith("fixed:4+smooth")
    assert "temporal: fixed:4+smooth" in so  # the summary names the policy in use
    assert {"decode", "flow", "infer", "effect", "sink"} <= set(s["stages"])
    assert probe(out)["frames"] == 10 and probe(out)["audio"]
    mask = cv2.imread(str(tmp_path / "m" / "00004.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (48, 64) and set(np.unique(mask)) == {0, 1}


def test_run_each_effect_through_the_cli(env, tmp_path, capsys):
    for effect in ("overlay", "blur", "mask", "side-by-side"):
        out = tmp_path / f"{effect}.mkv"
        code, _, err = _main(
            capsys, env["video"], "-o", out, "--model", env["model"], "--effect", effect, "--quiet"
        )
        assert code == 0, err
        info = probe(out)
        assert info["frames"] == 10
        assert info["sizes"] == {(48, 128 if effect == "side-by-side" else 64)}
    code, _, err = _main(
        capsys,
        env["video"],
        "-o",
        tmp_path / "m.webm",
        "--model",
        env["model"],
        "--effect",
        "matte",
        "--quiet",
    )
    assert code == 0, err


def test_image_input_to_image_output(env, tmp_path, capsys):
    img = tmp_path / "photo.jpg"
    cv2.imwrite(str(img), np.full((30, 20, 3), 240, np.uint8))
    code, _, err = _main(
        capsys,
        img,
        "-o",
        tmp_path / "photo_out.png",
        "--model",
        env["model"],
        "--save-masks",
        tmp_path / "masks",
        "--quiet",
    )
    assert code == 0, err
    assert (tmp_path / "photo_out.png").is_file()
    assert cv2.imread(str(tmp_path / "masks" / "photo.png"), cv2.IMREAD_UNCHANGED).shape == (30, 20)


def test_overwrite_safety(env, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    code, _, err = _main(capsys, env["video"], "-o", out, "--model", env["model"])
    assert code != 0 and "already exists" in err and "Traceback" not in err
    assert out.read_bytes() == b"precious"
    code, _, err = _main(
        capsys, env["video"], "-o", out, "--model", env["model"], "--overwrite", "--quiet"
    )
    assert code == 0, err
    assert probe(out)["frames"] == 10
    # the output can never be the input, even with --overwrite
    code, _, err = _main(
        capsys, env["video"], "-o", env["video"], "--model", env["model"], "--overwrite"
    )
    assert code != 0 and "is the input" in err
    assert probe(env["video"])["frames"] == 10


def _bad_inputs(env, tmp_path):
    d = tmp_path
    (d / "notes.mp4").write_text("this is not a video\n" * 20)
    (d / "empty.mp4").write_bytes(b"")
    data = env["video"].read_bytes()
    (d / "trunc.mp4").write_bytes(data[: len(data) // 3])  # mp4: index at the end, lost
    (d / "junk.onnx").write_bytes(b"\x00not a model" * 10)
    audio_only = d / "audio.m4a"
    import av

    with av.open(str(audio_only), "w") as c:
        s = c.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = 48000
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    zero = d / "zero.avi"
    with av.open(str(zero), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        c.start_encoding()  # header only: a video stream with no frames
    empty_dir = d / "nothing"
    empty_dir.mkdir()
    m = str(env["model"])
    v = str(env["video"])
    return [
        ([str(d / "missing.mp4"), "--model", m], "not found"),
        ([str(d / "notes.mp4"), "--model", m], "cannot open"),
        ([str(d / "empty.mp4"), "--model", m], "empty"),
        ([str(d / "trunc.mp4"), "--model", m], "cannot open"),
        ([str(audio_only), "--model", m], "no video stream"),
        ([str(zero), "--model", m], "no decodable frames"),
        ([str(empty_dir), "--model", m], "no images"),
        ([str(d / "*.nope"), "--model", m], "no images match"),
        ([v, "--model", m, "--effect", "sparkles"], "unknown effect"),
        ([v, "--model", m, "--effect", "blur", "--foreground", "dog"], "unknown class"),
        ([v, "--model", str(d / "junk.onnx")], ""),
        ([v, "--model", str(d / "nope.onnx")], "neither a shipped model"),
        ([v, "--model", m, "--effect", "replace"], "--background"),
        ([v, "--model", m, "--effect", "replace", "--background", str(d / "no.png")], "not found"),
        ([v, "--model", m, "-o", str(d / "out.xyz")], "unsupported output"),
        ([v, "--model", m, "-o", str(d / "nodir" / "out.mp4")], "does not exist"),
        ([v, "--model", m, "-o", str(d / "out.mp4"), "--effect", "matte"], "alpha"),
        ([v, "--model", m, "--temporal", "bogus-policy"], "temporal"),
        (["webcam:x", "--model", m], "webcam"),
        (["webcam:7", "--model", m], "cannot open webcam 7"),
        (["rtsp://127.0.0.1:1/none", "--model", m], "cannot open the stream"),
        ([v, "--model", m, "--show"], "--show needs"),
        ([], "no INPUT"),
    ]


def test_every_bad_input_is_one_line_without_traceback(env, tmp_path, capsys):
    for argv, needle in _bad_inputs(env, tmp_path):
        code = main(["run", *argv])
        _, err = capsys.readouterr()
        lines = [ln for ln in err.strip().splitlines() if ln.strip()]
        assert code != 0, argv
        assert len(lines) == 1, (argv, err)
        assert "Traceback" not in err and lines[0].startswith("liveseg run: error:"), (argv, err)
        assert needle.lower() in err.lower(), (argv, err)
    assert not list(tmp_path.glob("*.partial.*"))


def test_truncated_mkv_reports_and_keeps_going(env, tmp_path, capsys):
    src = make_video(tmp_path / "in.mkv", n=30, audio=False)
    data = src.read_bytes()
    (tmp_path / "cut.mkv").write_bytes(data[: len(data) // 2])
    code, _, err = _main(
        capsys,
        tmp_path / "cut.mkv",
        "-o",
        tmp_path / "o.mp4",
        "--model",
        env["model"],
        "--stats",
        tmp_path / "s.json",
    )
    assert code == 0, err
    s = json.loads((tmp_path / "s.json").read_text())
    assert 1 <= s["frames"] < 30 and probe(tmp_path / "o.mp4")["frames"] == s["frames"]


def test_demo_and_default_model_errors_are_clear(env, tmp_path, capsys, monkeypatch):
    from liveseg import zoo

    monkeypatch.setattr(zoo, "resolve", lambda name: None)
    code, _, err = _main(capsys, env["video"])
    assert code != 0 and "default model" in err and "--model" in err
    code, _, err = _main(capsys, env["video"], "--demo", "--model", env["model"])
    assert code != 0 and "either INPUT or --demo" in err


def test_ctrl_c_in_a_real_process_leaves_a_playable_partial(env, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    video = make_video(tmp_path / "long.mp4", n=600, w=64, h=48, audio=False)
    out = tmp_path / "out.mp4"
    part = tmp_path / "out.partial.mp4"
    # Background jobs start with SIGINT ignored; install Python's handler as a terminal has it.
    code = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from liveseg.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "run",
            str(video),
            "-o",
            str(out),
            "--model",
            str(env["model"]),
            "--effect",
            "blur",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    while not part.exists() and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"partial output kept at {part}" in err and "Traceback" not in err
    assert not out.exists()
    info = probe(part)
    assert 1 <= info["frames"] < 600


def test_temporal_policy_counts_inferred_and_propagated(env, tmp_path, capsys):
    stats = tmp_path / "s.json"
    code, _, err = _main(
        capsys,
        env["video"],
        "--model",
        env["model"],
        "--temporal",
        "fixed:2",
        "--stats",
        stats,
        "--quiet",
    )
    assert code == 0, err
    s = json.loads(stats.read_text())
    assert s["frames"] == 10 and s["inferred_frames"] + s["propagated_frames"] == 10
    assert s["propagated_frames"] >= 1 and s["temporal"]["policy"].startswith("fixed")
