"""The labelled video the temporal benchmark runs on: DAVIS-2016 clips (foreground masks) or
CamVid's validation sequence (11 classes, one 101-frame drive labelled on every frame), read
into memory once, optionally rescaled; and the oracle that plays the network with the truth."""

from __future__ import annotations

from pathlib import Path

from liveseg.errors import ConfigError, InputError

DEFAULT_DATA = "../shared/data/davis2016"
DEFAULT_CAMVID = "../shared/data/camvid"
CAMVID_VOID = 11
DEFAULT_CONFIG = "configs/davis_subject_unet_lite.yaml"
# Every frame, fixed 2/3/4/5, adaptive at three thresholds, each with and without smoothing.
DEFAULT_SPECS = (
    "off;off+smooth;"
    "fixed:2;fixed:2+smooth;fixed:3;fixed:3+smooth;fixed:4;fixed:4+smooth;fixed:5;fixed:5+smooth;"
    "adaptive:thresh=0.6,max=5;adaptive:thresh=0.6,max=5+smooth;"
    "adaptive:thresh=1,max=5;adaptive:thresh=1,max=5+smooth;"
    "adaptive:thresh=1.5,max=5;adaptive:thresh=1.5,max=5+smooth"
)


def held_out_clips(config_path) -> list[str]:
    import yaml

    p = Path(config_path)
    if not p.is_file():
        raise ConfigError(f"config {p} not found; name the clips with --clips a,b,c")
    cfg = yaml.safe_load(p.read_text()) or {}
    clips = ((cfg.get("data") or {}).get("options") or {}).get("val_clips")
    if not clips:
        raise ConfigError(
            f"config {p} lists no data.options.val_clips; name the clips with --clips"
        )
    return [str(c) for c in clips]


def camvid_sequence(root: Path, split: str, max_frames: int):
    """CamVid ``split`` frames in order with their label maps (one sequence: val is 0016E5)."""

    frames = sorted(f for f in (root / split).glob("*") if f.suffix.lower() in (".jpg", ".png"))
    if not frames:
        raise InputError(f"no CamVid frames under {root / split}; set --data to the camvid root")
    seqs = {f.name.split("_")[0] for f in frames}
    if len(seqs) != 1:
        raise InputError(
            f"{root / split} holds {len(seqs)} sequences ({', '.join(sorted(seqs))}); "
            "temporal reuse needs one continuous sequence"
        )
    if max_frames:
        frames = frames[:max_frames]
    masks = [root / f"{split}annot" / (f.stem + ".png") for f in frames]
    missing = [m for m in masks if not m.is_file()]
    if missing:
        raise InputError(f"CamVid {split}: no labels {missing[0]}")
    return frames, masks


def clip_files(root: Path, clip: str, max_frames: int):

    frames = sorted((root / "JPEGImages" / clip).glob("*.jpg"))
    if not frames:
        raise InputError(f"no frames for clip {clip!r} under {root / 'JPEGImages'}")
    if max_frames:
        frames = frames[:max_frames]
    masks = [root / "Annotations" / clip / (f.stem + ".png") for f in frames]
    missing = [m for m in masks if not m.is_file()]
    if missing:
        raise InputError(f"clip {clip!r}: no ground truth {missing[0]}")
    return frames, masks


class Oracle:
    """Ground truth as a model: the true mask, area-downscaled to the output map size."""

    def __init__(self, size_wh):
        self.size = size_wh
        self.foreground_indices = [1]
        self.gt = None  # set per frame by the benchmark

    def predict(self, frame, prev=None):
        import cv2
        import numpy as np

        from liveseg.runtime.prediction import Prediction

        fg = cv2.resize(self.gt.astype(np.float32), self.size, interpolation=cv2.INTER_AREA)
        return Prediction(np.stack([1.0 - fg, fg]), frame_size=frame.shape[:2])


def scaled_copy(frames, masks, scale: float, folder: Path):
    """The clip's frames (JPEG q95, bilinear) and masks (PNG, nearest) resized by ``scale``,
    written under ``folder``: every later stage reads them as it reads the originals."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    out_f, out_m = [], []
    for f, m in zip(frames, masks, strict=True):
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        size = (max(2, round(w * scale)), max(2, round(h * scale)))
        dst = folder / f"{f.stem}.jpg"
        cv2.imwrite(
            str(dst),
            cv2.resize(img, size, interpolation=cv2.INTER_LINEAR),
            [cv2.IMWRITE_JPEG_QUALITY, 95],
        )
        lab = cv2.imread(str(m), cv2.IMREAD_UNCHANGED)
        mdst = folder / f"{m.stem}.mask.png"
        cv2.imwrite(str(mdst), cv2.resize(lab, size, interpolation=cv2.INTER_NEAREST))
        out_f.append(dst)
        out_m.append(mdst)
    return out_f, out_m


def load_clips(dataset: str, root, clips, max_frames=0, frame_scale=1.0, scratch=None) -> dict:
    """``{clip: (frames, masks), "_gt": {clip: [label arrays]}}`` (CamVid adds ``"_semantic"``:
    its class count and ignore index). Frames stay files (the benchmark decodes them as a
    player would); with ``frame_scale`` != 1 they are rescaled copies under ``scratch``."""
    import cv2

    camvid = dataset == "camvid"
    data = {"_gt": {}}
    if camvid:
        data["_semantic"] = {"num_classes": CAMVID_VOID, "ignore_index": CAMVID_VOID}
    for c in clips:
        if camvid:
            frames, masks = camvid_sequence(root, c, max_frames)
        else:
            frames, masks = clip_files(root, c, max_frames)
        if frame_scale != 1:
            frames, masks = scaled_copy(frames, masks, frame_scale, Path(scratch) / c)
        if camvid:
            data["_gt"][c] = [cv2.imread(str(m), cv2.IMREAD_UNCHANGED) for m in masks]
        else:
            data["_gt"][c] = [cv2.imread(str(m), cv2.IMREAD_GRAYSCALE) > 127 for m in masks]
        data[c] = (frames, masks)
    return data
