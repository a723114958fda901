"""The cache of ``--engine auto``'s measured choices: one JSON file per key under liveseg's
user cache folder (``liveseg.runtime.cache``). The key holds everything a choice depends on
(model file hashes and card, CPU model and flags, thread count, library versions, GPU
presence, I/O overrides, OpenVINO config); a corrupt entry or an unwritable folder is ignored
(the choice is measured again / not saved)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from liveseg.runtime.devices import nvidia_gpu_present
from liveseg.runtime.engine_choice import EngineChoice

PROBE_VERSION = 2


_DIGESTS: dict = {}


def file_digest(path: Path) -> str:
    """sha256 of a model file (and of an IR's .bin), memoised per (path, size, mtime)."""
    path = Path(path)
    parts = [path] + ([path.with_suffix(".bin")] if path.suffix.lower() == ".xml" else [])
    h = hashlib.sha256()
    for p in parts:
        st = p.stat()
        memo = (str(p.resolve()), st.st_size, st.st_mtime_ns)
        d = _DIGESTS.get(memo)
        if d is None:
            fh = hashlib.sha256()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    fh.update(chunk)
            d = _DIGESTS[memo] = fh.hexdigest()
        h.update(d.encode())
    card = path.with_suffix(".json")
    if card.is_file() and card != path:
        h.update(hashlib.sha256(card.read_bytes()).hexdigest().encode())
    return h.hexdigest()


def gpu_signature() -> dict:
    """What says a GPU appeared or went (part of the key, without importing any engine)."""
    dri = Path("/dev/dri")
    try:
        render = sorted(p.name for p in dri.iterdir() if p.name.startswith("renderD"))
    except OSError:
        render = []
    return {"nvidia": nvidia_gpu_present(), "dri": render}


def choice_key(files: list[Path], threads: int | None, overrides=None) -> dict:
    """Everything a measured choice depends on."""
    from liveseg.sysinfo import cpu_signature, library_versions

    ov = None
    if overrides is not None:
        ov = {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(overrides).items()
            if v is not None
        } or None
    return {
        "probe": PROBE_VERSION,
        "files": [[Path(p).name, file_digest(p)] for p in files],
        "cpu": cpu_signature(),
        "threads": threads if threads else "default",
        "versions": library_versions(),
        "gpu": gpu_signature(),
        "overrides": ov,
        "openvino_config": os.environ.get("LIVESEG_OPENVINO_CONFIG") or None,
    }


def _key_id(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


def read_cached(key: dict) -> tuple[dict | None, Path | None, str | None]:
    """(entry, file, note): the cached entry for ``key`` if there is a valid one."""
    from liveseg.runtime.cache import cache_root

    try:
        path = cache_root() / "engines" / f"{_key_id(key)}.json"
    except RuntimeError:
        return None, None, None
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None, path, None
    except OSError as exc:
        return None, path, f"cache entry {path} unreadable ({exc.strerror or exc}); measured again"
    try:
        entry = json.loads(text)
        ok = (
            isinstance(entry, dict)
            and entry.get("key") == key
            and isinstance(entry.get("choice"), dict)
            and isinstance(entry["choice"].get("spec"), str)
            and isinstance(entry["choice"].get("file"), str)
        )
    except ValueError:
        ok = False
    if not ok:
        return None, path, f"ignored a corrupt cache entry {path}; measured again"
    return entry, path, None


def write_cached(key: dict, choice: EngineChoice) -> tuple[Path | None, str | None]:
    """Save a measured choice; (file, None) or (None, why it was not saved)."""
    from liveseg.atomic import write_text_atomic
    from liveseg.runtime.cache import writable_cache_dir

    folder, why = writable_cache_dir("engines")
    if folder is None:
        return None, f"choice not cached: {why}"
    path = folder / f"{_key_id(key)}.json"
    entry = {
        "key": key,
        "choice": {"spec": choice.spec, "file": choice.file},
        "result": choice.to_dict(),
    }
    try:
        write_text_atomic(path, json.dumps(entry, indent=1, default=str) + "\n")
    except OSError as exc:
        return None, f"choice not cached: writing {path} failed ({exc.strerror or exc})"
    return path, None
