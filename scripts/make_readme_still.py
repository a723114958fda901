"""Render the README's before/after still: a demo-clip frame, then the shipped default model's
background blur and its foreground mask, side by side -> docs/demo_before_after.png.

Usage (from the repository root): python scripts/make_readme_still.py [--model NAME] [--frame N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

import liveseg
from liveseg.video.demo import demo_frames
from liveseg.video.effects import make_effect

ROOT = Path(__file__).resolve().parents[1]


def label(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.rectangle(out, (0, 0), (14 + 11 * len(text), 30), (0, 0, 0), -1)
    cv2.putText(out, text, (7, 21), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--model", default=None, help="shipped model name or file (default: the default)"
    )
    ap.add_argument("--frame", type=int, default=60)
    ap.add_argument("-o", "--output", default=str(ROOT / "docs" / "demo_before_after.png"))
    args = ap.parse_args()

    frames = list(demo_frames())
    frame = frames[min(args.frame, len(frames) - 1)]
    model = liveseg.load(args.model)
    pred = model.segment(frame)
    blur = make_effect("blur", model.card)(frame, pred)
    mask = make_effect("overlay", model.card, alpha=0.6)(frame, pred)
    row = np.hstack(
        [
            label(frame, "input"),
            label(blur, "liveseg run --effect blur"),
            label(mask, "mask (" + model.card.name + ")"),
        ]
    )
    row = cv2.resize(
        row, (row.shape[1] * 2 // 3, row.shape[0] * 2 // 3), interpolation=cv2.INTER_AREA
    )
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.output, cv2.cvtColor(row, cv2.COLOR_RGB2BGR))
    print("wrote", args.output)


if __name__ == "__main__":
    main()
