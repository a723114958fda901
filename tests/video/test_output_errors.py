"""Outputs that cannot be written (issue 13): checked before decoding starts, and a write that
fails mid-run is one line with nothing left behind. Tests run as root, so read-only folders are
/sys (read-only even for root), permission problems are simulated, and a full disk is a file
size limit (RLIMIT_FSIZE) in a subprocess."""

import errno
import itertools
import json
import os
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from liveseg.cli import main
from tests.helpers.videos import make_video, probe, tiny_onnx


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("outerr")
    return {
        "dir": d,
        "model": tiny_onnx(d / "tiny.onnx"),
        "video": make_video(d / "in.mp4", n=6, audio=False),
    }


@pytest.fixture
def no_run(monkeypatch):
    """Fail the test if the pipeline starts: the error must come before any decoding."""
    from liveseg.video.pipeline import Pipeline

    def _run(self, poll=None):
        raise AssertionError("the run started although an output could not be written")

    monkeypatch.setattr(Pipeline, "run", _run)


def _main(capsys, *argv):
    code = main(["run", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _sys_is_read_only():
    try:
        fd, p = tempfile.mkstemp(dir="/sys")
    except OSError:
        return True
    os.close(fd)
    os.unlink(p)
    return False


@pytest.mark.skipif(not _sys_is_read_only(), reason="needs a read-only folder (/sys)")
@pytest.mark.parametrize(
    "where",
    [
        ["-o", "/sys/liveseg_out.mp4"],
        ["-o", "/sys/liveseg_frames"],
        ["--save-masks", "/sys/liveseg_masks"],
        ["--stats", "/sys/liveseg_stats.json"],
    ],
)
def test_read_only_folder_is_refused_before_the_run(env, capsys, no_run, where):
    code, _, err = _main(capsys, env["video"], "--model", env["model"], *where)
    line = _one_line(err)
    assert code == 5 and "cannot write in" in line and "/sys" in line, line
    assert not Path(where[1]).exists()


@pytest.mark.parametrize("kind", ["video", "frames", "masks", "stats"])
def test_path_under_a_regular_file_is_refused_before_the_run(env, tmp_path, capsys, no_run, kind):
    f = tmp_path / "notes.txt"
    f.write_text("x")
    args = {
        "video": ["-o", f / "out.mp4"],
        "frames": ["-o", f / "frames"],
        "masks": ["--save-masks", f / "masks"],
        "stats": ["--stats", f / "s.json"],
    }[kind]
    code, _, err = _main(capsys, env["video"], "--model", env["model"], *args)
    line = _one_line(err)
    assert code == 5 and "notes.txt" in line and "not a folder" in line, line
    assert f.read_text() == "x"


def test_permission_denied_is_refused_before_the_run(env, tmp_path, capsys, no_run, monkeypatch):
    real = tempfile.mkstemp

    def denied(*a, dir=None, **kw):
        if dir is not None and Path(dir).resolve() == tmp_path.resolve():
            raise PermissionError(errno.EACCES, "Permission denied", str(dir))
        return real(*a, dir=dir, **kw)

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    for args in (
        ["-o", tmp_path / "out.mp4"],
        ["-o", tmp_path / "frames"],
        ["--stats", tmp_path / "s.json"],
    ):
        code, _, err = _main(capsys, env["video"], "--model", env["model"], *args)
        line = _one_line(err)
        assert code == 5 and "Permission denied" in line, line
    assert list(tmp_path.iterdir()) == []


def test_stats_in_a_missing_folder_fails_before_the_run(env, tmp_path, capsys, no_run):
    out = tmp_path / "out.mp4"
    code, _, err = _main(
        capsys,
        env["video"],
        "-o",
        out,
        "--model",
        env["model"],
        "--stats",
        tmp_path / "nope" / "s.json",
    )
    line = _one_line(err)
    assert code == 5 and "does not exist" in line
    assert not out.exists()


def test_save_masks_failure_removes_the_output_folder_it_created(
    env, tmp_path, capsys, monkeypatch
):
    from liveseg.video import sinks

    def boom(self, folder, inputs=()):
        raise sinks.OutputError("cannot create the folder masks: Disk quota exceeded")

    monkeypatch.setattr(sinks.MaskSink, "__init__", boom)
    code, _, err = _main(
        capsys,
        env["video"],
        "-o",
        tmp_path / "frames",
        "--model",
        env["model"],
        "--save-masks",
        tmp_path / "masks",
    )
    assert code == 5 and "Disk quota" in _one_line(err)
    assert not (tmp_path / "frames").exists()


# ---- a full disk, mid-run ----------------------------------------------------------------------
LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
from liveseg.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _limited(limit, *argv):
    return subprocess.run(
        [sys.executable, "-c", LIMITED.format(limit=limit), *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _noise_video(path, n=30, w=96, h=64):
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=Fraction(30))
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(n):
            fr = av.VideoFrame.from_ndarray(
                rng.integers(0, 255, (h, w, 3), np.uint8), format="rgb24"
            )
            fr.pts = i
            for p in s.encode(fr):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def test_disk_full_mid_video_is_one_line_and_leaves_nothing(env, tmp_path):
    video = _noise_video(tmp_path / "noise.mp4")
    out = tmp_path / "out" / "seg.mp4"
    out.parent.mkdir()
    r = _limited(
        20000, "run", video, "-o", out, "--model", env["model"], "--quiet", "--temporal", "off"
    )
    assert r.returncode == 5, r.stderr
    line = _one_line(r.stderr)
    assert "failed" in line and "File too large" in line, line
    assert list(out.parent.iterdir()) == []  # no seg.mp4, no seg.partial.mp4
    # the same run with room to write works
    assert (
        main(
            [
                "run",
                str(video),
                "-o",
                str(out),
                "--model",
                str(env["model"]),
                "--quiet",
                "--temporal",
                "off",
            ]
        )
        == 0
    )
    assert probe(out)["frames"] == 30


def test_disk_full_mid_png_folder_leaves_nothing_and_rerun_works(env, tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    rng = np.random.default_rng(1)
    for i in range(3):  # small PNGs first, then ones over the size limit
        cv2.imwrite(str(src / f"a{i}.png"), np.full((40, 40, 3), 200, np.uint8))
    for i in range(3):
        cv2.imwrite(str(src / f"b{i}.png"), rng.integers(0, 255, (160, 160, 3), np.uint8))
    out, masks = tmp_path / "seg", tmp_path / "masks"
    r = _limited(
        30000, "run", src, "-o", out, "--save-masks", masks, "--model", env["model"], "--quiet"
    )
    assert r.returncode == 5, r.stderr
    line = _one_line(r.stderr)
    assert "b0.png" in line and "File too large" in line, line
    assert not out.exists() and not masks.exists()
    assert not list(tmp_path.glob("**/.*tmp*"))  # no temporary files either
    assert (
        main(
            [
                "run",
                str(src),
                "-o",
                str(out),
                "--save-masks",
                str(masks),
                "--model",
                str(env["model"]),
                "--quiet",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [f"{c}{i}.png" for c in "ab" for i in range(3)]


# ---- benchmarks -------------------------------------------------------------------------------
def test_bench_json_in_a_missing_folder_fails_up_front(tmp_path, capsys, monkeypatch):
    import liveseg.bench.pipeline as vb

    monkeypatch.setattr(vb, "run_benchmark", lambda **kw: pytest.fail("benchmark ran"))
    code = main(["bench", "pipeline", "--json", str(tmp_path / "nope" / "r.json")])
    _, err = capsys.readouterr()
    assert code == 5 and "does not exist" in _one_line(err)


def test_bench_quant_json_in_a_missing_folder_fails_up_front(tmp_path, capsys, monkeypatch):
    import liveseg.bench.quant as bq

    monkeypatch.setattr(bq, "build_variants", lambda *a, **kw: pytest.fail("benchmark ran"))
    code = main(
        [
            "bench",
            "quant",
            "--onnx",
            str(tmp_path / "m.onnx"),
            "--data",
            "camvid:" + str(tmp_path),
            "--json",
            str(tmp_path / "nope" / "r.json"),
        ]
    )
    _, err = capsys.readouterr()
    assert code == 5 and "does not exist" in _one_line(err)


def test_bench_pipeline_removes_its_temporary_folder(tmp_path, monkeypatch):
    from liveseg.bench.pipeline import run_benchmark

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    result = run_benchmark(sizes=[(64, 48)], frames=3, repeats=1, rss_frames=0, log=lambda *a: None)
    assert "64x48" in result["sizes"]
    assert list(scratch.iterdir()) == []
    json.dumps(result, default=str)


# ---- broken timestamps -------------------------------------------------------------------------
def _all_zero_pts(path, n=30):
    """A video whose frames all carry timestamp 0 (remuxed from a normal one)."""
    src = make_video(path.with_name("normal.mp4"), n=n, fps=30, audio=False)
    with av.open(str(src)) as inp, av.open(str(path), "w") as out:
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        for p in inp.demux(s_in):
            if p.dts is None:
                continue
            p.pts = p.dts = 0
            p.stream = s_out
            out.mux(p)
    return path


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_frames_with_equal_timestamps_are_all_kept_and_playable(env, tmp_path, capsys, ext):
    broken = _all_zero_pts(tmp_path / "zero.mkv")
    out, stats = tmp_path / f"out{ext}", tmp_path / "s.json"
    code, so, err = _main(capsys, broken, "-o", out, "--model", env["model"], "--stats", stats)
    assert code == 0, err
    s = json.loads(stats.read_text())
    info = probe(out)
    assert s["frames"] == info["frames"] == 30
    times = info["times"]
    assert all(b > a for a, b in itertools.pairwise(times)), times  # no two frames share a time
    assert abs(float(np.median(np.diff(times))) - 1 / 30) < 0.002  # one frame apart
    assert s["timestamps_repaired"] == 29 and "timestamps repaired: 29" in so
