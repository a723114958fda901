"""Helpers shared by the test packages, imported as ``tests.helpers.<module>``.

``tests`` is a package and pytest puts the repository root on ``sys.path`` (``pythonpath`` in
pyproject's ``[tool.pytest.ini_options]``), so no test changes ``sys.path`` itself. The modules
are plain builders (functions that take a path and write a model, a video, a data set); setup
that lives for one test is a fixture in ``tests/conftest.py`` (``tiny_model``).

``models``      small ONNX / TFLite segmentation models built with ``onnx.helper``, model cards,
                the colour-patch test image (no torch).
``videos``      PyAV-written test videos, ``probe``, a duck-typed ``FakeModel``, ``tiny_onnx``.
``datasets``    tiny synthetic data sets in every supported on-disk layout.
``tiny_model``  a tiny torch network for the trainer tests (registered by the ``tiny_model``
                fixture, never at import).
``tiny_seg``    a tiny torch network with the zoo's layer types, and calibration images, for the
                quantization tests.
``registry``    ``registered_model``: a builder in the global model registry for a ``with`` block.

Importing this package imports none of them (their dependencies differ: torch, PyAV, onnx).
"""
