"""Soft labels from a teacher model (``liveseg label``), and the reader a data loader uses.

A label folder holds one file per image plus ``labels.json`` (:data:`INFO_NAME`) saying which
teacher made them and how the values are encoded (``encoding``):

* ``foreground_png``: ``<stem>.png``, single-channel uint8 at the image's own size,
  value = round(255 * P(foreground)). For models with a foreground notion (2 classes, or a
  1-channel confidence / probability map).
* ``probs_npz``: ``<stem>.npz`` with ``probs`` float16 (C, h, w) class probabilities at the
  model's output size (each pixel sums to 1), ``classes`` and ``image_size`` (H, W).
* ``class_png`` (``--hard``): ``<stem>.png``, uint8 class indices at the image's size.

    from liveseg.runtime.teacher import read_soft_label
    p = read_soft_label("labels/", "0001")               # (H, W) float32 P(fg) or (C, h, w)
    p = read_soft_label("labels/", "0001", size=(W, H))  # resized to W x H
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from liveseg.errors import InputError, OutputError

INFO_NAME = "labels.json"
FORMAT = "liveseg-soft-labels"
ENCODINGS = {
    "foreground_png": "<stem>.png: single-channel uint8 at the image's size, "
    "value = round(255 * P(foreground))",
    "probs_npz": "<stem>.npz: 'probs' float16 (C, h, w) class probabilities at the model's "
    "output size (each pixel sums to 1), 'classes' the class names, 'image_size' "
    "(H, W) of the image",
    "class_png": "<stem>.png: single-channel uint8 class indices at the image's size (arg-max)",
}


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def has_foreground(model) -> bool:
    """A 1-channel foreground map or a 2-class model: one P(foreground) per pixel says it all."""
    return model.io.output_kind in ("fg_prob", "fg_logit") or model.num_classes == 2


def encoding_for(model, hard: bool = False) -> str:
    if hard:
        return "class_png"
    return "foreground_png" if has_foreground(model) else "probs_npz"


def output_name(stem: str, encoding: str) -> str:
    return f"{stem}.npz" if encoding == "probs_npz" else f"{stem}.png"


def teacher_info(model, encoding: str) -> dict:
    """The labels.json contents describing ``model`` and ``encoding`` (no image list)."""
    path = Path(model.path)
    teacher = {
        "file": str(path.resolve()),
        "name": model.card.name,
        "sha256": file_sha256(path),
        "engine": model.engine.name,
        "input_size": list(model.io.input_size),
        "output_kind": model.io.output_kind,
        "output_size": [int(model.io.output_size[1]), int(model.io.output_size[0])],  # W, H
        "card_source": model.card_source,
    }
    if path.suffix.lower() == ".xml" and path.with_suffix(".bin").is_file():
        teacher["weights_sha256"] = file_sha256(path.with_suffix(".bin"))
    classes = list(model.classes)
    fg = [classes[i] for i in model.foreground_indices if i < len(classes)]
    return {
        "format": FORMAT,
        "version": 1,
        "teacher": teacher,
        "classes": classes,
        "foreground": fg if encoding != "probs_npz" else list(model.card.foreground),
        "encoding": encoding,
        "description": ENCODINGS[encoding],
    }


def read_info(folder) -> dict:
    """labels.json of a label folder (InputError when it is missing or not liveseg's)."""
    p = Path(folder) / INFO_NAME
    try:
        info = json.loads(p.read_text())
    except FileNotFoundError:
        raise InputError(f"{p} not found: {folder} is not a liveseg label folder") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{p} is unreadable: {exc}") from None
    if (
        not isinstance(info, dict)
        or info.get("format") != FORMAT
        or info.get("encoding") not in ENCODINGS
    ):
        raise InputError(f"{p} is not a liveseg soft-label description")
    return info


_INFO_CACHE: dict = {}


def _cached_info(folder: Path) -> dict:
    p = folder / INFO_NAME
    try:
        key = (str(p.resolve()), p.stat().st_mtime_ns)
    except OSError:
        return read_info(folder)
    info = _INFO_CACHE.get(key)
    if info is None:
        info = read_info(folder)
        _INFO_CACHE.clear()
        _INFO_CACHE[key] = info
    return info


def read_soft_label(folder, stem: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """The teacher's label for image ``stem`` in ``folder`` as float32 probabilities:

    * (H, W) P(foreground) in [0, 1] for ``foreground_png`` folders, and for ``class_png``
      folders of 2-class models (hard 0/1);
    * (C, h, w) class probabilities for ``probs_npz`` folders (model output size), and a
      one-hot (C, H, W) for ``class_png`` folders of C-class models.

    ``size=(width, height)`` resizes the result (bilinear for soft values, nearest for hard
    ones). InputError when the file is missing or unreadable.
    """
    import cv2

    folder = Path(folder)
    info = _cached_info(folder)
    enc = info["encoding"]
    path = folder / output_name(stem, enc)
    if not path.is_file():
        raise InputError(f"no soft label for {stem!r} in {folder} ({path.name} missing)")
    if enc == "probs_npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                out = z["probs"].astype(np.float32)
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"{path} is not a readable soft label ({exc})") from None
        if size is not None and tuple(out.shape[1:]) != (size[1], size[0]):
            out = np.stack(
                [cv2.resize(c, tuple(size), interpolation=cv2.INTER_LINEAR) for c in out]
            )
            out /= np.maximum(out.sum(axis=0, keepdims=True), 1e-6)
        return out
    img = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None or img.ndim != 2:
        raise InputError(f"{path} is not a single-channel PNG soft label")
    hard = enc == "class_png"
    if size is not None and tuple(img.shape) != (size[1], size[0]):
        interp = cv2.INTER_NEAREST if hard else cv2.INTER_LINEAR
        img = cv2.resize(img, tuple(size), interpolation=interp)
    if not hard:
        return img.astype(np.float32) * np.float32(1 / 255)
    C = len(info.get("classes") or []) or int(img.max()) + 1
    if C <= 2:
        return (img > 0).astype(np.float32)
    return (img[None] == np.arange(C, dtype=img.dtype)[:, None, None]).astype(np.float32)


# ---- writing -----------------------------------------------------------------------------------
def check_writable_folder(folder, create: bool = True) -> Path:
    """Prove a file can be written in ``folder``; create it if needed (its parent must exist).
    With ``create=False`` a missing folder is left missing and its parent is tested instead."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"-o {folder} exists and is not a folder")
    probe = folder
    if not folder.exists():
        if not folder.parent.is_dir():
            raise OutputError(f"the parent folder {folder.parent} of -o {folder} does not exist")
        if create:
            try:
                folder.mkdir()
            except OSError as exc:
                raise OutputError(f"cannot create {folder}: {exc.strerror or exc}") from None
        else:
            probe = folder.parent
    try:
        with tempfile.NamedTemporaryFile(dir=probe, prefix=".liveseg-write-test-"):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write into {probe}: {exc.strerror or exc}") from None
    return folder


def _same_teacher(a: dict, b: dict) -> bool:
    return (
        a.get("encoding") == b.get("encoding")
        and a.get("classes") == b.get("classes")
        and (a.get("teacher") or {}).get("sha256") == (b.get("teacher") or {}).get("sha256")
    )


def encode_soft_label(model, pred, encoding: str) -> bytes | dict:
    """PNG bytes (png encodings) or the npz arrays (probs_npz) for one Prediction."""
    import cv2

    if encoding == "probs_npz":
        return {
            "probs": pred.probs.astype(np.float16),
            "classes": np.asarray(list(model.classes), dtype=str),
            "image_size": np.asarray(pred.frame_size, np.int32),
        }
    if encoding == "class_png":
        if model.num_classes > 256:
            raise OutputError(
                f"--hard writes 8-bit PNGs; this model has {model.num_classes} classes"
            )
        img = pred.labels()
    else:
        p = pred.foreground(model.foreground_indices)
        img = np.rint(np.clip(p, 0.0, 1.0) * 255.0).astype(np.uint8)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(img), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:  # pragma: no cover - OpenCV always has PNG
        raise OutputError("OpenCV cannot write PNG images")
    return buf.tobytes()


def label_images(
    model, paths, folder, *, hard: bool = False, overwrite: bool = False, progress=None
) -> dict:
    """Run ``model`` (a SegModel) over image ``paths`` and write soft labels into ``folder``.

    Everything that can be checked is checked before the first image: the folder is
    writable, no two images share a stem, no output would replace an input, no output exists
    (unless ``overwrite``), and an existing labels.json comes from the same teacher and
    encoding (unless ``overwrite``). Each file is written atomically. Returns labels.json's
    contents (with the image list and timing)."""
    from liveseg.atomic import atomic_output, write_text_atomic
    from liveseg.images import read_image

    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no images to label")
    stems: dict[str, Path] = {}
    for p in paths:
        if p.stem in stems and stems[p.stem].resolve() != p.resolve():
            raise InputError(
                f"{stems[p.stem]} and {p} share the name stem {p.stem!r}: "
                "their labels would collide"
            )
        stems[p.stem] = p
    folder = check_writable_folder(folder)
    encoding = encoding_for(model, hard)
    info = teacher_info(model, encoding)
    info_path = folder / INFO_NAME
    old_images: dict = {}
    if info_path.exists():
        try:
            old = json.loads(info_path.read_text())
        except (OSError, ValueError):
            old = {}
        if not overwrite and not _same_teacher(old, info):
            raise OutputError(
                f"{info_path} describes other labels (another teacher, classes or "
                "encoding); use another folder or pass --overwrite"
            )
        if _same_teacher(old, info):
            old_images = dict(old.get("images") or {})
    inputs = {p.resolve() for p in paths}
    targets = {s: folder / output_name(s, encoding) for s in stems}
    for t in targets.values():
        if t.resolve() in inputs:
            raise OutputError(
                f"refusing to overwrite the input {t} with its label; choose another -o"
            )
    existing = [t for t in targets.values() if t.exists()]
    if existing and not overwrite:
        what = (
            f"{existing[0]} exists"
            if len(existing) == 1
            else f"{len(existing)} labels exist already ({existing[0]}, ...)"
        )
        raise OutputError(f"{what}; pass --overwrite to replace")

    write_text_atomic(info_path, json.dumps({**info, "images": old_images}, indent=2) + "\n")
    t0 = time.perf_counter()
    done = {}
    for i, (stem, src) in enumerate(stems.items()):
        img = read_image(src)
        pred = model.predict(img)
        data = encode_soft_label(model, pred, encoding)
        with atomic_output(targets[stem]) as tmp:
            if isinstance(data, dict):
                np.savez_compressed(tmp, **data)
            else:
                tmp.write_bytes(data)
        done[stem] = str(src.resolve())
        if progress is not None:
            progress(i + 1, len(stems))
    elapsed = time.perf_counter() - t0
    info["images"] = {**old_images, **done}
    info["labelled"] = {
        "count": len(done),
        "seconds": round(elapsed, 3),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    write_text_atomic(info_path, json.dumps(info, indent=2) + "\n")
    return info
