"""liveseg quantize: int8 QDQ PTQ, fp16, dynamic, sensitivity, errors (TinySeg: tests/helpers)."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from liveseg.card import ModelCard
from liveseg.cli import main
from liveseg.quant import calibration, kernels, onnx_io, preprocess, ptq, sensitivity

torch = pytest.importorskip("torch")
from tests.helpers.tiny_seg import TinySeg, images

nn = torch.nn

W, H = 48, 32


def export(model, path, size=(H, W)):
    model.eval()
    torch.onnx.export(
        model,
        torch.randn(1, 3, *size),
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=["input"],
        output_names=["logits"],
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    torch.manual_seed(0)
    net = TinySeg()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
    export(net, d / "net.onnx")
    ModelCard(name="tiny", classes=list("abcde"), input_size=[W, H]).save(d / "net.json")
    images(d / "calib")
    images(d / "val", seed=1)
    return d


def outputs(path, inputs):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return [sess.run(None, {name: x})[0] for x in inputs]


def val_inputs(d):
    card = ModelCard.load(d / "net.json")
    pre = preprocess.card_preprocessor(card)
    return [pre(calibration.read_rgb(p)) for p in sorted((d / "val").iterdir())]


def test_int8_close_to_fp32_and_runs_int8_kernels(tiny, tmp_path, capsys):
    out = tmp_path / "net-int8.onnx"
    rc = main(
        [
            "quantize",
            str(tiny / "net.onnx"),
            "--calib",
            str(tiny / "calib"),
            "--target-cpu",
            "avx2",
            "-o",
            str(out),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    # QDQ graph: Q/DQ around every conv, weights stored as int8 initializers.
    model = onnx.load(str(out))
    ops = onnx_io.count_ops(model)
    assert ops["Conv"] == 5 and ops["QuantizeLinear"] >= 5 and ops["DequantizeLinear"] >= 10
    int8_w = [
        i
        for i in model.graph.initializer
        if i.data_type == onnx.TensorProto.INT8 and len(i.dims) == 4
    ]
    assert len(int8_w) == 5  # one per conv weight
    # reduce_range for an AVX2 target: 7-bit weights (+-64), safe from its saturating u8s8 pairs
    assert max(abs(int(v)) for w in int8_w for v in onnx.numpy_helper.to_array(w).ravel()) == 64
    assert not [
        i
        for i in model.graph.initializer
        if i.data_type == onnx.TensorProto.FLOAT and len(i.dims) == 4
    ]
    # What ORT executes: integer kernels, no float Conv left.
    opt = kernels.optimized_ops(out)
    assert opt.get("QLinearConv", 0) == 5 and "Conv" not in opt, opt
    # Outputs stay close to fp32.
    xs = val_inputs(tiny)
    err = sensitivity.output_error(outputs(tiny / "net.onnx", xs), outputs(out, xs))
    assert err["agreement"] > 0.95 and err["sqnr_db"] > 15, err
    # Card copied, renamed, with a note; quantization recipe in the metadata.
    card = ModelCard.load(out.with_suffix(".json"))
    assert card.name == "tiny-int8" and card.classes == list("abcde") and "int8" in card.notes
    meta = {p.key: p.value for p in model.metadata_props}
    assert ModelCard.from_onnx_metadata(meta) == card
    info = json.loads(meta[onnx_io.QUANT_METADATA_KEY])
    assert info["activations"].startswith("uint8") and "per-channel" in info["weights"]
    assert info["calibration"]["images"] == 8


def test_exclude_first_last_and_op_type(tiny, tmp_path):
    out = tmp_path / "x.onnx"
    res = ptq.quantize_model(
        tiny / "net.onnx",
        out,
        tiny / "calib",
        samples=4,
        exclude=["first", "last"],
        method="percentile",
        reduce_range=False,
    )
    w8 = [
        onnx.numpy_helper.to_array(i)
        for i in onnx.load(str(out)).graph.initializer
        if i.data_type == onnx.TensorProto.INT8 and len(i.dims) == 4
    ]
    assert max(int(abs(w.astype(int)).max()) for w in w8) == 127
    assert len(res.info["excluded_nodes"]) == 2
    opt = kernels.optimized_ops(out)
    assert opt.get("QLinearConv") == 3 and opt.get("Conv", 0) + opt.get("FusedConv", 0) == 2
    # int8 activations: x86 ORT runs these convs as integer kernels only when allowed
    s8 = tmp_path / "s8.onnx"
    ptq.quantize_model(tiny / "net.onnx", s8, tiny / "calib", samples=4, activation_type="int8")
    opt = kernels.optimized_ops(s8, config={"session.qdqisint8allowed": "1"})
    assert opt.get("QLinearConv") == 5 and "Conv" not in opt
    model = onnx.load(str(out))
    with pytest.raises(Exception, match="not 'first'"):
        ptq.resolve_exclusions(model, ["nope"])
    assert ptq.resolve_exclusions(model, ["resize"]) == [
        n.name for n in model.graph.node if n.op_type == "Resize"
    ]


def test_fp16_and_dynamic(tiny, tmp_path, capsys):
    xs = val_inputs(tiny)[:3]
    ref = outputs(tiny / "net.onnx", xs)
    fp16 = tmp_path / "h.onnx"
    assert main(["quantize", str(tiny / "net.onnx"), "--format", "fp16", "-o", str(fp16)]) == 0
    m = onnx.load(str(fp16))
    assert m.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in m.graph.initializer)
    assert sensitivity.output_error(ref, outputs(fp16, xs))["agreement"] > 0.99
    dyn = tmp_path / "d.onnx"
    assert main(["quantize", str(tiny / "net.onnx"), "--format", "dynamic", "-o", str(dyn)]) == 0
    assert kernels.optimized_ops(dyn).get("ConvInteger") == 5
    assert sensitivity.output_error(ref, outputs(dyn, xs))["agreement"] > 0.9
    assert ModelCard.load(dyn.with_suffix(".json")).name == "tiny-dynamic"


class Outlier(nn.Module):
    """'mix' reads a tensor with one huge, useless channel: quantizing its input ruins it."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 1)
        self.mix = nn.Conv2d(8, 4, 1)
        self.head = nn.Conv2d(4, 4, 1)
        with torch.no_grad():
            self.stem.weight.normal_(0, 0.01)
            self.stem.bias.zero_()
            self.stem.weight[0] = 0
            self.stem.bias[0] = 1000.0  # constant huge channel
            self.mix.weight.normal_(0, 1)
            self.mix.weight[:, 0] = 0
            self.mix.bias.zero_()
            self.head.bias.zero_()

    def forward(self, x):
        return self.head(self.mix(self.stem(x)))


