"""Training from a teacher's soft labels (`liveseg label` output) beside real labels."""

import numpy as np
import pytest
import torch

from liveseg.cli import main
from liveseg.data.datasets import build_dataset
from liveseg.data.transforms import TrainTransform
from liveseg.errors import ConfigError
from liveseg.runtime.teacher import read_soft_label
from liveseg.train.config import load_config
from liveseg.train.losses import teacher_loss
from liveseg.train.trainer import train
from tests.helpers.datasets import write_mask, write_rgb
from tests.helpers.models import make_seg_model
from tests.helpers.tiny_model import NAME


def make_fg_folder(root, n=6, labelled=True, h=24, w=32):
    """Red squares on noise; with ``labelled`` a 0/1 mask per image (the red square)."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "classes.txt").write_text("background\nforeground\n")
    for i in range(n):
        img = rng.integers(0, 80, (h, w, 3)).astype(np.uint8)
        mask = np.zeros((h, w), np.uint8)
        y, x = rng.integers(0, h - 10), rng.integers(0, w - 12)
        mask[y : y + 10, x : x + 12] = 1
        img[mask == 1] = (230, 30, 30)
        write_rgb(root / "images" / f"im{i:02d}.png", img)
        if labelled:
            write_mask(root / "masks" / f"im{i:02d}.png", mask)
    return root


@pytest.fixture
def teacher_labels(tmp_path):
    """A foreground teacher (foreground = red) labels the images with `liveseg label`."""
    root = make_fg_folder(tmp_path / "data")
    teacher = make_seg_model(tmp_path / "teacher.onnx", task="fg", output="softmax")
    assert main(["label", str(teacher), str(root / "images"), "-o", str(tmp_path / "soft")]) == 0
    return root, tmp_path / "soft"


def test_teacher_channel_moves_with_the_image(teacher_labels):
    root, soft_dir = teacher_labels
    ds = build_dataset(
        "folder",
        root,
        "train",
        teacher_dir=soft_dir,
        transform=TrainTransform((40, 40), scale=(1.0, 1.0), flip=False),
    )
    item = ds[0]
    assert set(item) >= {"image", "mask", "soft", "soft_valid"}
    soft, valid = item["soft"].numpy(), item["soft_valid"].numpy()
    assert soft.shape == valid.shape == item["mask"].shape == (40, 40)
    # a 40x40 crop of a 32x24 image: the padding is not the teacher's, and is marked so
    assert valid[:24, :32].all() and not valid[24:].any() and not valid[:, 32:].any()
    ref = np.round(read_soft_label(soft_dir, "im00") * 255) / 255
    np.testing.assert_allclose(soft[:24, :32], ref, atol=1e-6)
    # with flips, scaling and crops the teacher's P still lies on the red square
    ds = build_dataset(
        "folder",
        root,
        "train",
        teacher_dir=soft_dir,
        transform=TrainTransform((20, 20), scale=(0.8, 1.5), flip=True),
    )
    for epoch in range(3):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            img, soft, valid = (
                item["image"].numpy(),
                item["soft"].numpy(),
                item["soft_valid"].numpy(),
            )
            red = (img[0] > 150) & (img[1] < 100) & valid
            if red.any():
                assert soft[red].mean() > 0.7
            if (~red & valid).any():
                assert soft[~red & valid].mean() < 0.3


def test_teacher_loss_is_lowest_when_the_student_agrees():
    soft = torch.tensor([[[0.9, 0.1], [0.2, 0.8]]])
    valid = torch.ones_like(soft, dtype=torch.bool)
    agree = torch.stack([torch.log(1 - soft), torch.log(soft)], 1)
    disagree = torch.stack([torch.log(soft), torch.log(1 - soft)], 1)
    assert teacher_loss(agree, soft, valid, [1]) < teacher_loss(disagree, soft, valid, [1])
    # pixels the teacher did not see do not count
    valid[0, 0, 0] = False
    half = disagree.clone()
    half[0, :, 0, 0] = torch.tensor([-50.0, 50.0])
    assert torch.isfinite(teacher_loss(half, soft, valid, [1]))


def _cfg(tmp_path, root, soft_dir, **extra):
    p = tmp_path / "cfg.yaml"
    p.write_text(
        f"name: distil\nmodel: {{name: {NAME}}}\n"
        f"data: {{dataset: folder, root: {root}, val_split: null, "
        f"teacher: {{dir: {soft_dir}, weight: 1.0}}}}\n"
    )
    over = [
        f"output_dir={tmp_path / 'run'}",
        "epochs=3",
        "batch_size=2",
        "threads=1",
        "input_size=[32,24]",
        "augment.crop=[24,24]",
        "optimizer.lr=0.02",
        "log_every=100",
    ]
    return load_config(p, over + [f"{k}={v}" for k, v in extra.items()])


@pytest.mark.usefixtures("tiny_model")
def test_teacher_alone_trains_unlabelled_images(tmp_path, teacher_labels):
    _, soft_dir = teacher_labels
    root = make_fg_folder(tmp_path / "unlabelled", labelled=False)
    # the same images: the teacher's labels are by stem
    for f in (tmp_path / "data/images").iterdir():
        (root / "images" / f.name).write_bytes(f.read_bytes())
    cfg = _cfg(tmp_path, root, soft_dir, **{"data.options": "{masks: null}"})
    result = train(cfg, export=False)
    losses = [h["train_loss"] for h in result["history"]]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]


@pytest.mark.usefixtures("tiny_model")
def test_unlabelled_images_without_a_teacher_are_a_config_error(tmp_path):
    root = make_fg_folder(tmp_path / "u", labelled=False)
    p = tmp_path / "cfg.yaml"
    p.write_text(
        f"name: x\nmodel: {{name: {NAME}}}\n"
        f"data: {{dataset: folder, root: {root}, val_split: null, "
        "options: {masks: null}}\n"
    )
    cfg = load_config(p, [f"output_dir={tmp_path / 'run'}", "threads=1", "input_size=[32,24]"])
    with pytest.raises(ConfigError, match="teacher"):
        train(cfg, export=False)
    with pytest.raises(ConfigError, match="data.teacher"):
        load_config(p, ["data.teacher=abc"])
