"""Model zoo (needs the ``train`` extra: torch). ``create_model(name, ...)``, ``list_models()``.

Importing this package imports every head module so that every name is registered.
"""

from liveseg.errors import require

require("torch", "train")

from liveseg.models.registry import create_model, get_builder, list_models, register_model  # noqa: I001
from liveseg.models.heads import deeplabv3, deeplabv3plus, lraspp, mobileseg, unet_mlp  # noqa: F401

__all__ = ["create_model", "get_builder", "list_models", "register_model"]
