"""The person mix (per-source label tables, splits) and copy-paste compositing."""

import numpy as np
import pytest

from liveseg.data.datasets import build_dataset
from liveseg.data.person import paste_person
from liveseg.data.transforms import TrainTransform, degrade
from liveseg.errors import InputError
from tests.helpers.datasets import write_mask, write_rgb


def _figure(h, w, rng):
    """A bright ellipse person on a dark textured image."""
    import cv2

    img = rng.integers(0, 60, (h, w, 3)).astype(np.uint8)
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2), (w // 5, h // 3), 0, 0, 360, 1, -1)
    img[mask == 1] = (220, 180, 150)
    return img, mask


def make_people_root(root, n=10):
    rng = np.random.default_rng(0)
    for i in range(n):  # ccp: 0/1 masks, full figures
        img, mask = _figure(40, 28, rng)
        write_rgb(root / "ccp_person/images" / f"{i:04d}.jpg", img)
        write_mask(root / "ccp_person/masks" / f"{i:04d}.png", mask)
    (root / "ccp_person/classes.txt").write_text("background\nperson\n")
    # sysu: class 2 is person; even files show one, odd ones only class 1 (a "dog").
    (root / "sysu_scene").mkdir()
    (root / "sysu_scene/classes.txt").write_text("background\ndog\nperson\n")
    for i in range(n):
        img, mask = _figure(30, 40, rng)
        mask = mask * (2 if i % 2 == 0 else 1)
        write_rgb(root / "sysu_scene/images" / f"{i:04d}.jpg", img)
        write_mask(root / "sysu_scene/masks" / f"{i:04d}.png", mask)
    return root


def test_person_mix_maps_each_source_and_splits(tmp_path):
    root = make_people_root(tmp_path)
    train = build_dataset("person", root, "train")
    val = build_dataset("person", root, "val", val_every=5)
    assert train.info.classes == ["background", "person"]
    names = [s.name for s in val.samples]
    # every 5th ccp file; of sysu every 5th that shows a person (0000 yes, 0005 is a dog photo)
    assert names == ["ccp_person/0000", "ccp_person/0005", "sysu_scene/0000"]
    assert not set(names) & {s.name for s in train.samples}
    for i, s in enumerate(train.samples):
        _, m = train.load(i)
        assert set(np.unique(m)) <= {0, 1}
        if s.name in ("sysu_scene/0001", "sysu_scene/0003"):  # dog photos: no person pixels
            assert not (m == 1).any()
        if s.name == "sysu_scene/0002":  # person class 2 -> 1
            assert (m == 1).mean() > 0.1


def test_person_mix_needs_a_labelled_source(tmp_path):
    with pytest.raises(InputError, match="ccp_person"):
        build_dataset("person", tmp_path, "train")


def test_composites_paste_people_on_people_free_images_deterministically(tmp_path):
    root = make_people_root(tmp_path)
    ds = build_dataset(
        "person",
        root,
        "train",
        composites=6,
        transform=TrainTransform((24, 24), scale=(1.0, 1.0), flip=False),
    )
    n = len(ds.samples)
    assert len(ds) == n + 6 and ds.groups()[-1] == "composite"
    assert ds.backgrounds and ds.cutouts
    a = [ds[n + k]["mask"].numpy() for k in range(6)]
    assert sum(int((m == 1).any()) for m in a) >= 4  # most land inside the frame
    again = build_dataset(
        "person",
        root,
        "train",
        composites=6,
        transform=TrainTransform((24, 24), scale=(1.0, 1.0), flip=False),
    )
    np.testing.assert_array_equal(again[n]["image"].numpy(), ds[n]["image"].numpy())
    changed = []
    for epoch in (1, 2, 3):
        ds.set_epoch(epoch)
        changed.append(not np.array_equal(ds[n]["image"].numpy(), again[n]["image"].numpy()))
    assert any(changed)  # a new composite each epoch


def test_paste_person_label_follows_the_pasted_pixels():
    rng = np.random.default_rng(3)
    img, mask = _figure(60, 40, rng)
    bg = np.zeros((50, 50, 3), np.uint8)
    bg_mask = np.zeros((50, 50), np.uint8)
    bg_mask[:5] = 255  # ignore stays ignore where nothing is pasted
    for seed in range(20):
        out, m = paste_person(img, mask, bg, bg_mask, np.random.default_rng(seed), closeup=0.5)
        assert out.shape == bg.shape and m.shape == bg_mask.shape
        person = m == 1
        if person.any():  # the figure is bright, the background black
            assert out[person].mean() > 70  # colour matching moves it at most half-way
            assert out[m == 0].mean() < 40
        assert set(np.unique(m)) <= {0, 1, 255}


def test_degradations_change_the_image_only_when_drawn():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (32, 32, 3)).astype(np.uint8)
    never = degrade(
        img, np.random.default_rng(1), blur={"p": 0.0}, noise={"p": 0.0}, jpeg={"p": 0.0}
    )
    np.testing.assert_array_equal(never, img)
    for kind in ({"blur": {"p": 1.0}}, {"noise": {"p": 1.0}}, {"jpeg": {"p": 1.0}}):
        out = degrade(img, np.random.default_rng(1), **kind)
        assert out.shape == img.shape and out.dtype == np.uint8
        assert not np.array_equal(out, img)


