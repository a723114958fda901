import threading
import time
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from liveseg.video.options import RunInterrupted
from liveseg.video.pipeline import Pipeline
from liveseg.video.runner import process_video
from liveseg.video.sinks import ImageDirSink, MaskSink, NullSink, VideoSink, partial_path
from liveseg.video.sources import ImageSource, Source, SourceFrame, make_source
from tests.helpers.videos import FakeModel, frame_pattern, make_video, probe


def _run(inp, out, effect="overlay", model=None, **kw):
    kw.setdefault("temporal", "off")  # these tests count inferred frames; auto is tested below
    return process_video(
        str(inp), str(out) if out else None, model=model or FakeModel(), effect=effect, **kw
    )


def test_file_keeps_frames_timestamps_rate_and_audio(tmp_path):
    src = make_video(tmp_path / "in.mp4", n=15, fps=15)
    stats = _run(src, tmp_path / "out.mp4", effect="blur")
    a, b = probe(src), probe(tmp_path / "out.mp4")
    assert stats["frames"] == a["frames"] == b["frames"] == 15
    assert b["times"] == pytest.approx(a["times"], abs=1e-3)
    assert b["rate"] == a["rate"]
    assert b["audio"] and b["audio_s"] == pytest.approx(a["audio_s"], abs=0.05)
    assert b["codec"] == "h264"
    assert not partial_path(tmp_path / "out.mp4").exists()
    assert stats["inferred_frames"] == 15 and stats["drops"] == 0
    assert {"decode", "infer", "effect", "sink"} <= set(stats["stages"])


def test_variable_frame_rate_kept(tmp_path):
    tb = Fraction(1, 1000)
    pts = [0, 40, 80, 200, 240, 500, 520, 560]
    src = make_video(tmp_path / "vfr.mkv", n=len(pts), pts=pts, time_base=tb, audio=False)
    _run(src, tmp_path / "out.mkv")
    assert probe(tmp_path / "out.mkv")["times"] == pytest.approx([p / 1000 for p in pts], abs=2e-3)


def test_webm_audio_is_transcoded_when_the_codec_does_not_fit(tmp_path):
    src = make_video(tmp_path / "in.mp4", n=12)  # AAC audio; WebM holds Opus/Vorbis only
    _run(src, tmp_path / "out.webm")
    b = probe(tmp_path / "out.webm")
    assert b["frames"] == 12 and b["audio"] and b["codec"] == "vp9"


