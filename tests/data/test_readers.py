import numpy as np
import pytest

from liveseg.data import build_dataset, davis_clips
from liveseg.data.datasets import cityscapes_train_to_label_ids
from liveseg.data.transforms import TrainTransform, ValTransform
from liveseg.errors import ConfigError, InputError
from tests.helpers.datasets import (
    make_camvid,
    make_cityscapes,
    make_davis2016,
    make_davis2017,
    make_folder,
    make_voc,
    write_mask,
    write_rgb,
)


def test_camvid_void_to_ignore_and_cache(tmp_path):
    root = make_camvid(tmp_path / "camvid")
    ds = build_dataset("camvid", root, "train")
    assert len(ds) == 4 and ds.info.num_classes == 11 and ds.cached_bytes() > 0
    img, mask = ds.load(0)
    assert img.shape == (24, 32, 3) and img.dtype == np.uint8
    assert set(np.unique(mask[0])) == {255} and mask[1:].max() <= 10
    assert len(build_dataset("camvid", root, "trainval", cache=False)) == 6
    item = ds[0]
    assert (
        tuple(item["image"].shape) == (3, 24, 32) and item["mask"].dtype.is_floating_point is False
    )


def test_davis2016_held_out_clips(tmp_path):
    root = make_davis2016(tmp_path / "davis")
    tr = build_dataset("davis2016", root, "train", val_clips=["b"])
    va = build_dataset("davis2016", root, "val", val_clips=["b"])
    assert sorted(set(tr.groups())) == ["a", "c"] and set(va.groups()) == {"b"}
    _, m = va.load(0)
    assert set(np.unique(m)) <= {0, 1} and m.max() == 1  # 255 -> 1
    assert va.info.task == "foreground" and "CC BY-NC" in va.info.license
    with pytest.raises(ConfigError, match="zzz"):
        build_dataset("davis2016", root, "val", val_clips=["zzz"])
    clips = davis_clips(root, "train")
    assert list(clips) == ["a", "b", "c"] and [s.name for s in clips["a"]][:2] == [
        "a/00000",
        "a/00001",
    ]


def test_davis2017_nested_resolution_and_palette_masks(tmp_path):
    root = make_davis2017(tmp_path / "d17")
    ds = build_dataset("davis2017", root, "val")
    assert len(ds) == 3
    _, m = ds.load(0)
    assert set(np.unique(m)) == {0, 1}  # both objects are foreground
    clips = davis_clips(root, "train", year=2017)
    assert list(clips) == ["x", "y"]


def test_voc_palette_indices_and_sbd_list(tmp_path):
    root = make_voc(tmp_path / "voc", aug=True)
    tr = build_dataset("voc", root, "train")
    assert len(tr) == 2 and tr.info.num_classes == 21
    _, m = tr.load(0)
    assert m[:, 0].tolist() == [255] * 24 and m.max(initial=0) <= 255
    assert len(build_dataset("voc", root, "train", aug=True)) == 3


def test_cityscapes_label_ids_to_train_ids_and_back(tmp_path):
    root = make_cityscapes(tmp_path / "cs")
    ds = build_dataset("cityscapes", root, "val")
    _, m = ds.load(0)
    assert set(np.unique(m)) == {0, 13, 18} and ds.info.num_classes == 19
    back = cityscapes_train_to_label_ids(m)
    assert set(np.unique(back)) == {7, 26, 33}


def test_folder_with_classes_file_and_splits(tmp_path):
    root = make_folder(tmp_path / "f")
    tr = build_dataset("folder", root, "train")
    va = build_dataset("folder", root, "val")
    assert len(tr) == 4 and len(va) == 2
    assert tr.info.classes == ["background", "thing", "stuff"] and tr.info.palette[1] == [
        10,
        20,
        30,
    ]


def test_clear_errors(tmp_path):
    root = make_folder(tmp_path / "f", n=3)
    with pytest.raises(InputError, match="root folder not found"):
        build_dataset("camvid", tmp_path / "nope", "train")
    with pytest.raises(InputError, match="CamVid 'train' image folder not found"):
        build_dataset("camvid", tmp_path, "train")
    with pytest.raises(ConfigError, match="unknown data set"):
        build_dataset("kitti", root, "train")
    # values outside the class set: the file and the values are named
    write_mask(root / "masks" / "im01.png", np.full((24, 32), 7, np.uint8))
    with pytest.raises(InputError, match=r"im01\.png has values \[7\]"):
        build_dataset("folder", root, "train")
    # size mismatch
    write_mask(root / "masks" / "im01.png", np.zeros((10, 10), np.uint8))
    with pytest.raises(InputError, match="is 32x24 but its label map"):
        build_dataset("folder", root, "train")
    # unreadable image
    write_mask(root / "masks" / "im01.png", np.zeros((24, 32), np.uint8))
    (root / "images" / "im00.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match=r"im00\.png is not a readable image"):
        build_dataset("folder", root, "train")
    # missing mask
    write_rgb(root / "images" / "im00.png", np.zeros((24, 32, 3), np.uint8))
    (root / "masks" / "im02.png").unlink()
    with pytest.raises(InputError, match="no mask"):
        build_dataset("folder", root, "val")


def test_train_transform_pads_with_ignore_and_is_deterministic():
    img = np.full((10, 12, 3), 100, np.uint8)
    mask = np.ones((10, 12), np.uint8)
    tf = TrainTransform((16, 16), scale=(1.0, 1.0), flip=False, jitter={"brightness": 0.2})
    a, m = tf(img, mask, np.random.default_rng(0))
    assert a.shape == (16, 16, 3) and m.shape == (16, 16)
    assert (m == 255).sum() == 16 * 16 - 10 * 12 and (m == 1).sum() == 10 * 12
    b, m2 = tf(img, mask, np.random.default_rng(0))
    assert np.array_equal(a, b) and np.array_equal(m, m2)
    big = TrainTransform(
        (8, 6),
        scale=(0.5, 2.0),
        jitter={"brightness": 0.3, "contrast": 0.3, "saturation": 0.3, "hue": 0.05},
    )
    for s in range(5):
        x, y = big(
            np.random.default_rng(s).integers(0, 255, (30, 40, 3), dtype=np.uint8),
            np.zeros((30, 40), np.uint8),
            np.random.default_rng(s),
        )
        assert x.shape == (6, 8, 3) and y.shape == (6, 8)
    v, vm = ValTransform((16, 8))(img, mask)
    assert v.shape == (8, 16, 3) and vm.shape == (10, 12)  # labels keep their resolution


def test_augmentation_depends_on_seed_epoch_index_only(tmp_path):
    root = make_folder(tmp_path / "f")
    tf = TrainTransform((16, 16), scale=(0.5, 1.5))
    ds = build_dataset("folder", root, "train", transform=tf, seed=3)
    ds.set_epoch(2)
    a = ds[1]["image"]
    ds.set_epoch(1)
    b = ds[1]["image"]
    ds.set_epoch(2)
    assert np.array_equal(ds[1]["image"].numpy(), a.numpy()) and not np.array_equal(
        a.numpy(), b.numpy()
    )
