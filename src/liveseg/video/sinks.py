"""Sinks: where output frames go.

- ``VideoSink``: a video file (H.264/libx264 by default; VP9 in .webm, with alpha for RGBA
  frames), frame timestamps kept, the input's audio stream remuxed (or transcoded when the
  container cannot hold its codec).
- ``ImageDirSink``: one image per frame in a folder (``<stem>.png`` for image inputs,
  ``%05d.png`` for videos); PNG keeps the matte's alpha.
- ``ImageFileSink``: one image in, one image out.
- ``MaskSink``: ``--save-masks``: single-channel uint8 PNGs of class indices at frame size.
- ``PreviewSink``: an OpenCV window (needs a display and an OpenCV build with a GUI).
- ``NullSink``: drops everything (benchmarks).

Safety: files are written under a temporary name beside the target and renamed at the end
(``finish("done")``); an interrupted run keeps the playable partial file under its temporary
name (``finish("interrupted")``), a failed one removes it. Existing outputs are refused unless
``overwrite``; an output that is the input is always refused.
"""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from liveseg.atomic import check_writable_folder, os_reason, write_bytes_atomic
from liveseg.errors import ConfigError, DependencyError, OutputError

VIDEO_EXTS = {".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm"}
ALPHA_VIDEO_EXTS = {".webm"}


def partial_path(path: Path) -> Path:
    """``out.mp4`` -> ``out.partial.mp4`` (same folder, same extension so muxers agree)."""
    return path.with_name(f"{path.stem}.partial{path.suffix}")


def check_output(path: Path, inputs: list[Path], overwrite: bool, what: str = "output") -> None:
    """Refuse an output that is an input, or that exists without ``overwrite``."""
    rp = path.resolve()
    for inp in inputs:
        try:
            if inp.exists() and (
                inp.resolve() == rp or (path.exists() and os.path.samefile(inp, path))
            ):
                raise OutputError(f"{what} {path} is the input; choose another name")
        except OSError:
            pass
    if path.is_dir():
        raise OutputError(
            f"{what} {path} is a folder; give a file name (or a folder without "
            "an extension for one PNG per frame)"
        )
    if path.exists() and not overwrite:
        raise OutputError(f"{what} {path} already exists; pass --overwrite to replace it")
    check_writable_folder(path.parent, what)


def write_failed(path, exc: BaseException, removed: str = "") -> OutputError:
    """A write that failed mid-run (disk full, file too large, I/O error) as one line."""
    return OutputError(f"writing {path} failed: {os_reason(exc)}{removed}")


def _atomic_write(path: Path, data: bytes) -> None:
    try:
        write_bytes_atomic(path, data)
    except OSError as exc:  # disk full, read-only remount, ...: atomic_output left no temp
        raise write_failed(path, exc) from None


def encode_image(img: np.ndarray, ext: str) -> bytes:
    import cv2

    if img.ndim == 3 and img.shape[2] == 4:
        bgr = cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA)
    elif img.ndim == 3:
        bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    else:
        bgr = img
    params = [cv2.IMWRITE_PNG_COMPRESSION, 1] if ext == ".png" else []
    ok, buf = cv2.imencode(ext, bgr, params)
    if not ok:
        raise OutputError(f"OpenCV cannot write {ext} images")
    return buf.tobytes()


class Sink:
    """Base of the sinks (``protocols.FrameSink``); every member the runner reads has a default."""

    name = "sink"
    path: Path | None = None
    created = False  # made its output folder
    repaired = 0  # timestamps moved on
    stop_requested = False  # the user asked to stop

    def write(self, item) -> None:
        raise NotImplementedError

    def finish(self, status: str) -> str | None:
        """Close; ``status`` is done|interrupted|error. Returns a note for the user or None."""
        return None


class NullSink(Sink):
    name = "null"

    def write(self, item) -> None:
        pass


