"""People: one binary data set (background / person) mixed from the shared sources, and
copy-paste compositing of labelled people onto images that hold none.

``person(root, split)`` reads, under ``root`` (the folder holding the data sets):
- ``ccp_person/``   full-body street-fashion photos, mask 0/1 (``group`` "ccp_person");
- ``sysu_scene/``   photos of 37 classes; ``person`` -> 1, every other class -> 0, so photos
  without people are negatives (``group`` "sysu_scene");
- ``vton_person/``  upper-body studio photos, mask 0/1 (training only; every ``vton_stride``-th:
  one plain wall behind all, so they serve mostly as cut-outs);
- ``davis2016/``    the clips whose labelled subject is one person alone (every
  ``davis_stride``-th frame, training only), and clips of animals as people-free backgrounds;
- ``camvid/``       street scenes as backgrounds, pedestrians and cyclists marked ignore (they are
  people the person label would otherwise call background).
Sources that are absent are skipped (at least one of ccp_person / sysu_scene is needed).

Validation is every ``val_every``-th file of ccp_person and, of sysu_scene, every
``val_every``-th file that shows a person; training is the rest. The groups let the evaluator
report mean per-image IoU per source. ``portrait=True`` gives a close-up val split instead:
the ccp_person val photos cut to head and shoulders (``portrait_crop``), as a webcam frames a
video call (group "ccp_portrait"); sysu_scene's people are too small or too many for it.
``train_portraits=True`` adds that view of each ccp_person training photo to the training split.

``CompositeDataset`` adds ``composites`` synthetic images per epoch: a person cut from a cut-out
source, scaled (from a small full figure to a head-and-shoulders close-up that leaves the frame,
as in a video call), colour-matched a little, and pasted with a feathered edge onto an image
without people. Each is a function of (seed, epoch, index), like every augmentation here.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import cv2
import numpy as np

from liveseg.data.base import DatasetInfo, Sample, SegmentationDataset
from liveseg.data.io import list_files, read_list_file
from liveseg.errors import InputError

PERSON_CLASSES = ["background", "person"]
# DAVIS-2016 training clips whose labelled subject is a single person (nothing carried).
DAVIS_PEOPLE = ["breakdance-flare", "dance-jump", "hike", "lucia", "rollerblade", "tennis"]
# ... and clips with animals but no people, usable as backgrounds.
DAVIS_NO_PEOPLE = ["bear", "elephant", "flamingo", "mallard-fly", "mallard-water", "rhino"]
CUTOUT_GROUPS = ("vton_person", "ccp_person")
LICENSES = {
    "ccp_person": "Clothing Co-Parsing (Yang et al. 2014): research use",
    "sysu_scene": "SYSU-Scene (Zhang et al. 2018): academic research use",
    "vton_person": "virtual try-on catalogue photos: research use",
    "davis2016": "DAVIS-2016: CC BY-NC 4.0, non-commercial use only",
    "camvid": "CamVid: research use",
}


def _binary_lut(person_value: int, ignore_values=()) -> np.ndarray:
    lut = np.zeros(256, dtype=np.uint8)
    lut[person_value] = 1
    for v in ignore_values:
        lut[v] = 255
    return lut


def folder_samples(root: Path, group: str, lut: np.ndarray) -> list[Sample]:
    masks = root / "masks"
    return [
        Sample(
            img, masks / f"{img.stem}.png", name=f"{group}/{img.stem}", group=group, label_lut=lut
        )
        for img in list_files(root / "images")
    ]


def _sysu_person_index(root: Path) -> int:
    names = read_list_file(root / "classes.txt")
    if "person" not in names:
        raise InputError(f"{root}/classes.txt has no 'person' class")
    return names.index("person")


def _has_value(mask_path: Path, value: int) -> bool:
    m = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    return m is not None and bool((m == value).any())


def person(
    root,
    split="train",
    val_every=5,
    davis_stride=4,
    vton_stride=1,
    sources=None,
    portrait=False,
    train_portraits=False,
    **_,
):
    root = Path(root)
    if portrait:
        return _portrait_val(root, split, int(val_every))
    wanted = set(sources or LICENSES)
    have = {name for name in LICENSES if name in wanted and (root / name).is_dir()}
    if not have & {"ccp_person", "sysu_scene"}:
        raise InputError(f"person data: neither ccp_person/ nor sysu_scene/ found under {root}")
    val_every = int(val_every)
    train, val = [], []

    def split_every(samples, keep_val=lambda s: True):
        for i, s in enumerate(samples):
            (val if i % val_every == 0 and keep_val(s) else train).append(s)

    if "ccp_person" in have:
        split_every(folder_samples(root / "ccp_person", "ccp_person", _binary_lut(1)))
        if train_portraits and split == "train":
            # A second, head-and-shoulders view of each training photo at a webcam-like 320
            # rows: close-ups with real backgrounds (composites alone paste them on others).
            ccp_train = [s for s in train if s.group == "ccp_person"]
            train += _portrait_views(ccp_train, functools.partial(portrait_crop, out_height=320))
    if "sysu_scene" in have:
        sysu = root / "sysu_scene"
        idx = _sysu_person_index(sysu)
        samples = folder_samples(sysu, "sysu_scene", _binary_lut(idx))
        if split == "val":  # only photos with people are scored; reading masks costs ~1 s
            val += [
                s for i, s in enumerate(samples) if i % val_every == 0 and _has_value(s.mask, idx)
            ]
        else:
            train += [s for i, s in enumerate(samples) if i % val_every != 0]
    if split == "train":
        if "vton_person" in have:
            vton = folder_samples(root / "vton_person", "vton_person", _binary_lut(1))
            train += vton[:: max(1, int(vton_stride))]
        if "davis2016" in have:
            train += _davis_samples(root / "davis2016", int(davis_stride))
        if "camvid" in have:
            # 9 Pedestrian, 10 Bicyclist: people the label would call background; 11 void.
            lut = _binary_lut(0, ignore_values=(9, 10, 11))
            lut[0] = 0
            for img in list_files(root / "camvid" / "train"):
                train.append(
                    Sample(
                        img,
                        root / "camvid" / "trainannot" / f"{img.stem}.png",
                        name=f"camvid/{img.stem}",
                        group="camvid",
                        label_lut=lut,
                    )
                )
    elif split != "val":
        raise InputError(f"person data: split must be train or val, got {split!r}")
    info = _person_info(
        "people from " + ", ".join(sorted(have)) + " (liveseg person mix)",
        "; ".join(LICENSES[n] for n in sorted(have)),
    )
    return (train if split == "train" else val), info, None


def _person_info(training_data: str, license: str) -> DatasetInfo:
    return DatasetInfo(
        "person",
        list(PERSON_CLASSES),
        [[0, 0, 0], [255, 255, 255]],
        255,
        "foreground",
        training_data=training_data,
        license=license,
        foreground=["person"],
        groups_are_clips=False,
    )


def _portrait_val(root: Path, split: str, val_every: int):
    if split != "val":
        raise InputError("person data: portrait=true is a validation view (split val)")
    if not (root / "ccp_person").is_dir():
        raise InputError(f"person data: portrait=true needs ccp_person/ under {root}")
    samples, _, _ = person(root, "val", val_every, sources=["ccp_person"])
    info = _person_info(
        "head-and-shoulders crops of the ccp_person val photos", LICENSES["ccp_person"]
    )
    return _portrait_views(samples, portrait_crop), info, None


def _portrait_views(samples: list[Sample], view) -> list[Sample]:
    """ccp_person ``samples`` seen through ``view`` (a ``portrait_crop``): group ccp_portrait."""
    return [
        dataclasses.replace(s, name=f"ccp_portrait/{s.image.stem}", group="ccp_portrait", view=view)
        for s in samples
    ]


def portrait_crop(
    img: np.ndarray,
    mask: np.ndarray,
    height: float = 0.36,
    aspect: float = 4 / 3,
    out_height: int | None = None,
):
    """Head and shoulders of the labelled person (mask == 1): a 4:3 box from a little above the
    head down ``height`` of the figure's height (about the chest of a standing person), centred
    on the figure's upper part and kept inside the image, then resized to ``out_height`` rows
    if given. Without a person: unchanged."""
    fg = (mask[..., 0] if mask.ndim == 3 else mask) == 1
    ys, xs = np.nonzero(fg)
    if ys.size == 0:
        return img, mask
    H, W = fg.shape
    top, fig_h = int(ys.min()), int(ys.max()) + 1 - int(ys.min())
    box_h = min(H, max(8, round(fig_h * height)))
    box_w = min(W, round(box_h * aspect))
    y0 = min(max(0, top - round(0.05 * fig_h)), H - box_h)
    upper = xs[ys < top + box_h]
    x0 = min(max(0, round(float(upper.mean()) - box_w / 2)), W - box_w)
    img, mask = img[y0 : y0 + box_h, x0 : x0 + box_w], mask[y0 : y0 + box_h, x0 : x0 + box_w]
    if out_height:
        size = (round(box_w * out_height / box_h), int(out_height))
        img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    return img, mask


def _davis_samples(root: Path, stride: int) -> list[Sample]:
    people = _binary_lut(255)
    nobody = np.zeros(256, dtype=np.uint8)  # the animal is background for a person model
    out = []
    for clips, lut, step in ((DAVIS_PEOPLE, people, stride), (DAVIS_NO_PEOPLE, nobody, stride * 3)):
        for clip in clips:
            img_dir = root / "JPEGImages" / clip
            if not img_dir.is_dir():
                continue
            for f in list_files(img_dir)[::step]:
                out.append(
                    Sample(
                        f,
                        root / "Annotations" / clip / f"{f.stem}.png",
                        name=f"davis/{clip}/{f.stem}",
                        group="davis2016",
                        label_lut=lut,
                    )
                )
    return out


# ---- copy-paste compositing --------------------------------------------------------------------
class CompositeDataset(SegmentationDataset):
    """A foreground data set plus ``composites`` pasted images per epoch (indices after the real
    ones). Cut-outs: samples of ``cutout_groups`` with enough foreground; backgrounds: samples
    whose label has no foreground pixel (ignore pixels stay ignore)."""

    def __init__(
        self,
        *args,
        composites: int = 1000,
        cutout_groups=CUTOUT_GROUPS,
        closeup: float = 0.35,
        **kwargs,
    ):
        kwargs["cache"] = True  # cut-outs and backgrounds are picked from the decoded set
        self.composites = 0  # while the real samples are decoded
        super().__init__(*args, **kwargs)
        self.composites = int(composites)
        self.closeup = float(closeup)
        self.cutouts, self.backgrounds = [], []
        for i, (s, (_img, mask)) in enumerate(zip(self.samples, self._cache, strict=True)):
            fg = mask == 1
            if s.group in cutout_groups and fg.mean() > 0.05:
                self.cutouts.append(i)
            elif not fg.any():
                self.backgrounds.append(i)
        if self.composites and not (self.cutouts and self.backgrounds):
            raise InputError(
                f"compositing needs cut-outs ({len(self.cutouts)} found in "
                f"{', '.join(cutout_groups)}) and people-free backgrounds "
                f"({len(self.backgrounds)} found)"
            )

    def __len__(self) -> int:
        return len(self.samples) + self.composites

    def groups(self) -> list[str]:
        return [s.group for s in self.samples] + ["composite"] * self.composites

    def load(self, i: int):
        if i < len(self.samples):
            return super().load(i)
        rng = np.random.default_rng([self.seed, self.epoch, i, 7])
        cut = super().load(self.cutouts[int(rng.integers(len(self.cutouts)))])
        bg = super().load(self.backgrounds[int(rng.integers(len(self.backgrounds)))])
        return paste_person(cut[0], cut[1], bg[0], bg[1], rng, self.closeup)


def paste_person(img, mask, bg_img, bg_mask, rng, closeup=0.35):
    """Paste the foreground (mask == 1) of ``img`` onto a copy of ``bg_img``."""
    ys, xs = np.nonzero(mask == 1)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    H, W = bg_img.shape[:2]
    if rng.random() < closeup:
        # Head and shoulders: the top of the figure, as tall as 0.9-1.6 frames, cut at the bottom.
        keep = round((y1 - y0) * rng.uniform(0.35, 0.6))
        y1 = y0 + max(8, keep)
        scale = H * rng.uniform(0.9, 1.6) / (y1 - y0)
    else:
        scale = H * rng.uniform(0.3, 1.0) / (y1 - y0)
    scale = min(scale, 3.0 * W / max(1, x1 - x0))
    cut = img[y0:y1, x0:x1]
    alpha = (mask[y0:y1, x0:x1] == 1).astype(np.float32)
    h, w = max(2, round(cut.shape[0] * scale)), max(2, round(cut.shape[1] * scale))
    cut = cv2.resize(cut, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)
    # Feathered edge (0.5-1.5 px) so the network cannot find people by their hard outline.
    alpha = cv2.GaussianBlur(alpha, (0, 0), rng.uniform(0.5, 1.5))
    # Colour match: move the figure's mean part of the way to the background's.
    k = rng.uniform(0.0, 0.5)
    inside = alpha > 0.5
    if inside.any():
        cut += k * (bg_img.reshape(-1, 3).mean(0) - cut[inside].mean(0))
    x = int(rng.integers(-w // 4, max(1, W - 3 * w // 4)))
    y = (
        H - h + int(rng.integers(0, max(1, h // 5)))
        if rng.random() < 0.7
        else int(rng.integers(-h // 5, max(1, H - h + 1)))
    )
    out_img = bg_img.astype(np.float32)
    out_mask = bg_mask.copy()
    # Overlap of the pasted box with the frame.
    fx0, fy0, fx1, fy1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if fx1 <= fx0 or fy1 <= fy0:
        return bg_img.copy(), out_mask
    a = alpha[fy0 - y : fy1 - y, fx0 - x : fx1 - x, None]
    region = out_img[fy0:fy1, fx0:fx1]
    out_img[fy0:fy1, fx0:fx1] = region * (1 - a) + cut[fy0 - y : fy1 - y, fx0 - x : fx1 - x] * a
    m = out_mask[fy0:fy1, fx0:fx1]
    m[a[..., 0] > 0.5] = 1
    return np.clip(out_img, 0, 255).astype(np.uint8), out_mask
