"""Readers for the standard on-disk layouts: CamVid (SegNet), DAVIS 2016/2017, PASCAL VOC 2012
(+ SBD aug list), Cityscapes and a generic folder. Each returns (samples, DatasetInfo, label_lut).

``build_dataset(name, root, split, **options)`` wraps them in a cached SegmentationDataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from liveseg.data.base import DatasetInfo, Sample, SegmentationDataset
from liveseg.data.io import list_files, read_list_file
from liveseg.errors import ConfigError, InputError
from liveseg.images import IMAGE_EXTS


def _need_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise InputError(f"{what} folder not found: {path}")
    return path


# ---- CamVid (SegNet tutorial layout) -----------------------------------------------------------
CAMVID_CLASSES = [
    "Sky",
    "Building",
    "Pole",
    "Road",
    "Pavement",
    "Tree",
    "SignSymbol",
    "Fence",
    "Car",
    "Pedestrian",
    "Bicyclist",
]
CAMVID_PALETTE = [
    [128, 128, 128],
    [128, 0, 0],
    [192, 192, 128],
    [128, 64, 128],
    [60, 40, 222],
    [128, 128, 0],
    [192, 128, 128],
    [64, 64, 128],
    [64, 0, 128],
    [64, 64, 0],
    [0, 128, 192],
]


def camvid(root, split="train", **_):
    root = Path(root)
    splits = ["train", "val"] if split == "trainval" else [split]
    samples = []
    for sp in splits:
        img_dir = _need_dir(root / sp, f"CamVid '{sp}' image")
        ann_dir = _need_dir(root / f"{sp}annot", f"CamVid '{sp}annot' label")
        for img in list_files(img_dir):
            mask = ann_dir / (img.stem + ".png")
            if not mask.is_file():
                raise InputError(f"CamVid: no label map {mask} for image {img}")
            samples.append(Sample(img, mask, name=img.stem, group=img.stem.split("_")[0]))
    lut = np.arange(256, dtype=np.uint8)
    lut[11] = 255  # Unlabelled / void
    info = DatasetInfo(
        "camvid",
        list(CAMVID_CLASSES),
        [list(c) for c in CAMVID_PALETTE],
        255,
        "semantic",
        training_data="CamVid (Brostow et al. 2008), SegNet tutorial split",
        license="CamVid: research use only",
    )
    return samples, info, lut


# ---- DAVIS 2016 / 2017 -------------------------------------------------------------------------
DAVIS_LICENSE = "CC BY-NC 4.0 (DAVIS): non-commercial use only"


def _davis_dirs(root: Path):
    img_root = _need_dir(root / "JPEGImages", "DAVIS JPEGImages")
    ann_root = _need_dir(root / "Annotations", "DAVIS Annotations")
    # Official releases nest one more level by resolution (480p / Full-Resolution).
    for res in ("480p", "Full-Resolution"):
        if (img_root / res).is_dir() and (ann_root / res).is_dir():
            return img_root / res, ann_root / res
    return img_root, ann_root


def davis_clip_names(root, split="train", year=2016, clips_file=None, val_clips=None):
    """Clip names of a split. With ``val_clips`` (a held-out list) 'train' is the clips file minus
    them and 'val' is them; otherwise the split's ImageSets list is read."""
    root = Path(root)
    val_clips = list(val_clips or [])
    if clips_file:
        listed = read_list_file(
            Path(clips_file) if Path(clips_file).is_absolute() else root / clips_file
        )
    else:
        base = "train" if val_clips else split
        cands = [root / "ImageSets" / str(year) / f"{base}.txt", root / "ImageSets" / f"{base}.txt"]
        found = next((c for c in cands if c.is_file()), None)
        if found is None:
            raise InputError(
                f"DAVIS: split list not found (looked for {', '.join(map(str, cands))})"
            )
        listed = read_list_file(found)
    # DAVIS-2016's official lists hold "/JPEGImages/480p/clip/00000.jpg ..." pairs: take the clip.
    names = []
    for ln in listed:
        name = ln.split()[0].strip("/").split("/")[-2] if "/" in ln else ln
        if name not in names:
            names.append(name)
    if val_clips:
        unknown = [c for c in val_clips if c not in names]
        if unknown:
            raise ConfigError(f"DAVIS: held-out clips {unknown} are not in the clip list")
        if split == "val":
            return val_clips
        if split == "train":
            return [c for c in names if c not in val_clips]
        if split in ("all", "trainval"):
            return names
        raise ConfigError(f"DAVIS: split must be train, val or all, got {split!r}")
    return names