@pytest.mark.parametrize("w,h", [(63, 47), (1, 1)])
def test_odd_and_tiny_sizes(tmp_path, w, h):
    src = make_video(tmp_path / "odd.mov", n=5, w=w, h=h, codec="png", pix_fmt="rgb24", audio=False)
    stats = _run(src, tmp_path / "out.mp4", save_masks=tmp_path / "m")
    out = probe(tmp_path / "out.mp4")
    assert out["frames"] == 5 and out["sizes"] == {(h + h % 2, w + w % 2)}
    mask = cv2.imread(str(tmp_path / "m" / "00000.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (h, w) and mask.dtype == np.uint8
    assert stats["frames"] == 5


@pytest.mark.parametrize("pix_fmt", ["gray", "rgba"])
def test_gray_and_alpha_video_frames(tmp_path, pix_fmt):
    src = make_video(
        tmp_path / f"{pix_fmt}.mov",
        n=4,
        codec="png",
        pix_fmt=pix_fmt,
        audio=False,
        gray=pix_fmt == "gray",
    )
    assert _run(src, tmp_path / "out.mp4")["frames"] == 4


def test_matte_to_webm_alpha_and_png_sequence(tmp_path):
    src = make_video(tmp_path / "in.mp4", n=6, audio=False)
    _run(src, tmp_path / "m.webm", effect="matte")
    with av.open(str(tmp_path / "m.webm")) as c:
        assert c.streams.video[0].metadata.get("alpha_mode") == "1"
    _run(src, tmp_path / "seq", effect="matte")
    files = sorted(p.name for p in (tmp_path / "seq").iterdir())
    assert files == [f"{i:05d}.png" for i in range(6)]
    rgba = cv2.imread(str(tmp_path / "seq" / "00003.png"), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (48, 64, 4) and rgba[:, :, 3].max() > 200 and rgba[:, :, 3].min() < 50


def test_matte_refuses_mp4(tmp_path):
    from liveseg.errors import ConfigError

    src = make_video(tmp_path / "in.mp4", n=2, audio=False)
    with pytest.raises(ConfigError, match="alpha"):
        _run(src, tmp_path / "m.mp4", effect="matte")


def test_image_folder_and_glob_write_images_and_masks(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    sizes = {"b": (30, 40), "a": (17, 9), "c": (64, 48)}
    for stem, (h, w) in sizes.items():
        img = frame_pattern(1, w, h)
        cv2.imwrite(str(d / f"{stem}.jpg"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    (d / "notes.txt").write_text("ignored")
    src = make_source(str(d))
    assert [p.stem for p in src.paths] == ["a", "b", "c"]
    _run(d, tmp_path / "out", save_masks=tmp_path / "masks")
    for stem, (h, w) in sizes.items():
        out = cv2.imread(str(tmp_path / "out" / f"{stem}.png"))
        assert out.shape == (h, w, 3)
        mask = cv2.imread(str(tmp_path / "masks" / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
        assert mask.shape == (h, w) and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
    g = make_source(str(d / "*.jpg"))
    assert isinstance(g, ImageSource) and len(g.paths) == 3


def test_gray_alpha_and_16bit_images(tmp_path):
    cv2.imwrite(str(tmp_path / "g.png"), np.full((5, 7), 200, np.uint8))
    cv2.imwrite(str(tmp_path / "a.png"), np.full((6, 4, 4), 100, np.uint8))
    cv2.imwrite(str(tmp_path / "w.png"), np.full((3, 3, 3), 60000, np.uint16))
    for name in ("g", "a", "w"):
        out = tmp_path / f"{name}_out.png"
        _run(tmp_path / f"{name}.png", out)
        assert cv2.imread(str(out)).shape[2] == 3


def test_4k_single_image(tmp_path):
    img = np.zeros((2160, 3840, 3), np.uint8)
    img[500:1500, 1000:2500] = 240
    cv2.imwrite(str(tmp_path / "big.png"), img)
    _run(tmp_path / "big.png", tmp_path / "big_out.jpg", effect="blur", save_masks=tmp_path / "m")
    mask = cv2.imread(str(tmp_path / "m" / "big.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (2160, 3840) and mask[1000, 1700] == 1 and mask[100, 100] == 0


def test_save_masks_without_output_for_video(tmp_path):
    src = make_video(tmp_path / "in.mp4", n=7, audio=False)
    stats = _run(src, None, save_masks=tmp_path / "masks")
    names = sorted(p.name for p in (tmp_path / "masks").iterdir())
    assert names == [f"{i:05d}.png" for i in range(7)] and stats["frames"] == 7
    # the bright square is 'person' (1) in the mask, at input size
    mask = cv2.imread(str(tmp_path / "masks" / "00000.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (48, 64) and mask[24, 8] == 1 and mask[2, 60] == 0


def test_inline_and_threaded_give_the_same_output(tmp_path):
    src = make_video(tmp_path / "in.mp4", n=9, audio=False)
    for threaded in (True, False):
        d = tmp_path / f"seq{threaded}"
        _run(src, d, effect="overlay", threaded=threaded)
    for i in range(9):
        a = cv2.imread(str(tmp_path / "seqTrue" / f"{i:05d}.png"))
        b = cv2.imread(str(tmp_path / "seqFalse" / f"{i:05d}.png"))
        assert np.array_equal(a, b)


def test_stage_error_stops_everything_and_surfaces_once(tmp_path):
    src = make_video(tmp_path / "in.mp4", n=30, audio=False)
    before = threading.active_count()
    with pytest.raises(RuntimeError, match="fake inference failure"):
        _run(src, tmp_path / "out.mp4", model=FakeModel(fail_at=5))
    assert not (tmp_path / "out.mp4").exists()
    assert not partial_path(tmp_path / "out.mp4").exists()
    time.sleep(0.3)
    assert threading.active_count() <= before


def test_ctrl_c_keeps_a_playable_partial_file(tmp_path):
    src_path = make_video(tmp_path / "in.mp4", n=60)
    source = make_source(str(src_path))
    model = FakeModel()
    out = tmp_path / "out.mp4"
    sink = VideoSink(
        out,
        fps=source.fps,
        time_base=source.time_base,
        rate=source.rate,
        audio_from=source.audio_path,
    )

    class SlowEffect:
        name = "slow"
        channels = 3

        def __call__(self, frame, pred):
            time.sleep(0.005)
            return frame

        def close(self):
            pass

    pipe = Pipeline(source, model, SlowEffect(), [sink])

    def poll(done):
        if done >= 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as exc:
        pipe.run(poll=poll)
    part = partial_path(out)
    assert not out.exists() and part.exists()
    assert any(str(part) in n for n in pipe.notes)
    assert isinstance(exc.value, RunInterrupted) and exc.value.notes == pipe.notes
    info = probe(part)
    assert 10 <= info["frames"] < 60 and info["audio"]


class FastLive(Source):
    """A live source that produces frames much faster than the model takes them."""

    live = True
    kind = "live"
    description = "fake live"

    def __init__(self, n):
        self.n = n
        self.time_base = Fraction(1, 1000)

    def __iter__(self):
        for i in range(self.n):
            time.sleep(0.001)
            yield SourceFrame(
                i, frame_pattern(i, 32, 24), i, self.time_base, None, time.perf_counter()
            )


def test_live_source_newest_frame_wins_and_drops_are_counted():
    class SlowModel(FakeModel):
        def infer(self, tensor):
            time.sleep(0.02)
            return super().infer(tensor)

    seen = []

    class Record(NullSink):
        def write(self, item):
            seen.append(item.index)

    pipe = Pipeline(FastLive(200), SlowModel(), None, [Record()])
    stats = pipe.run()
    assert stats["drops"] > 0 and stats["frames"] + stats["drops"] == 200
    assert seen == sorted(seen) and seen[-1] == 199  # in order, and the newest frame got in
    assert stats["live"]


def test_masks_and_image_dir_refuse_to_overwrite_inputs(tmp_path):
    from liveseg.errors import OutputError

    d = tmp_path / "imgs"
    d.mkdir()
    cv2.imwrite(str(d / "x.png"), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(OutputError):
        _run(d, d, overwrite=True)
    with pytest.raises(OutputError):
        _run(d, None, save_masks=d, overwrite=True)
    assert cv2.imread(str(d / "x.png")).shape == (4, 4, 3)
    sink = MaskSink(tmp_path / "m", inputs=[tmp_path / "m" / "x.png"])

    class It:
        name = "x"
        index = 0

    with pytest.raises(OutputError):
        sink.write(It())
    sink2 = ImageDirSink(tmp_path / "m2", inputs=[tmp_path / "m2" / "x.png"])
    with pytest.raises(OutputError):
        sink2.write(It())


def test_truncated_and_corrupted_video_are_decoded_as_far_as_possible(tmp_path):
    src = make_video(tmp_path / "in.mkv", n=40, w=64, h=48, audio=False)
    data = bytearray(src.read_bytes())
    (tmp_path / "trunc.mkv").write_bytes(bytes(data[: len(data) * 2 // 3]))
    stats = _run(tmp_path / "trunc.mkv", tmp_path / "t.mp4")
    assert 5 <= stats["frames"] < 40
    rng = np.random.default_rng(1)
    for pos in rng.integers(len(data) // 3, len(data) - 100, 40):
        data[pos : pos + 8] = b"\xff" * 8
    (tmp_path / "corrupt.mkv").write_bytes(bytes(data))
    stats = _run(tmp_path / "corrupt.mkv", tmp_path / "c.mp4")
    assert stats["frames"] >= 5  # kept going; decode errors (if any) counted, not fatal
    assert stats["frames"] + stats["decode_errors"] >= 5


def test_temporal_previous_prediction_reaches_prev_mask_models(tmp_path):
    src = make_video(tmp_path / "in.mp4", n=5, audio=False)
    model = FakeModel(prev_mask_input=True)
    _run(src, None, model=model)
    assert model.prev_seen == [False, True, True, True, True]


@pytest.mark.parametrize(
    "spec", ["fixed:3+smooth", "adaptive:thresh=5,max=4,cut=0+smooth", "fixed:2"]
)
@pytest.mark.parametrize("threaded", [True, False])
def test_flow_computed_ahead_gives_the_same_predictions_as_inline(tmp_path, spec, threaded):
    """The pipeline computes optical flow in the stage before inference; the predictions must
    be those of the policy stepping the same frames on its own."""
    from liveseg.video.sinks import Sink
    from liveseg.video.temporal import make_temporal

    src = make_video(tmp_path / "in.mp4", n=12, w=96, h=64, audio=False)

    class Keep(Sink):
        def __init__(self):
            self.probs = []

        def write(self, item):
            self.probs.append((item.pred.inferred, item.pred.probs.copy()))

    keep, model = Keep(), FakeModel(size=(48, 32))
    pipe = Pipeline(
        make_source(str(src)), model, None, [keep], make_temporal(spec), threaded=threaded
    )
    stats = pipe.run()
    assert pipe.motion_ahead and stats["stages"]["flow"]["median_ms"] > 0
    ref_policy = make_temporal(spec)
    ref = [
        ref_policy.step(f.image, lambda prev, im=f.image: model.predict(im, prev))
        for f in make_source(str(src))
    ]
    assert [k for k, _ in keep.probs] == [r.inferred for r in ref]
    assert sum(not k for k, _ in keep.probs) > 0  # some frames were propagated
    for (_, a), r in zip(keep.probs, ref, strict=True):
        np.testing.assert_allclose(a, r.probs, atol=1e-6)


def test_auto_temporal_reuses_frames_of_videos_but_not_images(tmp_path):
    from liveseg.video.temporal import make_temporal
    from liveseg.video.temporal_spec import AUTO_VIDEO_SPEC

    src = make_video(tmp_path / "in.mp4", n=9, audio=False)
    stats = process_video(str(src), None, model=FakeModel(), effect="overlay")
    assert stats["temporal"]["policy"] == make_temporal(AUTO_VIDEO_SPEC).name
    assert stats["inferred_frames"] < stats["frames"] == 9
    (tmp_path / "imgs").mkdir()
    for i in range(3):
        cv2.imwrite(str(tmp_path / "imgs" / f"{i}.png"), frame_pattern(i, 64, 48))
    stats = process_video(str(tmp_path / "imgs"), None, model=FakeModel(), effect="overlay")
    assert stats["temporal"]["policy"] == "off" and stats["inferred_frames"] == 3


def test_stream_source_in_live_mode(tmp_path):
    """A PyAV source with live=True (what rtsp:// and http:// inputs get): newest frame wins."""
    src = make_video(tmp_path / "in.mp4", n=40, audio=False)

    class SlowModel(FakeModel):
        def infer(self, tensor):
            time.sleep(0.01)
            return super().infer(tensor)

    stats = _run(src, tmp_path / "live.mkv", model=SlowModel(), live=True)
    assert stats["live"] and stats["frames"] + stats["drops"] == 40
    assert probe(tmp_path / "live.mkv")["frames"] == stats["frames"]
