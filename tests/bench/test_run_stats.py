"""``liveseg.bench.fresh_run.run_stats``: a real ``liveseg run`` in a fresh process on a tiny
generated model and clip; its flags reach the command (the stats record them) and a failure
raises an error that quotes the command's stderr."""

import pytest

from liveseg.bench.fresh_run import RunFailed, run_stats
from liveseg.bench.pipeline import make_bench_model, make_clip

FRAMES = 6


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run-stats")
    model = make_bench_model(folder / "tiny.onnx", size=64, width=4)
    clip = make_clip(folder / "clip.mp4", 64, 48, n=FRAMES)
    return model, clip


def test_run_stats_returns_the_summary_and_passes_the_flags(tiny, tmp_path):
    model, clip = tiny
    out = tmp_path / "out.mp4"
    lines = []
    s = run_stats(
        clip,
        model,
        threads=1,
        engine="onnxruntime",
        effect="overlay",
        output=out,
        log=lines.append,
    )
    assert s["frames"] == FRAMES and s["fps"] > 0
    assert {"decode", "infer", "effect"} <= set(s["stages"])
    assert s["stages"]["infer"]["count"] == FRAMES  # --temporal off: the network on every frame
    assert s["temporal"]["policy"] == "off"
    assert s["effect"] == "overlay"
    assert s["engine"]["engine"] == "onnxruntime" and s["engine"]["threads"] == 1
    assert s["engine_choice"]["reason"] == "forced"
    assert s["engine_choice"]["spec"] == "onnxruntime"
    assert s["output"] == str(out) and out.stat().st_size > 0
    assert len(lines) == 1 and lines[0].startswith("$ ") and "--engine onnxruntime" in lines[0]


def test_a_bad_model_path_raises_with_the_commands_reason(tiny, tmp_path):
    _, clip = tiny
    missing = tmp_path / "no-such-model.onnx"
    with pytest.raises(RunFailed) as info:
        run_stats(clip, missing)
    msg = str(info.value)
    assert "failed (exit 3)" in msg  # ModelError's exit code
    assert str(missing) in msg and "neither a shipped model name nor an existing file" in msg
    assert info.value.returncode == 3
