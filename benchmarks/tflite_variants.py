"""The CMU report's four TFLite variants (fp32, fp16, dynamic-range, full-int8) of a trained
checkpoint, written with the zoo's litert-torch export and ai-edge-quantizer.

Run where litert-torch and ai-edge-quantizer are installed (they pull JAX, so they are not in
liveseg's extras), e.g.:
  PYTHONPATH=src python benchmarks/tflite_variants.py runs/<run>/best.pt --size 240x180 \\
      --calib ../shared/data/camvid/train -o out/tflite
Then evaluate each with `liveseg eval out/tflite/<name>-<variant>.tflite --config <config>`.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import cv2
import numpy as np

from liveseg.card import ModelCard
from liveseg.export.tflite_export import export_tflite
from liveseg.images import read_image
from liveseg.models.checkpoint import load_torch_model
from liveseg.parsing import parse_size
from liveseg.quant.tflite import quantize_tflite


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("checkpoint")
    ap.add_argument("--size", required=True, help="WxH")
    ap.add_argument("--calib", required=True, help="folder of training images (int8 calibration)")
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("-o", "--out", required=True)
    args = ap.parse_args()

    w, h = parse_size(args.size, "--size")
    model, card, _ = load_torch_model(args.checkpoint)
    model.eval()
    card = ModelCard.from_dict({**(card or {}), "input_size": [w, h]})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fp32 = out / f"{card.name}-fp32.tflite"
    export_tflite(model, fp32, input_size=(w, h), card=card)

    files = sorted(Path(args.calib).glob("*.jpg"))[
        :: max(1, len(list(Path(args.calib).glob("*.jpg"))) // args.samples)
    ]
    mean = np.float32(card.mean) * 255
    std = np.float32(card.std) * 255
    calib = []
    for f in files[: args.samples]:
        rgb = read_image(f)
        x = (cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) - mean) / std
        calib.append(x.transpose(2, 0, 1)[None])
    sizes = {"fp32": fp32.stat().st_size}
    for variant in ("fp16", "dynamic", "int8"):
        dst = out / f"{card.name}-{variant}.tflite"
        quantize_tflite(fp32, dst, variant, calib_inputs=calib, overwrite=True)
        shutil.copyfile(fp32.with_suffix(".json"), dst.with_suffix(".json"))
        sizes[variant] = dst.stat().st_size
    print(json.dumps({k: round(v / 1e6, 2) for k, v in sizes.items()}))


if __name__ == "__main__":
    main()
