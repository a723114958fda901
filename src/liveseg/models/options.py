"""Validation of builder options: one clear ConfigError per bad value."""

from __future__ import annotations

from liveseg.errors import ConfigError


def choice(model: str, option: str, value, choices):
    if value not in choices:
        raise ConfigError(
            f"{model}: {option} must be one of {', '.join(map(str, choices))}, got {value!r}"
        )
    return value


def positive_float(model: str, option: str, value, lo=0.1, hi=4.0):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise ConfigError(f"{model}: {option} must be a number in [{lo}, {hi}], got {value!r}")
    return float(value)


def positive_int(model: str, option: str, value, lo=1, hi=4096):
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{model}: {option} must be an integer in [{lo}, {hi}], got {value!r}")
    return value


def in_channels(model: str, value, prev_mask: bool) -> int:
    """3 (RGB) or 4 (RGB + previous mask); ``prev_mask=True`` means 4."""
    if value is None:
        return 4 if prev_mask else 3
    value = choice(model, "in_channels", value, (3, 4))
    if prev_mask and value != 4:
        raise ConfigError(f"{model}: prev_mask=True needs in_channels=4, got {value}")
    return value


def dropout(model: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(f"{model}: dropout must be in [0, 1), got {value!r}")
    return float(value)
