"""QAT and PTQ of a previous-mask model (4th input channel: the previous frame's foreground
probability): calibration feeds it as ``liveseg run`` does, a first frame with a zero channel
and a later frame with the model's own previous prediction."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from liveseg.card import ModelCard
from liveseg.export.onnx_export import export_onnx
from liveseg.quant.calibration import calibration_reader, list_calibration_images, read_rgb
from liveseg.quant.onnx_io import cpu_session
from liveseg.quant.ptq import quantize_model
from liveseg.quant.qat import (
    evaluate_fake_quant,
    qat_from_checkpoint,
    runtime_prev_inputs,
)
from liveseg.quant.sensitivity import output_error
from liveseg.runtime import load_model
from liveseg.train.evaluate import normalize
from tests.helpers.datasets import make_davis2016
from tests.helpers.registry import registered_model
from tests.helpers.tiny_seg import build_prev, leaning_on_its_mask, prev_card

W, H = 32, 24
NAME = "_tiny_prev_qat_test"
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
CARD = prev_card(W, H, mean=MEAN, std=STD)


@pytest.fixture
def davis(tmp_path):
    return make_davis2016(tmp_path / "davis", clips=("a", "b", "c"), frames=4, h=H, w=W)


@pytest.fixture
def checkpoint(tmp_path, davis):
    """best.pt of one epoch of `liveseg train` on a prev-mask config (data.prev_mask)."""
    from liveseg.train.config import load_config
    from liveseg.train.trainer import train

    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        f"name: tinyprev\nmodel: {{name: {NAME}}}\n"
        f"data: {{dataset: davis2016, root: {davis}, options: {{val_clips: [c]}}}}\n"
    )
    over = [
        f"output_dir={tmp_path / 'run'}",
        "epochs=1",
        "batch_size=2",
        "threads=1",
        f"input_size=[{W},{H}]",
        f"augment.crop=[{W},{H}]",
        "augment.scale=[1.0,1.0]",
        "log_every=100",
        "best_metric=j_mean",
        "data.prev_mask=true",
        "model.options.prev_mask=true",
    ]
    with registered_model(NAME, build_prev):
        train(load_config(cfg, over), export=False)
        yield tmp_path / "run" / "best.pt"


def test_qat_of_a_prev_mask_checkpoint_calibrates_exports_and_runs(tmp_path, davis, checkpoint):
    out = tmp_path / "qat.onnx"
    fq, res = qat_from_checkpoint(
        checkpoint, out, iters=3, batch_size=2, calib_samples=4, threads=1, log=lambda s: None
    )
    # calibrated on first frames (zero channel) and later ones (own prediction), both exported
    assert res.info["calibration"]["images"] == 4 and res.info["calibration"]["samples"] == 8
    # on the training clips of the checkpoint's own reader options: held-out clip c left out
    assert res.info["calibration"]["data"] == f"davis2016:{davis}:train val_clips=['c']"
    assert res.info["pinned_ranges"] == len(fq.wrapped()) == 2
    assert res.card.prev_mask_input and ModelCard.load(out.with_suffix(".json")).prev_mask_input
    sess = cpu_session(out)
    assert sess.get_inputs()[0].shape[1] == 4
    # a clip run as `liveseg run` runs it: int8 ORT computes what QAT simulated
    rt = load_model(str(out), engine="onnxruntime", threads=1)
    assert rt.io.prev_mask_input
    prev, sim, got = None, [], []
    for p in sorted((davis / "JPEGImages" / "a").iterdir()):
        frame = read_rgb(p)
        x = rt.preprocess(frame, prev)
        with torch.no_grad():
            sim.append(fq(torch.from_numpy(x)).numpy())
        got.append(rt.infer(x)[0])
        prev = rt.postprocess(got[-1:], frame.shape[:2])
    assert output_error(sim, got)["agreement"] > 0.9
    # low bit widths are evaluated in simulation, on the val split with its prev channel
    fq, none = qat_from_checkpoint(
        checkpoint,
        tmp_path / "x.onnx",
        iters=2,
        batch_size=2,
        calib_samples=4,
        bits=(6, 4),
        log=lambda s: None,
    )
    assert none is None
    assert evaluate_fake_quant(fq, checkpoint)["images"] == 4


def test_qat_calibration_channel_is_the_runtimes(tmp_path, davis):
    """QAT's calibration inputs (torch) are the ones the runtime builds for the same network."""
    net = leaning_on_its_mask()
    export_onnx(net, tmp_path / "tp.onnx", input_size=(W, H), card=CARD)
    rt = load_model(str(tmp_path / "tp.onnx"), engine="onnxruntime", threads=1)
    frame = read_rgb(next((davis / "JPEGImages" / "a").iterdir()))  # at input size: no resize
    x = normalize(torch.from_numpy(frame).permute(2, 0, 1)[None], MEAN, STD)
    first, later = runtime_prev_inputs(net, x, foreground=[1])
    np.testing.assert_allclose(first.numpy(), rt.preprocess(frame), atol=1e-5)
    want = rt.preprocess(frame, rt.predict(frame))
    assert 0.05 < want[0, 3].mean() < 0.95  # the channel is neither empty nor full
    np.testing.assert_allclose(later.numpy(), want, atol=1e-4)


def test_ptq_of_a_prev_mask_model_calibrates_on_the_channel_the_runtime_feeds(tmp_path, davis):
    net = leaning_on_its_mask()
    src = tmp_path / "tp.onnx"
    export_onnx(net, src, input_size=(W, H), card=CARD)
    calib = f"davis:{davis}"
    # each calibration image as a first frame and as the next frame of a still scene
    reader = calibration_reader(src, calib, samples=4)
    rt = load_model(str(src), engine="onnxruntime", threads=1)
    frames = [read_rgb(p) for p in reader.images]
    assert len(reader) == 2 * len(frames) == 8 and reader.images_read == 4
    for i, frame in enumerate(frames):
        first, later = reader.tensors()[2 * i : 2 * i + 2]
        np.testing.assert_array_equal(first, rt.preprocess(frame))
        np.testing.assert_array_equal(later, rt.preprocess(frame, rt.predict(frame)))
    res = quantize_model(src, tmp_path / "tp-int8.onnx", calib, samples=4)
    assert res.info["calibration"]["images"] == 4 and res.info["calibration"]["samples"] == 8
    # later frames, fed the float model's previous prediction: the int8 model's ranges cover
    # them (calibrated on zeros alone its activations clip: measured 9 dB SQNR against 28 dB)
    later = []
    for p in list_calibration_images(calib):
        frame = read_rgb(p)
        later.append(rt.preprocess(frame, rt.predict(frame)))
    ref = [cpu_session(src).run(None, {"input": x})[0] for x in later]
    q = cpu_session(res.output)
    err = output_error(ref, [q.run(None, {"input": x})[0] for x in later])
    assert err["sqnr_db"] > 20, err
