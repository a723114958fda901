"""The pipeline: source -> preprocess -> inference (+temporal) -> effect -> sink, in threads.

Each stage runs in its own thread, joined by bounded queues, so decoding, inference and
encoding overlap (PyAV, OpenCV, numpy and ONNX Runtime all release the GIL in their hot
loops). Files: every frame goes through in order, nothing is dropped. Live sources: the
source thread keeps reading and a one-slot "newest wins" buffer replaces frames the
pipeline could not take yet (counted as drops), so latency stays bounded.

Postprocessing (the model's ``postprocess``: softmax/one-hot at model resolution) runs inside
the inference stage because the temporal policy needs a Prediction from ``infer(prev)``;
upsampling to frame size happens once, inside the effect. Every stage records its time per
frame; ``Pipeline.run()`` returns a :class:`RunStats`.

An exception in any stage stops every stage and is raised once from ``run()``; Ctrl-C stops
the stages, closes the sinks (an interrupted video is a valid, playable file under its
temporary name) and raises ``RunInterrupted`` (a KeyboardInterrupt) carrying the sinks' notes.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from array import array
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from liveseg.video.options import RunInterrupted
from liveseg.video.protocols import Effect, FrameSink, FrameSource, TemporalPolicy

_END = object()


class Item:
    """One frame travelling through the stages."""

    __slots__ = (
        "image",
        "index",
        "motion",
        "name",
        "out",
        "pred",
        "pts",
        "t_read",
        "tensor",
        "time_base",
    )

    def __init__(self, sf):
        self.index = sf.index
        self.image = sf.image
        self.pts = sf.pts
        self.time_base = sf.time_base
        self.name = sf.name
        self.t_read = sf.t_read
        self.tensor = None
        self.motion = None
        self.pred = None
        self.out = None


class _Stopped(Exception):
    pass


class LatestSlot:
    """A one-item buffer where a new item replaces an unread one (live sources)."""

    def __init__(self):
        self._cv = threading.Condition()
        self._item = None
        self._has = False
        self.drops = 0

    def put(self, item, stop) -> None:
        with self._cv:
            if item is _END:  # the end never replaces the last frame
                while self._has:
                    if stop.is_set():
                        raise _Stopped
                    self._cv.wait(0.1)
            elif self._has:
                self.drops += 1
            self._item, self._has = item, True
            self._cv.notify()

    def get(self, stop):
        with self._cv:
            while not self._has:
                if stop.is_set():
                    raise _Stopped
                self._cv.wait(0.1)
            item, self._item, self._has = self._item, None, False
            self._cv.notify()
            return item


class BoundedQueue:
    """queue.Queue whose blocking put/get give up when the pipeline is stopping."""

    def __init__(self, size: int):
        self._q = queue.Queue(maxsize=size)
        self.drops = 0

    def put(self, item, stop) -> None:
        q = self._q
        while True:
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                if stop.is_set():
                    raise _Stopped from None

    def get(self, stop):
        q = self._q
        while True:
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                if stop.is_set():
                    raise _Stopped from None


class StageTimes:
    """Per-stage durations (ms), one compact array per stage (flat memory on long runs)."""

    def __init__(self, names):
        self.data = {n: array("d") for n in names}

    def add(self, name, seconds):
        self.data[name].append(seconds * 1000.0)

    def summary(self) -> dict:
        out = {}
        for name, arr in self.data.items():
            if len(arr):
                a = np.frombuffer(arr, dtype=np.float64)
                out[name] = {
                    "median_ms": round(float(np.median(a)), 3),
                    "p90_ms": round(float(np.percentile(a, 90)), 3),
                    "mean_ms": round(float(a.mean()), 3),
                    "count": int(a.size),
                }
        return out


class RunStats(dict):
    """The run summary (a dict, JSON-ready): frames, fps, stages, latency, drops..."""

    def format(self) -> str:
        lines = [
            (
                f"frames: {self['frames']}  fps: {self['fps']:.1f}  wall: {self['wall_s']:.2f}s  "
                f"inferred: {self['inferred_frames']}  propagated: {self['propagated_frames']}  "
                f"drops: {self['drops']}  decode errors: {self['decode_errors']}"
            )
        ]
        if self.get("timestamps_repaired"):
            lines.append(
                f"timestamps repaired: {self['timestamps_repaired']} frame(s) whose "
                "timestamp did not increase were placed one frame after the previous"
            )
        skipped = self.get("skipped") or []
        if skipped:
            lines.append(
                f"skipped {len(skipped)} unreadable image(s): "
                + ", ".join(Path(s["path"]).name for s in skipped[:5])
                + (", ..." if len(skipped) > 5 else "")
            )
        choice = self.get("engine_choice") or {}
        if choice.get("summary"):
            lines.append(f"engine: {choice['summary']}")
        policy = (self.get("temporal") or {}).get("policy")
        if policy:
            lines.append(
                f"temporal: {policy}"
                + ("" if policy != "off" else " (the network ran on every frame)")
            )
        e2e = self.get("e2e_latency_ms") or {}
        if e2e:
            lines.append(
                f"end-to-end latency: median {e2e['median_ms']:.1f} ms, p90 {e2e['p90_ms']:.1f} ms"
            )
        if self["stages"]:
            lines.append("stage          median ms    p90 ms")
            for name, s in self["stages"].items():
                lines.append(f"  {name:<12} {s['median_ms']:>9.2f} {s['p90_ms']:>9.2f}")
        return "\n".join(lines)


class Pipeline:
    """Wire a source, a model, a temporal policy, an effect and sinks together.

    ``threaded=False`` runs the same stages one after another in the calling thread (used by
    the benchmark to show what the threads buy). ``max_frames`` stops after that many frames.
    """

    STAGES = ("decode", "preprocess", "flow", "infer", "postprocess", "temporal", "effect", "sink")

    def __init__(
        self,
        source: FrameSource,
        model,
        effect: Effect | None = None,
        sinks: Sequence[FrameSink] = (),
        temporal: TemporalPolicy | None = None,
        *,
        threaded: bool = True,
        queue_size: int = 4,
        max_frames: int | None = None,
        on_frame=None,
    ):
        from liveseg.video.temporal import make_temporal

        self.source = source
        self.model = model
        self.effect = effect
        self.sinks = list(sinks)
        self.policy = temporal if temporal is not None else make_temporal("off")
        self.threaded = threaded
        self.live = bool(source.live)
        self.queue_size = 1 if self.live else max(1, int(queue_size))
        self.max_frames = max_frames
        self.on_frame = on_frame
        self.times = StageTimes(self.STAGES + ("e2e",))
        self.frames_done = 0
        self.notes: list[str] = []
        self.stop = threading.Event()
        self._error: BaseException | None = None
        self._status = "done"  # or "interrupted" (Ctrl-C); errors win over both
        self._sinks_finished = False
        self._sinks_done = threading.Event()
        self._err_lock = threading.Lock()
        card = getattr(model, "card", None)
        self.prev_input = bool(getattr(card, "prev_mask_input", False))
        # Preprocess ahead of inference (in its own thread) only when every frame is
        # inferred and the model does not need the previous prediction as an input;
        # otherwise a policy that skips frames would waste the work.
        from liveseg.video.temporal import EveryFrame

        self.speculate = (not self.prev_input) and isinstance(self.policy, EveryFrame)
        # Policies that reuse frames get their optical flow computed in that same stage
        # instead: it needs the frames alone, so it overlaps with inference of earlier ones.
        self.motion_ahead = self.policy.uses_motion

    # ---- the stages, each a function item -> item -----------------------------------------
    def _preprocess(self, item):
        if self.speculate:
            t = time.perf_counter()
            item.tensor = self.model.preprocess(item.image)
            self.times.add("preprocess", time.perf_counter() - t)
        if self.motion_ahead:
            t = time.perf_counter()
            item.motion = self.policy.motion(item.image)
            self.times.add("flow", time.perf_counter() - t)
        return item

    def _infer(self, item):
        model, times = self.model, self.times
        frame = item.image
        size = frame.shape[:2]
        spent = [0.0]

        def infer(prev=None):
            t0 = time.perf_counter()
            tensor = item.tensor
            if tensor is None or self.prev_input:
                tensor = (
                    model.preprocess(frame, prev) if self.prev_input else model.preprocess(frame)
                )
                t1 = time.perf_counter()
                times.add("preprocess", t1 - t0)
            else:
                t1 = t0
            raw = model.infer(tensor)
            t2 = time.perf_counter()
            pred = model.postprocess(raw, size)
            t3 = time.perf_counter()
            times.add("infer", t2 - t1)
            times.add("postprocess", t3 - t2)
            spent[0] += t3 - t0
            return pred

        t = time.perf_counter()
        if item.motion is not None:
            item.pred = self.policy.step(frame, infer, item.motion)
        else:
            item.pred = self.policy.step(frame, infer)
        times.add("temporal", time.perf_counter() - t - spent[0])
        item.tensor = item.motion = None
        return item

    def _effect(self, item):
        if self.effect is None:
            item.out = item.image
            return item
        t = time.perf_counter()
        item.out = self.effect(item.image, item.pred)
        self.times.add("effect", time.perf_counter() - t)
        return item

    def _sink(self, item):
        t = time.perf_counter()
        for s in self.sinks:
            s.write(item)
            if s.stop_requested:
                self.stop.set()
        now = time.perf_counter()
        self.times.add("sink", now - t)
        self.times.add("e2e", now - item.t_read)
        self.frames_done += 1
        item.image = item.out = item.pred = None
        if self.on_frame is not None:
            self.on_frame(self.frames_done)
        return item

    # ---- running ---------------------------------------------------------------------------
    def _fail(self, exc: BaseException) -> None:
        with self._err_lock:
            if self._error is None:
                self._error = exc
        self.stop.set()

    def _frames(self):
        """Source frames as Items, timing the decode of each."""
        it = iter(self.source)
        n = 0
        while not self.stop.is_set():
            t = time.perf_counter()
            try:
                sf = next(it)
            except StopIteration:
                return
            self.times.add("decode", time.perf_counter() - t)
            yield Item(sf)
            n += 1
            if self.max_frames is not None and n >= self.max_frames:
                return

    def _source_thread(self, out_q):
        stop = self.stop
        try:
            for item in self._frames():
                out_q.put(item, stop)
            out_q.put(_END, stop)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - surfaced once from run()
            self._fail(exc)

    def _stage_thread(self, fns, in_q, out_q, owns_sinks=False):
        try:
            self._stage_loop(fns, in_q, out_q)
        finally:
            if owns_sinks:
                # The thread that wrote to the sinks closes them: encoders and muxers are
                # never touched from two threads (an interrupted run closes a valid file).
                try:
                    self._finish_sinks()
                finally:
                    self._sinks_done.set()

    def _stage_loop(self, fns, in_q, out_q):
        stop = self.stop
        try:
            while True:
                item = in_q.get(stop)
                if item is _END:
                    if out_q is not None:
                        out_q.put(_END, stop)
                    return
                for fn in fns:
                    item = fn(item)
                if out_q is not None:
                    out_q.put(item, stop)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - surfaced once from run()
            self._fail(exc)

    def _run_inline(self):
        fns = (self._preprocess, self._infer, self._effect, self._sink)
        for item in self._frames():
            for fn in fns:
                item = fn(item)

    def _run_threaded(self, poll):
        stages = [
            ("preprocess", [self._preprocess]),
            ("infer", [self._infer]),
            ("effect", [self._effect]),
            ("sink", [self._sink]),
        ]
        if not (self.speculate or self.motion_ahead):
            stages = stages[1:]  # nothing to do ahead of inference
        first = LatestSlot() if self.live else BoundedQueue(self.queue_size)
        self._first_q = first
        queues = [first] + [BoundedQueue(self.queue_size) for _ in stages[1:]] + [None]
        threads = [
            threading.Thread(
                target=self._source_thread, args=(first,), name="liveseg-source", daemon=True
            )
        ]
        for i, (name, fns) in enumerate(stages):
            threads.append(
                threading.Thread(
                    target=self._stage_thread,
                    args=(fns, queues[i], queues[i + 1], i == len(stages) - 1),
                    name=f"liveseg-{name}",
                    daemon=True,
                )
            )
        for t in threads:
            t.start()
        # The main thread waits on an Event, not Thread.join: a Ctrl-C inside join() makes
        # CPython <= 3.11 mark the still-running thread as stopped (bpo-45274's fix), and a
        # later join() would return before the sinks are closed.
        try:
            # The sink thread ends last (it sees _END after everything else).
            while not self._sinks_done.wait(0.1):
                if poll is not None:
                    poll(self.frames_done)
        except BaseException:
            self._status = "interrupted"
            self.stop.set()  # Ctrl-C: every stage gives up at its next queue operation
            raise
        finally:
            for t in threads[1:-1]:
                t.join(5.0)
            # The sink thread finishes the sinks (flush, trailer, rename) before it ends.
            if not self._sinks_done.wait(60.0):
                self.notes.append(
                    "the output stage did not stop within 60 s; its file may be incomplete"
                )
            # A live source may sit in a blocking read; it is a daemon thread.
            threads[0].join(0.5 if self.live else 5.0)

    def run(self, poll=None) -> RunStats:
        """Run to the end of the source (or an error, or Ctrl-C); returns the summary."""
        import cv2

        # OpenCV's own thread pool fights our stage threads on small machines; the stages
        # already overlap, so each cv2 call runs on the thread that made it.
        prev_cv_threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        t0 = time.perf_counter()
        try:
            if self.threaded:
                self._run_threaded(poll)
            else:
                try:
                    self._run_inline()
                except KeyboardInterrupt:
                    self._status = "interrupted"
                    raise
                except BaseException as exc:  # noqa: BLE001 - surfaced once below
                    self._fail(exc)
                finally:
                    self._finish_sinks()
        except KeyboardInterrupt as exc:
            if isinstance(exc, RunInterrupted):
                raise
            raise RunInterrupted(self.notes) from None  # what the sinks kept travels with it
        finally:
            wall = time.perf_counter() - t0
            cv2.setNumThreads(prev_cv_threads)
            with contextlib.suppress(Exception):  # a broken source must not mask the result
                self.source.close()
            if self.effect is not None:
                self.effect.close()
        if self._error is not None:
            raise self._error
        return self._stats(wall)

    def _finish_sinks(self) -> None:
        """Close every sink: done (rename into place), interrupted (keep partial), error."""
        if self._sinks_finished:
            return
        self._sinks_finished = True
        status = "error" if self._error is not None else self._status
        errors = []
        for s in self.sinks:
            try:
                note = s.finish(status)
                if note:
                    self.notes.append(note)
            except Exception as exc:  # noqa: BLE001 - finish every sink, report the first
                errors.append(exc)
        if errors and status == "done":
            self._fail(errors[0])

    def _stats(self, wall: float) -> RunStats:
        stages = self.times.summary()
        e2e = stages.pop("e2e", None)
        pol = self.policy.stats()
        inferred = int(pol.get("inferred_frames", stages.get("infer", {}).get("count", 0)))
        propagated = pol.get("propagated_frames")
        drops = getattr(getattr(self, "_first_q", None), "drops", 0)
        frames = self.frames_done
        return RunStats(
            frames=frames,
            fps=round(frames / wall, 2) if wall > 0 else 0.0,
            wall_s=round(wall, 3),
            inferred_frames=inferred,
            propagated_frames=int(propagated)
            if propagated is not None
            else max(0, frames - inferred),
            drops=int(drops),
            decode_errors=int(self.source.decode_errors),
            live=self.live,
            threaded=self.threaded,
            stages=stages,
            e2e_latency_ms=e2e,
            temporal=pol,
        )
