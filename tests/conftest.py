"""Test-wide settings.

liveseg caches measured engine choices (``--engine auto``) and OpenVINO's compiled models in
the user cache folder; tests use a fresh folder of their own so that they never read a choice
measured outside the test run and never write into the user's cache.

Helpers shared by the test packages are modules of ``tests.helpers``; models a test registers in
the global model registry are registered by a fixture that removes them afterwards
(``tiny_model`` here), so the registry holds only the zoo between tests.
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


@pytest.fixture
def tiny_model():
    """The trainer tests' tiny model (tests/helpers/tiny_model.py), registered for one test.

    Yields its registry name; a test that only needs the name in a config can use
    ``@pytest.mark.usefixtures("tiny_model")`` and ``tests.helpers.tiny_model.NAME``.
    """
    from tests.helpers.registry import registered_model
    from tests.helpers.tiny_model import NAME, build

    with registered_model(NAME, build):
        yield NAME