def test_sensitivity_finds_the_sensitive_layer(tmp_path, capsys):
    torch.manual_seed(0)
    export(Outlier(), tmp_path / "o.onnx")
    ModelCard(name="o", classes=list("abcd"), input_size=[W, H]).save(tmp_path / "o.json")
    calib = images(tmp_path / "calib", n=4)
    report = tmp_path / "sens.json"
    rc = main(
        [
            "quantize",
            str(tmp_path / "o.onnx"),
            "--calib",
            str(calib),
            "--sensitivity",
            str(report),
            "--eval-samples",
            "2",
        ]
    )
    assert rc == 0
    rep = json.loads(report.read_text())
    # ORT quantizes a conv's input and output tensors, so the outlier tensor between stem
    # and mix is quantized whichever of the two is: both rank worst, both must stay float.
    assert {r["node"] for r in rep["layers"][:2]} == {"/stem/Conv", "/mix/Conv"}
    assert rep["layers"][2]["agreement"] > rep["layers"][0]["agreement"] + 0.3
    assert {"/stem/Conv", "/mix/Conv"} <= set(rep["suggested_exclude"])
    assert rep["suggested_agreement"] > rep["full_int8"]["agreement"] + 0.3
    assert "suggested: --exclude" in capsys.readouterr().out
    assert not (tmp_path / "o-int8.onnx").exists()  # analysis only without -o


