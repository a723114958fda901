"""Model zoo (needs the ``train`` extra: torch). ``create_model(name, ...)``, ``list_models()``."""

from liveseg.errors import require

require("torch", "train")

from liveseg.models.registry import create_model, get_builder, list_models, register_model  # noqa: E402

__all__ = ["create_model", "get_builder", "list_models", "register_model"]
