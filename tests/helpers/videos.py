"""Fixtures for the pipeline tests: PyAV-written videos and a small duck-typed model."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from liveseg.card import ModelCard
from liveseg.runtime.prediction import Prediction


def frame_pattern(i: int, w: int, h: int) -> np.ndarray:
    """RGB frame: dark background, a bright square moving right (the 'person')."""
    img = np.full((h, w, 3), 30, np.uint8)
    img[:, :, 2] = (i * 7) % 255
    s = max(1, min(h, w) // 3)
    x = (i * 3) % max(1, w - s + 1)
    y = max(0, (h - s) // 2)
    img[y : y + s, x : x + s] = (230, 200, 180)
    return img


def make_video(
    path,
    n=12,
    w=64,
    h=48,
    fps=12,
    audio=True,
    codec=None,
    pix_fmt="yuv420p",
    pts=None,
    time_base=None,
    gray=False,
) -> Path:
    """Write a small video (+ a sine audio track) with PyAV; returns the path.

    ``pts``: explicit per-frame pts (variable frame rate) in ``time_base``.
    """
    path = Path(path)
    ext = path.suffix.lower()
    codec = codec or (
        "libvpx-vp9" if ext == ".webm" else "libx264" if w % 2 == 0 and h % 2 == 0 else "mpeg4"
    )
    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=Fraction(fps))
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        if time_base is not None:
            vs.time_base = time_base
            vs.codec_context.time_base = time_base
        if codec == "libx264":
            vs.options = {"preset": "ultrafast"}
        aus = None
        if audio:
            acodec = "libopus" if ext == ".webm" else "aac"
            aus = out.add_stream(acodec, rate=48000)
        for i in range(n):
            img = frame_pattern(i, w, h)
            if gray:
                fr = av.VideoFrame.from_ndarray(
                    cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), format="gray"
                )
            else:
                fr = av.VideoFrame.from_ndarray(img, format="rgb24")
            if pts is not None:
                fr.pts = pts[i]
                fr.time_base = time_base
            else:
                fr.pts = i
                fr.time_base = Fraction(1, fps)
            for p in vs.encode(fr):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
        if aus is not None:
            secs = n / fps if pts is None else float(pts[-1] * time_base) + 0.1
            samples = int(48000 * secs)
            t = np.arange(samples) / 48000
            wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            chunk = 960
            for k in range(0, samples, chunk):
                part = wave[k : k + chunk]
                af = av.AudioFrame.from_ndarray(part[None, :], format="fltp", layout="mono")
                af.sample_rate = 48000
                af.pts = k
                af.time_base = Fraction(1, 48000)
                for p in aus.encode(af):
                    out.mux(p)
            for p in aus.encode(None):
                out.mux(p)
    return path


def probe(path) -> dict:
    """Frame count, pts (seconds), average rate, size, audio presence of a video file."""
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        codec = vs.codec_context.name
        rate = vs.average_rate
        times, sizes = [], set()
        for f in c.decode(vs):
            times.append(float(f.pts * f.time_base))
            sizes.add((f.height, f.width))
        audio = bool(c.streams.audio)
        meta = dict(vs.metadata)
    adur = 0.0
    if audio:
        with av.open(str(path)) as c:
            for p in c.demux(c.streams.audio[0]):
                if p.pts is not None:
                    adur = max(adur, float((p.pts + (p.duration or 0)) * p.time_base))
    return {
        "meta": meta,
        "frames": len(times),
        "times": times,
        "rate": rate,
        "sizes": sizes,
        "audio": audio,
        "audio_s": adur,
        "codec": codec,
    }


class FakeModel:
    """A duck-typed runtime model: 'person' where the frame is bright, else 'background'.

    Same methods as liveseg.runtime's model object: card, preprocess, infer, postprocess,
    predict.
    """

    def __init__(self, size=(16, 12), fail_at=None, prev_mask_input=False):
        self.card = ModelCard(
            name="fake",
            classes=["background", "person", "car"],
            foreground=["person"],
            input_size=list(size),
            prev_mask_input=prev_mask_input,
        )
        self.fail_at = fail_at
        self.calls = 0
        self.prev_seen = []

    def preprocess(self, frame, prev=None):
        w, h = self.card.input_size
        small = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
        if self.card.prev_mask_input:
            self.prev_seen.append(prev is not None)
        return small.astype(np.float32).transpose(2, 0, 1)[None] / 255.0

    def infer(self, tensor):
        self.calls += 1
        if self.fail_at is not None and self.calls > self.fail_at:
            raise RuntimeError("fake inference failure")
        return [tensor]

    def postprocess(self, raw, frame_size):
        x = raw[0][0].mean(axis=0)  # (h, w) brightness
        person = (x > 0.5).astype(np.float32)
        probs = np.stack([1 - person, person, np.zeros_like(person)]).astype(np.float32)
        return Prediction(probs, tuple(frame_size))

    def predict(self, frame, prev=None):
        return self.postprocess(self.infer(self.preprocess(frame, prev)), frame.shape[:2])


def tiny_onnx(path, size=(32, 24), with_card=True) -> Path:
    """A real ONNX model (onnx.helper): 'person' where pixels are bright, 'car' never.

    Input (1, 3, H, W) float in [0, 1] (card mean 0, std 1); output (1, 3, H/2, W/2) logits.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    path = Path(path)
    w_, h_ = size
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, h_, w_])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3, h_ // 2, w_ // 2])
    weight = np.array([[-4, -4, -4], [4, 4, 4], [0, 0, 0]], np.float32).reshape(3, 3, 1, 1)
    bias = np.array([6.0, -6.0, -20.0], np.float32)
    nodes = [
        helper.make_node("AveragePool", ["input"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p", "w", "b"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [x],
        [y],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    if with_card:
        ModelCard(
            name="tiny",
            classes=["background", "person", "car"],
            foreground=["person"],
            input_size=[w_, h_],
            mean=[0, 0, 0],
            std=[1, 1, 1],
            output_kind="logits",
        ).save(path.with_suffix(".json"))
    return path
