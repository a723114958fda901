"""Pipeline benchmark for BENCHMARKS.md ("## Pipeline").

    OMP_NUM_THREADS=1 python benchmarks/bench_pipeline.py --rss-frames 18000 --json pipeline.json

Same as ``liveseg bench pipeline`` (see liveseg.bench.pipeline): a generated H.264 clip (the demo
photograph panned and zoomed) at 640x480 and 1280x720, a small fixed ONNX model (~3 ms on
one core), blur composite; inline (one thread) vs threaded stages, decode->composite (null
sink) and decode->encode (libx264 veryfast), interleaved runs after a warm-up, medians and
p90 over runs; RSS growth over a long synthetic 640x480 stream.
"""

import sys

from liveseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "pipeline", *sys.argv[1:]]))
