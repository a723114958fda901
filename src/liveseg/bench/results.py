"""Where results go: output paths checked before minutes of measuring, then JSON and PNG
written atomically (a killed run leaves the old file or none, never half of one)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from liveseg.atomic import check_output_file, check_writable_folder, write_text_atomic
from liveseg.errors import OutputError


def check_outputs(*pairs) -> None:
    """``(path or None, what)`` pairs: each given file must be writable (replacing is fine)."""
    for path, what in pairs:
        if path:
            check_output_file(path, what, overwrite=True)


def result_files(out_dir, stem: str, suffixes=(".json", ".png"), overwrite=False) -> list[Path]:
    """``out_dir/stem<suffix>`` for each suffix, after making the folder; OutputError when one
    exists and ``overwrite`` is false."""
    out_dir = Path(out_dir)
    paths = [out_dir / f"{stem}{s}" for s in suffixes]
    for p in paths:
        if p.exists() and not overwrite:
            raise OutputError(f"{p} exists; pass --overwrite to replace it or --tag to rename")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {out_dir}: {exc.strerror or exc}") from None
    check_writable_folder(out_dir, "--out")
    return paths


def write_json(path, payload, indent: int = 2) -> None:
    write_text_atomic(path, json.dumps(payload, indent=indent, default=str) + "\n")


def save_figure(fig, path, dpi: int = 110) -> None:
    """Save a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp.png")
    try:
        fig.savefig(tmp, dpi=dpi)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if tmp.exists():
            tmp.unlink()
