"""The shared parsers of user-typed values (liveseg.parsing): one rule set for every command."""

import pytest

from liveseg.errors import ConfigError
from liveseg.parsing import parse_size, parse_threads


@pytest.mark.parametrize(
    "text, size", [("256x256", (256, 256)), ("480X360", (480, 360)), (" 64 x 48 ", (64, 48))]
)
def test_size_is_width_by_height(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text", ["256", "256*256", "256,256", "x256", "256x", "ax2", "", "2.5x3", "-1x4", "1x2x3"]
)
def test_size_rejects_everything_but_wxh(text):
    with pytest.raises(ConfigError) as e:
        parse_size(text, "--oracle-size")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("--oracle-size must be WxH") and repr(text) in msg


def test_square_size_takes_one_number():
    assert parse_size("256", "--size", square=True) == (256, 256)
    assert parse_size("480x360", "--size", square=True) == (480, 360)
    with pytest.raises(ConfigError, match="--size must be N or WxH"):
        parse_size("big", "--size", square=True)


def test_size_bounds_name_the_flag():
    assert parse_size("1x1") == (1, 1)
    with pytest.raises(ConfigError, match="sides must be at least 1"):
        parse_size("0x4")
    with pytest.raises(ConfigError, match="--input-size sides must be at least 8"):
        parse_size("4x64", lo=8)
    with pytest.raises(ConfigError, match="--size sides must be between 32 and 4096"):
        parse_size("8192", "--size", square=True, lo=32, hi=4096)


@pytest.mark.parametrize("value, n", [(None, None), (1, 1), ("2", 2), (" 3 ", 3), (4.0, 4)])
def test_threads(value, n):
    assert parse_threads(value) == n


@pytest.mark.parametrize("value", [0, -1, "0", "two", "1.5", 2.5, True, [1]])
def test_threads_rejects(value):
    with pytest.raises(ConfigError) as e:
        parse_threads(value, "--threads-per-worker")
    assert str(e.value) == f"--threads-per-worker must be a positive integer, got {value!r}"