# --------------------------------------------------------------------------------------------
class _AudioCopy:
    """Copies the input's audio into the output container, interleaved with the video.

    Packets are remuxed when the output container supports the codec, else decoded and
    re-encoded to the container's default audio codec.
    """

    def __init__(self, in_path: str, out_container):
        import av

        self.inp = av.open(in_path)
        self.in_stream = self.inp.streams.audio[0]
        self.tb = self.in_stream.time_base
        codec = self.in_stream.codec_context.name
        self.transcode = codec not in out_container.supported_codecs
        self.out = out_container
        if self.transcode:
            target = out_container.default_audio_codec
            if not target or target == "none":
                raise OutputError(f"{out_container.name} cannot hold audio")
            rate = self.in_stream.codec_context.sample_rate or 48000
            if target in ("libopus", "opus"):
                rate = 48000
            self.out_stream = out_container.add_stream(target, rate=rate)
            layout = self.in_stream.codec_context.layout
            if layout is not None:
                with contextlib.suppress(Exception):  # else the encoder's default layout
                    self.out_stream.codec_context.layout = layout.name
        else:
            self.out_stream = out_container.add_stream_from_template(self.in_stream)
        self._packets = self.inp.demux(self.in_stream)
        self._pending = None
        self.done = False
        self.packets = 0

    def _next(self):
        import av

        while True:
            try:
                p = next(self._packets)
            except (StopIteration, av.FFmpegError):
                self.done = True
                return None
            if p.dts is None and p.pts is None:
                continue  # the demuxer's flush packet
            return p

    def _emit(self, packet):
        import av

        if self.transcode:
            try:
                frames = packet.decode()
            except av.FFmpegError:
                return
            for fr in frames:
                fr.pts = None
                for op in self.out_stream.encode(fr):
                    self.out.mux(op)
        else:
            packet.stream = self.out_stream
            self.out.mux(packet)
        self.packets += 1

    def feed_until(self, seconds: float | None) -> None:
        """Mux audio packets up to ``seconds`` (None: all that is left)."""
        while not self.done:
            p = self._pending or self._next()
            self._pending = None
            if p is None:
                break
            t = p.pts if p.pts is not None else p.dts
            if seconds is not None and t is not None and float(t * self.tb) > seconds:
                self._pending = p
                break
            self._emit(p)

    def close(self) -> None:
        if self.transcode:
            with contextlib.suppress(Exception):  # a flush failure must not lose the video
                for op in self.out_stream.encode(None):
                    self.out.mux(op)
        self.inp.close()


