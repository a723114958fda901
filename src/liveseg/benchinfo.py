"""Machine information printed and saved beside every benchmark figure."""

from __future__ import annotations

import importlib
import os
import platform
from pathlib import Path

_CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "f16c")


def _cpuinfo() -> tuple[str, str]:
    cpu, flags = platform.processor() or platform.machine(), ""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return cpu, flags
    for line in lines:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
        elif line.startswith("flags"):
            have = set(line.split(":", 1)[1].split())
            flags = " ".join(f for f in _CPU_FLAGS if f in have)
        if cpu and flags:
            break
    return cpu, flags


def machine_info(*modules: str, **extra) -> dict:
    """CPU model and flags, logical cores, Python, platform, thread settings, the versions of the
    named ``modules`` (those that import; ``cv2`` is reported as ``opencv``, ``av`` as ``pyav``)
    and any ``extra`` entries."""
    cpu, flags = _cpuinfo()
    info = {"cpu": cpu, "cpu_flags": flags, "cores": os.cpu_count(),
            "python": platform.python_version(), "platform": platform.platform(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
    for name in modules:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        key = {"cv2": "opencv", "av": "pyav"}.get(name, name)
        info[key] = getattr(mod, "__version__", "?")
        if name == "av":
            info["ffmpeg"] = getattr(mod, "ffmpeg_version_info", "?")
    info.update(extra)
    return info
