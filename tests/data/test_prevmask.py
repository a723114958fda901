"""The synthetic previous-frame mask: aligned with the mask, degraded as configured,
reproducible."""

import numpy as np
import pytest
import torch

from liveseg.data.base import DatasetInfo, Sample, SegmentationDataset, collate
from liveseg.data.prevmask import PrevMaskAug, PrevMaskDataset, parse_prev_mask, synth_prev
from liveseg.data.transforms import TrainTransform, ValTransform
from liveseg.errors import ConfigError

H, W = 96, 128


def _box(y0=30, y1=70, x0=40, x1=90):
    fg = np.zeros((H, W), np.uint8)
    fg[y0:y1, x0:x1] = 1
    return fg


def _centroid(m):
    ys, xs = np.nonzero(m > 0.5)
    return ys.mean(), xs.mean()


def test_deterministic_and_in_range():
    fg = _box()
    a = synth_prev(fg, np.random.default_rng(7), PrevMaskAug())
    b = synth_prev(fg, np.random.default_rng(7), PrevMaskAug())
    c = synth_prev(fg, np.random.default_rng(8), PrevMaskAug())
    assert a.dtype == np.float32 and a.shape == (H, W)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() <= 1


def test_zeros_case_happens_at_about_p_empty():
    fg = _box()
    aug = PrevMaskAug(p_empty=0.2)
    empty = [not synth_prev(fg, np.random.default_rng(s), aug).any() for s in range(400)]
    assert 0.12 < np.mean(empty) < 0.28
    assert not any(
        not synth_prev(fg, np.random.default_rng(s), PrevMaskAug(p_empty=0)).any()
        for s in range(50)
    )


def test_translation_is_bounded_and_varies():
    fg = _box()
    cy, cx = _centroid(fg)
    aug = PrevMaskAug(p_empty=0, shift=0.05, scale=0.0, morph=0, p_blob=0, blur=0)
    shifts = []
    for s in range(100):
        m = synth_prev(fg, np.random.default_rng(s), aug)
        y, x = _centroid(m)
        assert abs(y - cy) <= 0.05 * H + 1 and abs(x - cx) <= 0.05 * W + 1
        assert m.sum() == pytest.approx(fg.sum(), rel=0.1)  # moved, not reshaped
        shifts.append((y - cy, x - cx))
    shifts = np.array(shifts)
    assert shifts.std(0).min() > 1.0  # really moves, both ways


def test_aligned_with_mask_and_degraded():
    """Overlaps the mask it came from (IoU well above chance) but is not a copy of it."""
    fg = _box()
    ious, soft = [], 0
    for s in range(100):
        m = synth_prev(fg, np.random.default_rng(s), PrevMaskAug(p_empty=0))
        hard = m > 0.5
        ious.append((hard & (fg > 0)).sum() / max(1, (hard | (fg > 0)).sum()))
        soft += ((m > 0.05) & (m < 0.95)).any()
    assert np.mean(ious) > 0.6 and min(ious) > 0.2 and np.mean(ious) < 0.99
    assert soft > 50  # blurred edges most of the time
    # milder validation degradation stays closer to the truth
    mild = [
        (
            (synth_prev(fg, np.random.default_rng(s), PrevMaskAug(p_empty=0).milder()) > 0.5)
            & (fg > 0)
        ).sum()
        / fg.sum()
        for s in range(100)
    ]
    assert np.mean(mild) > np.mean(ious)


def _dataset(tmp_path, transform, n=4):
    import cv2

    samples = []
    for i in range(n):
        img = np.full((H, W, 3), 40 * i, np.uint8)
        mask = np.zeros((H, W), np.uint8)
        mask[20 + 4 * i : 70, 30 : 100 - 5 * i] = 1
        mask[:, :6] = 255  # ignore strip: counts as background
        cv2.imwrite(str(tmp_path / f"{i}.png"), img)
        cv2.imwrite(str(tmp_path / f"{i}m.png"), mask)
        samples.append(Sample(tmp_path / f"{i}.png", tmp_path / f"{i}m.png", group="c"))
    info = DatasetInfo("t", ["background", "foreground"], task="foreground")
    return SegmentationDataset(samples, info, transform=transform, seed=3)


def test_dataset_items_follow_the_transformed_mask(tmp_path):
    base = _dataset(tmp_path, TrainTransform((64, 48), scale=(0.5, 0.5), flip=True))
    ds = PrevMaskDataset(base, PrevMaskAug(p_empty=0, shift=0, scale=0, morph=0, p_blob=0, blur=0))
    for i in range(len(ds)):
        item = ds[i]
        assert item["prev"].shape == (1, 48, 64) and item["prev"].dtype == torch.float32
        fg = (item["mask"] == 1).float()  # after crop + flip; 255 is not foreground
        assert torch.equal(item["prev"][0], fg)
    # per-epoch randomness, reproducible; the transform's own stream is untouched
    ds = PrevMaskDataset(base, PrevMaskAug())
    base.set_epoch(0)
    a = ds[1]
    assert torch.equal(a["image"], base[1]["image"]) and torch.equal(a["prev"], ds[1]["prev"])
    ds.set_epoch(1)
    assert not torch.equal(a["prev"], ds[1]["prev"])
    batch = collate([ds[0], ds[1]])
    assert batch["prev"].shape == (2, 1, 48, 64)


def test_validation_channel_is_fixed_and_image_sized(tmp_path):
    base = _dataset(tmp_path, ValTransform((64, 48)))
    ds = PrevMaskDataset(base, PrevMaskAug(), fixed=True)
    a = ds[2]["prev"]
    assert a.shape == (1, 48, 64)  # the image's size, not the label's (96x128)
    base.set_epoch(5)
    assert torch.equal(a, ds[2]["prev"])
    assert ds.groups() == ["c"] * 4 and ds.info.task == "foreground"


def test_parse_prev_mask():
    assert parse_prev_mask(None) is None and parse_prev_mask(False) is None
    assert parse_prev_mask(True) == PrevMaskAug()
    assert parse_prev_mask({"shift": 0.1}).shift == 0.1
    for bad in ({"shfit": 0.1}, {"shift": 2}, {"blur": "x"}, "yes"):
        with pytest.raises(ConfigError) as e:
            parse_prev_mask(bad)
        assert "\n" not in str(e.value)
