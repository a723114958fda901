"""The subject mix: DAVIS clips plus people / animal / vehicle photos, photos kept in aspect."""

import numpy as np
import pytest

from liveseg.data.datasets import build_dataset
from liveseg.data.transforms import letterbox_pair
from liveseg.errors import InputError
from tests.helpers.datasets import make_davis2016, write_mask, write_rgb


def make_subject_root(root, n=10):
    make_davis2016(root / "davis2016", clips=("a", "b", "c"))
    rng = np.random.default_rng(0)
    for i in range(n):  # ccp: portrait photos, person 1
        img = rng.integers(0, 255, (40, 20, 3)).astype(np.uint8)
        mask = np.zeros((40, 20), np.uint8)
        mask[5:35, 5:15] = 1
        write_rgb(root / "ccp_person/images" / f"{i:04d}.jpg", img)
        write_mask(root / "ccp_person/masks" / f"{i:04d}.png", mask)
    # sysu: 1 sky (scenery), 2 dog (salient), 3 chair (ignored); odd files show a tiny dog only
    (root / "sysu_scene").mkdir()
    (root / "sysu_scene/classes.txt").write_text("background\nsky\ndog\nchair\n")
    for i in range(n):
        mask = np.ones((30, 40), np.uint8)
        mask[20:, :10] = 3
        if i % 2 == 0:
            mask[5:25, 15:35] = 2
        else:
            mask[0:2, 0:2] = 2
        write_rgb(
            root / "sysu_scene/images" / f"{i:04d}.jpg",
            rng.integers(0, 255, (30, 40, 3)).astype(np.uint8),
        )
        write_mask(root / "sysu_scene/masks" / f"{i:04d}.png", mask)
    return root


def test_subject_mix_sources_labels_and_splits(tmp_path):
    root = make_subject_root(tmp_path)
    train = build_dataset(
        "subject", root, "train", val_clips=["c"], cache=False, preresize=(32, 18)
    )
    val = build_dataset("subject", root, "val", val_clips=["c"], cache=False)
    assert {s.group for s in val.samples} == {"c"}  # only DAVIS validates
    names = [s.name for s in train.samples]
    assert "ccp_person/0000" not in names and "ccp_person/0001" in names  # every 5th held out
    # sysu: only photos where the dog covers >= 10%: even files, minus the held-out 0000
    assert sorted(n for n in names if n.startswith("sysu")) == [
        "sysu_scene/0002",
        "sysu_scene/0004",
        "sysu_scene/0006",
        "sysu_scene/0008",
    ]
    assert train.info.task == "foreground" and "CC BY-NC" in train.info.license
    for i, s in enumerate(train.samples):
        img, m = train.load(i)
        assert img.shape[:2] == (18, 32)
        if s.group == "sysu_scene":
            assert set(np.unique(m)) == {0, 1, 255}  # sky 0, dog 1, chair ignored + border
        if s.group == "ccp_person":  # portrait kept in aspect: border columns are ignore
            assert (m[:, 0] == 255).all() and (m[:, -1] == 255).all() and (m == 1).any()
        if s.group in ("a", "b"):
            assert set(np.unique(m)) <= {0, 1}


def test_subject_mix_without_extras_and_without_davis(tmp_path):
    root = make_subject_root(tmp_path)
    only = build_dataset("subject", root, "train", val_clips=["c"], cache=False, sources=())
    assert {s.group for s in only.samples} == {"a", "b"}
    with pytest.raises(InputError, match="davis2016"):
        build_dataset("subject", tmp_path / "ccp_person", "train", val_clips=["c"])


def test_letterbox_pair_keeps_aspect():
    img = np.full((40, 20, 3), 200, np.uint8)
    mask = np.ones((40, 20), np.uint8)
    out, m = letterbox_pair(img, mask, (40, 20), ignore_index=255)
    assert out.shape == (20, 40, 3) and m.shape == (20, 40)
    assert (m[:, 15:25] == 1).all() and (m[:, :14] == 255).all() and (m[:, 26:] == 255).all()
    assert (out[:, :14] == 0).all()
