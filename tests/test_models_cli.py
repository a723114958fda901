"""`liveseg models` output: whole, greppable names and hints whose brackets survive (issue 13)."""

import re
import sys
import types

import pytest

from liveseg import zoo
from liveseg.cli import main
from liveseg.errors import DependencyError, require

NAMES = [c.name for c in zoo.list_shipped()]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _models(capsys, *argv):
    code = main(["models", *argv])
    out, err = capsys.readouterr()
    return code, ANSI.sub("", out), err


def test_piped_output_is_plain_rows_with_whole_names(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")  # narrow, and not a terminal (captured)
    code, out, err = _models(capsys)
    assert code == 0, err
    lines = out.splitlines()
    for name in NAMES:
        rows = [ln for ln in lines if ln.split("\t")[0] == name]
        assert len(rows) == 1, (name, out)  # one row per model: `grep NAME` finds all of it
        assert len(rows[0].split("\t")) == 7
    assert "│" not in out and "┃" not in out  # no box drawing when piped
    assert any(ln.split("\t")[0] == "deeplabv3plus_mobilenetv2" for ln in lines)


@pytest.mark.parametrize("columns", ["40", "100", "200"])
def test_terminal_output_keeps_names_whole(capsys, monkeypatch, columns):
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich treats stdout as a terminal
    monkeypatch.setenv("COLUMNS", columns)
    code, out, err = _models(capsys)
    assert code == 0, err
    for name in NAMES:
        assert name in out, (columns, out)


def _without_torch(monkeypatch):
    message = None
    try:
        require("liveseg_no_such_module_x", "train")
    except DependencyError as exc:
        message = str(exc)

    fake = types.ModuleType("liveseg.models")

    def _missing(name):
        raise DependencyError(message)

    fake.__getattr__ = _missing
    monkeypatch.setitem(sys.modules, "liveseg.models", fake)


@pytest.mark.parametrize("terminal", [False, True])
def test_install_hint_keeps_its_brackets(capsys, monkeypatch, terminal):
    _without_torch(monkeypatch)
    if terminal:
        monkeypatch.setenv("FORCE_COLOR", "1")
        monkeypatch.setenv("COLUMNS", "200")
    code, out, err = _models(capsys)
    assert code == 0, err
    assert "pip install 'liveseg[train]'" in out, out


def test_broken_pipe_is_not_a_traceback(capsys, monkeypatch):
    import builtins

    def broken(*a, **kw):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(builtins, "print", broken)
    with monkeypatch.context() as m:
        m.setattr("os.dup2", lambda *a: None)  # keep pytest's stdout
        assert main(["models"]) == 141
