"""liveseg batch on a local Ray with two workers: the same outputs as `liveseg run`, the
manifest, --resume, a worker process killed mid-video, Ctrl-C.

The in-process tests share one local Ray (process_batch uses a Ray already running in the
process); the Ctrl-C test runs the command in a subprocess, which starts its own.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from liveseg.batch import process_batch
from liveseg.cli import main
from tests.helpers.videos import make_video, probe, tiny_onnx

ray = pytest.importorskip("ray")
LONG_FRAMES = 300


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch")
    src = d / "in"
    (src / "sub").mkdir(parents=True)
    make_video(src / "a.mp4", n=12)
    make_video(src / "b.mkv", n=9, audio=False)
    make_video(src / "sub" / "c.mp4", n=15, w=48, h=32)
    rng = np.random.default_rng(0)
    for name in ("p0.jpg", "p1.png"):
        img = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
        img[5:20, 10:30] = 240  # a bright 'person'
        cv2.imwrite(str(src / "sub" / name), img)
    (src / "corrupt.mp4").write_bytes(b"this is not a video" * 40)
    with av.open(str(src / "zero.avi"), "w") as c:  # a video stream with no frames
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        c.start_encoding()
    long = d / "long"
    long.mkdir()
    for i in range(6):  # long enough to be caught mid-write, even on a fast machine
        make_video(long / f"v{i}.mp4", n=LONG_FRAMES, w=320, h=240, audio=False)
    return {"dir": d, "in": src, "long": long, "model": str(tiny_onnx(d / "tiny.onnx"))}


def rows_of(outdir) -> dict:
    rows = [json.loads(x) for x in (Path(outdir) / "manifest.jsonl").read_text().splitlines()]
    return {Path(r["input"]).name: r for r in rows}


def files_under(folder) -> dict:
    return {
        p.relative_to(folder).as_posix(): p.stat().st_mtime_ns
        for p in Path(folder).rglob("*")
        if p.is_file() and p.name != "manifest.jsonl"
    }


@pytest.fixture(scope="module")
def first_batch(corpus, local_ray):
    out = corpus["dir"] / "out"
    argv = [
        "batch",
        str(corpus["in"]),
        "-o",
        str(out),
        "--model",
        corpus["model"],
        "--workers",
        "2",
        "--save-masks",
        "--no-progress",
        "--effect",
        "overlay",
    ]
    return main(argv), out


def test_two_workers_write_what_liveseg_run_writes(corpus, first_batch, tmp_path, capsys):
    code, out = first_batch
    assert code == 2  # two inputs failed
    rows = rows_of(out)
    assert {k: r["status"] for k, r in rows.items()} == {
        "a.mp4": "done",
        "b.mkv": "done",
        "c.mp4": "done",
        "p0.jpg": "done",
        "p1.png": "done",
        "corrupt.mp4": "failed",
        "zero.avi": "failed",
    }
    assert "cannot open" in rows["corrupt.mp4"]["error"]
    assert "no decodable frames" in rows["zero.avi"]["error"]
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 7  # one line per input
    for name, rel in (("a.mp4", "a"), ("b.mkv", "b"), ("c.mp4", "sub/c")):
        src = next(corpus["in"].rglob(name))
        ref, ref_masks = tmp_path / f"{name}.ref{src.suffix}", tmp_path / f"{name}.masks"
        assert (
            main(
                [
                    "run",
                    str(src),
                    "-o",
                    str(ref),
                    "--model",
                    corpus["model"],
                    "--effect",
                    "overlay",
                    "--save-masks",
                    str(ref_masks),
                    "--quiet",
                    "--no-progress",
                ]
            )
            == 0
        )
        got, want = probe(out / f"{rel}{src.suffix}"), probe(ref)
        assert got["frames"] == want["frames"] == rows[name]["frames"]
        assert got["times"] == want["times"] and got["audio"] == want["audio"]
        masks = sorted(p.name for p in (out / f"{rel}.masks").iterdir())
        assert masks == sorted(p.name for p in ref_masks.iterdir()) and len(masks) == got["frames"]
        for m in masks:
            assert (out / f"{rel}.masks" / m).read_bytes() == (ref_masks / m).read_bytes()
        assert rows[name]["outputs"] == [f"{rel}{src.suffix}", f"{rel}.masks"]
    for name in ("p0.jpg", "p1.png"):
        stem = Path(name).stem
        ref, ref_masks = tmp_path / f"{stem}.png", tmp_path / f"{stem}-masks"
        assert (
            main(
                [
                    "run",
                    str(corpus["in"] / "sub" / name),
                    "-o",
                    str(ref),
                    "--model",
                    corpus["model"],
                    "--effect",
                    "overlay",
                    "--save-masks",
                    str(ref_masks),
                    "--quiet",
                    "--no-progress",
                ]
            )
            == 0
        )
        assert (out / "sub" / f"{stem}.png").read_bytes() == ref.read_bytes()
        assert (out / "sub" / f"{stem}.mask.png").read_bytes() == (
            ref_masks / f"{stem}.png"
        ).read_bytes()
    # nothing else: no partial or temporary file, no output of a failed input
    assert {f for f in files_under(out) if ".masks/" not in f} == {
        "a.mp4",
        "b.mkv",
        "sub/c.mp4",
        "sub/p0.png",
        "sub/p0.mask.png",
        "sub/p1.png",
        "sub/p1.mask.png",
    }


def test_resume_redoes_nothing_that_is_done(corpus, first_batch, capsys):
    _, out = first_batch
    before = files_under(out)
    code = main(
        [
            "batch",
            str(corpus["in"]),
            "-o",
            str(out),
            "--model",
            corpus["model"],
            "--workers",
            "2",
            "--save-masks",
            "--no-progress",
            "--effect",
            "overlay",
            "--resume",
        ]
    )
    so, se = capsys.readouterr()
    assert code == 2 and "skipped 5" in so
    rows = rows_of(out)
    assert sorted(k for k, r in rows.items() if r["status"] == "skipped") == [
        "a.mp4",
        "b.mkv",
        "c.mp4",
        "p0.jpg",
        "p1.png",
    ]
    assert rows["corrupt.mp4"]["status"] == "failed"  # failures are tried again
    assert "failed: " in se and "corrupt.mp4" in se
    assert files_under(out) == before  # same files, none rewritten


def _kill_the_writer(folder: Path, killed: list, stop: threading.Event) -> None:
    """Wait for a video being written in ``folder`` and SIGKILL the process writing it."""
    while not stop.is_set():
        for partial in folder.glob("*.partial.mp4"):
            for fd_dir in Path("/proc").glob("[0-9]*/fd"):
                try:
                    fds = [os.readlink(f) for f in fd_dir.iterdir()]
                except OSError:
                    continue
                if str(partial) in fds:
                    pid = int(fd_dir.parent.name)
                    os.kill(pid, signal.SIGKILL)
                    killed.append((pid, partial.name.replace(".partial", "")))
                    return
        time.sleep(0.005)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to find the writer")
@pytest.mark.parametrize("retries", [3, 0])
def test_a_worker_killed_mid_video(corpus, local_ray, tmp_path, retries):
    out = tmp_path / "out"
    killed: list = []
    stop = threading.Event()
    out.mkdir()
    watcher = threading.Thread(target=_kill_the_writer, args=(out, killed, stop), daemon=True)
    watcher.start()
    try:
        rows = process_batch(
            [str(corpus["long"])],
            out,
            model=corpus["model"],
            workers=2,
            retries=retries,
            effect="overlay",
        )
    finally:
        stop.set()
        watcher.join(5)
    assert killed, "no worker was caught writing a video"
    pid, victim = killed[0]
    by_name = {Path(r["input"]).name: r for r in rows}
    for name, r in by_name.items():
        if name != victim:
            assert r["status"] == "done" and probe(out / name)["frames"] == LONG_FRAMES
    r = by_name[victim]
    if retries:  # Ray restarted the worker and the video was done again, whole
        assert r["status"] == "done" and r["attempts"] == 2 and r["worker"]["pid"] != pid
        assert probe(out / victim)["frames"] == LONG_FRAMES
    else:
        assert r["status"] == "failed" and "died on each of 1 attempt" in r["error"]
        assert not (out / victim).exists()
    assert not [p for p in out.rglob("*") if ".partial" in p.name or p.name.startswith(".")]


def test_ctrl_c_keeps_finished_outputs_and_leaves_no_partial_file(corpus, tmp_path):
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "liveseg",
        "batch",
        str(corpus["long"]),
        "-o",
        str(out),
        "--model",
        corpus["model"],
        "--workers",
        "2",
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            manifest = out / "manifest.jsonl"
            if list(out.glob("*.partial.mp4")) and manifest.is_file() and manifest.stat().st_size:
                break  # one video is done and another is being written
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "--resume" in err
    rows = rows_of(out)
    done = {k for k, r in rows.items() if r["status"] == "done"}
    assert done and len(done) < 6
    names = {p.name for p in out.iterdir()} - {"manifest.jsonl"}
    # No partial or temporary file: only whole videos (one may have been renamed into place
    # after the last row was written; --resume does it again).
    assert done <= names and all(n.startswith("v") and n.endswith(".mp4") for n in names)
    for name in names:
        assert probe(out / name)["frames"] == LONG_FRAMES
    # and --resume finishes the rest
    code = main(
        [
            "batch",
            str(corpus["long"]),
            "-o",
            str(out),
            "--model",
            corpus["model"],
            "--workers",
            "2",
            "--no-progress",
            "--resume",
            "--quiet",
        ]
    )
    assert code == 0
    rows = rows_of(out)
    assert {r["status"] for k, r in rows.items() if k in done} == {"skipped"}
    assert {r["status"] for k, r in rows.items() if k not in done} == {"done"}
