"""A finite file served over http(s) keeps every frame; --live / --no-live override the guess
(issue 13). The server is Python's http.server on 127.0.0.1, in a thread."""

import functools
import http.server
import json
import threading

import pytest

from liveseg.cli import main
from liveseg.video.sources import guess_live, make_source
from tests.helpers.videos import make_video, probe, tiny_onnx


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    d = tmp_path_factory.mktemp("http")
    make_video(d / "clip.mp4", n=60, w=64, h=48, fps=30, audio=False)
    tiny_onnx(d / "tiny.onnx")
    handler = functools.partial(_QuietHandler, directory=str(d))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"dir": d, "url": f"http://127.0.0.1:{server.server_address[1]}/clip.mp4"}
    finally:
        server.shutdown()
        server.server_close()


def _run(served, tmp_path, capsys, *extra):
    out, stats = tmp_path / "out.mkv", tmp_path / "s.json"
    code = main(
        [
            "run",
            served["url"],
            "-o",
            str(out),
            "--model",
            str(served["dir"] / "tiny.onnx"),
            "--temporal",
            "off",
            "--quiet",
            "--stats",
            str(stats),
            "--overwrite",
            *extra,
        ]
    )
    _, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(stats.read_text()), out


def test_file_over_http_keeps_every_frame(served, tmp_path, capsys):
    s, out = _run(served, tmp_path, capsys)
    assert s["live"] is False
    assert s["frames"] == 60 and s["drops"] == 0
    assert probe(out)["frames"] == 60


def test_live_flag_overrides_the_guess(served, tmp_path, capsys):
    s, _ = _run(served, tmp_path, capsys, "--live")
    assert s["live"] is True
    assert s["frames"] + s["drops"] == 60


def test_no_live_on_a_local_file_and_live_on_images(served, tmp_path, capsys):
    s, _ = _run({**served, "url": str(served["dir"] / "clip.mp4")}, tmp_path, capsys, "--no-live")
    assert s["live"] is False and s["frames"] == 60
    code = main(["run", str(served["dir"]), "--live", "--model", str(served["dir"] / "tiny.onnx")])
    _, err = capsys.readouterr()
    assert code == 4 and "--live applies to videos" in err and "Traceback" not in err


def test_guess_live_by_scheme_and_duration():
    class C:
        def __init__(self, duration):
            self.duration = duration

    assert guess_live("rtsp://cam/1", C(10**6)) is True
    assert guess_live("udp://0.0.0.0:1234", C(None)) is True
    assert guess_live("https://x/a.mp4", C(2 * 10**6)) is False
    assert guess_live("https://x/live.m3u8", C(None)) is True
    assert guess_live("http://x/mjpeg", C(0)) is True
    assert guess_live("clip.mp4", C(None)) is False


def test_make_source_for_a_url_guesses(served):
    src = make_source(served["url"])
    try:
        assert src.live is False and src.total_frames == 60
    finally:
        src.close()
    src = make_source(served["url"], live=True)
    try:
        assert src.live is True and src.total_frames is None
    finally:
        src.close()
