"""`liveseg web` in a real browser: headless Chromium (the system's) driven by Playwright, a
fake webcam playing a Y4M file made here, and a `?video=` WebM.

The page's mask for a frame must equal the Python runtime's mask for the same frame (the RGB
pixels the page captured), the stats object must move, the effect must blur the background,
and a model with another input size, layout, input type and output kind must work too.
Needs: apt-get install chromium; pip install 'liveseg[webtest]'; npm ci --prefix
src/liveseg/web (scripts/setup_web_tests.sh does all three).
"""

from __future__ import annotations

import base64
import importlib.util

import cv2
import numpy as np
import pytest

from liveseg import zoo
from liveseg.errors import DependencyError
from liveseg.runtime import load_model
from liveseg.web import assets
from liveseg.web.browser import (
    WebServer,
    capture,
    find_chromium,
    launch,
    wait_frames,
    write_y4m,
)
from tests.helpers.models import (
    color_test_image,
    expected_patch_labels,
    make_seg_model,
    patch_labels,
)

CHROMIUM = find_chromium()
HAS_PLAYWRIGHT = importlib.util.find_spec("playwright") is not None


def _ort_missing() -> str | None:
    try:
        assets.ort_dir()
    except DependencyError as exc:
        return str(exc)
    return None


_missing = [
    m
    for m in (
        None
        if CHROMIUM
        else "NO BROWSER: Chromium not found (apt-get install chromium, or set "
        "LIVESEG_CHROMIUM); the web page was NOT tested",
        None
        if HAS_PLAYWRIGHT
        else "NO BROWSER DRIVER: pip install 'liveseg[webtest]' (Playwright); "
        "the web page was NOT tested",
        _ort_missing(),
    )
    if m
]
pytestmark = pytest.mark.skipif(bool(_missing), reason=" | ".join(_missing))


def iou(a: np.ndarray, b: np.ndarray, classes) -> float:
    """Mean IoU over the classes present in either map."""
    vals = []
    for c in classes:
        inter = np.logical_and(a == c, b == c).sum()
        union = np.logical_or(a == c, b == c).sum()
        if union:
            vals.append(inter / union)
    return float(np.mean(vals))


@pytest.fixture(scope="module")
def demo_frame():
    from liveseg.video.demo import demo_frames

    frames = list(demo_frames(seconds=1.0, fps=10))
    return frames[4]  # 640x480, Grace Hopper in front of a flag


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:  # one per thread: the browsers below share it
        yield pw


@pytest.fixture(scope="module")
def browser(playwright, tmp_path_factory, demo_frame):
    y4m = write_y4m(tmp_path_factory.mktemp("cam") / "camera.y4m", [demo_frame] * 2)
    b = launch(playwright, CHROMIUM, fake_video=y4m)
    yield b
    b.close()


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    return page, errors


