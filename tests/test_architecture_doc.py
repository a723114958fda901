"""ARCHITECTURE.md names only what exists: every file or folder path it gives, and every
``liveseg.`` name (a module, or a name a module defines or imports), so the map cannot rot
silently when code moves. Static: reads the files, imports nothing."""

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "liveseg"
DOC = ROOT / "ARCHITECTURE.md"

# src/liveseg/... or liveseg/... anywhere (prose, tables, diagrams)
FULL_PATH = re.compile(r"(?<![\w./-])(?:src/)?liveseg/[\w./-]*[\w/]")
# fenced blocks (the diagrams); outside them, a relative path in backticks:
# runtime/engines/, video/protocols.py, tests/helpers/
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE = re.compile(r"`([^`\n]+)`")
# in a diagram: a file path such as video/options.py or commands/run.py
DIAGRAM_PATH = re.compile(r"(?<![\w./-])(?:[\w-]+/)+[\w-]+\.py\b")
REL_PATH = re.compile(r"^(?:[\w-]+/)+(?:[\w-]+\.(?:py|md|toml|yaml|json))?$|^[\w-]+\.py$")
DOTTED = re.compile(r"(?<![\w.])liveseg(?:\.[A-Za-z_]\w*)+")


def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def full_paths(text: str) -> set[str]:
    return {m.group(0).rstrip(".") for m in FULL_PATH.finditer(text)}


def relative_paths(text: str) -> set[str]:
    out = set()
    for block in FENCE.findall(text):
        out.update(DIAGRAM_PATH.findall(block))
    for m in CODE.finditer(FENCE.sub("", text)):
        token = m.group(1).strip()
        if REL_PATH.match(token):
            out.add(token)
    return out


def path_exists(token: str) -> bool:
    token = token.removeprefix("src/")
    rel = token.removeprefix("liveseg/")
    return any((base / rel).exists() for base in (PKG, ROOT, ROOT / "src")) or (
        token.startswith("liveseg/") and (PKG / rel).exists()
    )


@cache
def module_names(path: Path) -> frozenset[str]:
    """Names a module defines or imports at any depth (lazy imports count: they are what a
    caller reaches), plus string keys of its dicts (``liveseg``'s lazy API table)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Dict):
            names.update(k.value for k in node.keys if isinstance(k, ast.Constant))
    return frozenset(n for n in names if isinstance(n, str))


def module_file(parts: list[str]) -> Path | None:
    base = PKG.parent.joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def dotted_exists(name: str) -> bool:
    """``liveseg.a.b`` is a module, or ``liveseg.a.f`` names ``f`` in module ``liveseg.a``."""
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        f = module_file(parts[:k])
        if f is not None:
            return k == len(parts) or parts[k] in module_names(f)
    return False


def test_the_doc_names_paths():
    # the extraction itself works: the doc names the places it is a map of
    text = doc()
    assert "src/liveseg/runtime/engines/" in full_paths("see `src/liveseg/runtime/engines/`")
    assert "video/protocols.py" in relative_paths("in `video/protocols.py`")
    assert relative_paths(text) and DOTTED.search(text)


def test_every_path_in_architecture_md_exists():
    text = doc()
    missing = sorted(p for p in full_paths(text) | relative_paths(text) if not path_exists(p))
    assert not missing, f"ARCHITECTURE.md names paths that do not exist: {missing}"


def test_every_liveseg_name_in_architecture_md_exists():
    names = {m.group(0).rstrip(".") for m in DOTTED.finditer(doc())}
    missing = sorted(n for n in names if not dotted_exists(n))
    assert not missing, f"ARCHITECTURE.md names liveseg names that do not exist: {missing}"
