"""Class remapping while loading (``data.options.class_map``): train a data set on another class
set, e.g. SYSU-Scene's 37 classes on PASCAL VOC's 21 through its ``voc21_map.txt``.

The map is a text file of ``SRC DST`` lines (``# comments`` allowed; DST ``ignore`` drops a
class from loss and metrics) or a YAML mapping ``{SRC: DST}``; every class of the data set must
be listed, so a forgotten class is an error, not a silent background. The new classes are named
by ``class_names``: ``voc`` (PASCAL VOC's names and palette), a list of names, a classes file, or
nothing (each new class takes the name of the first class mapped to it).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from liveseg.errors import ConfigError, InputError


def _in_root(name, root) -> Path:
    """``name`` inside the data set's root when it is a relative path found there, else as given."""
    path = Path(name)
    if not path.is_absolute() and root is not None and (Path(root) / path).is_file():
        return Path(root) / path
    return path


def read_class_map(spec, root=None) -> dict[int, int | None]:
    """{source id: new id, or None for ignore} from a file path or a mapping."""
    if isinstance(spec, dict):
        items, where = list(spec.items()), "data.options.class_map"
    else:
        path = _in_root(spec, root)
        if not path.is_file():
            raise InputError(
                f"class map not found: {spec} (looked in {root} and the current "
                "folder); give a file of 'SRC DST' lines"
            )
        items, where = [], str(path)
        for n, ln in enumerate(path.read_text().splitlines(), 1):
            ln = ln.split("#", 1)[0].strip()
            if not ln:
                continue
            parts = ln.split()
            if len(parts) != 2:
                raise InputError(f"{path}:{n}: expected 'SRC DST', got {ln!r}")
            items.append((parts[0], parts[1]))
    out: dict[int, int | None] = {}
    for src, dst in items:
        try:
            s = int(src)
            d = None if str(dst).lower() == "ignore" else int(dst)
        except ValueError:
            raise InputError(
                f"{where}: class ids must be integers (or DST 'ignore'), got {src!r} -> {dst!r}"
            ) from None
        if s < 0 or (d is not None and d < 0):
            raise InputError(f"{where}: negative class id in {src} -> {dst}")
        if s in out:
            raise InputError(f"{where}: class {s} is mapped twice")
        out[s] = d
    if not out:
        raise InputError(f"{where}: the class map is empty")
    return out


def _names(class_names, mapping, old_names, n_new, root):
    from liveseg.data.datasets import VOC_CLASSES, read_classes_file

    if class_names is None:
        names = []
        for d in range(n_new):
            src = min((s for s, t in mapping.items() if t == d), default=None)
            names.append(old_names[src] if src is not None else f"class {d}")
        return names, []
    if class_names == "voc":
        from liveseg.card import default_palette

        return list(VOC_CLASSES), default_palette(len(VOC_CLASSES))
    if isinstance(class_names, list):
        return [str(n) for n in class_names], []
    return read_classes_file(_in_root(class_names, root))


def remap_classes(samples, info, lut, class_map, class_names=None, root=None):
    """(samples, info, lut) of a reader, with every label table composed with the class map."""
    mapping = read_class_map(class_map, root)
    old = info.num_classes
    unlisted = [i for i in range(old) if i not in mapping]
    if unlisted:
        raise ConfigError(
            f"class map: classes {unlisted[:5]} of {info.name} "
            f"({', '.join(info.classes[i] for i in unlisted[:3])}) are not mapped; "
            "map every class (DST 'ignore' to leave one out)"
        )
    extra = [s for s in mapping if s >= old]
    if extra:
        raise ConfigError(
            f"class map: ids {extra[:5]} are not classes of {info.name} "
            f"(it has {old}: 0..{old - 1})"
        )
    targets = sorted({d for d in mapping.values() if d is not None})
    n_new = targets[-1] + 1 if targets else 0
    names, palette = _names(class_names, mapping, info.classes, n_new, root)
    if len(names) < n_new:
        raise ConfigError(
            f"class map: maps onto ids up to {n_new - 1} but class_names has {len(names)} names"
        )
    ignore = info.ignore_index
    if ignore < len(names):
        raise ConfigError(f"class map: the ignore index {ignore} is one of the new class ids")
    size = max(256, ignore + 1, len(lut) if lut is not None else 0)
    # Ids outside the old class set map to len(names): still out of range, so the loader's
    # value check names the file instead of training on a wrong class.
    table = np.full(size, len(names), np.int64)
    table[ignore] = ignore
    for s, d in mapping.items():
        table[s] = ignore if d is None else d

    def compose(t):
        if t is None:
            return table
        t = np.asarray(t)
        safe = np.where((t >= 0) & (t < size), t, len(names))
        return table[safe]

    samples = [
        dataclasses.replace(s, label_lut=compose(s.label_lut)) if s.label_lut is not None else s
        for s in samples
    ]
    how = class_map if not isinstance(class_map, dict) else "a class map"
    info = dataclasses.replace(
        info,
        classes=names,
        palette=palette or [],
        training_data=f"{info.training_data} (classes remapped by {how})",
    )
    return samples, info, compose(lut)
