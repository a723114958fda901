"""Frame sources: video files and network streams (PyAV), webcams (OpenCV), images.

Every source yields :class:`SourceFrame` objects holding an RGB uint8 (H, W, 3) image plus
its timing (pts in the source's time base) and, for image inputs, the file's stem. Gray,
alpha, 16-bit and palette inputs are all turned into 3-channel RGB here, once.

``make_source(spec)`` picks the source from the INPUT argument: ``webcam`` / ``webcam:N``,
a URL (``rtsp://``, ``http(s)://``, ...), an image file, a folder of images, a glob, or a
video file.
"""

from __future__ import annotations

import contextlib
import glob as _glob
import os
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from liveseg.errors import ConfigError, DependencyError, InputError
from liveseg.images import is_image_path, read_image, to_rgb
from liveseg.video.protocols import RunMode

STREAM_SCHEMES = (
    "rtsp://",
    "rtsps://",
    "rtmp://",
    "http://",
    "https://",
    "udp://",
    "tcp://",
    "srt://",
    "rtp://",
)


@dataclass(slots=True)
class SourceFrame:
    index: int
    image: np.ndarray  # (H, W, 3) uint8 RGB, C-contiguous
    pts: int | None = None
    time_base: Fraction | None = None
    name: str | None = None  # file stem, for image inputs
    t_read: float = 0.0  # perf_counter() when the frame became available (E2E latency origin)


class Source:
    """Base of the sources (``protocols.FrameSource``): iterate to get frames; ``close()``
    releases the device/file. Every member the pipeline and runner read has a default here."""

    live = False  # live sources: the newest frame wins, older ones are dropped
    kind = "source"
    description = ""

    def __iter__(self):
        raise NotImplementedError

    def close(self) -> None:
        pass

    @property
    def mode(self) -> RunMode:
        return RunMode.LIVE if self.live else RunMode.FILE

    # Filled by open(); used by sinks to keep timing and by the progress bar.
    fps: float = 25.0
    time_base: Fraction | None = None
    rate: Fraction | None = None
    total_frames: int | None = None
    audio_path: str | None = None  # a file whose audio stream the sink may remux
    is_url: bool = False
    paths: tuple = ()  # image inputs: their files
    decode_errors: int = 0
    skipped: tuple = ()  # image inputs: (path, reason) of unreadable images

    def info(self) -> dict:
        return {
            "kind": self.kind,
            "input": self.description,
            "fps": self.fps,
            "decode_errors": self.decode_errors,
        }


