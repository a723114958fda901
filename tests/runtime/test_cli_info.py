"""`liveseg info`: detection table, --json, cards, and one clear line for every bad model."""

import json
import subprocess
import sys

import pytest

from liveseg.cli import main
from liveseg.runtime import load_model
from tests.helpers.models import (
    COLOR_CLASSES,
    embed_card,
    fixture_card,
    make_seg_model,
    make_unsupported_io_model,
    not_a_model,
    text_as_onnx,
    truncated_model,
    write_card,
)


def _info(capsys, *argv):
    code = main(["info", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_info_table(tmp_path, capsys):
    path = make_seg_model(tmp_path / "m.onnx", output="argmax_int32_flat", size=None, out_stride=2)
    code, out, err = _info(capsys, path, "--input-size", "64x48")
    assert code == 0, err
    for text in (
        "auto-detected",
        "nchw",
        "64x48 (dynamic)",
        "labels",
        "imagenet",
        "[from default]",
        "class0",
        "onnxruntime",
    ):
        assert text in out, text


def test_info_json(tmp_path, capsys):
    path = make_seg_model(tmp_path / "m.onnx", layout="nhwc", output="softmax", norm="-1_1")
    code, out, _ = _info(
        capsys,
        path,
        "--json",
        "--mean",
        "0.5,0.5,0.5",
        "--std",
        "0.5,0.5,0.5",
        "--classes",
        ",".join(COLOR_CLASSES),
        "--threads",
        "1",
    )
    assert code == 0
    d = json.loads(out)
    assert d["card_source"] == "auto-detected"
    assert d["io"]["layout"] == "nhwc" and d["io"]["output_kind"] == "probs"
    assert d["io"]["norm"] == "[-1,1]" and d["io"]["norm_source"] == "override"
    assert d["io"]["classes"] == COLOR_CLASSES and d["card"]["classes"] == COLOR_CLASSES
    assert d["engine"]["threads"] == 1 and d["engine"]["engine"] == "onnxruntime"


def test_card_beside_and_in_metadata(tmp_path, capsys):
    path = make_seg_model(tmp_path / "m.onnx", norm="-1_1")
    card = fixture_card(
        "colors", mean=[0.5] * 3, std=[0.5] * 3, license="MIT", training_data="synthetic colours"
    )
    embed_card(path, card)
    m = load_model(path)
    assert m.card_source == "onnx metadata" and m.card.name == "colors"
    assert m.io.norm_source == "card" and m.io.norm == "[-1,1]"
    # JSON beside the file wins over the metadata.
    write_card(
        path, fixture_card("json-card", mean=[0.5] * 3, std=[0.5] * 3, classes=["k", "r", "g", "b"])
    )
    m = load_model(path)
    assert m.card_source.startswith("json") and m.card.classes == ["k", "r", "g", "b"]
    code, out, _ = _info(capsys, path, "--json")
    assert json.loads(out)["card"]["name"] == "json-card"


def test_card_with_wrong_class_count_is_one_line(tmp_path, capsys):
    path = make_seg_model(tmp_path / "m.onnx")
    write_card(path, fixture_card("bad", classes=["a", "b"]))
    code, out, err = _info(capsys, path)
    assert code == 3 and err.count("\n") == 1 and "2 classes" in err


def test_broken_card_json_is_one_line(tmp_path, capsys):
    path = make_seg_model(tmp_path / "m.onnx")
    (tmp_path / "m.json").write_text("{not json")
    code, _, err = _info(capsys, path)
    assert code != 0 and err.count("\n") == 1 and "m.json" in err


def _bad_files(tmp_path):
    good = make_seg_model(tmp_path / "good.onnx")
    return {
        "missing": tmp_path / "nope.onnx",
        "random_bytes": not_a_model(tmp_path / "rand.onnx"),
        "text_as_onnx": text_as_onnx(tmp_path / "text.onnx"),
        "truncated": truncated_model(good, tmp_path / "trunc.onnx"),
        "empty": (tmp_path / "empty.onnx").write_bytes(b"") and None or tmp_path / "empty.onnx",
        "two_inputs": make_unsupported_io_model(tmp_path / "two.onnx", "two_inputs"),
        "vector_output": make_unsupported_io_model(tmp_path / "vec.onnx", "vector_output"),
        "no_channel_dim": make_unsupported_io_model(tmp_path / "noch.onnx", "no_channel_dim"),
        "directory": tmp_path,
        "unknown_extension": text_as_onnx(tmp_path / "model.weights"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "random_bytes",
        "text_as_onnx",
        "truncated",
        "empty",
        "two_inputs",
        "vector_output",
        "no_channel_dim",
        "directory",
        "unknown_extension",
    ],
)
def test_bad_models_are_one_clear_line(tmp_path, capsys, case):
    path = _bad_files(tmp_path)[case]
    code, out, err = _info(capsys, path)
    assert code != 0
    assert err.startswith("liveseg info: error: ")
    assert err.count("\n") == 1, err
    assert "Traceback" not in err


def test_unsupported_io_messages_say_what_was_found(tmp_path, capsys):
    files = _bad_files(tmp_path)
    _, _, err = _info(capsys, files["no_channel_dim"])
    assert "[1,7,32,32]" in err and "--layout" in err
    _, _, err = _info(capsys, files["vector_output"])
    assert "[1, 3]" in err and "outputs" in err
    _, _, err = _info(capsys, files["two_inputs"])
    assert "2 inputs" in err


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--input-size", "big"], "--input-size"),
        (["--mean", "1,2"], "--mean"),
        (["--mean", "123.7,116.3,103.5"], "pixel/255"),
        (["--std", "0,0.2,0.2"], "--std"),
        (["--layout", "chw"], "--layout"),
        (["--classes", "a,,b"], "--classes"),
        (["--threads", "-2"], "--threads"),
        (["--engine", "tensorrt"], "--engine"),
        (["--classes", "a,b"], "--classes names 2"),
    ],
)
def test_bad_flag_values_are_config_errors(tmp_path, capsys, flags, needle):
    path = make_seg_model(tmp_path / "m.onnx")
    code, _, err = _info(capsys, path, *flags)
    assert code == 4, err
    assert needle in err and err.count("\n") == 1


def test_input_size_of_a_fixed_model_that_cannot_be_rewritten_is_a_config_error(tmp_path, capsys):
    path = make_seg_model(tmp_path / "m.onnx", layout="nhwc")  # rewriting takes NCHW graphs
    code, _, err = _info(capsys, path, "--input-size", "64x64")
    assert code == 4, err
    assert "fixed at 32x32" in err and err.count("\n") == 1


def test_cli_subprocess_exit_code_and_no_traceback(tmp_path):
    bad = text_as_onnx(tmp_path / "m.onnx")
    r = subprocess.run(
        [sys.executable, "-m", "liveseg", "info", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 3
    assert r.stderr.strip().count("\n") == 0 and "not a usable ONNX model" in r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "liveseg", "info", str(bad), "--debug"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode != 0 and "Traceback" in r.stderr