class VideoSink(Sink):
    """Encode frames to a video file, keeping the input's timestamps and audio."""

    name = "video"

    def __init__(
        self,
        path,
        *,
        fps: float = 25.0,
        time_base: Fraction | None = None,
        rate: Fraction | None = None,
        audio_from: str | None = None,
        crf: int = 23,
        preset: str = "veryfast",
        codec: str | None = None,
        alpha: bool = False,
        audio: bool = True,
    ):
        self.path = Path(path)
        ext = self.path.suffix.lower()
        if ext not in VIDEO_EXTS:
            raise ConfigError(
                f"unsupported video output {self.path.name}: use one of "
                f"{', '.join(sorted(VIDEO_EXTS))} or a folder"
            )
        if alpha and ext not in ALPHA_VIDEO_EXTS:
            raise ConfigError(
                "the matte effect has an alpha channel: write .webm (VP9 with "
                "alpha) or a folder of PNGs, not " + ext
            )
        self.codec = codec or ("libvpx-vp9" if ext == ".webm" else "libx264")
        import av

        if self.codec not in av.codecs_available:
            raise DependencyError(f"this PyAV/FFmpeg build has no {self.codec} encoder")
        self.alpha = alpha
        self.crf, self.preset = int(crf), preset
        self.fps = fps or 25.0
        self.rate = Fraction(rate) if rate else Fraction(self.fps).limit_denominator(1001)
        self.time_base = time_base or (1 / self.rate)
        # One frame's duration in the stream's time base: the step for repaired timestamps.
        self.frame_ticks = max(1, round(1 / (self.rate * Fraction(self.time_base))))
        self.repaired = 0  # frames whose timestamp did not increase (broken inputs)
        self.audio_from = audio_from if audio else None
        self.tmp = partial_path(self.path)
        self.container = None
        self.frames = 0
        self.audio = None
        self._last_pts = None
        self._size = None

    def _open(self, h: int, w: int) -> None:
        import av

        self._size = (h, w)
        self.enc_h, self.enc_w = h + (h & 1), w + (w & 1)  # 4:2:0 chroma needs even sizes
        try:
            self.container = av.open(str(self.tmp), mode="w")
        except (av.FFmpegError, OSError) as exc:
            raise OutputError(f"cannot write {self.tmp}: {exc}") from None
        opts = {"crf": str(self.crf)}
        if self.codec == "libx264":
            opts["preset"] = self.preset
        elif self.codec == "libvpx-vp9":
            opts.update({"b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"})
        stream = self.container.add_stream(self.codec, rate=self.rate, options=opts)
        stream.width, stream.height = self.enc_w, self.enc_h
        self.pix_fmt = "yuva420p" if self.alpha else "yuv420p"
        stream.pix_fmt = self.pix_fmt
        stream.time_base = self.time_base
        stream.codec_context.time_base = self.time_base
        self.stream = stream
        if self.audio_from:
            try:
                probe = av.open(self.audio_from)
                has_audio = bool(probe.streams.audio)
                probe.close()
                if has_audio:
                    self.audio = _AudioCopy(self.audio_from, self.container)
            except (av.FFmpegError, OSError):
                self.audio = None

    def _frame(self, img: np.ndarray):
        import av
        import cv2

        h, w = img.shape[:2]
        if (h, w) != (self.enc_h, self.enc_w):
            img = cv2.copyMakeBorder(
                img, 0, self.enc_h - h, 0, self.enc_w - w, cv2.BORDER_REPLICATE
            )
        if self.alpha:
            return av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgba")
        # OpenCV's I420 conversion (BT.601 limited range, same as swscale's default) is
        # several times faster than swscale's and releases the GIL.
        return av.VideoFrame.from_ndarray(
            cv2.cvtColor(img, cv2.COLOR_RGB2YUV_I420), format="yuv420p"
        )

    def write(self, item) -> None:
        img = item.out
        if self.container is None:
            self._open(*img.shape[:2])
        elif img.shape[:2] != self._size:
            import cv2

            h, w = self._size
            img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
        frame = self._frame(img)
        pts = item.pts
        if pts is None or item.time_base is None:
            pts = self.frames
            tb = 1 / self.rate
        else:
            tb = item.time_base
        if tb != self.time_base:
            pts = round(pts * tb / self.time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            # Encoders and muxers need strictly increasing timestamps. A repeated or
            # backwards one (an input whose frames all say 0) goes one frame duration after
            # the previous frame: one tick would squeeze frames together until containers
            # with coarser clocks (mkv: 1 ms) give several frames the same time, and players
            # and re-encoders drop them.
            pts = self._last_pts + self.frame_ticks
            self.repaired += 1
        self._last_pts = pts
        frame.pts = pts
        frame.time_base = self.time_base
        try:
            if self.audio is not None:
                self.audio.feed_until(float(pts * self.time_base) + 0.5)
            for packet in self.stream.encode(frame):
                self.container.mux(packet)
        except OSError as exc:  # PyAV's errors with an errno (ENOSPC, EFBIG, EIO) are OSErrors
            raise write_failed(self.path, exc) from None
        self.frames += 1

    def _close(self, all_audio: bool) -> None:
        if self.container is None:
            return
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        if self.audio is not None:
            end = None if all_audio else float((self._last_pts or 0) * self.time_base) + 0.5
            self.audio.feed_until(end)
            self.audio.close()
        self.container.close()
        self.container = None

    def _remove_tmp(self) -> None:
        with contextlib.suppress(OSError):
            if self.tmp.exists():
                self.tmp.unlink()

    def finish(self, status: str) -> str | None:
        if status == "error":
            with contextlib.suppress(Exception):  # already failing; remove what we can
                self._close(False)
            self._remove_tmp()
            return None
        try:
            self._close(status == "done")  # the trailer is a write too (mp4: the index)
        except OSError as exc:
            with contextlib.suppress(Exception):
                if self.container is not None:
                    self.container.close()
            self.container = None
            self._remove_tmp()
            raise write_failed(self.tmp, exc, "; the partial file was removed") from None
        if self.frames == 0:
            self._remove_tmp()
            return None
        if status == "done":
            try:
                os.replace(self.tmp, self.path)
            except OSError as exc:
                self._remove_tmp()
                raise write_failed(self.path, exc, "; the partial file was removed") from None
            return None
        return f"partial output kept at {self.tmp} ({self.frames} frames)"


def write_video(
    path, frames, fps: float = 30.0, *, crf: int = 23, preset: str = "veryfast"
) -> Path:
    """Encode RGB uint8 frames into ``path`` by VideoSink's rules (H.264, VP9 for .webm; even
    sizes; renamed into place at the end): the one writer of demo, test and benchmark clips."""
    from types import SimpleNamespace

    sink = VideoSink(path, fps=fps, crf=crf, preset=preset, audio=False)
    status = "error"
    try:
        for frame in frames:
            sink.write(SimpleNamespace(out=frame, pts=None, time_base=None))
        status = "done"
    finally:
        sink.finish(status)
    return sink.path


# --------------------------------------------------------------------------------------------
class ImageDirSink(Sink):
    """One image per frame in a folder; each file written atomically."""

    name = "images"

    def __init__(self, folder, ext: str = ".png", inputs=()):
        self.path = Path(folder)
        self.ext = ext if ext.startswith(".") else "." + ext
        self.inputs = {Path(p).resolve() for p in inputs}
        self.frames = 0
        self.written: list[Path] = []
        self.created = _make_folder(self.path)

    def target(self, item) -> Path:
        stem = item.name if item.name is not None else f"{item.index:05d}"
        return self.path / f"{stem}{self.ext}"

    def write(self, item) -> None:
        target = self.target(item)
        if target.resolve() in self.inputs:
            raise OutputError(f"refusing to overwrite the input {target}")
        _atomic_write(target, encode_image(item.out, self.ext))
        self.written.append(target)
        self.frames += 1

    def finish(self, status: str) -> str | None:
        if status == "error":  # a failed run leaves nothing behind: re-running just works
            _remove_written(self.path, self.written, self.created)
        return None


def _make_folder(path: Path) -> bool:
    """Create an output folder (and say whether this run created it); OutputError if not."""
    if path.is_dir():
        return False
    try:
        path.mkdir(parents=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {path}: {os_reason(exc)}") from None
    return True


def _remove_written(folder: Path, written: list, created: bool) -> None:
    for f in written:
        with contextlib.suppress(OSError):
            f.unlink()
    written.clear()
    if created:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty


class ImageFileSink(Sink):
    """A single image input written to a single image file."""

    name = "image"

    def __init__(self, path):
        self.path = Path(path)
        self.frames = 0

    def write(self, item) -> None:
        if self.frames:
            raise OutputError(
                f"{self.path} is one image but the input has several; give -o a folder"
            )
        _atomic_write(self.path, encode_image(item.out, self.path.suffix.lower()))
        self.frames += 1


class MaskSink(Sink):
    """``--save-masks DIR``: single-channel uint8 PNG of class indices at frame size."""

    name = "masks"

    def __init__(self, folder, inputs=()):
        self.path = Path(folder)
        self.inputs = {Path(p).resolve() for p in inputs}
        self.created = _make_folder(self.path)
        self.written: list[Path] = []
        self.frames = 0

    def write(self, item) -> None:
        stem = item.name if item.name is not None else f"{item.index:05d}"
        target = self.path / f"{stem}.png"
        if target.resolve() in self.inputs:
            raise OutputError(f"refusing to overwrite the input {target} with a mask")
        _atomic_write(target, encode_image(item.pred.labels(), ".png"))
        self.written.append(target)
        self.frames += 1

    def finish(self, status: str) -> str | None:
        if status == "error":
            _remove_written(self.path, self.written, self.created)
        return None


class PreviewSink(Sink):
    """An OpenCV window; q or Esc stops the run."""

    name = "preview"

    def __init__(self, title: str = "liveseg"):
        import cv2

        if os.name != "nt" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise ConfigError("--show needs a display (DISPLAY is not set)")
        if "GUI:                           NONE" in cv2.getBuildInformation():
            raise DependencyError(
                "--show needs OpenCV with a GUI: pip install opencv-python "
                "(this install is opencv-python-headless)"
            )
        self.title = title
        self.stop_requested = False

    def write(self, item) -> None:
        import cv2

        img = item.out
        code = cv2.COLOR_RGBA2BGRA if img.shape[2] == 4 else cv2.COLOR_RGB2BGR
        cv2.imshow(self.title, cv2.cvtColor(img, code))
        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
            self.stop_requested = True

    def finish(self, status: str) -> str | None:
        import cv2

        cv2.destroyWindow(self.title)
        return None