# --------------------------------------------------------------------------------------------
# Video files and streams (PyAV)
# --------------------------------------------------------------------------------------------
class VideoSource(Source):
    """A video file or network stream, decoded with PyAV.

    Decode errors mid-stream are skipped and counted (``decode_errors``); a truncated file
    ends early with what could be decoded. Frames keep their pts (variable frame rate is
    preserved by the sink).
    """

    kind = "video"

    def __init__(self, path: str, live: bool | None = False, threads: int = 0, options=None):
        """``live``: True drops frames when the pipeline falls behind, False keeps every
        frame, None guesses from the opened input (``guess_live``)."""
        import av

        self.description = str(path)
        self.is_url = str(path).lower().startswith(STREAM_SCHEMES)
        if not self.is_url and not Path(path).is_file():
            raise InputError(f"input not found: {path}")
        opts = dict(options or {})
        if self.is_url and str(path).startswith(("rtsp://", "rtsps://")):
            opts.setdefault("rtsp_transport", "tcp")
        try:
            self.container = av.open(str(path), options=opts, timeout=(10.0, 10.0))
        except (av.FFmpegError, OSError, ValueError) as exc:
            if self.is_url:
                raise InputError(f"cannot open the stream {path}: {_short(exc)}") from None
            raise InputError(
                f"cannot open {path} as a video (not a video, or corrupt or "
                f"truncated): {_short(exc)}"
            ) from None
        if not self.container.streams.video:
            self.container.close()
            raise InputError(f"{path} has no video stream")
        self.stream = self.container.streams.video[0]
        self.live = guess_live(str(path), self.container) if live is None else bool(live)
        # FFmpeg's frame/slice threads decode in parallel without the GIL.
        self.stream.thread_type = "AUTO"
        if threads:
            self.stream.codec_context.thread_count = threads
        self.time_base = self.stream.time_base
        rate = self.stream.average_rate or self.stream.guessed_rate or self.stream.base_rate
        self.fps = float(rate) if rate else 25.0
        self.rate = rate
        n = self.stream.frames
        if not n and self.stream.duration and self.time_base and rate:
            n = round(float(self.stream.duration * self.time_base) * float(rate))
        if not n and self.container.duration and rate:
            n = round(self.container.duration / 1e6 * float(rate))
        self.total_frames = int(n) if n and not self.live else None
        self.audio_path = None if self.is_url else str(path)
        self.decode_errors = 0
        self.frames_out = 0

    def __iter__(self):
        import av
        from av.video.reformatter import VideoReformatter

        # One reformatter for the whole stream keeps swscale's context cached
        # (frame.to_ndarray(format=...) builds a new one per frame).
        rgb = VideoReformatter()
        index = 0
        demux = self.container.demux(self.stream)
        while True:
            try:
                packet = next(demux)
            except StopIteration:
                break
            except av.FFmpegError:
                # A broken container (truncated file, lost connection): keep what we have.
                self.decode_errors += 1
                break
            try:
                frames = packet.decode()
            except av.FFmpegError:
                self.decode_errors += 1
                continue
            for frame in frames:
                try:
                    img = rgb.reformat(frame, format="rgb24").to_ndarray()
                except (av.FFmpegError, ValueError):
                    self.decode_errors += 1
                    continue
                yield SourceFrame(
                    index,
                    img,
                    frame.pts,
                    frame.time_base or self.time_base,
                    None,
                    time.perf_counter(),
                )
                index += 1
        self.frames_out = index

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a broken container must not mask the run
            self.container.close()


# --------------------------------------------------------------------------------------------
# Webcams (OpenCV)
# --------------------------------------------------------------------------------------------
class WebcamSource(Source):
    kind = "webcam"
    live = True

    def __init__(self, index: int = 0, width: int | None = None, height: int | None = None):
        import cv2

        self.description = f"webcam:{index}"
        if sys.platform.startswith("linux") and not Path(f"/dev/video{index}").exists():
            raise InputError(f"cannot open webcam {index}: /dev/video{index} does not exist")
        _quiet_opencv(cv2)
        self.cap = cv2.VideoCapture(index)
        if not self.cap.isOpened():
            raise InputError(f"cannot open webcam {index} (no camera at that index, or no access)")
        if width:
            self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.time_base = Fraction(1, 1000)

    def __iter__(self):
        import cv2

        t0 = time.perf_counter()
        index = 0
        failures = 0
        while True:
            ok, bgr = self.cap.read()
            now = time.perf_counter()
            if not ok:
                failures += 1
                if failures > 30:
                    break
                time.sleep(0.01)
                continue
            failures = 0
            img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if bgr.ndim == 3 else to_rgb(bgr)
            yield SourceFrame(index, img, int((now - t0) * 1000), self.time_base, None, now)
            index += 1

    def close(self) -> None:
        self.cap.release()


# --------------------------------------------------------------------------------------------
# Images: one file, a folder, or a glob
# --------------------------------------------------------------------------------------------
class ImageSource(Source):
    kind = "images"

    def __init__(self, paths: list[Path], description: str):
        if not paths:
            raise InputError(f"no images found in {description}")
        self.paths = paths
        self.description = description
        self.total_frames = len(paths)
        self.fps = 25.0
        self.time_base = Fraction(1, 25)
        stems = [p.stem for p in paths]
        if len(set(stems)) != len(stems):
            dup = sorted({s for s in stems if stems.count(s) > 1})[:3]
            raise InputError(
                f"several images share the name stem(s) {', '.join(dup)}: outputs would collide"
            )

        self.skipped: list[tuple[str, str]] = []  # (path, reason) of unreadable images

    def __iter__(self):
        # One unreadable image in a batch is skipped, counted and reported (as batch image
        # tools do); the others are still segmented. A single image input fails as usual.
        for i, p in enumerate(self.paths):
            try:
                img = read_image(p)
            except InputError as exc:
                if len(self.paths) == 1:
                    raise
                self.decode_errors += 1
                self.skipped.append((str(p), str(exc)))
                continue
            yield SourceFrame(i, img, i, self.time_base, p.stem, time.perf_counter())


