import numpy as np
import pytest

from liveseg.data import build_dataset
from liveseg.data.datasets import read_dataset
from liveseg.errors import ConfigError, InputError
from tests.helpers.datasets import make_camvid, make_folder


def _folder(tmp_path):
    # classes: 0 background, 1 thing, 2 stuff, 3 other
    return make_folder(tmp_path / "f", n=10, num_classes=4)


def _labels(ds):
    return [ds.read(i)[1] for i in range(len(ds))]


def test_class_map_file_remaps_every_label(tmp_path):
    root = _folder(tmp_path)
    (root / "map.txt").write_text(
        "# src dst\n0 0  # background\n1 1\n2 0  # stuff -> background\n3 ignore\n"
    )
    plain = build_dataset("folder", root, "train", cache=False)
    mapped = build_dataset("folder", root, "train", cache=False, class_map="map.txt")
    assert mapped.info.classes == ["background", "thing"]  # named after the first source
    assert "remapped by map.txt" in mapped.info.training_data
    seen = set()
    for raw, new in zip(_labels(plain), _labels(mapped), strict=True):
        expect = np.choose(raw, [0, 1, 0, 255]).astype(np.uint8)
        np.testing.assert_array_equal(new, expect)
        seen |= set(np.unique(raw).tolist())
    assert seen >= {0, 1, 2, 3}  # the fixture exercises every branch of the map


def test_class_names_voc_list_and_file(tmp_path):
    root = _folder(tmp_path)
    voc = read_dataset(
        "folder", root, "train", class_map={0: 0, 1: 15, 2: 0, 3: 0}, class_names="voc"
    )[1]
    assert (
        voc.num_classes == 21 and voc.classes[15] == "person" and voc.palette[15] == [192, 128, 128]
    )
    named = read_dataset(
        "folder", root, "train", class_map={0: 0, 1: 1, 2: 1, 3: 0}, class_names=["bg", "fg"]
    )[1]
    assert named.classes == ["bg", "fg"]
    (root / "new.txt").write_text("bg 0 0 0\nfg 255 0 0\n")
    filed = read_dataset(
        "folder", root, "train", class_map={0: 0, 1: 1, 2: 1, 3: 0}, class_names="new.txt"
    )[1]
    assert filed.classes == ["bg", "fg"] and filed.palette[1] == [255, 0, 0]


def test_class_map_composes_with_the_readers_table(tmp_path):
    """CamVid's reader already maps void (11) to ignore; the class map works on its ids."""
    root = make_camvid(tmp_path / "camvid")
    cmap = {i: (1 if i in (8, 9, 10) else 0) for i in range(11)}  # movers vs the rest
    plain = build_dataset("camvid", root, "train", cache=False)
    mapped = build_dataset(
        "camvid", root, "train", cache=False, class_map=cmap, class_names=["static", "mover"]
    )
    for raw, new in zip(_labels(plain), _labels(mapped), strict=True):
        expect = np.where(raw == 255, 255, np.isin(raw, [8, 9, 10]).astype(np.uint8))
        np.testing.assert_array_equal(new, expect)


@pytest.mark.parametrize(
    "cmap, err, match",
    [
        ({0: 0, 1: 1, 2: 0}, ConfigError, r"classes \[3\].*not mapped"),
        ({0: 0, 1: 1, 2: 0, 3: 0, 7: 1}, ConfigError, r"ids \[7\] are not classes"),
        ({0: 0, 1: 1, 2: 0, 3: 0}, ConfigError, "has 1 names"),
        ("nope.txt", InputError, "class map not found"),
    ],
)
def test_class_map_errors(tmp_path, cmap, err, match):
    root = _folder(tmp_path)
    names = ["only"] if cmap == {0: 0, 1: 1, 2: 0, 3: 0} else None
    with pytest.raises(err, match=match):
        read_dataset("folder", root, "train", class_map=cmap, class_names=names)


def test_class_map_file_syntax_errors(tmp_path):
    root = _folder(tmp_path)
    for text, match in (
        ("0 0 0\n", "expected 'SRC DST'"),
        ("0 x\n", "must be integers"),
        ("0 0\n0 1\n", "mapped twice"),
        ("# nothing\n", "empty"),
    ):
        (root / "bad.txt").write_text(text)
        with pytest.raises(InputError, match=match):
            read_dataset("folder", root, "train", class_map="bad.txt")
    with pytest.raises(ConfigError, match="needs class_map"):
        read_dataset("folder", root, "train", class_names="voc")


def test_folder_val_every_splits_without_lists(tmp_path):
    root = _folder(tmp_path)
    tr = read_dataset("folder", root, "train", val_every=3)[0]
    va = read_dataset("folder", root, "val", val_every=3)[0]
    assert [s.name for s in va] == ["im00", "im03", "im06", "im09"]
    assert len(tr) == 6 and not {s.name for s in tr} & {s.name for s in va}
    with pytest.raises(ConfigError, match="val_every"):
        read_dataset("folder", root, "train", val_every=1)
    with pytest.raises(ConfigError, match="'train' and 'val'"):
        read_dataset("folder", root, "test", val_every=3)
