"""Data set base: a list of (image, mask) files + class info, decoded once and cached in RAM.

Readers (camvid, davis, voc, cityscapes, folder) only build the file list and the class info;
this class does the reading, the checks (unreadable files, size mismatch, values outside the
class set) and the caching as uint8 arrays, so that a 2-core CPU spends its time training,
not decoding JPEGs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from liveseg.card import default_palette
from liveseg.data.io import check_values
from liveseg.errors import InputError
from liveseg.images import read_image
from liveseg.metrics.labelmap import read_mask


@dataclass
class DatasetInfo:
    name: str
    classes: list[str]
    palette: list[list[int]] = field(default_factory=list)
    ignore_index: int = 255
    task: str = "semantic"  # or "foreground" (binary subject segmentation)
    training_data: str = ""
    license: str = ""
    foreground: list[str] = field(default_factory=list)
    # Sample groups are video clips in frame order (True), or collections of photos (False:
    # evaluation reports per-image IoU and boundary F per group, nothing temporal).
    groups_are_clips: bool = True

    def __post_init__(self):
        if not self.palette:
            self.palette = default_palette(len(self.classes))

    @property
    def num_classes(self) -> int:
        return len(self.classes)


@dataclass
class Sample:
    image: Path
    mask: Path | None
    name: str = ""
    group: str = ""  # clip / sequence the frame belongs to ("" when none)
    # Per-sample table stored value -> train id, for data sets mixed from several sources;
    # overrides the data set's label_lut.
    label_lut: np.ndarray | None = None
    # With ``preresize``: keep this image's aspect (fit inside, the rest padded black and
    # labelled ignore) instead of stretching it; for photos mixed into a set of another shape.
    keep_aspect: bool = False
    # A fixed view of the labelled sample, ``view(img, mask) -> (img, mask)``, applied right
    # after reading (e.g. the person set's head-and-shoulders crops for a close-up val split).
    view: Callable | None = None


class SegmentationDataset:
    """Map-style data set (works as a ``torch.utils.data.Dataset``).

    ``label_lut``: optional (256,) or larger integer table mapping stored values to train ids
    (e.g. Cityscapes labelIds -> trainIds, DAVIS 255 -> 1). Values are checked after mapping.
    ``preresize``: optional (W, H): images and masks are resized once when cached (training
    splits on a small CPU); leave it unset for validation so metrics use full-resolution labels.
    ``teacher_dir``: a ``liveseg label`` folder of a foreground teacher: items then also carry
    ``soft`` (the teacher's P(foreground), transformed with the image) and ``soft_valid``.
    Inside, the label map travels as (H, W, 3) uint8: class index, round(255 P), 1 where the
    teacher's value is real (0 in padding), so every geometric augmentation moves them together.
    Samples without a label map get an all-ignore one: the teacher alone teaches them.
    """

    def __init__(
        self,
        samples: list[Sample],
        info: DatasetInfo,
        label_lut: np.ndarray | None = None,
        transform=None,
        cache: bool = True,
        preresize=None,
        seed: int = 0,
        progress: bool = False,
        teacher_dir=None,
    ):
        if not samples:
            raise InputError(f"data set {info.name!r}: no samples found")
        self.samples = list(samples)
        self.info = info
        self.label_lut = None if label_lut is None else np.asarray(label_lut)
        self.transform = transform
        self.preresize = tuple(preresize) if preresize else None
        self.seed = int(seed)
        self.epoch = 0
        self.teacher_dir = teacher_dir
        self._cache: list | None = None
        if cache:
            self.cache_all(progress=progress)

    def __len__(self) -> int:
        return len(self.samples)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    # ---- reading ---------------------------------------------------------------------------
    def _map(self, raw: np.ndarray, lut: np.ndarray | None = None) -> np.ndarray:
        lut = self.label_lut if lut is None else np.asarray(lut)
        if lut is None:
            return raw
        if raw.max(initial=0) >= len(lut) or raw.min(initial=0) < 0:
            return raw  # check_values will name the offending values
        return lut[raw]

    def read(self, i: int):
        """Decode sample ``i`` from disk: (image uint8 HxWx3, mask HxW uint8/int32 or None)."""
        s = self.samples[i]
        img = read_image(s.image)
        if s.mask is None:
            if self.teacher_dir is None:
                return img, None
            mask = np.full(img.shape[:2], self.info.ignore_index, np.uint8)
            return self._resize(*self._with_teacher(img, mask, s), s.keep_aspect)
        raw = read_mask(s.mask)
        if raw.shape[:2] != img.shape[:2]:
            raise InputError(
                f"image {s.image} is {img.shape[1]}x{img.shape[0]} but its label map {s.mask} "
                f"is {raw.shape[1]}x{raw.shape[0]}"
            )
        mask = self._map(raw, s.label_lut)
        check_values(mask, self.info.num_classes, self.info.ignore_index, s.mask)
        dtype = (
            np.uint8 if self.info.num_classes <= 255 and self.info.ignore_index <= 255 else np.int32
        )
        mask = mask.astype(dtype, copy=False)
        if self.teacher_dir is not None:
            img, mask = self._with_teacher(img, mask, s)
        if s.view is not None:  # after the teacher's maps join the label: they move together
            img, mask = s.view(img, mask)
        return self._resize(img, mask, s.keep_aspect)

    def _resize(self, img, mask, keep_aspect=False):
        if self.preresize:
            from liveseg.data.transforms import letterbox_pair, resize_pair

            if keep_aspect:
                return letterbox_pair(img, mask, self.preresize, self.info.ignore_index)
            img, mask = resize_pair(img, mask, self.preresize)
        return img, mask

    def _with_teacher(self, img, mask, s: Sample):
        from liveseg.runtime.teacher import read_soft_label

        h, w = img.shape[:2]
        soft = read_soft_label(self.teacher_dir, s.image.stem, size=(w, h))
        if soft.ndim != 2:
            raise InputError(
                f"teacher labels in {self.teacher_dir} hold {soft.shape[0]} class "
                "maps; training with a teacher takes foreground (2-class) teachers"
            )
        if mask.dtype != np.uint8:
            raise InputError("training with a teacher needs label maps of at most 255 classes")
        soft8 = np.round(soft * 255).astype(np.uint8)
        return img, np.dstack([mask, soft8, np.ones_like(mask)])

    def cache_all(self, progress: bool = False) -> None:
        if self._cache is not None:
            return
        items = []
        if progress:
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task(
                    f"decoding {self.info.name} ({len(self)} images)", total=len(self)
                )
                for i in range(len(self)):
                    items.append(self.read(i))
                    bar.advance(task)
        else:
            items = [self.read(i) for i in range(len(self))]
        self._cache = items

    def load(self, i: int):
        if self._cache is not None:
            return self._cache[i]
        return self.read(i)

    def cached_bytes(self) -> int:
        if self._cache is None:
            return 0
        return sum(a.nbytes + (0 if m is None else m.nbytes) for a, m in self._cache)

    # ---- torch Dataset protocol ------------------------------------------------------------
    def __getitem__(self, i: int):
        import torch

        img, mask = self.load(i)
        if self.transform is not None:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            img, mask = self.transform(img, mask, rng)
        item = {
            "image": torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1),
            "index": i,
        }
        if mask is not None and mask.ndim == 3:  # class, teacher P(fg) * 255, teacher valid
            item["soft"] = torch.from_numpy(mask[:, :, 1].astype(np.float32) / 255.0)
            item["soft_valid"] = torch.from_numpy(mask[:, :, 2] > 0)
            mask = mask[:, :, 0]
        if mask is not None:
            item["mask"] = torch.from_numpy(np.ascontiguousarray(mask).astype(np.int64))
        return item

    def groups(self) -> list[str]:
        return [s.group for s in self.samples]

    def class_pixel_counts(self) -> np.ndarray:
        """Labelled pixels per class over the whole set (ignored pixels left out), as read
        (before augmentation, real samples only): what ``class_weights: balanced`` weighs by."""
        n = self.info.num_classes
        counts = np.zeros(n, np.int64)
        for i in range(len(self.samples)):
            _, mask = self.load(i)
            if mask is None:
                continue
            labels = mask[:, :, 0] if mask.ndim == 3 else mask
            counts += np.bincount(labels.ravel(), minlength=n)[:n]
        return counts


def collate(batch, ignore_index: int = 255):
    """Stack images (same size after the transforms) and previous-mask channels; pad masks of
    different sizes with ignore."""
    import torch

    out = {
        "image": torch.stack([b["image"] for b in batch]),
        "index": torch.tensor([b["index"] for b in batch]),
    }
    if "prev" in batch[0]:  # previous-mask channel (liveseg.data.prevmask), image-sized
        out["prev"] = torch.stack([b["prev"] for b in batch])
    if "soft" in batch[0]:  # teacher targets (training crops: all the same size)
        out["soft"] = torch.stack([b["soft"] for b in batch])
        out["soft_valid"] = torch.stack([b["soft_valid"] for b in batch])
    if "mask" in batch[0]:
        masks = [b["mask"] for b in batch]
        sizes = torch.tensor([m.shape for m in masks])
        h, w = int(sizes[:, 0].max()), int(sizes[:, 1].max())
        if all(m.shape == (h, w) for m in masks):
            out["mask"] = torch.stack(masks)
        else:
            padded = torch.full((len(masks), h, w), ignore_index, dtype=torch.int64)
            for k, m in enumerate(masks):
                padded[k, : m.shape[0], : m.shape[1]] = m
            out["mask"] = padded
        out["size"] = sizes
    return out
