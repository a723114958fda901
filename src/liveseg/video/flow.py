"""Dense optical flow at low resolution, warping and the cheap per-frame signals.

Everything here works on small grayscale frames (the size of the model's output maps, clamped
to a range where DIS flow is meaningful), so a propagated frame costs about a millisecond.
The flow is OpenCV's DIS (``PRESET_ULTRAFAST``) from the current frame back to the previous
one. Pixels whose motion cannot be trusted (occlusions, disocclusions, flow failures) are
flagged by one of two checks:

- ``photo`` (default): the previous frame warped by the flow must match the current one
  (|difference| <= ``photo_tau`` of the gray range). One DIS call per frame.
- ``fb``: forward-backward consistency (Sundaram et al., ECCV 2010): DIS is also run forwards
  and the two flows must cancel. Twice the DIS cost; measured no better on DAVIS (BENCHMARKS.md
  "Temporal"), so it is an option, not the default.

Conventions: a flow field is (h, w, 2) float32 in pixels of the grid it was computed on;
``backward[y, x]`` is the displacement from pixel (x, y) of the *current* frame to where that
point was in the *previous* frame, so ``cv2.remap(prev, grid + backward)`` brings anything
defined on the previous frame onto the current one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from liveseg.errors import ConfigError
from liveseg.video.temporal_spec import CHECKS

# DIS needs a few patches per side to say anything; beyond ~128 px its cost grows faster than
# the accuracy of propagated masks (DAVIS held-out clips, ground truth propagated with
# fixed:3: J&F 93.59 on a 90x160 grid at 1.52 ms/frame of temporal work, 93.14 on 72x128 at
# 1.06 ms, 93.03 on 63x112 at 1.02 ms: `liveseg bench temporal --model oracle --oracle-size
# 256x144 --flow-side N`, BENCHMARKS.md "Temporal").
# MAX_FLOW_SIDE is the default of the temporal policies' ``flow_side`` (a constant: a run that
# wants another grid passes it, e.g. ``liveseg bench temporal --flow-side``).
MIN_FLOW_SIDE = 64
MAX_FLOW_SIDE = 128
FLOW_SIDE_LIMIT = 1024


def check_flow_side(px: int | None) -> int:
    """The longest side of the flow grid: ``px`` when it lies in [MIN_FLOW_SIDE, 1024],
    MAX_FLOW_SIDE for None; ConfigError otherwise."""
    if px is None:
        return MAX_FLOW_SIDE
    if not MIN_FLOW_SIDE <= px <= FLOW_SIDE_LIMIT:
        raise ConfigError(f"--flow-side must be in [{MIN_FLOW_SIDE}, {FLOW_SIDE_LIMIT}]")
    return int(px)


def flow_size_for(map_hw: tuple[int, int], max_side: int = MAX_FLOW_SIDE) -> tuple[int, int]:
    """(h, w) of the grid flow is computed on, for output maps of size ``map_hw``.

    The maps' own size when it lies in [MIN_FLOW_SIDE, max_side]; otherwise scaled (same
    aspect) so the short side reaches MIN_FLOW_SIDE or the long side ``max_side``.
    """
    h, w = int(map_hw[0]), int(map_hw[1])
    scale = 1.0
    if max(h, w) > max_side:
        scale = max_side / max(h, w)
    elif min(h, w) < MIN_FLOW_SIDE:
        scale = min(MIN_FLOW_SIDE / min(h, w), max_side / max(h, w))
    return max(8, round(h * scale)), max(8, round(w * scale))


# DIS stops refining at the pyramid level whose short side is still >= this many pixels.
FINEST_LEVEL_SIDE = 60


def finest_scale_for(hw: tuple[int, int]) -> int:
    """DIS pyramid level to stop at: the smallest level with short side >= FINEST_LEVEL_SIDE."""
    short = min(hw)
    s = 0
    while s < 2 and short / 2 ** (s + 1) >= FINEST_LEVEL_SIDE:
        s += 1
    return s


def small_gray(frame: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """RGB uint8 frame -> (h, w) uint8 gray, area-downscaled (or linearly upscaled).

    Gray first, then one-channel resize: 0.26 ms for 427x240 -> 160x90 against 0.50 ms the
    other way round (INTER_AREA dominates and scales with the channels)."""
    h, w = hw
    if frame.ndim == 3:
        frame = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    fh, fw = frame.shape
    interp = cv2.INTER_AREA if (fh >= h and fw >= w) else cv2.INTER_LINEAR
    return cv2.resize(frame, (w, h), interpolation=interp)


@lru_cache(maxsize=16)
def _grid(hw: tuple[int, int]) -> np.ndarray:
    """(h, w, 2) float32 pixel coordinates (x, y); cached and read-only (one per map size)."""
    h, w = hw
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    g = np.stack([xs, ys], axis=-1)
    g.flags.writeable = False
    return g


def resize_flow(flow: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Resample a flow field to grid ``hw`` and rescale its vectors to that grid's pixels."""
    h, w = hw
    fh, fw = flow.shape[:2]
    if (fh, fw) == (h, w):
        return flow
    out = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= w / fw
    out[..., 1] *= h / fh
    return out


