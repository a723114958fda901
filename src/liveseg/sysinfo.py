"""What this machine is: CPU model and ISA features, installed engines and library versions.

Low in the layers (no liveseg imports) because the runtime reads it to choose engines; the
benchmarks' machine info (``liveseg.bench.machine``) and ``liveseg info --system`` build on it.

``cpu_features()`` reads the ISA extensions that decide which kernels the engines use (x86:
AVX2, AVX-512, VNNI, AMX, bf16/fp16; ARM: dot-product, i8mm, bf16, fp16) from /proc/cpuinfo
(``sysctl`` on macOS); ``engines_installed()`` the inference engines, their versions and what
they can run on (ONNX Runtime providers, OpenVINO devices and CPU capabilities).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import platform
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

# The flags benchmarks print beside every figure (those present on this CPU).
_CPU_FLAGS = (
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_int8",
    "amx_bf16",
    "amx_fp16",
    "f16c",
    "asimddp",
    "i8mm",
    "asimdhp",
    "bf16",
)

# (label, /proc/cpuinfo flag names, architecture) for the report.
ISA_FEATURES = (
    ("AVX2", ("avx2",), "x86"),
    ("FMA", ("fma",), "x86"),
    ("F16C", ("f16c",), "x86"),
    ("AVX-512F", ("avx512f",), "x86"),
    ("AVX-512 VNNI", ("avx512_vnni",), "x86"),
    ("AVX-VNNI", ("avx_vnni",), "x86"),
    ("AVX-512 BF16", ("avx512_bf16",), "x86"),
    ("AVX-512 FP16", ("avx512_fp16",), "x86"),
    ("AMX-INT8", ("amx_int8",), "x86"),
    ("AMX-BF16", ("amx_bf16",), "x86"),
    ("AMX-FP16", ("amx_fp16",), "x86"),
    ("NEON", ("asimd", "neon"), "arm"),
    ("dot-product", ("asimddp",), "arm"),
    ("i8mm", ("i8mm",), "arm"),
    ("bf16", ("bf16",), "arm"),
    ("fp16 arithmetic", ("asimdhp", "fphp"), "arm"),
    ("SVE", ("sve",), "arm"),
)
# macOS sysctl names for the ARM features above.
_DARWIN_ARM = {
    "asimd": "hw.optional.AdvSIMD",
    "asimddp": "hw.optional.arm.FEAT_DotProd",
    "i8mm": "hw.optional.arm.FEAT_I8MM",
    "bf16": "hw.optional.arm.FEAT_BF16",
    "asimdhp": "hw.optional.arm.FEAT_FP16",
}


def _arch() -> str:
    m = platform.machine().lower()
    if m in ("x86_64", "amd64", "i386", "i686", "x86"):
        return "x86"
    if m.startswith(("arm", "aarch64")):
        return "arm"
    return m or "unknown"


@lru_cache(maxsize=1)
def _cpuinfo_raw() -> tuple[str, frozenset]:
    """(CPU model name, every flag the OS reports)."""
    cpu, flags = platform.processor() or platform.machine(), set()
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        key = line.split(":", 1)[0].strip().lower()
        if key in ("model name", "cpu model") and ":" in line:
            cpu = line.split(":", 1)[1].strip() or cpu
        elif key in ("flags", "features") and ":" in line and not flags:
            flags = set(line.split(":", 1)[1].split())
    if not lines and sys.platform == "darwin":
        cpu = _sysctl("machdep.cpu.brand_string") or cpu
        if _arch() == "arm":
            flags = {f for f, name in _DARWIN_ARM.items() if _sysctl(name) == "1"}
        else:
            text = " ".join(
                filter(
                    None, (_sysctl("machdep.cpu.features"), _sysctl("machdep.cpu.leaf7_features"))
                )
            )
            flags = {f.lower().replace(".", "_") for f in text.split()}
    return cpu, frozenset(flags)


def _sysctl(name: str) -> str | None:
    try:
        out = subprocess.run(
            ["sysctl", "-n", name], capture_output=True, text=True, timeout=2, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def cpu_model_and_flags() -> tuple[str, str]:
    """(CPU model name, the inference-relevant flags it has, space separated)."""
    cpu, have = _cpuinfo_raw()
    return cpu, " ".join(f for f in _CPU_FLAGS if f in have)


def cpu_features() -> dict:
    """The CPU model, architecture, every ISA feature of :data:`ISA_FEATURES` for its
    architecture (True/False), and what they mean for inference:

    - ``int8_dot``: u8 x s8 dot products accumulated in int32 (AVX-512 VNNI, AVX-VNNI, AMX-INT8,
      ARM dot-product): int8 GEMMs without AVX2's saturating int16 pairs;
    - ``bf16``: bf16 arithmetic (AVX-512 BF16, AMX-BF16, ARM bf16);
    - ``fp16``: fp16 arithmetic faster than f32 (AMX-FP16, ARM fp16 arithmetic). AVX-512 FP16
      is listed but not counted: OpenVINO's f16 precision ran slower than f32 with it on a
      Sapphire Rapids Xeon (BENCHMARKS.md, "Engines chosen by measurement")."""
    cpu, have = _cpuinfo_raw()
    arch = _arch()
    isa = {label: any(f in have for f in names) for label, names, a in ISA_FEATURES if a == arch}
    return {
        "cpu": cpu,
        "arch": arch,
        "cores": os.cpu_count(),
        "isa": isa,
        "int8_dot": bool(have & {"avx512_vnni", "avx_vnni", "amx_int8", "asimddp"}),
        "amx": bool(have & {"amx_int8", "amx_bf16", "amx_fp16"}),
        "bf16": bool(have & {"avx512_bf16", "amx_bf16"}) or (arch == "arm" and "bf16" in have),
        "fp16": "amx_fp16" in have or (arch == "arm" and bool(have & {"asimdhp", "fphp"})),
    }


def cpu_signature() -> dict:
    """What identifies this CPU for cached measurements: model name, architecture, cores and
    a digest of the complete flag list."""
    import hashlib

    cpu, have = _cpuinfo_raw()
    digest = hashlib.sha256(" ".join(sorted(have)).encode()).hexdigest()[:16]
    return {"cpu": cpu, "arch": platform.machine(), "cores": os.cpu_count(), "flags": digest}


def library_versions() -> dict:
    """Installed versions of liveseg and the engines (from package metadata; imports nothing)."""
    from importlib import metadata

    out = {}
    for dist in (
        "liveseg",
        "onnxruntime",
        "onnxruntime-gpu",
        "openvino",
        "ai-edge-litert",
        "numpy",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def engines_installed() -> dict:
    """The engines that import here: version and what each can run on."""
    out: dict = {}
    try:
        import onnxruntime as ort

        out["onnxruntime"] = {
            "version": ort.__version__,
            "providers": list(ort.get_available_providers()),
        }
    except ImportError:
        out["onnxruntime"] = None
    try:
        import openvino as ov

        core = ov.Core()
        info = {"version": ov.__version__.split("-")[0], "devices": list(core.available_devices)}
        with contextlib.suppress(Exception):  # a plugin that cannot answer: leave it out
            info["cpu_capabilities"] = list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
        out["openvino"] = info
    except ImportError:
        out["openvino"] = None
    try:
        from importlib import metadata

        importlib.import_module("ai_edge_litert.interpreter")
        out["litert"] = {"version": metadata.version("ai-edge-litert")}
    except Exception:  # noqa: BLE001 - not installed, or no metadata for a vendored copy
        out["litert"] = None
    return out
