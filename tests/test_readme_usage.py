"""The README's usage sections stay in line with the CLI (issue 13): the `run` synopsis lists
every flag, and every speed figure says on which CPU it was measured."""

import re
from pathlib import Path

from liveseg.cli import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
USAGE = README[README.index("<!-- usage sections follow") :]


def _section(name):
    start = USAGE.index(f"\n## {name}\n")
    end = USAGE.find("\n## ", start + 1)
    return USAGE[start : end if end != -1 else None]


def _options(verb):
    """Each option of a verb as its spellings (e.g. ('-o', '--output'))."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "verb")
    return [
        tuple(a.option_strings)
        for a in sub.choices[verb]._actions
        if a.option_strings and "--help" not in a.option_strings
    ]


def test_run_synopsis_lists_every_flag():
    synopsis = re.search(r"```\n(liveseg run .*?)```", _section("run"), re.DOTALL).group(1)

    def listed(spelling):
        return re.search(r"(?<![\w-])" + re.escape(spelling) + r"(?![\w-])", synopsis)

    missing = sorted(o[-1] for o in _options("run") if not any(listed(x) for x in o))
    assert not missing, f"README run synopsis lacks {missing}"


SPEED = re.compile(
    r"\b\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)?x\b(?!\s?\d)|\b\d+(?:\.\d+)?\s?(?:fps|ms|img/s)\b"
)
CPU = re.compile(r"EPYC|Xeon|Core i\d|Ryzen|Apple M\d|Cortex-A\d+|Snapdragon")


def test_speed_figures_in_usage_sections_name_their_cpu():
    text = re.sub(r"```.*?```", "", USAGE, flags=re.DOTALL)  # commands, not claims
    offenders = [
        p.strip()[:80] for p in re.split(r"\n\s*\n", text) if SPEED.search(p) and not CPU.search(p)
    ]
    assert not offenders, offenders