def test_aspect_jitter_stretches_image_and_mask_together():
    img = np.zeros((40, 40, 3), np.uint8)
    mask = np.zeros((40, 40), np.uint8)
    img[10:30, 10:30] = 255
    mask[10:30, 10:30] = 1
    tf = TrainTransform((80, 80), scale=(1.0, 1.0), flip=False, aspect=(0.5, 2.0))
    ratios = []
    for seed in range(12):
        out, m = tf(img, mask, np.random.default_rng(seed))
        ys, xs = np.nonzero(m == 1)
        ratios.append((xs.max() - xs.min() + 1) / (ys.max() - ys.min() + 1))
        assert ((out[..., 0] > 127) == (m == 1)).mean() > 0.98  # edges: bilinear vs nearest
    assert min(ratios) < 0.85 and max(ratios) > 1.15  # stretched both ways
    assert all(0.45 < r < 2.2 for r in ratios)


def test_portrait_crop_frames_head_and_shoulders_of_the_figure():
    from liveseg.data.person import portrait_crop

    img = np.zeros((400, 300, 3), np.uint8)
    mask = np.zeros((400, 300), np.uint8)
    mask[50:390, 120:180] = 1  # a standing figure, 340 rows tall, top at row 50
    img[mask == 1] = 200
    crop, m = portrait_crop(img, mask)
    h = round(340 * 0.36)
    assert m.shape == (h, round(h * 4 / 3)) and crop.shape[:2] == m.shape
    top = np.nonzero(m.any(1))[0][0]
    assert top == round(0.05 * 340)  # a margin above the head, the figure to the bottom edge
    assert m[-1].any() and (crop[m == 1] == 200).all()
    cols = np.nonzero(m.any(0))[0]
    assert abs((cols[0] + cols[-1]) / 2 - m.shape[1] / 2) <= 1  # centred on the figure
    big, bm = portrait_crop(img, mask, out_height=320)
    assert bm.shape[0] == 320 and big.shape[:2] == bm.shape and set(np.unique(bm)) <= {0, 1}
    empty = np.zeros_like(mask)
    assert portrait_crop(img, empty)[0] is img  # no person: the sample as it is


def test_portrait_view_is_a_val_split_of_ccp_and_train_portraits_add_copies(tmp_path):
    root = make_people_root(tmp_path)
    val = build_dataset("person", root, "val", val_every=5, portrait=True)
    assert [s.name for s in val.samples] == ["ccp_portrait/0000", "ccp_portrait/0005"]
    assert set(val.groups()) == {"ccp_portrait"}
    img, m = val.load(0)
    full = build_dataset("person", root, "val", val_every=5).load(0)
    assert m.shape[0] < full[1].shape[0] and img.shape[:2] == m.shape  # the crop, not the photo
    train = build_dataset("person", root, "train", val_every=5, train_portraits=True)
    plain = build_dataset("person", root, "train", val_every=5)
    copies = [s for s in train.samples if s.group == "ccp_portrait"]
    assert len(train.samples) == len(plain.samples) + 8 == len(plain.samples) + len(copies)
    assert not {s.name for s in copies} & {s.name for s in val.samples}
    i = train.samples.index(copies[0])
    assert train.load(i)[1].shape[0] == 320
    with pytest.raises(InputError, match="validation view"):
        build_dataset("person", root, "train", portrait=True)
