"""Calibration images, preprocessed through the runtime's own preprocessor.

Images come from an image folder, a glob, or a data-set spec (``camvid:ROOT[:split]``,
``davis:ROOT``, any reader of ``liveseg.data``), spread evenly over the set, read with
``liveseg.images``, and turned into input tensors by the runtime's own preprocessing
(``liveseg.quant.preprocess.make_feed``: for a previous-mask model, each image both as a first
frame and as a later one, with the channel ``liveseg run`` gives it). ``ImageCalibrationReader``
hands them to ONNX Runtime's calibrators. No torch.
"""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np

from liveseg.errors import InputError
from liveseg.images import IMAGE_EXTS, read_image
from liveseg.quant.onnx_io import card_for_model
from liveseg.quant.preprocess import make_feed
from liveseg.runtime.onnx_file import graph_inputs, load_onnx


def _images_in(folder: Path, recursive=False) -> list[Path]:
    it = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in it if p.suffix.lower() in IMAGE_EXTS and p.is_file())


def list_calibration_images(spec) -> list[Path]:
    """Image paths from a folder, a glob, or a data-set spec.

    Data-set specs: ``camvid:ROOT[:split]`` (default split ``train``: never calibrate on the
    split you evaluate on), ``davis:ROOT`` (frames of the clips in ImageSets/train.txt).
    """
    spec = str(spec)
    kind, _, rest = spec.partition(":")
    readers = _dataset_readers()
    if kind.lower() in readers and kind.lower() not in ("camvid", "davis", "folder") and rest:
        root, _, split = rest.partition(":")
        samples = readers[kind.lower()](root, split or "train")[0]
        images = [Path(s.image) for s in samples]
    elif kind.lower() == "camvid" and rest:
        root, _, split = rest.partition(":")
        folder = Path(root) / (split or "train")
        if not folder.is_dir():
            raise InputError(f"CamVid split folder not found: {folder}")
        images = _images_in(folder)
    elif kind.lower() == "davis" and rest:
        root = Path(rest)
        jpeg = root / "JPEGImages"
        if not jpeg.is_dir():
            raise InputError(f"DAVIS folder has no JPEGImages/: {root}")
        listing = root / "ImageSets" / "train.txt"
        clips = listing.read_text().split() if listing.is_file() else None
        images = []
        for clip in sorted(p for p in jpeg.iterdir() if p.is_dir()):
            if clips is None or clip.name in clips:
                images.extend(_images_in(clip))
    elif any(ch in spec for ch in "*?["):
        images = sorted(
            Path(p) for p in glob.glob(spec, recursive=True) if Path(p).suffix.lower() in IMAGE_EXTS
        )
        if not images:
            raise InputError(f"calibration pattern {spec!r} matches no images")
    else:
        folder = Path(spec)
        if not folder.exists():
            raise InputError(f"calibration folder not found: {folder}")
        if not folder.is_dir():
            if folder.suffix.lower() in IMAGE_EXTS:
                return [folder]
            raise InputError(f"calibration data must be an image folder or glob, got file {folder}")
        try:
            images = _images_in(folder)
        except PermissionError:
            raise InputError(f"calibration folder is not readable: {folder}") from None
    if not images:
        raise InputError(
            f"no calibration images in {spec} (looked for {', '.join(sorted(IMAGE_EXTS))})"
        )
    return images


def dataset_calibration_spec(kind, root, opts, split, workdir) -> str:
    """A calibration spec (see ``list_calibration_images``) for the ``split`` of a data set given
    as (reader, root, reader options). A spec string has no room for options, so data sets with
    options get a folder of links to their images under ``workdir``; so does ``folder``, which
    the quantizer would read as a plain image folder."""
    from liveseg.data.datasets import read_dataset

    opts = dict(opts or {})
    if not opts and kind != "folder":
        return f"{kind}:{root}:{split}"
    folder = Path(workdir) / f"calib-{split}"
    if not folder.is_dir():
        tmp = folder.with_name(folder.name + ".tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        for k, sample in enumerate(read_dataset(kind, root, split, **opts)[0]):
            link = tmp / f"{k:05d}{Path(sample.image).suffix}"
            if not link.exists():
                link.symlink_to(Path(sample.image).resolve())
        tmp.rename(folder)
    return str(folder)


def _dataset_readers() -> dict:
    try:
        from liveseg.data import READERS
    except ImportError:
        return {}
    return dict(READERS)


def pick_evenly(items: list, n: int | None) -> list:
    """n items spread evenly over the list (deterministic; sequences are not over-sampled)."""
    if not n or n >= len(items):
        return list(items)
    idx = np.linspace(0, len(items) - 1, n).round().astype(int)
    return [items[i] for i in dict.fromkeys(idx.tolist())]


def read_rgb(path) -> np.ndarray | None:
    """The image as RGB uint8 (``liveseg.images.read_image``); None when it cannot be read
    (the calibration reader counts those and goes on)."""
    try:
        return read_image(path)
    except InputError:
        return None


class ImageCalibrationReader:
    """An ORT CalibrationDataReader over image files (preprocessed lazily, rewindable).

    ``feed(frame)``: the input tensor of a frame, or a list of them (``make_feed``: a
    previous-mask model's frame gives two); every tensor is one calibration sample."""

    def __init__(self, images, input_name, feed):
        self.images = list(images)
        self.input_name = input_name
        self.feed = feed
        self.unreadable: list[Path] = []
        self._cache: list[np.ndarray] | None = None
        self._pos = 0

    def tensors(self) -> list[np.ndarray]:
        if self._cache is None:
            out = []
            for p in self.images:
                frame = read_rgb(p)
                if frame is None:
                    self.unreadable.append(Path(p))
                    continue
                x = self.feed(frame)
                out.extend(x if isinstance(x, list) else [x])
            if not out:
                raise InputError(
                    f"none of the {len(self.images)} calibration images could be read "
                    f"(first: {self.images[0] if self.images else '-'})"
                )
            self._cache = out
        return self._cache

    def __len__(self):
        """Calibration samples (tensors), not images: see ``images_read``."""
        return len(self.tensors())

    @property
    def images_read(self) -> int:
        self.tensors()
        return len(self.images) - len(self.unreadable)

    def get_next(self):
        data = self.tensors()
        if self._pos >= len(data):
            return None
        self._pos += 1
        return {self.input_name: data[self._pos - 1]}

    def rewind(self):
        self._pos = 0

    # ORT's CalibStridedMinMax protocol
    def set_range(self, start_index, end_index):
        self._pos = start_index


def calibration_reader(model_path, calib, samples=64, card=None, model=None):
    model = model if model is not None else load_onnx(model_path)
    card = card or card_for_model(model_path, model)
    images = pick_evenly(list_calibration_images(calib), samples)
    reader = ImageCalibrationReader(
        images, graph_inputs(model)[0].name, make_feed(model_path, card)
    )
    reader.tensors()  # read now: errors surface before any quantization work
    return reader
