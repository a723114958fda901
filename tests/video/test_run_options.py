"""RunOptions (one typed value for a run's options), RunMode, and the declared stage protocols."""

from fractions import Fraction

import numpy as np
import pytest

from liveseg.errors import ConfigError
from liveseg.video.options import RunInterrupted, RunOptions
from liveseg.video.protocols import FrameSink, FrameSource, RunMode, TemporalPolicy
from liveseg.video.runner import process_video
from liveseg.video.sinks import ImageDirSink, MaskSink, NullSink, PreviewSink, VideoSink
from liveseg.video.sources import ImageSource, make_source
from liveseg.video.temporal import make_temporal
from liveseg.video.temporal_spec import parse
from tests.helpers.videos import FakeModel, make_video


def test_defaults_are_those_of_liveseg_run():
    o = RunOptions()
    assert (o.effect, o.alpha, o.crf, o.preset, o.mode, o.audio) == (
        "auto",
        0.5,
        23,
        "veryfast",
        RunMode.AUTO,
        True,
    )
    assert o.temporal == parse("auto") and o.live is None


def test_keywords_map_onto_fields():
    o = RunOptions.from_kwargs(live=True, temporal="fixed:2", crf=30)
    assert o.mode is RunMode.LIVE and o.live is True and str(o.temporal) == "fixed:2"
    assert RunOptions.from_kwargs(live=False).mode is RunMode.FILE
    assert RunOptions.from_kwargs(live=None).mode is RunMode.AUTO
    over = RunOptions.from_kwargs(o, effect="blur")
    assert over.effect == "blur" and over.crf == 30 and o.effect == "auto"
    assert RunOptions.from_kwargs(o) is o
    with pytest.raises(TypeError, match="'colour'"):
        RunOptions.from_kwargs(colour="red")
    with pytest.raises(TypeError):
        RunOptions.from_kwargs(live=True, mode="file")


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"crf": 64}, "--crf"),
        ({"max_frames": 0}, "--max-frames"),
        ({"temporal": "fixed:0"}, "--temporal"),
        ({"mode": "sometimes"}, "mode"),
    ],
)
def test_bad_values_fail_when_made(kw, msg):
    with pytest.raises(ConfigError, match=msg):
        RunOptions(**kw)


def test_run_mode_parse():
    assert RunMode.parse("LIVE") is RunMode.LIVE and RunMode.parse(RunMode.FILE) is RunMode.FILE
    assert RunMode.LIVE.live is True and RunMode.FILE.live is False and RunMode.AUTO.live is None


def test_options_and_keywords_give_the_same_run(tmp_path):
    src = make_video(tmp_path / "in.mp4", n=6, fps=10, audio=False)
    a = process_video(
        str(src),
        None,
        model=FakeModel(),
        options=RunOptions(effect="overlay", temporal="fixed:2", max_frames=5),
    )
    b = process_video(
        str(src), None, model=FakeModel(), effect="overlay", temporal="fixed:2", max_frames=5
    )
    for s in (a, b):
        assert s["frames"] == 5 and s["inferred_frames"] == 3 and s["effect"] == "overlay"
        assert s["temporal"]["policy"] == "fixed:2"


def test_stages_declare_what_the_runner_reads(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    images = make_source(str(tmp_path / "a.png"))
    assert isinstance(images, ImageSource) and isinstance(images, FrameSource)
    assert images.mode is RunMode.FILE and images.skipped == [] and not images.is_url
    video = make_source(str(make_video(tmp_path / "v.mp4", n=2, fps=10, audio=False)), live=True)
    try:
        assert isinstance(video, FrameSource) and video.mode is RunMode.LIVE
        assert video.paths == () and isinstance(video.rate, Fraction)
    finally:
        video.close()
    sinks = [
        NullSink(),
        VideoSink(tmp_path / "o.mp4"),
        ImageDirSink(tmp_path / "png"),
        MaskSink(tmp_path / "m"),
    ]
    for s in sinks:
        assert isinstance(s, FrameSink) and s.repaired == 0 and not s.stop_requested
        s.finish("error")
    # needs a display to open: its class carries every member
    assert all(
        hasattr(PreviewSink, m)
        for m in ("name", "path", "created", "repaired", "stop_requested", "write", "finish")
    )
    for spec in ("off", "fixed:3+smooth", "adaptive"):
        assert isinstance(make_temporal(spec), TemporalPolicy)


def test_run_interrupted_is_a_keyboard_interrupt():
    exc = RunInterrupted(["kept x"])
    assert isinstance(exc, KeyboardInterrupt) and exc.notes == ["kept x"]
