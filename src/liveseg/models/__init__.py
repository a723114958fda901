"""Model zoo (needs the ``train`` extra: torch). ``create_model(name, ...)``, ``list_models()``.

Importing this package imports every head module so that every name is registered.
"""

from liveseg.errors import require

require("torch", "train")

# The imports below need torch: after the check, so that its absence is one clear error.
from liveseg.models.registry import (  # noqa: E402, I001
    create_model,
    get_builder,
    list_models,
    register_model,
)
from liveseg.models.heads import deeplabv3, deeplabv3plus, lraspp, mobileseg, unet_mlp  # noqa: E402, F401

__all__ = ["create_model", "get_builder", "list_models", "register_model"]
