"""What this machine offers the engines: an NVIDIA GPU with its driver, OpenVINO's devices
and CPU capabilities, whether an optional engine library is installed. No engine is opened
(OpenVINO's Core is queried once and memoised)."""

from __future__ import annotations

from pathlib import Path


def installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


_OV_INFO: dict | None = None


def openvino_info() -> dict:
    """OpenVINO's devices and CPU optimisation capabilities ({} when not installed)."""
    global _OV_INFO
    if _OV_INFO is None:
        _OV_INFO = {}
        if installed("openvino"):
            try:
                import openvino as ov

                core = ov.Core()
                _OV_INFO = {
                    "devices": list(core.available_devices),
                    "cpu_caps": list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")),
                }
            except Exception:  # noqa: BLE001 - a broken plugin: no OpenVINO candidates
                _OV_INFO = {}
    return _OV_INFO


def nvidia_gpu_present() -> bool:
    """An NVIDIA GPU with its driver loaded (what ORT's CUDA/TensorRT providers need)."""
    gpus = Path("/proc/driver/nvidia/gpus")
    try:
        if gpus.is_dir() and any(gpus.iterdir()):
            return True
    except OSError:
        pass
    return Path("/dev/nvidia0").exists()