def davis_clips(root, split="train", year=2016, clips_file=None, val_clips=None):
    """Ordered frames per clip: {clip: [Sample, ...]} (mask None where a frame has none)."""
    root = Path(root)
    img_root, ann_root = _davis_dirs(root)
    out = {}
    for clip in davis_clip_names(root, split, year, clips_file, val_clips):
        frames = list_files(_need_dir(img_root / clip, f"DAVIS clip '{clip}'"))
        if not frames:
            raise InputError(f"DAVIS: clip folder {img_root / clip} holds no images")
        out[clip] = []
        for f in frames:
            m = ann_root / clip / (f.stem + ".png")
            out[clip].append(
                Sample(f, m if m.is_file() else None, name=f"{clip}/{f.stem}", group=clip)
            )
    return out


def davis(root, split="train", year=2016, clips_file=None, val_clips=None, **_):
    """Still images for binary subject segmentation: every object (any non-zero, non-255 value
    in 2017 palettes; 255 in 2016 masks) is foreground."""
    clips = davis_clips(root, split, year, clips_file, val_clips)
    samples = []
    for clip, frames in clips.items():
        missing = [s.image for s in frames if s.mask is None]
        if missing:
            raise InputError(
                f"DAVIS: clip {clip!r} has frames without annotation, e.g. {missing[0]}"
            )
        samples.extend(frames)
    lut = np.ones(256, dtype=np.uint8)
    lut[0] = 0
    if int(year) != 2016:
        lut[255] = 255  # DAVIS 2017 void
    info = DatasetInfo(
        f"davis{year}",
        ["background", "foreground"],
        [[0, 0, 0], [255, 255, 255]],
        255,
        "foreground",
        training_data=f"DAVIS-{year} (Perazzi et al. / Pont-Tuset et al.)",
        license=DAVIS_LICENSE,
        foreground=["foreground"],
    )
    return samples, info, lut


# ---- PASCAL VOC 2012 (+ SBD augmented list) ----------------------------------------------------
VOC_CLASSES = [
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
]


def _voc_root(root: Path) -> Path:
    for cand in (root, root / "VOC2012", root / "VOCdevkit" / "VOC2012"):
        if (cand / "JPEGImages").is_dir():
            return cand
    raise InputError(
        f"PASCAL VOC: no JPEGImages folder under {root} (nor VOC2012/, VOCdevkit/VOC2012/)"
    )


def voc(root, split="train", aug=False, list_file=None, mask_dir=None, **_):
    """``aug=True`` uses the SBD-augmented 'trainaug' setup: masks from SegmentationClassAug and
    the list ImageSets/Segmentation/train_aug.txt (override with mask_dir / list_file)."""
    root = _voc_root(Path(root))
    if list_file:
        lst = Path(list_file) if Path(list_file).is_absolute() else root / list_file
    else:
        name = "train_aug" if aug and split == "train" else split
        lst = root / "ImageSets" / "Segmentation" / f"{name}.txt"
    mdir = root / (mask_dir or ("SegmentationClassAug" if aug else "SegmentationClass"))
    _need_dir(mdir, "PASCAL VOC label")
    samples = []
    for ln in read_list_file(lst):
        stem = Path(ln.split()[0]).stem
        img = root / "JPEGImages" / f"{stem}.jpg"
        mask = mdir / f"{stem}.png"
        for p in (img, mask):
            if not p.is_file():
                raise InputError(f"PASCAL VOC: {p} (listed in {lst}) not found")
        samples.append(Sample(img, mask, name=stem))
    from liveseg.card import default_palette

    info = DatasetInfo(
        "voc2012",
        list(VOC_CLASSES),
        default_palette(21),
        255,
        "semantic",
        training_data="PASCAL VOC 2012" + (" + SBD (Hariharan et al.)" if aug else ""),
        license="PASCAL VOC: Flickr terms of use; research use",
    )
    return samples, info, None


