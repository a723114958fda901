import sys
from pathlib import Path

# vfixtures.py (videos written with PyAV, the tiny ONNX model) lives in tests/video.
VIDEO_TESTS = str(Path(__file__).resolve().parents[1] / "video")
if VIDEO_TESTS not in sys.path:
    sys.path.insert(0, VIDEO_TESTS)
