"""The machine a figure was measured on, printed and saved beside it: CPU model and flags,
cores and threads, load, Python, platform and library versions."""

from __future__ import annotations

import importlib
import os
import platform

from liveseg.sysinfo import cpu_model_and_flags

# Import names whose version is reported under another key.
_KEYS = {"cv2": "opencv", "av": "pyav"}


def machine_info(*modules: str, **extra) -> dict:
    """CPU model and flags, logical cores, Python, platform, thread settings, the 1-minute load
    (a busy machine explains noisy figures), the versions of the named ``modules`` (those that
    import; ``cv2`` is reported as ``opencv``, ``av`` as ``pyav``) and any ``extra`` entries
    (threads used, browser version ...)."""
    cpu, flags = cpu_model_and_flags()
    info = {
        "cpu": cpu,
        "cpu_flags": flags,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
    }
    try:
        info["load_avg_1min"] = round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):  # not on every OS
        pass
    for name in modules:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        info[_KEYS.get(name, name)] = getattr(mod, "__version__", "?")
        if name == "av":
            info["ffmpeg"] = getattr(mod, "ffmpeg_version_info", "?")
    info.update(extra)
    return info


def cpu_busy_seconds() -> float:
    """Non-idle CPU seconds of the whole machine, all cores (Linux /proc/stat; NaN elsewhere):
    the benchmarks compare it with their own CPU time to see other jobs running beside them."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = v
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def one_line(info: dict) -> str:
    """``machine: k=v, ...`` as the benchmarks print it."""
    return "machine: " + ", ".join(f"{k}={v}" for k, v in info.items())
