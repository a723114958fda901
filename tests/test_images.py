"""liveseg.images: the one list of image suffixes and the one image reader, and the one clip
writer (liveseg.video.sinks.write_video)."""

import cv2
import numpy as np
import pytest

from liveseg.errors import InputError
from liveseg.images import IMAGE_EXTS, MAX_IMAGE_PIXELS, is_image_path, read_image


def test_suffixes_cover_what_opencv_reads():
    for ext in (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"):
        assert ext in IMAGE_EXTS
        assert is_image_path(f"a/B{ext.upper()}")
    assert not is_image_path("clip.mp4") and not is_image_path("folder")


@pytest.mark.parametrize("ext", [".png", ".pgm", ".bmp"])
def test_every_layout_becomes_rgb(tmp_path, ext):
    gray = np.arange(12 * 10, dtype=np.uint8).reshape(12, 10)
    cv2.imwrite(str(tmp_path / f"g{ext}"), gray)
    img = read_image(tmp_path / f"g{ext}")
    assert img.shape == (12, 10, 3) and img.dtype == np.uint8
    assert np.array_equal(img[..., 0], gray)


def test_bgr_file_reads_as_rgb(tmp_path):
    bgr = np.zeros((4, 4, 3), np.uint8)
    bgr[..., 0] = 200  # blue in OpenCV's order
    cv2.imwrite(str(tmp_path / "b.png"), bgr)
    assert read_image(tmp_path / "b.png")[0, 0].tolist() == [0, 0, 200]


def test_failures_are_one_line_naming_the_file(tmp_path):
    cases = {"missing.png": None, "empty.png": b"", "junk.jpg": b"not an image at all"}
    for name, data in cases.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError) as e:
            read_image(tmp_path / name, "--background")
        assert "\n" not in str(e.value) and name in str(e.value)
        assert "--background" in str(e.value)


def test_huge_header_is_refused_before_decoding(tmp_path):
    side = int(MAX_IMAGE_PIXELS**0.5) + 64
    (tmp_path / "big.pgm").write_bytes(f"P5\n{side} {side}\n255\n".encode() + b"\0" * 16)
    with pytest.raises(InputError, match="megapixels"):
        read_image(tmp_path / "big.pgm")


def test_write_video_is_the_pipelines_writer(tmp_path):
    import av

    from liveseg.video.sinks import write_video

    frames = [np.full((47, 63, 3), 10 * i, np.uint8) for i in range(5)]  # odd sizes
    out = write_video(tmp_path / "c.mp4", frames, fps=10, crf=18)
    assert out == tmp_path / "c.mp4" and sorted(p.name for p in tmp_path.iterdir()) == ["c.mp4"]
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264" and (s.width, s.height) == (64, 48)
        assert sum(1 for _ in c.decode(s)) == 5


def test_write_video_leaves_nothing_when_frames_fail(tmp_path):
    from liveseg.video.sinks import write_video

    def frames():
        yield np.zeros((16, 16, 3), np.uint8)
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError):
        write_video(tmp_path / "c.mp4", frames())
    assert list(tmp_path.iterdir()) == []
