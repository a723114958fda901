"""Benchmarks: one timing helper, one machine description, one results writer, a module per
subject.

- ``timing``    warm-up + interleaved A/B/C rounds, median and p90
- ``machine``   CPU model and flags, threads, library versions (saved beside every figure)
- ``results``   output checks before a run, JSON and PNG written atomically after it
- ``models``    the model zoo: params, GMACs, ORT and PyTorch latency (``liveseg bench models``)
- ``pipeline``  stages and end-to-end fps of the video pipeline (``liveseg bench pipeline``)
- ``fresh_run`` ``liveseg run`` in a fresh process and its ``--stats`` (the benchmark scripts)
- ``accuracy``  a data set spec, and a runtime model's mIoU on it
- ``quant``     quantized variants: accuracy, speed, size (``liveseg bench quant``)
- ``temporal``  temporal reuse on labelled video (``liveseg bench temporal``)
- ``tradeoff``  accuracy against end-to-end fps per model, size, precision, threads, temporal
  (``liveseg bench tradeoff``), with ``pareto`` for the front and its plot

Imports run downwards only: bench may import runtime, video, metrics, models, export, quant
and train, never the commands.
"""
