"""Subjects (salient foreground): DAVIS-2016 clips plus labelled photos of the things a video's
subject usually is (people, animals, vehicles), so a subject model sees more than 25 clips.

``subject(root, split)`` reads, under ``root`` (the folder holding the data sets):
- ``davis2016/``   the clips, held-out ``val_clips`` for validation (the only validation data,
  so J&F stays comparable with a DAVIS-only model);
- ``ccp_person/``  full-body photos, person -> foreground (training only);
- ``sysu_scene/``  photos whose people / animals / vehicles cover at least ``min_area`` of the
  image: those classes -> foreground, scenery (sky, road, building, ...) -> background, and
  other objects (bags, chairs, screens, ...) -> ignore, since whether they belong to a subject
  depends on the shot (training only).
The photos skip every ``val_every``-th file, the same files the person and VOC-21 models hold
out for validation. Photos keep their aspect when the set is pre-resized (``Sample.keep_aspect``):
a portrait squeezed into a 16:9 frame would teach shapes that no video has.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from liveseg.data.base import DatasetInfo
from liveseg.data.datasets import davis
from liveseg.data.io import read_list_file
from liveseg.data.person import LICENSES, folder_samples
from liveseg.errors import InputError

# SYSU-Scene classes that are a video's subject when they fill the frame; other objects are
# ignored, everything else is scenery.
SALIENT = {
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bus",
    "car",
    "cat",
    "cow",
    "dog",
    "horse",
    "motorbike",
    "person",
    "sheep",
    "train",
}
SCENERY = {"background", "building", "grass", "rail", "sea", "sky", "street/road", "tree"}


def sysu_salient_lut(names: list[str]) -> np.ndarray:
    lut = np.full(256, 255, dtype=np.uint8)
    for i, name in enumerate(names):
        if name in SALIENT:
            lut[i] = 1
        elif name in SCENERY:
            lut[i] = 0
    return lut


def _salient_share(mask_path: Path, lut: np.ndarray) -> float:
    m = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    return 0.0 if m is None else float((lut[m] == 1).mean())


def subject(
    root,
    split="train",
    val_clips=None,
    val_every=5,
    min_area=0.1,
    sysu_stride=1,
    ccp_stride=1,
    sources=("ccp_person", "sysu_scene"),
    **_,
):
    root = Path(root)
    if not (root / "davis2016").is_dir():
        raise InputError(f"subject data: davis2016/ not found under {root}")
    samples, dinfo, dlut = davis(root / "davis2016", split, year=2016, val_clips=val_clips)
    samples = [replace(s, label_lut=dlut) for s in samples]
    used = ["davis2016"]
    if split == "train":
        val_every = int(val_every)
        if "ccp_person" in sources and (root / "ccp_person").is_dir():
            lut = np.zeros(256, dtype=np.uint8)
            lut[1] = 1
            ccp = [
                s
                for i, s in enumerate(folder_samples(root / "ccp_person", "ccp_person", lut))
                if i % val_every
            ]
            samples += [replace(s, keep_aspect=True) for s in ccp[:: max(1, int(ccp_stride))]]
            used.append("ccp_person")
        if "sysu_scene" in sources and (root / "sysu_scene").is_dir():
            sysu = root / "sysu_scene"
            lut = sysu_salient_lut(read_list_file(sysu / "classes.txt"))
            photos = [
                s for i, s in enumerate(folder_samples(sysu, "sysu_scene", lut)) if i % val_every
            ]
            # reading the ~3000 label maps once costs a few seconds
            photos = [s for s in photos if _salient_share(s.mask, lut) >= float(min_area)]
            samples += [replace(s, keep_aspect=True) for s in photos[:: max(1, int(sysu_stride))]]
            used.append("sysu_scene")
    info = DatasetInfo(
        "subject",
        list(dinfo.classes),
        dinfo.palette,
        255,
        "foreground",
        training_data="DAVIS-2016 clips"
        + (" + photos of " + ", ".join(used[1:]) if used[1:] else "")
        + " (liveseg subject mix)",
        license="; ".join(LICENSES[n] for n in used),
        foreground=list(dinfo.foreground),
    )
    return samples, info, None
