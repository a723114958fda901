"""`liveseg web` without a browser: what it serves (routes, isolation headers, the config),
Ctrl-C, and the one-line errors (taken port, bad model, missing onnxruntime-web files).

onnxruntime-web's files are stood in for by empty files through $LIVESEG_ORT_WEB_DIR, so
these tests need neither npm nor a browser.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request

import pytest

from liveseg import zoo
from liveseg.cli import main
from liveseg.errors import DependencyError
from liveseg.web import assets
from liveseg.web.browser import WebServer
from tests.helpers.models import make_seg_model, text_as_onnx


@pytest.fixture
def fake_ort(tmp_path, monkeypatch):
    d = tmp_path / "ort"
    d.mkdir()
    for name in assets.ORT_FILES:
        (d / name).write_bytes(b"// stand-in\n")
    monkeypatch.setenv(assets.ORT_ENV, str(d))
    return d


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def one_error_line(capsys, code, want_code, *words):
    err = capsys.readouterr().err.strip()
    assert code == want_code, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("liveseg web: error: ")
    for w in words:
        assert w in err, err
    return err


def test_serves_page_model_config_with_isolation_headers(fake_ort):
    server = WebServer(env=dict(os.environ))
    try:
        base = server.url
        status, headers, body = get(base)
        assert status == 200 and b"app.js" in body
        assert headers["Content-Type"].startswith("text/html")
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"

        status, headers, body = get(base + "model/config.json")
        cfg = json.loads(body)
        assert cfg["name"] == zoo.DEFAULT_MODEL and cfg["effect"] == "blur"
        card = next(c for c in zoo.list_shipped() if c.name == zoo.DEFAULT_MODEL)
        w, h = card.input_size
        assert cfg["input"]["dims"] == [1, 3, h, w] and cfg["output"]["kind"] == "logits"
        assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"

        status, _, body = get(base + cfg["model_url"].lstrip("/"))
        assert status == 200 and body == zoo.resolve(zoo.DEFAULT_MODEL).read_bytes()
        status, headers, _ = get(base + "ort/ort-wasm-simd-threaded.wasm")
        assert status == 200 and headers["Content-Type"] == "application/wasm"
        status, headers, _ = get(base + "static/worker.js")
        assert status == 200 and headers["Content-Type"] == "text/javascript"
        for bad in (
            "static/../server.py",
            "static/%2e%2e/server.py",
            "ort/../ort/x",
            "model/other.onnx",
            "nothing",
        ):
            assert get(base + bad)[0] == 404, bad
    finally:
        code, err = server.stop()
    # Ctrl-C stops it cleanly.
    assert code == 0, err
    assert "stopped" in err and "Traceback" not in err


def test_taken_port_is_one_line(fake_ort, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code = main(["web", "--no-open", "--port", str(port)])
    one_error_line(capsys, code, 4, f"port {port}", "already in use", "--port")


def test_bad_models_are_one_line(fake_ort, tmp_path, capsys):
    code = main(["web", "--no-open", "--model", str(text_as_onnx(tmp_path / "m.onnx"))])
    one_error_line(capsys, code, 3)
    tfl = tmp_path / "m.tflite"
    tfl.write_bytes(b"x")
    code = main(["web", "--no-open", "--model", str(tfl)])
    one_error_line(capsys, code, 3, "ONNX")
    code = main(["web", "--no-open", "--model", "no-such-model"])
    one_error_line(capsys, code, 3, "shipped models")
    code = main(["web", "--no-open", "--video", str(tmp_path / "none.mp4")])
    one_error_line(capsys, code, 2, "--video")
    code = main(["web", "--no-open", "--effect", "sparkle"])
    one_error_line(capsys, code, 4, "blur")


def test_missing_onnxruntime_web_says_what_to_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(assets.ORT_ENV, str(tmp_path))
    code = main(["web", "--no-open"])
    one_error_line(capsys, code, 6, assets.ORT_ENV, "npm ci")
    # The npm-installed copy: absent, then another version than the pinned one.
    monkeypatch.delenv(assets.ORT_ENV)
    web = tmp_path / "web"
    web.mkdir()
    (web / "package.json").write_text((assets.WEB_DIR / "package.json").read_text())
    monkeypatch.setattr(assets, "WEB_DIR", web)
    with pytest.raises(DependencyError, match=r"is not installed: run npm ci .*--prefix"):
        assets.ort_dir()
    dist = web / "node_modules" / "onnxruntime-web" / "dist"
    dist.mkdir(parents=True)
    for name in assets.ORT_FILES:
        (dist / name).write_bytes(b"")
    (dist.parent / "package.json").write_text(json.dumps({"version": "0.0.1"}))
    with pytest.raises(DependencyError, match="0.0.1 is installed"):
        assets.ort_dir()
    (dist.parent / "package.json").write_text(json.dumps({"version": assets.pinned_version()}))
    assert assets.ort_dir() == dist


def test_foreign_model_overrides_reach_the_page_config(fake_ort, tmp_path):
    from liveseg.runtime.iospec import IOOverrides
    from liveseg.runtime.model import load_model
    from liveseg.web.config import web_config

    path = make_seg_model(tmp_path / "dyn.onnx", size=None, output="softmax")
    model = load_model(
        path,
        engine="onnxruntime",
        overrides=IOOverrides(input_size=(48, 32), mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    )
    cfg = web_config(model, "/model/dyn.onnx")
    assert cfg["input"]["dims"] == [1, 3, 32, 48]
    assert cfg["input"]["scale"] == pytest.approx([1 / 127.5] * 3)
    assert cfg["input"]["offset"] == pytest.approx([-1.0] * 3)
    assert (cfg["output"]["width"], cfg["output"]["height"]) == (48, 32)
    assert cfg["effect"] == "overlay" and cfg["output"]["kind"] == "probs"


def test_input_size_serves_the_default_model_rewritten_to_that_size(fake_ort, tmp_path):
    """--input-size on the fixed-size shipped model: the page gets a 224x160 copy (same
    weights, its Resize sizes rewritten), the config says 224x160, the shipped file stays."""
    env = dict(os.environ, LIVESEG_CACHE_DIR=str(tmp_path / "cache"))
    shipped = zoo.resolve(zoo.DEFAULT_MODEL).read_bytes()
    server = WebServer("--input-size", "224x160", env=env)
    try:
        _, _, body = get(server.url + "model/config.json")
        cfg = json.loads(body)
        assert cfg["input"]["dims"] == [1, 3, 160, 224]
        assert (cfg["output"]["width"], cfg["output"]["height"]) == (224, 160)
        status, _, model = get(server.url + cfg["model_url"].lstrip("/"))
        assert status == 200 and model != shipped
        assert model == next((tmp_path / "cache" / "resized").glob("*.onnx")).read_bytes()
    finally:
        code, err = server.stop()
    assert code == 0, err
    assert zoo.resolve(zoo.DEFAULT_MODEL).read_bytes() == shipped
