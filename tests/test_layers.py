"""No import runs up a layer (ARCHITECTURE.md): a static scan of every ``liveseg`` import in
src/liveseg, lazy ones inside functions included; and the no-torch part of ``liveseg.quant``
imports no torch."""

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "liveseg"

# Lowest first, as in ARCHITECTURE.md. A module may import its own layer and those below.
RANK = {
    "errors": 0,
    "atomic": 0,
    "card": 0,
    "images": 0,
    "imageheader": 0,
    "parsing": 0,
    "sysinfo": 0,
    "zoo": 0,
    "runtime": 1,
    "metrics": 1,
    "video": 2,
    "models": 3,
    "data": 3,
    "export": 4,
    "train": 5,
    "quant": 6,
    "bench": 7,
    "web": 7,
    "batch": 7,
    "api": 7,
    "commands": 8,
    "cli": 8,
    "__main__": 8,
    "__init__": 8,
}

# Upward imports that predate this test, each still to be removed; do not add to this list.
KNOWN = {
    ("metrics/evaluate.py", "liveseg.data.io"),
    ("runtime/autoselect.py", "liveseg.video.demo"),
    ("runtime/teacher.py", "liveseg.video.sources"),
}


def _liveseg_imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "liveseg":
                yield from (f"liveseg.{a.name}" for a in node.names)
            elif node.module.startswith("liveseg."):
                yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("liveseg."))


def test_no_import_runs_up_a_layer():
    upward, unranked = [], []
    for path in sorted(SRC.rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        rel = path.relative_to(SRC)
        layer = rel.parts[0].removesuffix(".py")
        if layer not in RANK:
            unranked.append(str(rel))
            continue
        for module in _liveseg_imports(path):
            target = module.split(".")[1]
            if RANK.get(target, 0) > RANK[layer] and (rel.as_posix(), module) not in KNOWN:
                upward.append(f"{rel.as_posix()} imports {module}")
    assert not unranked, f"give these a layer in RANK (and ARCHITECTURE.md): {unranked}"
    assert not upward, upward


def test_quant_without_torch_imports_no_torch():
    code = (
        "import sys\n"
        "import liveseg.quant.ptq, liveseg.quant.sensitivity, liveseg.quant.kernels, "
        "liveseg.quant.fp16, liveseg.quant.tflite, liveseg.commands.quantize\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "False"