# ---- Cityscapes --------------------------------------------------------------------------------
# (labelId, trainId) for the 19 evaluated classes; every other labelId -> 255.
CITYSCAPES_CLASSES = [
    ("road", 7, [128, 64, 128]),
    ("sidewalk", 8, [244, 35, 232]),
    ("building", 11, [70, 70, 70]),
    ("wall", 12, [102, 102, 156]),
    ("fence", 13, [190, 153, 153]),
    ("pole", 17, [153, 153, 153]),
    ("traffic light", 19, [250, 170, 30]),
    ("traffic sign", 20, [220, 220, 0]),
    ("vegetation", 21, [107, 142, 35]),
    ("terrain", 22, [152, 251, 152]),
    ("sky", 23, [70, 130, 180]),
    ("person", 24, [220, 20, 60]),
    ("rider", 25, [255, 0, 0]),
    ("car", 26, [0, 0, 142]),
    ("truck", 27, [0, 0, 70]),
    ("bus", 28, [0, 60, 100]),
    ("train", 31, [0, 80, 100]),
    ("motorcycle", 32, [0, 0, 230]),
    ("bicycle", 33, [119, 11, 32]),
]


def cityscapes_label_lut() -> np.ndarray:
    lut = np.full(256, 255, dtype=np.uint8)
    for train_id, (_, label_id, _) in enumerate(CITYSCAPES_CLASSES):
        lut[label_id] = train_id
    return lut


def cityscapes_train_to_label_ids(pred) -> np.ndarray:
    """Map a trainId prediction (0..18) to labelIds for the official evaluation scripts
    (anything else -> 0, 'unlabeled')."""
    lut = np.zeros(256, dtype=np.uint8)
    for train_id, (_, label_id, _) in enumerate(CITYSCAPES_CLASSES):
        lut[train_id] = label_id
    return lut[np.asarray(pred).astype(np.uint8)]


def cityscapes(root, split="train", **_):
    root = Path(root)
    img_root = _need_dir(root / "leftImg8bit" / split, "Cityscapes leftImg8bit/" + split)
    gt_root = _need_dir(root / "gtFine" / split, "Cityscapes gtFine/" + split)
    samples = []
    for city in sorted(p for p in img_root.iterdir() if p.is_dir()):
        for img in sorted(city.glob("*_leftImg8bit.png")):
            base = img.name[: -len("_leftImg8bit.png")]
            mask = gt_root / city.name / f"{base}_gtFine_labelIds.png"
            if not mask.is_file():
                raise InputError(f"Cityscapes: no label map {mask} for {img}")
            samples.append(Sample(img, mask, name=base, group=city.name))
    info = DatasetInfo(
        "cityscapes",
        [c[0] for c in CITYSCAPES_CLASSES],
        [list(c[2]) for c in CITYSCAPES_CLASSES],
        255,
        "semantic",
        training_data="Cityscapes fine annotations (Cordts et al. 2016)",
        license="Cityscapes: non-commercial research use",
    )
    return samples, info, cityscapes_label_lut()


# ---- Generic folder ----------------------------------------------------------------------------
def read_classes_file(path):
    """One class per line: ``name`` or ``name R G B``. Returns (names, palette or [])."""
    names, palette = [], []
    for ln in read_list_file(path):
        parts = ln.split()
        if len(parts) >= 4 and all(p.isdigit() for p in parts[-3:]):
            names.append(" ".join(parts[:-3]))
            palette.append([int(p) for p in parts[-3:]])
        else:
            names.append(ln)
    if palette and len(palette) != len(names):
        raise InputError(f"classes file {path}: give a colour for every class or for none")
    return names, palette


