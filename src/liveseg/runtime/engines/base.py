"""The engine interface every engine family implements, and what they share.

An :class:`Engine` describes its inputs and outputs (:class:`TensorInfo`: name, shape with
``None`` for dynamic dimensions, numpy dtype, and ``(scale, zero_point)`` for quantized
integer tensors where the model says so) and runs a feed ``{name: array}`` to a list of
output arrays in ``outputs`` order. Engines also expose what I/O detection can use:
``metadata`` (string key/values) and ``op_types`` (operator names in the graph, upper-cased).
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from liveseg.errors import ModelError


@dataclass
class TensorInfo:
    name: str
    shape: tuple  # ints, None for a dynamic dimension
    dtype: np.dtype
    # (scale, zero_point) of a quantized integer tensor when the model states them.
    quant: tuple[float, float] | None = None

    @property
    def dynamic(self) -> bool:
        return any(d is None for d in self.shape)

    def describe(self) -> str:
        dims = ",".join("?" if d is None else str(d) for d in self.shape)
        q = f" q(scale={self.quant[0]:.6g}, zp={self.quant[1]:g})" if self.quant else ""
        return f"{self.name} [{dims}] {np.dtype(self.dtype).name}{q}"


class Engine:
    """Base class. Subclasses fill ``inputs``, ``outputs``, ``metadata``, ``op_types``."""

    name = "engine"

    def __init__(self):
        self.path: Path | None = None
        self.inputs: list[TensorInfo] = []
        self.outputs: list[TensorInfo] = []
        self.metadata: dict[str, str] = {}
        self.op_types: set[str] = set()
        # The op that produces each output (upper-cased), where known.
        self.output_producers: dict[str, str] = {}
        self.threads: int | None = None
        self.details: dict = {}

    def run(self, feed: dict) -> list[np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def argmax_classes(self, output_name: str) -> int | None:
        """Number of classes an arg-maxed label output was reduced from, where the graph says."""
        return None

    def output_source(self, output_name: str) -> list[str]:
        """Op types from the output back to the first op that computes something (upper-cased,
        without underscores: ``["CAST", "ARGMAX"]``), skipping casts, reshapes and transposes.
        Empty when the graph cannot be read."""
        op = self.output_producers.get(output_name)
        return [op_key(op)] if op else []

    def describe(self) -> dict:
        return {
            "engine": self.name,
            "threads": self.threads,
            "inputs": [t.describe() for t in self.inputs],
            "outputs": [t.describe() for t in self.outputs],
            **self.details,
        }


# Ops that only move or retype values: output_source looks through them.
PASSTHROUGH_OPS = {
    "CAST",
    "CONVERT",
    "RESHAPE",
    "SQUEEZE",
    "UNSQUEEZE",
    "EXPANDDIMS",
    "IDENTITY",
    "FLATTEN",
    "TRANSPOSE",
}


def op_key(op_type) -> str:
    return str(op_type).upper().replace("_", "")


def verbose_logs() -> bool:
    """Whether engines may print their native log lines (``liveseg ... --verbose`` sets
    LIVESEG_VERBOSE=1)."""
    return os.environ.get("LIVESEG_VERBOSE", "").strip().lower() not in ("", "0", "false", "no")


@contextmanager
def quiet_native_info():
    """Drop the ``INFO: ...`` lines native code prints on fd 2 inside the block (LiteRT's
    "Created TensorFlow Lite XNNPACK delegate for CPU."); anything else it printed there is
    passed on to stderr afterwards. A no-op with LIVESEG_VERBOSE=1 or without a usable fd 2."""
    if verbose_logs():
        yield
        return
    with suppress(OSError, ValueError):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with tempfile.TemporaryFile() as tmp:
            os.dup2(tmp.fileno(), 2)
            try:
                yield
            finally:
                with suppress(OSError, ValueError):
                    sys.stderr.flush()
                os.dup2(saved, 2)
                tmp.seek(0)
                kept = [
                    ln
                    for ln in tmp.read().splitlines(keepends=True)
                    if not ln.lstrip().startswith(b"INFO:")
                ]
                if kept:
                    os.write(2, b"".join(kept))
    finally:
        os.close(saved)


def check_file(path: Path) -> None:
    if not path.exists():
        raise ModelError(f"model file not found: {path}")
    if not path.is_file():
        raise ModelError(f"model path is not a file: {path}")
    if path.stat().st_size == 0:
        raise ModelError(f"model file is empty: {path}")
