"""Drive the page in headless Chromium (Playwright as the driver), for tests and benchmarks.

Chromium is the system's (Debian: ``apt-get install chromium``; ``$LIVESEG_CHROMIUM`` names
another binary); Playwright (``pip install 'liveseg[webtest]'``) only drives it, its own
browser downloads are never used. A fake webcam plays a Y4M file made from frames.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

CHROMIUM_ENV = "LIVESEG_CHROMIUM"


def find_chromium() -> str | None:
    """The Chromium binary to drive, or None."""
    env = os.environ.get(CHROMIUM_ENV)
    if env:
        return env if Path(env).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def write_y4m(path, frames, fps: int = 30) -> Path:
    """RGB uint8 frames (all the same size, even sides) -> a 4:2:0 Y4M file for Chromium's
    --use-file-for-fake-video-capture (which loops it)."""
    import cv2

    frames = list(frames)
    h, w = frames[0].shape[:2]
    path = Path(path)
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def chromium_args(fake_video=None, camera: bool = True) -> list[str]:
    """Command-line switches: a fake camera (playing ``fake_video``, else Chromium's test
    pattern) allowed without asking; ``camera=False``: no camera at all."""
    args = ["--autoplay-policy=no-user-gesture-required"]
    if camera:
        args += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
        if fake_video is not None:
            args.append(f"--use-file-for-fake-video-capture={fake_video}")
    return args


def launch(playwright, executable: str, fake_video=None, extra_args=(), camera: bool = True):
    """A headless Chromium (the system's binary), with a fake camera unless ``camera=False``."""
    return playwright.chromium.launch(
        executable_path=executable,
        headless=True,
        args=chromium_args(fake_video, camera) + list(extra_args),
    )


class WebServer:
    """``liveseg web --port 0 --no-open ARGS`` in a subprocess; ``url`` once it listens."""

    def __init__(self, *args, env=None, nice: int = 0, startup_timeout: float = 120):
        cmd = [sys.executable, "-m", "liveseg", "web", "--port", "0", "--no-open", *map(str, args)]
        if nice:
            cmd = ["nice", "-n", str(nice), *cmd]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.url = None
        line = self._first_line(startup_timeout)
        m = re.search(r"(http://\S+)", line or "")
        if not m:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise RuntimeError(f"liveseg web did not start: {line!r} {out!r} {err!r}")
        self.url = m.group(1)

    def _first_line(self, timeout):
        box = []
        t = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)
        t.start()
        t.join(timeout)
        return box[0] if box else None

    def stop(self, timeout: float = 30) -> tuple[int, str]:
        """Ctrl-C (SIGINT), as a user would; returns (exit code, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def wait_frames(page, n: int, timeout_s: float = 120) -> dict:
    """Wait until the network has run on ``n`` frames (``livesegStats.inferred``) or the page
    shows an error; the page's stats."""
    page.wait_for_function(
        "n => (window.livesegStats && (window.livesegStats.inferred >= n "
        "|| window.livesegStats.error))",
        arg=n,
        timeout=timeout_s * 1000,
        polling=100,
    )
    stats = page.evaluate("({...window.livesegStats})")
    if stats.get("error"):
        raise RuntimeError(f"the page reports: {stats['error']}")
    return stats


def capture(page, timeout_s: float = 60) -> dict:
    """The next processed frame (RGB array) and the page's unsmoothed labels for it."""
    import base64

    page.set_default_timeout(timeout_s * 1000)
    c = page.evaluate("window.livesegCapture()")
    rgba = np.frombuffer(base64.b64decode(c["pixels"]), np.uint8).reshape(
        c["height"], c["width"], 4
    )
    labels = np.frombuffer(base64.b64decode(c["labels"]), np.uint8).reshape(
        c["outHeight"], c["outWidth"]
    )
    return {"rgb": np.ascontiguousarray(rgba[:, :, :3]), "labels": labels, "id": c["id"]}
