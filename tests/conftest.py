"""Test-wide settings.

liveseg caches measured engine choices (``--engine auto``) and OpenVINO's compiled models in
the user cache folder; tests use a fresh folder of their own so that they never read a choice
measured outside the test run and never write into the user's cache.
"""

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _liveseg_cache_folder(tmp_path_factory):
    previous = os.environ.get("LIVESEG_CACHE_DIR")
    os.environ["LIVESEG_CACHE_DIR"] = str(tmp_path_factory.mktemp("liveseg-cache"))
    yield
    if previous is None:
        os.environ.pop("LIVESEG_CACHE_DIR", None)
    else:
        os.environ["LIVESEG_CACHE_DIR"] = previous
