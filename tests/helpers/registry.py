"""Throwaway models in liveseg's global model registry, removed again when the test is done."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from liveseg.models.registry import register_model, unregister_model


@contextmanager
def registered_model(name: str, builder: Callable) -> Iterator[str]:
    """``builder`` registered as ``name`` for the ``with`` block only; yields ``name``."""
    register_model(builder, name=name)
    try:
        yield name
    finally:
        unregister_model(name)
