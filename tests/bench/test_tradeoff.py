"""`liveseg bench tradeoff` on generated data and tiny ONNX models (no timing thresholds)."""

import json
import os
from pathlib import Path

import pytest

from liveseg.bench.pareto import pareto_front
from liveseg.cli import main
from tests.helpers.datasets import make_folder
from tests.helpers.models import fixture_card, make_qdq_model, make_seg_model, write_card


@pytest.fixture
def setup(tmp_path):
    data = make_folder(tmp_path / "data", n=6, h=32, w=32, num_classes=4)
    dyn = make_seg_model(tmp_path / "dyn.onnx", size=None)  # float32, any input size
    write_card(dyn, fixture_card("dyn", input_size=[32, 32]))
    fixed = make_seg_model(tmp_path / "fixed.onnx", size=(32, 32))
    q = make_qdq_model(fixed, tmp_path / "q8.onnx")  # a third-party style int8 file
    write_card(q, fixture_card("q8", input_size=[32, 32]))
    return tmp_path, data, dyn, q


def _args(tmp_path, data, *models, **kw):
    args = [
        "bench",
        "tradeoff",
        "--data",
        f"folder:{data}",
        "--engine",
        "onnxruntime",
        "--threads",
        "1",
        "--frames",
        "4",
        "--repeats",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--workdir",
        str(tmp_path / "work"),
    ]
    for m in models:
        args += ["--model", str(m)]
    for k, v in kw.items():
        args += [f"--{k}", v]
    return args


def test_sweep_writes_table_json_and_plot(setup, capsys):
    pytest.importorskip("matplotlib")
    tmp_path, data, dyn, q = setup
    rc = main(
        _args(
            tmp_path,
            data,
            dyn,
            q,
            sizes="32x32,48x32",
            precisions="fp32,int8",
            temporal="off,fixed:2",
        )
    )
    out, err = capsys.readouterr()
    assert rc == 0, err
    payload = json.loads((tmp_path / "out" / "tradeoff.json").read_text())
    assert (tmp_path / "out" / "tradeoff.png").stat().st_size > 0
    got = {(r["model"], r["precision"], r["size"], r["temporal"]) for r in payload["rows"]}
    want = {
        (str(dyn), p, s, t)
        for p in ("fp32", "int8")
        for s in ("32x32", "48x32")
        for t in ("off", "fixed:2")
    }
    # the int8 file has a fixed input: it runs at 48x32 as --input-size runs it (its graph
    # rewritten, liveseg.runtime.input_resize); it has no fp32 version: skipped with a note
    want |= {(str(q), "int8", s, t) for s in ("32x32", "48x32") for t in ("off", "fixed:2")}
    assert got == want
    notes = " ".join(payload["notes"])
    assert "fp32 skipped" in notes
    assert (tmp_path / "work" / "dyn-int8.onnx").is_file()  # built from the float file
    for r in payload["rows"]:
        assert 0.0 <= r["miou"] <= 1.0 and r["fps"] > 0 and len(r["fps_runs"]) == 1
        assert r["inferred_share"] == (1.0 if r["temporal"] == "off" else 0.5)
    assert any(r["pareto"] for r in payload["rows"])
    assert "| model | precision | input |" in out and "note:" in out
    base = next(
        r
        for r in payload["rows"]
        if r["model"] == str(dyn)
        and r["precision"] == "fp32"
        and r["size"] == "32x32"
        and r["temporal"] == "off"
    )
    assert base["images"] == 2
    # results are kept unless --overwrite
    assert main(_args(tmp_path, data, dyn, sizes="32x32", precisions="fp32", temporal="off")) == 5


@pytest.mark.parametrize(
    "flags, code, words",
    [
        ({"precisions": "fp32,int4"}, 4, "--precisions"),
        ({"temporal": "fixed:0"}, 4, "fixed"),
        ({"threads": "1,x"}, 4, "--threads"),
        ({"sizes": "big"}, 4, "--sizes"),
    ],
)
def test_bad_grid_is_one_line(setup, capsys, flags, code, words):
    tmp_path, data, dyn, _ = setup
    assert main(_args(tmp_path, data, dyn, **flags)) == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err
    assert not (tmp_path / "out" / "tradeoff.json").exists()


