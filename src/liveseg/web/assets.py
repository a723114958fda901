"""Where the page's files and onnxruntime-web's are.

onnxruntime-web (MIT) is not committed: ``package.json`` beside this file pins the version and
``package-lock.json`` its hashes; ``npm ci --prefix <this folder>`` puts it in the git-ignored
``node_modules``. ``$LIVESEG_ORT_WEB_DIR`` may name another folder holding its ``dist`` files
(an offline copy, say). A missing or different version is one line saying what to run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from liveseg.errors import DependencyError

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
ORT_ENV = "LIVESEG_ORT_WEB_DIR"
# The bundles the page loads (wasm: CPU; webgpu: GPU, with its own WASM build) and their
# WebAssembly files.
ORT_FILES = (
    "ort.wasm.min.mjs",
    "ort-wasm-simd-threaded.mjs",
    "ort-wasm-simd-threaded.wasm",
    "ort.webgpu.min.mjs",
    "ort-wasm-simd-threaded.asyncify.mjs",
    "ort-wasm-simd-threaded.asyncify.wasm",
)


def pinned_version() -> str:
    """The onnxruntime-web version package.json pins."""
    return json.loads((WEB_DIR / "package.json").read_text())["dependencies"]["onnxruntime-web"]


def fetch_command() -> str:
    return f"npm ci --ignore-scripts --omit=dev --prefix {WEB_DIR}"


def ort_dir() -> Path:
    """The folder holding onnxruntime-web's dist files; DependencyError (one line saying what
    to run) when they are missing or another version than the pinned one."""
    want = pinned_version()
    env = os.environ.get(ORT_ENV)
    if env:
        folder = Path(env).expanduser()
        missing = [f for f in ORT_FILES if not (folder / f).is_file()]
        if missing:
            raise DependencyError(
                f"${ORT_ENV}={env} lacks onnxruntime-web's {missing[0]}: point it at the dist "
                f"folder of onnxruntime-web {want}, or unset it and run: {fetch_command()}"
            )
        return folder
    package = WEB_DIR / "node_modules" / "onnxruntime-web"
    folder = package / "dist"
    missing = [f for f in ORT_FILES if not (folder / f).is_file()]
    if missing:
        raise DependencyError(
            f"onnxruntime-web {want} (the page's inference engine) is not installed: run "
            f"{fetch_command()} (needs npm), or set ${ORT_ENV} to its dist folder"
        )
    try:
        have = json.loads((package / "package.json").read_text()).get("version")
    except (OSError, ValueError):
        have = None
    if have != want:
        raise DependencyError(
            f"onnxruntime-web {have or '(unknown version)'} is installed, the page is tested "
            f"with {want}: run {fetch_command()}"
        )
    return folder
