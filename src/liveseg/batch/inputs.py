"""What a batch will do: INPUT arguments -> one ``Item`` per input file with its output paths.

INPUTs are video or image files, folders (searched recursively for videos and images; hidden
entries and OUTDIR skipped), globs (``clips/**/*.mp4``) and ``@list.txt`` (one path per line,
relative to the list's folder; ``#`` comments). Outputs mirror the inputs' paths relative to
their common folder, so ``season1/ season2/`` keep apart. An argument that matches nothing is
an error before any work starts; a listed file that is missing fails alone, as a corrupt one
does, since a list is data.
"""

from __future__ import annotations

import glob as _glob
import os
from dataclasses import dataclass
from pathlib import Path

from liveseg.errors import ConfigError, InputError, OutputError
from liveseg.images import IMAGE_EXTS, is_image_path
from liveseg.video.sinks import VIDEO_EXTS

# Extensions a folder or glob search takes as videos (a file named outright is tried whatever
# its extension: PyAV says whether it is a video).
VIDEO_INPUT_EXTS = VIDEO_EXTS | {
    ".mpg",
    ".mpeg",
    ".ts",
    ".mts",
    ".m2ts",
    ".flv",
    ".wmv",
    ".3gp",
    ".ogv",
    ".mxf",
    ".y4m",
    ".vob",
    ".divx",
}


@dataclass
class Item:
    """One input file and where its results go (``output``/``masks`` relative to OUTDIR)."""

    input: str  # absolute path
    kind: str  # "video" | "image"
    output: str
    masks: str | None = None
    error: str | None = None  # known before the start (a listed file that does not exist)

    def outputs(self) -> list[str]:
        return [self.output] + ([self.masks] if self.masks else [])


def is_media(path: Path) -> bool:
    ext = path.suffix.lower()
    return ext in IMAGE_EXTS or ext in VIDEO_INPUT_EXTS


def _is_glob(spec: str) -> bool:
    return any(ch in spec for ch in "*?[") and not Path(spec).exists()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _walk(folder: Path, skip: Path) -> list[Path]:
    """Media files under ``folder``, sorted; hidden entries and the ``skip`` subtree left out."""
    found = []
    for root, dirs, files in os.walk(folder):
        rootp = Path(root)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and not _inside((rootp / d).resolve(), skip)
        )
        found += [rootp / f for f in sorted(files) if not f.startswith(".") and is_media(Path(f))]
    return found


def _glob_base(spec: str) -> Path:
    """The folder part of a glob before its first wildcard (``clips/**/*.mp4`` -> ``clips``)."""
    parts = Path(spec).parts
    keep = []
    for part in parts:
        if any(ch in part for ch in "*?["):
            break
        keep.append(part)
    return Path(*keep) if keep else Path(".")


def _read_list(spec: str) -> list[str]:
    path = Path(spec[1:])
    if not path.is_file():
        raise InputError(f"list file not found: {path} (from {spec})")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the list file {path}: {exc}") from None
    out = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        p = Path(os.path.expanduser(line))
        out.append(str(p if p.is_absolute() else path.parent / p))
    if not out:
        raise InputError(f"the list file {path} names no inputs")
    return out


def expand(specs: list[str], outdir: Path) -> list[tuple[Path, Path, str | None]]:
    """(file, base folder, error or None) for every input, in order, without duplicates."""
    outdir = outdir.resolve()
    found: list[tuple[Path, Path, str | None]] = []
    for spec in specs:
        spec = str(spec)
        if spec.startswith("@"):
            for line in _read_list(spec):
                p = Path(line).resolve()
                err = None if p.is_file() else f"input not found: {line}"
                found.append((p, p.parent, err))
            continue
        if _is_glob(spec):
            base = _glob_base(spec).resolve()
            matches = [Path(m).resolve() for m in sorted(_glob.glob(spec, recursive=True))]
            matches = [m for m in matches if m.is_file() and is_media(m) and not _inside(m, outdir)]
            if not matches:
                raise InputError(f"no videos or images match {spec}")
            found += [(m, base, None) for m in matches]
            continue
        p = Path(spec)
        if not p.exists():
            raise InputError(f"input not found: {spec}")
        rp = p.resolve()
        if p.is_dir():
            if _inside(rp, outdir):
                raise ConfigError(
                    f"the input folder {spec} is inside the output folder "
                    f"{outdir}; choose an output folder outside the inputs"
                )
            files = _walk(rp, outdir)
            if not files:
                raise InputError(f"no videos or images in the folder {spec}")
            found += [(f, rp, None) for f in files]
        elif p.is_file():
            found.append((rp, rp.parent, None))
        else:
            raise InputError(f"input is not a file or folder: {spec}")
    seen, unique = set(), []
    for f, base, err in found:
        if f not in seen:
            seen.add(f)
            unique.append((f, base, err))
    return unique


def output_name(rel: Path, kind: str, effect: str | None) -> Path:
    """``a/b.mov`` -> ``a/b.mov``; containers the writer lacks -> ``.mp4``; matte -> ``.webm``
    (the only video container with alpha); images -> ``.png`` (lossless, keeps alpha)."""
    if kind == "image":
        return rel.with_suffix(".png")
    if effect == "matte":
        return rel.with_suffix(".webm")
    return rel if rel.suffix.lower() in VIDEO_EXTS else rel.with_suffix(".mp4")


def mask_name(output: Path, kind: str) -> Path:
    """Masks beside the output: ``b.masks/00000.png`` for a video, ``b.mask.png`` for an image."""
    if kind == "image":
        return output.with_name(f"{output.stem}.mask.png")
    return output.with_name(f"{output.stem}.masks")


def plan(specs: list[str], outdir, *, effect: str | None, save_masks: bool) -> list[Item]:
    """Every input with its outputs; errors for collisions or outputs onto inputs."""
    if not specs:
        raise ConfigError("no INPUT: give video or image files, folders, globs or @list.txt")
    outdir = Path(outdir).resolve()
    files = expand(specs, outdir)
    bases = {str(base) for _, base, _ in files}
    try:
        common = Path(os.path.commonpath(sorted(bases)))
    except ValueError:  # different drives (Windows): mirror absolute paths without the anchor
        common = None
    items: list[Item] = []
    claimed: dict[str, str] = {}  # output path -> the input that writes it
    inputs = {str(f) for f, _, _ in files}
    for f, _base, err in files:
        rel = f.relative_to(common) if common is not None else Path(*f.parts[1:])
        kind = "image" if is_image_path(f) else "video"
        out = output_name(rel, kind, effect)
        masks = mask_name(out, kind) if save_masks else None
        item = Item(str(f), kind, out.as_posix(), masks.as_posix() if masks else None, err)
        for o in item.outputs():
            target = str(outdir / o)
            if target in inputs:
                raise OutputError(
                    f"{f} would be written over the input {target}; choose an "
                    "output folder that is not the input folder"
                )
            if target in claimed:
                raise InputError(
                    f"{claimed[target]} and {f} would both write {target}; "
                    "rename one of them or run them in separate batches"
                )
            claimed[target] = str(f)
        items.append(item)
    return items