def canvas_rgb(page) -> np.ndarray:
    data = page.evaluate("document.getElementById('out').toDataURL('image/png')")
    png = np.frombuffer(base64.b64decode(data.split(",", 1)[1]), np.uint8)
    return cv2.cvtColor(cv2.imdecode(png, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_webcam_default_model_matches_python(browser, demo_frame):
    server = WebServer()  # the default model, as a user starts it
    try:
        page, errors = open_page(browser, server.url)
        first = wait_frames(page, 3)
        got = capture(page)
        later = wait_frames(page, first["inferred"] + 2)
        canvas = canvas_rgb(page)
        page.close()
    finally:
        code, err = server.stop()
    assert code == 0 and "stopped" in err and "Traceback" not in err, err
    assert not errors, errors

    # The stats object is kept current.
    assert first["model"] == zoo.DEFAULT_MODEL
    assert first["backend"] in ("wasm", "webgpu")
    assert first["source"] == "webcam" and (first["width"], first["height"]) == (640, 480)
    assert first["fps"] > 0 and first["inferFps"] > 0 and first["inferMs"] > 0
    assert later["frames"] > first["frames"] and later["inferred"] > first["inferred"]
    # Every camera frame is shown (with the newest mask), however slow the network.
    assert later["frames"] >= later["inferred"]

    # The page processed the known frame (through the camera's YUV 4:2:0, hence the tolerance).
    rgb = got["rgb"]
    assert rgb.shape == demo_frame.shape
    assert np.abs(rgb.astype(int) - demo_frame.astype(int)).mean() < 6

    # Its mask equals the Python runtime's for the same pixels.
    model = load_model(zoo.DEFAULT_MODEL, engine="onnxruntime", siblings=False)
    pred = model.predict(rgb)
    ref = pred.labels_small()
    assert got["labels"].shape == ref.shape
    person = (ref == 1).mean()
    assert 0.1 < person < 0.9, "the reference mask must have both person and background"
    assert iou(got["labels"], ref, [1]) >= 0.98

    # The default effect blurred the background and left the person sharp.
    fg = pred.foreground() > 0.5
    sure_fg = cv2.erode(fg.astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
    sure_bg = cv2.erode((~fg).astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
    gray_in = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray_out = cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY).astype(np.float32)
    detail_in = np.abs(cv2.Laplacian(gray_in, cv2.CV_32F))
    detail_out = np.abs(cv2.Laplacian(gray_out, cv2.CV_32F))
    assert detail_out[sure_bg].mean() < 0.5 * detail_in[sure_bg].mean()
    assert np.abs(gray_out - gray_in)[sure_fg].mean() < 4


@pytest.fixture(scope="module")
def patches_webm(tmp_path_factory):
    """A 320x240 VP8 WebM of the colour patches (tests/helpers/models.py: color_test_image)."""
    import av

    video = tmp_path_factory.mktemp("video") / "patches.webm"
    img = color_test_image(320, 240)
    with av.open(str(video), "w") as out:
        s = out.add_stream("libvpx", rate=10)
        s.width, s.height, s.pix_fmt = 320, 240, "yuv420p"
        s.options = {"crf": "4", "b:v": "2M"}
        for _ in range(20):
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    return video


def test_video_url_with_another_model(browser, tmp_path, patches_webm):
    """A uint8-input NHWC model of another size (96x64) that outputs probabilities (softmax),
    playing a WebM through ?video= (served by --video); the threads menu restarts inference."""
    model_path = make_seg_model(
        tmp_path / "colors.onnx",
        layout="nhwc",
        norm="0_1",
        input_dtype="uint8",
        output="softmax",
        size=(96, 64),
    )
    server = WebServer("--model", model_path, "--video", patches_webm, "--effect", "overlay")
    try:
        assert "?video=/video/patches.webm" in server.url
        page, errors = open_page(browser, server.url + "&threads=1")
        stats = wait_frames(page, 3)
        got = capture(page)
        page.select_option("#threads", "2")
        page.wait_for_function("window.livesegStats.threads === 2", timeout=120_000)
        later = wait_frames(page, page.evaluate("window.livesegStats.inferred") + 2)
        page.close()
    finally:
        code, err = server.stop()
    assert code == 0 and "Traceback" not in err, err
    assert not errors, errors
    assert stats["model"] == "colors" and stats["source"].endswith("patches.webm")
    assert (stats["width"], stats["height"]) == (320, 240)
    assert (stats["backend"], stats["threads"]) == ("wasm", 1)
    assert (later["backend"], later["threads"]) == ("wasm", 2)

    model = load_model(model_path, engine="onnxruntime")
    assert (model.io.output_kind, model.io.layout, model.io.input_dtype) == (
        "probs",
        "nhwc",
        "uint8",
    )
    ref = model.predict(got["rgb"]).labels_small()
    assert got["labels"].shape == ref.shape == (64, 96)
    assert iou(got["labels"], ref, range(4)) >= 0.98
    assert patch_labels(got["labels"]) == expected_patch_labels("color")


# Chromium's software WebGPU (SwiftShader) compiles every shader on the CPU: on a machine whose
# cores are taken by other work its start can take minutes, so the test waits this long and
# then skips (saying so) rather than fail on a busy machine.
WEBGPU_START_S = 90


def test_webgpu_backend_no_camera_and_auto(playwright, tmp_path, patches_webm):
    """A browser without a camera says so; with only a software WebGPU adapter
    (--enable-unsafe-webgpu gives SwiftShader) auto runs WASM, and ?backend=webgpu runs WebGPU
    with the same mask as Python (a one-channel sigmoid model: fg_prob)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    model_path = make_seg_model(tmp_path / "fg.onnx", task="fg", output="sigmoid", size=(64, 48))
    server = WebServer("--model", model_path, "--video", patches_webm)
    started = True
    try:
        b = launch(playwright, CHROMIUM, extra_args=["--enable-unsafe-webgpu"], camera=False)
        try:
            nocam, errors0 = open_page(b, server.url.split("?")[0])
            nocam.wait_for_function("window.livesegStats.error", timeout=60_000)
            no_camera = nocam.evaluate("document.getElementById('error').textContent")
            nocam.close()
            page, errors1 = open_page(b, server.url)
            auto = wait_frames(page, 1)
            page.close()
            page, errors2 = open_page(b, server.url + "&backend=webgpu")
            try:
                page.wait_for_function(
                    "window.livesegStats.backend === 'webgpu' || window.livesegStats.error",
                    timeout=WEBGPU_START_S * 1000,
                )
            except PlaywrightTimeout:
                started = False
            if started:
                first = wait_frames(page, 1)
                got = capture(page)
        finally:
            b.close()  # pages still open: the server must shrug off the reset connections
    finally:
        code, err = server.stop()
    assert code == 0 and "Traceback" not in err, err
    assert not (errors0 or errors1 or errors2), (errors0, errors1, errors2)
    assert no_camera.startswith("no webcam") and "video file" in no_camera
    assert auto["backend"] == "wasm"
    if not started:
        pytest.skip(
            f"SOFTWARE WEBGPU NOT TESTED: SwiftShader's WebGPU did not start within "
            f"{WEBGPU_START_S} s (CPU busy); WASM was tested"
        )
    assert first["backend"] == "webgpu"
    model = load_model(model_path, engine="onnxruntime")
    assert model.io.output_kind == "fg_prob"
    ref = model.predict(got["rgb"]).labels_small()
    assert iou(got["labels"], ref, [0, 1]) >= 0.98
