"""No import runs up a layer (ARCHITECTURE.md): a static scan of every ``liveseg`` import in
src/liveseg, lazy ones inside functions included, with no exceptions; metrics and runtime
load no upper layer when they run; and the no-torch part of ``liveseg.quant`` imports no
torch."""

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
            if RANK.get(target, 0) > RANK[layer]:
                upward.append(f"{rel.as_posix()} imports {module}")
    assert not unranked, f"give these a layer in RANK (and ARCHITECTURE.md): {unranked}"
    assert not upward, upward


def test_metrics_and_runtime_load_no_upper_layer():
    """The three imports that once ran up a layer (metrics.evaluate -> data.io for label maps,
    runtime.autoselect -> video.demo for the probe frame, runtime.teacher -> video.sources for
    image inputs) stay gone, also when the code runs: evaluating label folders and picking
    the probe frame load nothing from data, video, models or above."""
    code = (
        "import sys, tempfile, pathlib, numpy as np, cv2\n"
        "import liveseg.metrics.evaluate as ev, liveseg.runtime.autoselect, "
        "liveseg.runtime.teacher\n"
        "from liveseg.runtime.probe import probe_frame\n"
        "d = pathlib.Path(tempfile.mkdtemp())\n"
        "(d / 'p').mkdir(); (d / 'g').mkdir()\n"
        "m = np.zeros((4, 4), np.uint8); m[1:3, 1:3] = 1\n"
        "cv2.imwrite(str(d / 'p' / 'a.png'), m); cv2.imwrite(str(d / 'g' / 'a.png'), m)\n"
        "assert ev.evaluate_label_dirs(d / 'p', d / 'g', 2)['images'] == 1\n"
        "frame, _ = probe_frame()\n"
        "assert frame.shape == (480, 640, 3)\n"
        "upper = ('data', 'video', 'models', 'export', 'train', 'quant', 'bench', 'commands')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[:2] in "
        "[['liveseg', u] for u in upper]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


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
