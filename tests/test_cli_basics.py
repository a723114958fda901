import re
import subprocess
import sys
from pathlib import Path

import pytest

from liveseg.card import ModelCard, default_palette
from liveseg.cli import VERBS, main
from liveseg.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```\n(.*?)\n```", readme, flags=re.S)
    test_cmd = next(b for b in blocks if "pytest" in b)
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_cmd.strip() in [line.strip() for line in ci]


def test_every_verb_has_help(capsys):
    for verb in VERBS:
        with pytest.raises(SystemExit) as exc:
            main([verb, "--help"])
        assert exc.value.code == 0
        assert verb in capsys.readouterr().out


def test_runtime_verbs_do_not_import_torch():
    code = "import sys, liveseg.cli as c; c.build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_card_round_trip(tmp_path):
    card = ModelCard(name="m", classes=["a", "b", "c"], foreground=["b"])
    assert len(card.palette) == 3
    card.save(tmp_path / "m.json")
    again = ModelCard.load(tmp_path / "m.json")
    assert again == card
    assert again.class_indices(["B", "2"]) == [1, 2]
    with pytest.raises(ConfigError, match="unknown class"):
        card.class_indices(["dog"])


def test_card_rejects_bad_values():
    with pytest.raises(ConfigError):
        ModelCard(name="m", layout="nwhc")
    with pytest.raises(ConfigError):
        ModelCard(name="m", output_kind="blob")


def test_default_palette_distinct():
    pal = default_palette(21)
    assert len({tuple(p) for p in pal}) == 21
    assert pal[1] == [128, 0, 0]
