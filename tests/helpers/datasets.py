"""Tiny synthetic data sets in every supported on-disk layout (written to tmp folders)."""

from pathlib import Path

import cv2
import numpy as np


def scene(h, w, num_classes, seed):
    """An image whose colour tells the class (so a tiny model can learn it) and its label map."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((h, w), np.uint8)
    for c in range(1, num_classes):
        y, x = rng.integers(0, h - h // 3), rng.integers(0, w - w // 3)
        mask[y : y + h // 3, x : x + w // 3] = c
    colours = np.array(
        [[(37 * c) % 256, (91 * c + 40) % 256, (151 * c + 80) % 256] for c in range(num_classes)],
        np.uint8,
    )
    img = colours[mask].astype(np.int16) + rng.integers(-10, 10, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8), mask


def write_rgb(path, img):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))


def write_mask(path, mask):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), mask)


def write_palette_png(path, mask):
    from PIL import Image

    from liveseg.card import default_palette

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(mask, mode="P")
    pal = [v for c in default_palette(256) for v in c]
    im.putpalette(pal)
    im.save(path)


def make_camvid(root, n_train=4, n_val=2, h=24, w=32):
    root = Path(root)
    for split, n in (("train", n_train), ("val", n_val)):
        for i in range(n):
            img, mask = scene(h, w, 11, seed=hash((split, i)) % 1000)
            mask[0, :] = 11  # void row
            write_rgb(root / split / f"0001TP_{split}{i:03d}.jpg", img)
            write_mask(root / f"{split}annot" / f"0001TP_{split}{i:03d}.png", mask)
    return root


def make_davis2016(root, clips=("a", "b", "c"), frames=4, h=24, w=32):
    root = Path(root)
    for k, clip in enumerate(clips):
        for f in range(frames):
            img, mask = scene(h, w, 2, seed=10 * k + f)
            write_rgb(root / "JPEGImages" / clip / f"{f:05d}.jpg", img)
            write_mask(root / "Annotations" / clip / f"{f:05d}.png", mask * 255)
    (root / "ImageSets").mkdir(parents=True, exist_ok=True)
    (root / "ImageSets" / "train.txt").write_text("\n".join(clips) + "\n")
    return root


def make_davis2017(root, h=24, w=32):
    root = Path(root)
    for split, clips in (("train", ["x", "y"]), ("val", ["z"])):
        for clip in clips:
            for f in range(3):
                img, mask = scene(h, w, 3, seed=f)  # two objects: ids 1 and 2
                write_rgb(root / "JPEGImages" / "480p" / clip / f"{f:05d}.jpg", img)
                write_palette_png(root / "Annotations" / "480p" / clip / f"{f:05d}.png", mask)
        (root / "ImageSets" / "2017").mkdir(parents=True, exist_ok=True)
        (root / "ImageSets" / "2017" / f"{split}.txt").write_text("\n".join(clips) + "\n")
    return root


def make_voc(root, n=3, h=24, w=32, aug=False):
    base = Path(root) / "VOCdevkit" / "VOC2012"
    names = [f"2007_{i:06d}" for i in range(n)]
    for i, name in enumerate(names):
        img, mask = scene(h, w, 21, seed=i)
        mask[:, 0] = 255  # void border
        write_rgb(base / "JPEGImages" / f"{name}.jpg", img)
        write_palette_png(base / "SegmentationClass" / f"{name}.png", mask)
        if aug:
            write_mask(base / "SegmentationClassAug" / f"{name}.png", mask)
    seg = base / "ImageSets" / "Segmentation"
    seg.mkdir(parents=True, exist_ok=True)
    (seg / "train.txt").write_text("\n".join(names[:-1]) + "\n")
    (seg / "val.txt").write_text(names[-1] + "\n")
    if aug:
        (seg / "train_aug.txt").write_text("\n".join(names) + "\n")
    return Path(root)


def make_cityscapes(root, h=16, w=32):
    root = Path(root)
    for split, city in (("train", "aachen"), ("val", "lindau")):
        img, _ = scene(h, w, 2, seed=1)
        label_ids = np.zeros((h, w), np.uint8)  # 0: unlabeled -> ignore
        label_ids[:, : w // 2] = 7  # road -> 0
        label_ids[: h // 2, w // 2 :] = 26  # car -> 13
        label_ids[h // 2 :, w // 2 :] = 33  # bicycle -> 18
        stem = f"{city}_000000_000019"
        write_rgb(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", img)
        write_mask(root / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png", label_ids)
    return root


def make_folder(root, n=6, h=24, w=32, num_classes=3, size=None):
    root = Path(root)
    names = ["background", "thing", "stuff", "other"][:num_classes]
    (root).mkdir(parents=True, exist_ok=True)
    (root / "classes.txt").write_text(
        "\n".join(f"{c} {10 * i} {20 * i} {30 * i}" for i, c in enumerate(names)) + "\n"
    )
    for i in range(n):
        img, mask = scene(h, w, num_classes, seed=i)
        write_rgb(root / "images" / f"im{i:02d}.png", img)
        write_mask(root / "masks" / f"im{i:02d}.png", mask)
    stems = [f"im{i:02d}" for i in range(n)]
    cut = max(1, n * 2 // 3)
    (root / "train.txt").write_text("\n".join(stems[:cut]) + "\n")
    (root / "val.txt").write_text("\n".join(stems[cut:]) + "\n")
    return root