@dataclass
class FlowResult:
    """Motion between the previous frame and the current one, on the flow grid."""

    backward: np.ndarray  # (h, w, 2): current pixel -> its position in the previous frame
    consistent: np.ndarray  # (h, w) bool: passes the trust check (photo or fb)
    warp_error: float  # mean |prev warped to current - current| / 255 over consistent pixels
    frame_diff: float  # mean |current - previous| / 255 (no motion compensation)
    magnitude: float  # mean length of the backward flow, as a fraction of the grid diagonal
    _on: dict = field(default_factory=dict, repr=False)  # on_grid results by grid size

    @property
    def inconsistent_share(self) -> float:
        return float(1.0 - self.consistent.mean())

    def on_grid(self, hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """``(backward, consistent)`` resampled to grid ``hw`` (the maps' size), vectors in that
        grid's pixels; computed once per size (the adaptive doubt and the warp share it)."""
        hw = (int(hw[0]), int(hw[1]))
        if hw not in self._on:
            h, w = hw
            consistent = self.consistent
            if consistent.shape != hw:
                consistent = cv2.resize(
                    consistent.view(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST
                ).view(bool)
            self._on[hw] = (resize_flow(self.backward, hw), consistent)
        return self._on[hw]


class FlowEstimator:
    """DIS optical flow from the current small gray frame back to the previous one, and a check
    of which pixels it can be trusted on (``check``: ``photo`` or ``fb``, see the module doc)."""

    def __init__(
        self,
        check: str = "photo",
        fb_alpha: float = 0.01,
        fb_beta: float = 0.5,
        photo_tau: float = 0.06,
    ):
        if check not in CHECKS:
            raise ValueError(f"unknown flow check {check!r} (use {' or '.join(CHECKS)})")
        self.check = check
        self.fb_alpha = fb_alpha
        self.fb_beta = fb_beta
        self.photo_tau = photo_tau
        self._dis = None
        self._hw: tuple[int, int] | None = None

    def _ensure(self, hw: tuple[int, int]) -> None:
        # A DIS instance carries state sized to its last input; one per grid size.
        if self._hw != hw:
            self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
            # The preset stops at 1/4 resolution (finest scale 2), which on grids this small
            # leaves ~16-30 px and misses much of the motion (measured on DAVIS: 1-step
            # propagated J 0.836 at level 2, 0.870 at level 1, 0.893 at level 0 on a 120x214 grid).
            level = finest_scale_for(hw)
            self._dis.setFinestScale(level)
            if level == 0:
                # Full-resolution patches every 6 px instead of 4: half the cost, ~-0.006 J
                # (1-step DAVIS propagation on a 96x160 grid: 0.905 -> 0.900, 2.5 -> 1.3 ms).
                self._dis.setPatchStride(6)
            self._hw = hw

    def compute(self, prev_gray: np.ndarray, cur_gray: np.ndarray) -> FlowResult:
        hw = cur_gray.shape[:2]
        self._ensure(hw)
        backward = self._dis.calc(cur_gray, prev_gray, None)
        src = _grid(hw) + backward
        bx, by = backward[..., 0], backward[..., 1]
        b2 = bx * bx + by * by
        warped = cv2.remap(prev_gray, src, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        err = cv2.absdiff(warped, cur_gray)
        if self.check == "fb":
            forward = self._dis.calc(prev_gray, cur_gray, None)
            # Forward flow sampled where each current pixel came from; a consistent pair
            # cancels. (Per-channel arithmetic: numpy reductions over a last axis of 2 are
            # ~10x slower.)
            fwd_at = cv2.remap(
                forward, src, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
            fx, fy = fwd_at[..., 0], fwd_at[..., 1]
            dx, dy = bx + fx, by + fy
            consistent = (
                dx * dx + dy * dy <= self.fb_alpha * (b2 + fx * fx + fy * fy) + self.fb_beta
            )
        else:
            consistent = err <= self.photo_tau * 255.0
        # Points that came from outside the previous frame cannot be propagated either.
        h, w = hw
        sx, sy = src[..., 0], src[..., 1]
        consistent &= (sx >= -0.5) & (sx <= w - 0.5) & (sy >= -0.5) & (sy <= h - 0.5)
        n_ok = int(np.count_nonzero(consistent))
        warp_error = (
            float(cv2.mean(err, mask=consistent.view(np.uint8))[0]) / 255.0 if n_ok else 1.0
        )
        frame_diff = float(cv2.absdiff(prev_gray, cur_gray).mean()) / 255.0
        diag = float(np.hypot(h, w))
        magnitude = float(cv2.sqrt(b2).mean()) / diag
        return FlowResult(backward, consistent, warp_error, frame_diff, magnitude)


def warp_maps(maps: np.ndarray, flow: FlowResult, fallback: str = "warp"):
    """Warp (C, h, w) maps from the previous frame onto the current one.

    Returns ``(warped, consistent)``: the (C, h, w) warped maps and the (h, w) bool mask of
    pixels that passed the consistency check, both on the maps' grid. ``flow`` may live on a
    different grid than the maps; it is resampled. Pixels failing the check take the warped value
    anyway (``fallback="warp"``, the default: on DAVIS it beats keeping the old value, fixed:3
    oracle J&F 0.899 vs 0.885) or keep the previous value at the same place (``"keep"``); either
    way they are flagged in the returned mask.
    """
    c, h, w = maps.shape
    back, consistent = flow.on_grid((h, w))
    # Each channel is remapped straight from and into its (h, w) plane: at 2 x 144 x 256,
    # 0.17 ms against 1.0 ms for 4-channel HWC chunks with their transposes (fixed-point
    # maps from cv2.convertMaps were slower still for float data).
    src = _grid((h, w)) + back
    maps = np.ascontiguousarray(maps, dtype=np.float32)
    out = np.empty_like(maps)
    for i in range(c):
        cv2.remap(maps[i], src, None, cv2.INTER_LINEAR, dst=out[i], borderMode=cv2.BORDER_REPLICATE)
    if fallback == "keep":
        out[:, ~consistent] = maps[:, ~consistent]
    return out, consistent


def scene_cut_score(prev_gray: np.ndarray, cur_gray: np.ndarray) -> float:
    """1 - correlation of 32-bin gray histograms: ~0 for the same scene, large across a cut."""
    hp = cv2.calcHist([prev_gray], [0], None, [32], [0, 256])
    hc = cv2.calcHist([cur_gray], [0], None, [32], [0, 256])
    corr = cv2.compareHist(hp, hc, cv2.HISTCMP_CORREL)
    return float(1.0 - corr)
