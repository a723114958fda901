"""Model registry: ``@register_model`` on a builder, ``create_model(name, num_classes, **options)``.

``unregister_model(name)`` removes a builder again, so a registration can be scoped (the tests
register throwaway models this way; ``list_models`` lists whatever is registered, unfiltered).

Builders live one family per module (``liveseg.models.<family>``); importing
``liveseg.models`` imports them all so every name is registered.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from liveseg.errors import ConfigError

_REGISTRY: dict[str, Callable] = {}


def register_model(fn: Callable | None = None, *, name: str | None = None):
    """Decorator registering a builder ``fn(num_classes=..., **options) -> nn.Module``."""

    def wrap(f):
        key = name or f.__name__
        if key in _REGISTRY:
            raise ValueError(f"model {key!r} registered twice")
        _REGISTRY[key] = f
        return f

    return wrap(fn) if fn is not None else wrap


def unregister_model(name: str) -> Callable:
    """Remove a registered builder and return it (a registration scoped to a test or a plugin)."""
    builder = get_builder(name)
    del _REGISTRY[name]
    return builder


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def get_builder(name: str) -> Callable:
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=5, cutoff=0.4)
        hint = f"; did you mean: {', '.join(close)}" if close else ""
        raise ConfigError(f"unknown model {name!r}{hint} (see 'liveseg models')")
    return _REGISTRY[name]


def create_model(name: str, num_classes: int = 21, **options):
    """Build a registered model. Options a builder does not take are a ConfigError."""
    builder = get_builder(name)
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ConfigError(f"num_classes must be a positive integer, got {num_classes!r}")
    try:
        return builder(num_classes=num_classes, **options)
    except TypeError as exc:
        raise ConfigError(f"invalid options for model {name!r}: {exc}") from None
