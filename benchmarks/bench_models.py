"""Model-zoo benchmark for BENCHMARKS.md ("## Model zoo").

    python benchmarks/bench_models.py --runs 10 --json models.json

Same as ``liveseg bench models`` (see liveseg.bench.models): every registered architecture at
256x256 and 512x512: parameters, GMACs (FlopCounterMode), onnxruntime fp32 latency with 1 and 2
intra-op threads and PyTorch eager latency (1 thread), interleaved rounds after a warm-up,
medians and p90, ratios against DeepLabV3+ MobileNetV2 in the same run, machine info.
"""

import sys

from liveseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "models", *sys.argv[1:]]))
