import pytest

from liveseg.atomic import atomic_output, write_text_atomic


def test_success_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_failure_keeps_the_old_file_and_removes_the_temp(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_text("good")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            assert tmp.suffix == ".onnx" and tmp.parent == tmp_path
            tmp.write_text("half")
            raise RuntimeError("writer died")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