def test_bad_model_data_or_nothing_to_measure(setup, capsys):
    tmp_path, data, dyn, q = setup
    assert main(_args(tmp_path, data, tmp_path / "nope.onnx")) == 3
    assert (
        main(
            _args(tmp_path, data, dyn)[:3]
            + ["camvid:" + str(tmp_path / "none")]
            + _args(tmp_path, data, dyn)[4:]
        )
        != 0
    )
    assert main(_args(tmp_path, data, q, precisions="fp16")) == 4  # nothing applies
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "nothing to measure" in err[-1] and "fp16 skipped" in err[-1]


def test_pareto_front():
    pts = [(10, 0.5), (20, 0.4), (5, 0.6), (8, 0.45), (20, 0.3)]
    assert pareto_front(pts) == [True, True, True, False, False]


def _liveseg_float(path, size=(32, 32)):
    """A float ONNX model exported by liveseg at a fixed size, its card naming the network."""
    torch = pytest.importorskip("torch")
    from liveseg.card import ModelCard
    from liveseg.export.onnx_export import export_onnx
    from liveseg.models import create_model

    torch.manual_seed(0)
    options = {"width_mult": 0.75}
    net = create_model("lraspp_mobilenetv3_small", num_classes=4, **options).eval()
    card = ModelCard(
        name=path.stem,
        classes=[f"c{i}" for i in range(4)],
        input_size=list(size),
        architecture="lraspp_mobilenetv3_small",
        architecture_options=options,
    )
    return export_onnx(net, path, size, card=card)


def test_sizes_run_fixed_files_as_input_size_does(setup):
    """A fixed-size file runs at another size as `--input-size` runs it: its graph rewritten
    (liveseg.runtime.input_resize; the copy in the user cache), same weights and int8 ranges."""
    tmp_path, data, _, q = setup
    fixed = _liveseg_float(tmp_path / "net.onnx")
    rc = main(
        _args(tmp_path, data, fixed, q, sizes="32x32,48x32", precisions="fp32,int8", temporal="off")
    )
    assert rc == 0
    payload = json.loads((tmp_path / "out" / "tradeoff.json").read_text())
    got = {(r["model"], r["precision"], r["size"]) for r in payload["rows"]}
    want = {(str(fixed), p, s) for p in ("fp32", "int8") for s in ("32x32", "48x32")}
    assert got == want | {(str(q), "int8", s) for s in ("32x32", "48x32")}
    rows = {(r["precision"], r["size"]): r for r in payload["rows"] if r["model"] == str(fixed)}
    assert rows[("fp32", "32x32")]["file"] == str(fixed)  # its own size: the file as it is
    cache = Path(os.environ["LIVESEG_CACHE_DIR"]) / "resized"
    at48 = Path(rows[("fp32", "48x32")]["file"])
    assert at48.parent == cache and at48.name.startswith("net-48x32-")
    card = json.loads(at48.with_suffix(".json").read_text())
    assert card["input_size"] == [48, 32] and card["architecture"] == "lraspp_mobilenetv3_small"
    int8_48 = Path(rows[("int8", "48x32")]["file"])  # the int8 file built here, rewritten
    assert int8_48.parent == cache and int8_48.name.startswith("net-int8-48x32-")


def test_sizes_of_a_shipped_model(setup, monkeypatch):
    from liveseg import zoo
    from liveseg.quant.fp16 import convert_fp16

    tmp_path, data, _, _ = setup
    shipped = tmp_path / "zoo"
    shipped.mkdir()
    fp32 = _liveseg_float(tmp_path / "tiny-32x32.onnx")
    convert_fp16(fp32, shipped / "tiny-32x32-fp16.onnx")  # shipped as fp16 only
    monkeypatch.setattr(zoo, "ZOO_DIR", shipped)
    rc = main(
        _args(tmp_path, data, "tiny-32x32", sizes="48x32", precisions="fp32,fp16", temporal="off")
    )
    assert rc == 0
    payload = json.loads((tmp_path / "out" / "tradeoff.json").read_text())
    assert {(r["precision"], r["size"]) for r in payload["rows"]} == {("fp16", "48x32")}
    assert Path(payload["rows"][0]["file"]).name.startswith("tiny-32x32-fp16-48x32-")
    assert "fp32 skipped (shipped as fp16 only)" in " ".join(payload["notes"])
