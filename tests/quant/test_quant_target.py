"""liveseg quantize (issue 14): reduce_range chosen from the target CPU, with an override; an
fp16 model (a shipped -fp16 file) is quantized from its exact float32 copy. No torch."""

import cv2
import numpy as np
import onnx
import pytest

from liveseg import sysinfo
from liveseg.card import ModelCard
from liveseg.cli import main
from liveseg.errors import ConfigError
from liveseg.quant import onnx_io, ptq
from tests.helpers.models import fixture_card, make_seg_model, write_card

X86 = {"cpu": "test", "arch": "x86", "cores": 2, "amx": False, "bf16": False, "fp16": False}


def _cpu(monkeypatch, **kw):
    feats = {
        **X86,
        "isa": {"AVX2": True, "AVX-512 VNNI": kw.get("vnni", False)},
        "int8_dot": kw.get("vnni", False),
        **{k: v for k, v in kw.items() if k != "vnni"},
    }
    monkeypatch.setattr(sysinfo, "cpu_features", lambda: feats)


def test_reduce_range_follows_the_target_cpu(monkeypatch):
    _cpu(monkeypatch, vnni=True)
    rr, why = ptq.reduce_range_for("host")
    assert rr is False and "AVX-512 VNNI" in why
    _cpu(monkeypatch, vnni=False)
    rr, why = ptq.reduce_range_for("host")
    assert rr is True and "no VNNI" in why
    _cpu(monkeypatch, arch="arm", vnni=False)
    assert ptq.reduce_range_for("host")[0] is False
    assert ptq.reduce_range_for("avx2")[0] is True
    assert ptq.reduce_range_for("vnni")[0] is False
    assert ptq.reduce_range_for("arm")[0] is False
    with pytest.raises(ConfigError):
        ptq.reduce_range_for("sparc")


@pytest.fixture
def small(tmp_path):
    path = make_seg_model(tmp_path / "net.onnx", size=(32, 32))
    write_card(path, fixture_card("net"))
    calib = tmp_path / "calib"
    calib.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        cv2.imwrite(str(calib / f"{i}.png"), rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))
    return path, calib


def _max_weight(path):
    ws = [
        onnx.numpy_helper.to_array(i)
        for i in onnx.load(str(path)).graph.initializer
        if i.data_type == onnx.TensorProto.INT8 and len(i.dims) == 4
    ]
    assert ws
    return max(int(np.abs(w.astype(int)).max()) for w in ws)


@pytest.mark.parametrize(
    "flags, vnni, expect, note",
    [
        ([], True, 127, "reduce_range off (auto, this CPU has AVX-512 VNNI"),
        ([], False, 64, "reduce_range on (auto, this CPU has no VNNI/AMX"),
        (["--target-cpu", "avx2"], True, 64, "reduce_range on (auto, target avx2"),
        (["--target-cpu", "vnni"], False, 127, "reduce_range off (auto, target vnni"),
        (
            ["--target-cpu", "avx2", "--no-reduce-range"],
            False,
            127,
            "reduce_range off (--no-reduce-range)",
        ),
        (["--target-cpu", "vnni", "--reduce-range"], True, 64, "reduce_range on (--reduce-range)"),
    ],
)
def test_cli_reduce_range(small, tmp_path, monkeypatch, capsys, flags, vnni, expect, note):
    path, calib = small
    _cpu(monkeypatch, vnni=vnni)
    out = tmp_path / "out.onnx"
    assert (
        main(
            ["quantize", str(path), "--calib", str(calib), "--samples", "4", "-o", str(out), *flags]
        )
        == 0
    ), capsys.readouterr().err
    assert _max_weight(out) == expect
    printed = capsys.readouterr().out
    assert note in printed
    assert note in ModelCard.load(out.with_suffix(".json")).notes


def test_fp16_model_is_quantized_from_its_float32_copy(small, tmp_path, capsys):
    path, calib = small
    fp16 = tmp_path / "net-fp16.onnx"
    assert main(["quantize", str(path), "--format", "fp16", "-o", str(fp16)]) == 0
    assert any(
        i.data_type == onnx.TensorProto.FLOAT16 for i in onnx.load(str(fp16)).graph.initializer
    )
    capsys.readouterr()
    assert main(["quantize", str(fp16), "--calib", str(calib), "--samples", "4"]) == 0, (
        capsys.readouterr().err
    )
    out = tmp_path / "net-fp16-int8.onnx"
    printed = capsys.readouterr().out
    assert "has fp16 weights" in printed and str(out) in printed
    model = onnx.load(str(out))
    assert not [i for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT16]
    assert onnx_io.count_ops(model).get("QuantizeLinear")
    assert ModelCard.load(out.with_suffix(".json")).classes == fixture_card("net").classes
    assert not list(tmp_path.glob("*.tmp*"))


def test_upcast_is_exact_for_the_weights(small):
    from liveseg.quant.fp16 import has_fp16_weights, upcast_to_fp32

    path, _ = small
    from onnxconverter_common import float16

    half = float16.convert_float_to_float16(onnx.load(str(path)), keep_io_types=True)
    assert has_fp16_weights(half)
    up = upcast_to_fp32(half)
    assert not has_fp16_weights(up)
    onnx.checker.check_model(up)
    a = {i.name: onnx.numpy_helper.to_array(i) for i in half.graph.initializer}
    b = {i.name: onnx.numpy_helper.to_array(i) for i in up.graph.initializer}
    for k, v in a.items():
        assert b[k].dtype == (np.float32 if v.dtype == np.float16 else v.dtype)
        assert np.array_equal(b[k], v.astype(b[k].dtype))