def _cli(args, capsys):
    rc = main(["quantize", *map(str, args)])
    return rc, capsys.readouterr().err


def test_errors_are_one_line_and_leave_nothing(tiny, tmp_path, capsys):
    model = tiny / "net.onnx"
    out = tmp_path / "out.onnx"
    empty = tmp_path / "empty"
    empty.mkdir()
    rc, err = _cli([model, "--calib", empty, "-o", out], capsys)
    assert rc == 2 and "no calibration images" in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.jpg").write_bytes(b"not a jpeg")
    rc, err = _cli([model, "--calib", bad, "-o", out], capsys)
    assert rc == 2 and "could be read" in err
    rc, err = _cli([model, "--calib", tmp_path / "missing", "-o", out], capsys)
    assert rc == 2 and "not found" in err
    notmodel = tmp_path / "m.onnx"
    notmodel.write_text("hello")
    rc, err = _cli([notmodel, "--calib", tiny / "calib", "-o", out], capsys)
    assert rc == 3 and "not a readable ONNX model" in err
    # card says one size, the graph another
    (tmp_path / "sz.onnx").write_bytes((tiny / "net.onnx").read_bytes())
    ModelCard(name="sz", classes=list("abcde"), input_size=[64, 64]).save(tmp_path / "sz.json")
    rc, err = _cli([tmp_path / "sz.onnx", "--calib", tiny / "calib", "-o", out], capsys)
    assert rc == 3 and "input size mismatch" in err
    # nothing quantizable: a graph of one Relu
    from onnx import TensorProto, helper

    g = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="r")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, H, W])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, H, W])],
    )
    onnx.save(
        helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8),
        tmp_path / "relu.onnx",
    )
    rc, err = _cli([tmp_path / "relu.onnx", "--calib", tiny / "calib", "-o", out], capsys)
    assert rc == 3 and "could be quantized" in err
    rc, err = _cli([model, "-o", out], capsys)
    assert rc == 4 and "--calib" in err
    assert not out.exists() and not out.with_suffix(".json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # existing output kept without --overwrite; the input is never the output
    out.write_bytes(b"keep")
    rc, err = _cli([model, "--calib", tiny / "calib", "-o", out], capsys)
    assert rc == 5 and out.read_bytes() == b"keep"
    rc, err = _cli([model, "--calib", tiny / "calib", "-o", model, "--overwrite"], capsys)
    assert rc == 5 and "input" in err


def test_calibration_sources(tiny, tmp_path):
    cam = tmp_path / "camvid"
    images(cam / "train", n=5)
    images(cam / "val", n=3)
    assert len(calibration.list_calibration_images(f"camvid:{cam}")) == 5
    assert len(calibration.list_calibration_images(f"camvid:{cam}:val")) == 3
    assert len(calibration.list_calibration_images(str(cam / "*" / "*.png"))) == 8
    dav = tmp_path / "davis"
    images(dav / "JPEGImages" / "bear", n=2)
    images(dav / "JPEGImages" / "car", n=2)
    (dav / "ImageSets").mkdir()
    (dav / "ImageSets" / "train.txt").write_text("bear\n")
    assert len(calibration.list_calibration_images(f"davis:{dav}")) == 2
    assert (
        calibration.pick_evenly(list(range(10)), 3) == [0, 4, 9]
        or len(calibration.pick_evenly(list(range(10)), 3)) == 3
    )
    x = preprocess.card_preprocessor(
        ModelCard(name="n", input_size=[W, H], layout="nhwc", prev_mask_input=True)
    )(np.zeros((10, 20, 3), np.uint8))
    assert x.shape == (1, H, W, 4) and x.dtype == np.float32
