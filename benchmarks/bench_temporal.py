"""Temporal reuse benchmark on DAVIS-2016 held-out clips (same as `liveseg bench temporal`).

    python benchmarks/bench_temporal.py --model oracle
    python benchmarks/bench_temporal.py --model runs/<name>/model.onnx --threads 2 --repeats 3

See ``liveseg.bench.temporal`` for what is measured.
"""

import sys

from liveseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "temporal", *sys.argv[1:]]))
