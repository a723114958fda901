"""Image inputs that used to crash or leave things behind (issue 13): headers declaring huge
sizes, libpng's own stderr line, absurd --input-size, a bad image inside a folder."""

import json
import struct
import zlib

import cv2
import numpy as np
import pytest

import liveseg
from liveseg.cli import main
from liveseg.errors import ConfigError, InputError
from liveseg.imageheader import image_size
from liveseg.images import read_image
from tests.helpers.videos import make_video, tiny_onnx


def _chunk(kind, data):
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_declaring(w, h) -> bytes:
    """A PNG whose header declares w x h but whose data is a few bytes."""
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 100))
        + _chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    return {"dir": d, "model": tiny_onnx(d / "tiny.onnx")}


def _run(capfd, *argv):
    code = main(["run", *map(str, argv)])
    out, err = capfd.readouterr()  # fd level: catches what libpng prints by itself
    return code, out, err


def _one_line(err):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_header_sizes_of_every_format():
    img = np.random.default_rng(0).integers(0, 255, (37, 53, 3), np.uint8)
    for ext in (".png", ".jpg", ".bmp", ".webp", ".tif", ".ppm"):
        ok, buf = cv2.imencode(ext, img)
        assert ok and image_size(buf.tobytes()) == (53, 37), ext
    ok, buf = cv2.imencode(".pgm", img[:, :, 0])
    assert image_size(buf.tobytes()) == (53, 37)
    assert image_size(png_declaring(40000, 40000)) == (40000, 40000)
    assert image_size(b"not an image") is None and image_size(b"") is None


def test_huge_png_header_is_refused_before_decoding(env, tmp_path, capfd):
    big = tmp_path / "huge.png"
    big.write_bytes(png_declaring(40000, 40000))
    code, _, err = _run(capfd, big, "-o", tmp_path / "out.png", "--model", env["model"])
    line = _one_line(err)
    assert code == 2 and "40000x40000" in line and "megapixels" in line, line
    assert "cv2.error" not in err and not (tmp_path / "out.png").exists()


def test_huge_jpeg_header_is_refused_before_decoding(tmp_path):
    _, buf = cv2.imencode(".jpg", np.full((16, 16, 3), 100, np.uint8))
    data = bytearray(buf.tobytes())
    i = data.index(b"\xff\xc0")  # baseline frame header: length(2) precision(1) height width
    data[i + 5 : i + 9] = struct.pack(">HH", 60000, 60000)
    p = tmp_path / "huge.jpg"
    p.write_bytes(bytes(data))
    with pytest.raises(InputError, match="60000x60000"):
        read_image(p)


def test_background_shares_the_reader(env, tmp_path, capfd):
    video = make_video(tmp_path / "in.mp4", n=3, audio=False)
    big = tmp_path / "beach.png"
    big.write_bytes(png_declaring(40000, 40000))
    code, _, err = _run(
        capfd,
        video,
        "-o",
        tmp_path / "o.mp4",
        "--model",
        env["model"],
        "--effect",
        "replace",
        "--background",
        big,
    )
    line = _one_line(err)
    assert code == 2 and "--background" in line and "40000x40000" in line, line


def test_libpng_complaint_is_part_of_the_one_line(env, tmp_path, capfd):
    bad = tmp_path / "truncated.png"
    bad.write_bytes(png_declaring(3000, 2000))  # header fine, pixel data missing
    code, _, err = _run(capfd, bad, "-o", tmp_path / "out.png", "--model", env["model"])
    line = _one_line(err)  # no separate "libpng error: ..." line before it
    assert code == 2 and line.startswith("liveseg run: error:") and "not a readable image" in line
    assert "Not enough image data" in line


def _dynamic_onnx(path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "H", "W"])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2, "H", "W"])
    w = numpy_helper.from_array(np.ones((2, 3, 1, 1), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "w"], ["logits"])], "dyn", [x], [y], [w]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_absurd_input_size_is_bounded(tmp_path, capfd):
    model = _dynamic_onnx(tmp_path / "dyn.onnx")
    code = main(["info", str(model), "--input-size", "100000x100000"])
    _, err = capfd.readouterr()
    line = _one_line(err)
    assert code == 4 and "100000x100000 is too large" in line, line
    assert main(["info", str(model), "--input-size", "512x384", "--json"]) == 0
    assert json.loads(capfd.readouterr()[0])["io"]["input_size"] == [512, 384]
    with pytest.raises(ConfigError, match="too large"):
        liveseg.load(str(model), input_size=(20000, 300))


def test_a_bad_image_in_a_folder_is_skipped_and_reported(env, tmp_path, capfd):
    src = tmp_path / "photos"
    src.mkdir()
    for name in ("a", "b", "d"):
        cv2.imwrite(str(src / f"{name}.png"), np.full((30, 40, 3), 220, np.uint8))
    (src / "c.png").write_bytes(b"this is not a png")
    out, masks, stats = tmp_path / "seg", tmp_path / "masks", tmp_path / "s.json"
    code, so, err = _run(
        capfd, src, "-o", out, "--save-masks", masks, "--stats", stats, "--model", env["model"]
    )
    line = _one_line(err)
    assert code == 2 and "skipped" in line and "c.png" in line, line
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "d.png"]
    assert sorted(p.name for p in masks.iterdir()) == ["a.png", "b.png", "d.png"]
    s = json.loads(stats.read_text())
    assert s["frames"] == 3 and s["decode_errors"] == 1
    assert [x["path"] for x in s["skipped"]] == [str(src / "c.png")]
    assert "skipped 1 unreadable image(s): c.png" in so
    # fixed image, re-run into the same folders
    cv2.imwrite(str(src / "c.png"), np.full((30, 40, 3), 220, np.uint8))
    code, _, err = _run(
        capfd,
        src,
        "-o",
        out,
        "--save-masks",
        masks,
        "--stats",
        stats,
        "--model",
        env["model"],
        "--overwrite",
        "--quiet",
    )
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png", "d.png"]


def test_a_folder_of_only_bad_images_is_one_line_and_leaves_no_folder(env, tmp_path, capfd):
    src = tmp_path / "photos"
    src.mkdir()
    (src / "x.png").write_bytes(b"nope")
    (src / "y.jpg").write_bytes(b"nope")
    code, _, err = _run(capfd, src, "-o", tmp_path / "seg", "--model", env["model"])
    line = _one_line(err)
    assert code == 2 and "no readable images" in line, line
    assert not (tmp_path / "seg").exists()
