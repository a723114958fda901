"""Screenshot of the `liveseg web` page -> docs/web_page.png: the default model blurring the
background of the demo clip, played as a fake webcam into headless Chromium.

Needs what the web tests need (scripts/setup_web_tests.sh, pip install -e '.[webtest]').
Usage (from the repository root): python scripts/make_web_screenshot.py [--effect blur]
    [--frames 20] [--out docs/web_page.png]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from liveseg.video.demo import demo_frames
from liveseg.web.browser import WebServer, find_chromium, launch, wait_frames, write_y4m

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--effect", default="blur")
    ap.add_argument("--frames", type=int, default=20, help="frames processed before the shot")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "web_page.png")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("no Chromium: run scripts/setup_web_tests.sh")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        cam = write_y4m(Path(tmp) / "camera.y4m", demo_frames())
        browser = launch(pw, chromium, fake_video=cam)
        with WebServer("--effect", args.effect) as server:
            page = browser.new_page(viewport={"width": 900, "height": 640})
            page.goto(server.url)
            wait_frames(page, args.frames)
            page.screenshot(path=str(args.out))
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