def _quiet_opencv(cv2) -> None:
    """OpenCV's capture backends print warnings while probing; errors are ours to report."""
    with contextlib.suppress(Exception):
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and is_image_path(p))


def _short(exc: Exception) -> str:
    """The reason only: FFmpeg's strerror without the errno and the repeated file name."""
    msg = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    msg = str(msg).splitlines()[0]
    return msg[:200]


# Protocols that only carry live streams; http(s) carries both files and live streams.
LIVE_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "udp://", "tcp://", "srt://", "rtp://")


def guess_live(spec: str, container) -> bool:
    """Is an opened input a live stream (drop frames when behind) or a file (keep them all)?

    Local files: never live. rtsp/rtmp/udp/tcp/srt/rtp: live. http(s): a file when the
    container knows its duration (an mp4/mkv/webm served over HTTP, finished HLS playlists),
    live when it does not (live HLS, MJPEG and FLV streams). ``--live``/``--no-live``
    override the guess.
    """
    low = spec.lower()
    if not low.startswith(STREAM_SCHEMES):
        return False
    if low.startswith(LIVE_SCHEMES):
        return True
    duration = getattr(container, "duration", None)
    return not (duration is not None and duration > 0)


def is_image_input(spec: str) -> bool:
    p = Path(spec)
    if p.is_dir():
        return True
    if any(ch in spec for ch in "*?[") and not p.exists():
        return True
    return is_image_path(p)


def make_source(spec: str, live: bool | None = None) -> Source:
    """The right source for an INPUT argument (see the module docstring).

    ``live``: None guesses (webcams and streams live, files, also over http(s), not: see
    ``guess_live``); True/False force it (``--live``/``--no-live``)."""
    spec = str(spec)
    low = spec.lower()
    if low == "webcam" or low.startswith("webcam:"):
        idx = spec.split(":", 1)[1] if ":" in spec else "0"
        if not idx.isdigit():
            raise InputError(f"bad webcam index in {spec!r}: use webcam or webcam:N")
        try:
            import cv2  # noqa: F401
        except ImportError as exc:  # pragma: no cover
            raise DependencyError(f"OpenCV is needed for webcams: {exc}") from None
        cam = WebcamSource(int(idx))
        if live is not None:
            cam.live = bool(live)
        return cam
    if low.startswith(STREAM_SCHEMES):
        return VideoSource(spec, live=live)
    p = Path(spec)
    if live and is_image_input(spec):
        raise ConfigError("--live applies to videos, streams and webcams, not to images")
    if p.is_dir():
        return ImageSource(_images_in(p), f"folder {p}")
    if any(ch in spec for ch in "*?[") and not p.exists():
        paths = sorted(
            Path(x)
            for x in _glob.glob(spec, recursive=True)
            if Path(x).is_file() and is_image_path(x)
        )
        if not paths:
            raise InputError(f"no images match {spec}")
        return ImageSource(paths, f"glob {spec}")
    if not p.exists():
        raise InputError(f"input not found: {spec}")
    if not p.is_file():
        raise InputError(f"input is not a file or folder: {spec}")
    if os.path.getsize(p) == 0:
        raise InputError(f"input is empty (0 bytes): {spec}")
    if is_image_path(p):
        return ImageSource([p], f"image {p}")
    return VideoSource(spec, live=bool(live))


def image_paths(inputs) -> list[Path]:
    """Image files from INPUTS (files, folders, globs), in order, duplicates dropped
    (``liveseg label``'s inputs)."""
    out, seen = [], set()
    for spec in inputs:
        spec = os.fspath(spec)
        if not is_image_input(spec):
            if not Path(spec).exists():
                raise InputError(f"input not found: {spec}")
            raise InputError(f"{spec} is not an image, a folder of images or a glob of images")
        src = make_source(spec)
        if not isinstance(src, ImageSource):  # pragma: no cover - is_image_input said images
            src.close()
            raise InputError(f"{spec} is not an image, a folder of images or a glob of images")
        for p in src.paths:
            key = Path(p).resolve()
            if key not in seen:
                seen.add(key)
                out.append(Path(p))
    return out
