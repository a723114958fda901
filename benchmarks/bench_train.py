"""Training throughput (images/s) of the shipped architectures, for BENCHMARKS.md ("## Training").

    OMP_NUM_THREADS=1 python benchmarks/bench_train.py --threads 1 --iters 5 --json train.json

One training step = normalise a uint8 batch, forward, CE loss, backward, AdamW step (what
``liveseg train`` does per iteration; data comes from the RAM cache, so decoding is not part of
it). Random inputs at each config's training crop. After warm-up steps, the models are
measured round-robin (interleaved) so that load changes on a shared machine hit all of them;
medians and p90 of the per-step time are reported with machine info.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

CASES = [
    # (model, training crop W, H, batch) as in configs/
    ("deeplabv3plus_mobilenetv2", 320, 240, 8),
    ("unet_efficientnet_lite0", 256, 160, 8),
    ("lraspp_mobilenetv3_small", 240, 180, 8),
]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=5, help="measured steps per model")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--models", default=None, help="comma-separated subset of the case names")
    ap.add_argument("--json", dest="json_out", default=None)
    args = ap.parse_args(argv)

    import torch

    from liveseg.models import create_model
    from liveseg.models.common import model_logits
    from liveseg.train.evaluate import normalize

    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    cases = [c for c in CASES if not args.models or c[0] in args.models.split(",")]
    state = {}
    for name, w, h, bs in cases:
        torch.manual_seed(0)
        model = create_model(name, num_classes=11).to(dev).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        x = torch.randint(0, 256, (bs, 3, h, w), dtype=torch.uint8, device=dev)
        y = torch.randint(0, 11, (bs, h, w), device=dev)
        state[name] = (model, opt, x, y, [])

    def step(name):
        model, opt, x, y, _ = state[name]
        t0 = time.perf_counter()
        logits = model_logits(model(normalize(x, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])))
        loss = torch.nn.functional.cross_entropy(logits, y, ignore_index=255)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    for name in state:
        for _ in range(args.warmup):
            step(name)
    for _ in range(args.iters):
        for name in state:
            state[name][4].append(step(name))

    info = {
        "cpu": cpu_model(),
        "threads": torch.get_num_threads(),
        "device": str(dev),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "os_cpu_count": os.cpu_count(),
        "loadavg": os.getloadavg(),
    }
    print(
        f"machine: {info['cpu']}, {info['threads']} torch threads, device {dev}, "
        f"torch {info['torch']}, load average {info['loadavg'][0]:.1f}"
    )
    rows = []
    print(f"{'model':30s} {'crop':>9s} {'batch':>5s} {'s/step med':>10s} {'p90':>7s} {'img/s':>7s}")
    for name, w, h, bs in cases:
        ts = sorted(state[name][4])
        med = statistics.median(ts)
        p90 = ts[min(len(ts) - 1, round(0.9 * (len(ts) - 1)))]
        rows.append(
            {
                "model": name,
                "crop": [w, h],
                "batch": bs,
                "median_s": med,
                "p90_s": p90,
                "images_per_s": bs / med,
                "steps": len(ts),
            }
        )
        print(f"{name:30s} {w:>4d}x{h:<4d} {bs:>5d} {med:>10.3f} {p90:>7.3f} {bs / med:>7.2f}")
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump({"machine": info, "results": rows}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
