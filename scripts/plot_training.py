"""Plot a training run's curves (train loss, val metric per epoch) from its log.csv -> PNG.

Usage (from the repository root):
  python scripts/plot_training.py runs/<run>/log.csv -o docs/training_<run>.png [--metric val_miou]
  python scripts/plot_training.py runs/<stage1>/log.csv runs/<stage2>/log.csv -o ...   (stages
  of one model, epochs numbered on; per-source curves from log.json where the run logged them)
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("log", nargs="+", help="log.csv written by liveseg train (one per stage)")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument(
        "--metric",
        default=None,
        help="validation column (default: val_j_mean if present, else val_miou)",
    )
    ap.add_argument("--title", default=None)
    args = ap.parse_args()

    import json

    rows, groups, offset = [], {}, 0
    for log in args.log:
        stage = list(csv.DictReader(open(log)))
        extra = Path(log).with_suffix(".json")
        hist = json.loads(extra.read_text()) if extra.is_file() else []
        for r in stage:
            r["epoch"] = str(int(r["epoch"]) + offset)
        for h in hist:
            for g, v in (h.get("val_j_per_group") or {}).items():
                groups.setdefault(g, []).append((int(h["epoch"]) + offset, float(v)))
        rows += stage
        offset += len(stage)
    metric = args.metric or ("val_j_mean" if rows and rows[0].get("val_j_mean") else "val_miou")
    epochs = [int(r["epoch"]) for r in rows]
    loss = [float(r["train_loss"]) for r in rows]
    val = [(int(r["epoch"]), float(r[metric])) for r in rows if r.get(metric)]

    fig, ax1 = plt.subplots(figsize=(7, 4), dpi=110)
    ax1.plot(epochs, loss, color="tab:blue", label="train loss")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("train loss", color="tab:blue")
    ax2 = ax1.twinx()
    ax2.plot([e for e, _ in val], [v for _, v in val], "o-", color="tab:red", label=metric)
    ax2.set_ylabel(metric.replace("val_", "val "), color="tab:red")
    for g, pts in groups.items():
        ax2.plot([e for e, _ in pts], [v for _, v in pts], ".--", label=f"{metric} {g}")
    if groups:
        ax2.legend(loc="lower right", fontsize=8)
    best = max(val, key=lambda t: t[1]) if val else None
    if best:
        ax2.annotate(
            f"best {best[1]:.3f} (epoch {best[0]})",
            best,
            textcoords="offset points",
            xytext=(-130, -18),
            fontsize=8,
        )
    ax1.set_title(args.title or Path(args.log[-1]).parent.name)
    fig.tight_layout()
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output)
    print("wrote", args.output)


if __name__ == "__main__":
    main()