def folder(
    root,
    split="train",
    images="images",
    masks="masks",
    classes="classes.txt",
    ignore_index=255,
    name="folder",
    license="",
    val_every=None,
    **_,
):
    """``root/images/*``, ``root/masks/<same stem>.png``, ``root/classes.txt``; an optional
    ``root/<split>.txt`` lists the stems of a split (without it every image is used).
    ``val_every: N`` splits a folder without lists: every Nth image (sorted by name, starting
    with the first) is ``val``, the rest ``train``.
    ``masks: null``: images without labels (for training from a teacher's, ``data.teacher``)."""
    root = Path(root)
    img_dir = _need_dir(root / images, "images")
    if masks is None:
        names, palette = read_classes_file(root / classes)
        files = list_files(img_dir)
        if not files:
            raise InputError(f"no images in {img_dir}")
        info = DatasetInfo(
            name,
            names,
            palette,
            int(ignore_index),
            "semantic",
            training_data=f"folder {root} (teacher labels)",
            license=license,
        )
        return [Sample(f, None, name=f.stem) for f in files], info, None
    mask_dir = _need_dir(root / masks, "masks")
    names, palette = read_classes_file(root / classes)
    files = {p.stem: p for p in list_files(img_dir)}
    lst = root / f"{split}.txt"
    if val_every is not None:
        if not isinstance(val_every, int) or isinstance(val_every, bool) or val_every < 2:
            raise ConfigError(f"data.options.val_every must be an integer >= 2, got {val_every!r}")
        if split not in ("train", "val"):
            raise ConfigError(f"with val_every the splits are 'train' and 'val', not {split!r}")
        stems = [
            st for i, st in enumerate(sorted(files)) if (i % val_every == 0) == (split == "val")
        ]
    else:
        stems = read_list_file(lst) if lst.is_file() else sorted(files)
    samples, missing = [], []
    for st in stems:
        if st not in files:
            raise InputError(f"{lst}: image {st!r} not found in {img_dir}")
        mask = next(
            (
                mask_dir / f"{st}{e}"
                for e in (".png",) + IMAGE_EXTS
                if (mask_dir / f"{st}{e}").is_file()
            ),
            None,
        )
        if mask is None:
            missing.append(st)
            continue
        samples.append(Sample(files[st], mask, name=st))
    if missing:
        raise InputError(f"{len(missing)} images have no mask in {mask_dir}, e.g. {missing[:3]}")
    info = DatasetInfo(
        name,
        names,
        palette,
        int(ignore_index),
        "semantic",
        training_data=f"folder {root}",
        license=license,
    )
    return samples, info, None


def _person(root, split="train", **options):
    from liveseg.data.person import person

    return person(root, split, **options)


def _subject(root, split="train", **options):
    from liveseg.data.subject import subject

    return subject(root, split, **options)


READERS = {
    "camvid": camvid,
    "person": _person,
    "subject": _subject,
    "davis": davis,
    "davis2016": lambda root, split="train", **kw: davis(root, split, year=2016, **kw),
    "davis2017": lambda root, split="train", **kw: davis(root, split, year=2017, **kw),
    "voc": voc,
    "voc2012": voc,
    "cityscapes": cityscapes,
    "folder": folder,
}


def read_dataset(kind: str, root, split: str, class_map=None, class_names=None, **options):
    """(samples, info, label_lut) of a data set; ``class_map`` (+ ``class_names``) remaps its
    classes while loading (liveseg.data.classmap)."""
    if kind not in READERS:
        raise ConfigError(f"unknown data set {kind!r}; choose one of {', '.join(sorted(READERS))}")
    if root is None or not Path(root).is_dir():
        raise InputError(f"data set {kind!r}: root folder not found: {root}")
    samples, info, lut = READERS[kind](root, split, **options)
    if class_map is not None:
        from liveseg.data.classmap import remap_classes

        return remap_classes(samples, info, lut, class_map, class_names, root)
    if class_names is not None:
        raise ConfigError("data.options.class_names needs class_map (the names of the new classes)")
    return samples, info, lut


def build_dataset(
    kind: str,
    root,
    split: str,
    transform=None,
    cache=True,
    preresize=None,
    seed=0,
    progress=False,
    composites=0,
    teacher_dir=None,
    **options,
) -> SegmentationDataset:
    """``composites`` > 0 (foreground data sets): that many copy-paste images per epoch
    (liveseg.data.person.CompositeDataset). ``teacher_dir``: soft labels of a foreground
    teacher (``liveseg label``) for every image, trained on beside the real labels."""
    samples, info, lut = read_dataset(kind, root, split, **options)
    if teacher_dir is not None:
        if composites:
            raise ConfigError(
                "data.composites and data.teacher do not go together yet "
                "(composites have no teacher label)"
            )
        return SegmentationDataset(
            samples,
            info,
            lut,
            transform=transform,
            cache=cache,
            preresize=preresize,
            seed=seed,
            progress=progress,
            teacher_dir=teacher_dir,
        )
    if composites:
        from liveseg.data.person import CompositeDataset

        return CompositeDataset(
            samples,
            info,
            lut,
            transform=transform,
            preresize=preresize,
            seed=seed,
            progress=progress,
            composites=int(composites),
        )
    return SegmentationDataset(
        samples,
        info,
        lut,
        transform=transform,
        cache=cache,
        preresize=preresize,
        seed=seed,
        progress=progress,
    )
