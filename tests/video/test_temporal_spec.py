"""The --temporal grammar: one module parses and formats it; formatting is the policy's name."""

import pytest

from liveseg.errors import ConfigError
from liveseg.video.temporal import make_temporal
from liveseg.video.temporal_spec import AUTO_VIDEO_SPEC, TemporalSpec, parse, resolve_auto

SPECS = [
    "off",
    "off+smooth=0.3",
    "smooth",
    "fixed:3",
    "fixed:2+smooth",
    "fixed:5,cut=0",
    "fixed:4,check=fb+smooth=0.2",
    "adaptive",
    "adaptive:thresh=0.2,max=8",
    "Adaptive:max=4,budget=30+smooth=0.4",
    "adaptive:cut=0.7,check=fb",
    AUTO_VIDEO_SPEC,
]


@pytest.mark.parametrize("text", SPECS)
def test_format_is_canonical_and_parses_back(text):
    spec = parse(text)
    assert parse(str(spec)) == spec
    assert str(parse(str(spec))) == str(spec)
    assert make_temporal(text).name == str(spec)
    assert make_temporal(spec).name == str(spec)  # a parsed spec builds the same policy


def test_canonical_text_spells_out_defaults():
    assert str(parse("fixed:4+smooth")) == "fixed:4+smooth=0.5"
    assert str(parse("smooth")) == "off+smooth=0.5"
    assert str(parse(" ADAPTIVE ")) == "adaptive:thresh=1.5,max=5"
    assert (
        str(parse("adaptive:budget=30,check=fb")) == "adaptive:thresh=1.5,max=5,budget=30,check=fb"
    )
    assert str(parse(None)) == str(parse("")) == "off"


def test_fields():
    s = parse("adaptive:thresh=0.2,max=8,cut=0.7,budget=30+smooth=0.4")
    assert s == TemporalSpec(
        "adaptive", thresh=0.2, max_interval=8, cut=0.7, budget_ms=30, smooth=0.4
    )
    assert parse("fixed:3,check=fb") == TemporalSpec("fixed", interval=3, check="fb")


def test_auto_depends_on_the_input():
    auto = parse("auto")
    assert auto.schedule == "auto" and str(auto) == "auto"
    assert auto.resolve(images=False) == parse(AUTO_VIDEO_SPEC)
    assert auto.resolve(images=True) == parse("off")
    assert parse("fixed:2").resolve(images=True) == parse("fixed:2")
    assert resolve_auto("Auto", images=False) == AUTO_VIDEO_SPEC
    assert resolve_auto("fixed:2", images=True) == "fixed:2"
    with pytest.raises(ConfigError, match="resolve"):
        make_temporal("auto")


@pytest.mark.parametrize("text", ["fixed", "adaptive:max=0", "fixed:3+blur", 3, "every:2"])
def test_errors_are_one_line_with_the_grammar(text):
    with pytest.raises(ConfigError) as e:
        parse(text)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("invalid --temporal") and "fixed:N" in msg
