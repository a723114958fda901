"""Temporal policies on generated clips with known motion (no data files, no timing thresholds)."""

import cv2
import numpy as np
import pytest

from liveseg.errors import ConfigError
from liveseg.runtime.prediction import Prediction
from liveseg.video.temporal import (
    AdaptiveKeyframes,
    EveryFrame,
    FixedKeyframes,
    make_temporal,
)

H, W = 120, 160  # frame size
MH, MW = 60, 80  # model output size (half resolution)
SIDE = 40  # square side in frame pixels
DX, DY = 4, 2  # motion per frame in frame pixels


def _texture(seed, h, w):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 256, (h // 4, w // 4, 3), dtype=np.uint8)
    return cv2.resize(t, (w, h), interpolation=cv2.INTER_CUBIC)


BACKGROUND = _texture(1, H, W)
SQUARE = _texture(2, SIDE, SIDE)
OTHER_SCENE = _texture(3, H, W)


def square_pos(t):
    return 30 + DX * t, 25 + DY * t  # top-left (x, y)


def make_frame(t, scene=BACKGROUND):
    f = scene.copy()
    if scene is BACKGROUND:
        x, y = square_pos(t)
        f[y : y + SIDE, x : x + SIDE] = SQUARE
    return f


def gt_mask(t):
    m = np.zeros((H, W), np.uint8)
    x, y = square_pos(t)
    m[y : y + SIDE, x : x + SIDE] = 1
    return m


def oracle(t, soft=None):
    """An infer(prev) callable returning the true mask at model resolution."""
    calls = []

    def infer(prev):
        calls.append(prev)
        fg = cv2.resize(gt_mask(t).astype(np.float32), (MW, MH), interpolation=cv2.INTER_AREA)
        if soft is not None:
            fg = soft(fg)
        return Prediction(probs=np.stack([1 - fg, fg]).astype(np.float32), frame_size=(H, W))

    infer.calls = calls
    return infer


def iou(a, b):
    a, b = a.astype(bool), b.astype(bool)
    return (a & b).sum() / max((a | b).sum(), 1)


def run_clip(policy, n, frame_fn=make_frame, infer_fn=oracle):
    preds = []
    for t in range(n):
        preds.append(policy.step(frame_fn(t), infer_fn(t)))
    return preds


def test_warped_masks_land_where_the_shape_moved():
    policy = make_temporal("fixed:4")
    preds = run_clip(policy, 8)
    assert [p.inferred for p in preds] == [True, False, False, False] * 2
    for t, p in enumerate(preds):
        if p.inferred:
            continue
        mask = p.labels()
        assert p.frame_size == (H, W)
        # The propagated mask follows the square, far better than the stale keyframe mask.
        truth, stale = gt_mask(t), gt_mask(t - t % 4)
        assert iou(mask, truth) > iou(stale, truth) + 0.1, t
        assert (
            mask & truth
        ).sum() / truth.sum() > 0.85  # covers where the square went (keyframe: 0.95)
        # Its leading edges land where the square's edges moved to (within 2 px of 4 px/frame;
        # the trailing edge lags: disoccluded background has no source to warp from).
        ys, xs = np.nonzero(mask)
        x0, y0 = square_pos(t)
        assert abs(xs.max() - (x0 + SIDE - 1)) <= 2 and abs(ys.max() - (y0 + SIDE - 1)) <= 2
    s = policy.stats()
    assert s["inferred_frames"] == 2 and s["propagated_frames"] == 6
    assert s["decisions"] == "K...K..."
    assert s["keyframe_reasons"] == {"first": 1, "interval": 1}
    assert s["flow_ms_total"] > 0 and s["warp_ms_total"] > 0


@pytest.mark.parametrize("check", ["photo", "fb"])
def test_flow_checks_flag_the_disoccluded_strip_and_trust_the_rest(check):
    from liveseg.video.flow import FlowEstimator, small_gray

    fe = FlowEstimator(check=check)
    a, b = (small_gray(make_frame(t), (H, W)) for t in (3, 4))
    r = fe.compute(a, b)
    # The square moved +DX, +DY: the background it uncovered (a strip behind its trailing
    # edges) has no source in the previous frame; pixels well away from the square do.
    x, y = square_pos(4)
    strip = np.zeros((H, W), bool)
    strip[y - DY : y + SIDE, x - DX : x] = True  # left trailing edge (current frame coords)
    far = np.ones((H, W), bool)
    far[max(0, y - 15) : y + SIDE + 15, max(0, x - 15) : x + SIDE + 15] = False
    far[:4], far[-4:], far[:, :4], far[:, -4:] = False, False, False, False
    assert r.consistent[far].mean() > 0.95
    assert r.consistent[strip].mean() < r.consistent[far].mean() - 0.2
    # Motion is recovered where the flow is trusted: backward flow ~ (-DX, -DY) on the square.
    inside = np.zeros((H, W), bool)
    inside[y + 8 : y + SIDE - 8, x + 8 : x + SIDE - 8] = True
    bx = np.median(r.backward[..., 0][inside & r.consistent])
    by = np.median(r.backward[..., 1][inside & r.consistent])
    assert abs(bx + DX) < 0.75 and abs(by + DY) < 0.75


def test_fb_check_is_selectable_and_named():
    p = make_temporal("fixed:3,check=fb+smooth")
    assert p.flow.check == "fb" and p.name.startswith("fixed:3,check=fb")
    assert make_temporal("adaptive:check=fb").flow.check == "fb"
    assert make_temporal("fixed:3").flow.check == "photo"
    preds = run_clip(make_temporal("fixed:4,check=fb"), 5)
    assert [p.inferred for p in preds] == [True, False, False, False, True]


def test_scene_cut_forces_a_keyframe():
    policy = make_temporal("adaptive:thresh=1e9,max=1000")

    def frames(t):
        return make_frame(t) if t < 5 else make_frame(t, OTHER_SCENE)

    preds = run_clip(policy, 8, frame_fn=frames)
    assert [p.inferred for p in preds] == [True, False, False, False, False, True, False, False]
    assert policy.stats()["keyframe_reasons"] == {"first": 1, "cut": 1}
    # The same clip with cut detection off never runs the network again.
    quiet = make_temporal("adaptive:thresh=1e9,max=1000,cut=0")
    assert sum(p.inferred for p in run_clip(quiet, 8, frame_fn=frames)) == 1
    # Fixed schedules honour cuts too.
    fixed = make_temporal("fixed:100")
    assert [p.inferred for p in run_clip(fixed, 8, frame_fn=frames)].count(True) == 2


def test_adaptive_respects_its_maximum_interval():
    policy = make_temporal("adaptive:thresh=1e9,max=3")
    run_clip(policy, 10)
    s = policy.stats()
    assert s["decisions"] == "K..K..K..K"
    assert s["keyframe_reasons"] == {"first": 1, "max": 3}


def test_adaptive_runs_more_on_motion_than_on_a_still_scene():
    moving = make_temporal("adaptive:thresh=0.5,max=50")
    run_clip(moving, 12)
    still = make_temporal("adaptive:thresh=0.5,max=50")
    run_clip(still, 12, frame_fn=lambda t: make_frame(0), infer_fn=lambda t: oracle(0))
    assert still.stats()["inferred_frames"] == 1
    assert moving.stats()["inferred_frames"] > 2
    assert moving.stats()["keyframe_reasons"].get("doubt", 0) >= 1


def test_smoothing_is_a_no_op_on_a_static_scene():
    def soft(fg):  # uncertain everywhere
        return np.clip(0.2 + 0.6 * fg, 0, 1)

    plain = run_clip(make_temporal("off"), 6, lambda t: make_frame(0), lambda t: oracle(0, soft))
    smooth = run_clip(
        make_temporal("off+smooth=0.2"), 6, lambda t: make_frame(0), lambda t: oracle(0, soft)
    )
    for a, b in zip(plain, smooth, strict=True):
        np.testing.assert_allclose(a.probs, b.probs, atol=1e-5)
        assert b.inferred


def test_smoothing_damps_flicker_of_uncertain_pixels():
    rng = np.random.default_rng(0)
    noisy = [rng.uniform(0.3, 0.7, (MH, MW)).astype(np.float32) for _ in range(8)]

    def infer_fn(t):
        return lambda prev: Prediction(np.stack([1 - noisy[t], noisy[t]]), frame_size=(H, W))

    def still(t):
        return make_frame(0)

    plain = run_clip(make_temporal("off"), 8, still, infer_fn)
    smooth = run_clip(make_temporal("off+smooth"), 8, still, infer_fn)

    def diff(ps):
        return np.mean(
            [np.abs(ps[i].probs[1] - ps[i - 1].probs[1]).mean() for i in range(1, len(ps))]
        )

    assert diff(smooth) < 0.7 * diff(plain)
    for p in smooth:
        np.testing.assert_allclose(p.probs.sum(0), 1.0, atol=1e-5)


def test_smoothing_follows_confident_motion():
    # Confident new predictions of a moving square are kept as they are: edges do not lag.
    preds = run_clip(make_temporal("off+smooth"), 6)
    for t, p in enumerate(preds):
        truth = cv2.resize(gt_mask(t).astype(np.float32), (MW, MH), interpolation=cv2.INTER_AREA)
        assert iou(p.labels_small(), truth > 0.5) > 0.95


def test_previous_prediction_is_handed_to_infer():
    policy = make_temporal("fixed:2")
    infers = [oracle(t) for t in range(5)]
    preds = [policy.step(make_frame(t), infers[t]) for t in range(5)]
    assert infers[0].calls == [None]
    assert infers[1].calls == []  # propagated
    assert infers[2].calls == [preds[1]]  # the previous frame's (propagated) output
    assert infers[4].calls == [preds[3]]


def test_time_budget_defers_optional_keyframes():
    now = [0.0]

    def clock():
        return now[0]

    def costly(t):
        inner = oracle(t)

        def infer(prev):
            now[0] += 0.100  # the network takes 100 ms
            return inner(prev)

        return infer

    def frame_fn(t):
        now[0] += 0.002  # propagating takes 2 ms
        return make_frame(t % 20)

    free = make_temporal("adaptive:thresh=0.01,max=1000", clock=clock)
    run_clip(free, 20, frame_fn, costly)
    capped = make_temporal("adaptive:thresh=0.01,max=1000,budget=25", clock=clock)
    run_clip(capped, 20, frame_fn, costly)
    assert capped.stats()["inferred_frames"] < free.stats()["inferred_frames"]
    assert capped.stats()["budget_deferred"] > 0
    # 25 ms a frame against 100 ms a keyframe: at most about one frame in four.
    assert capped.stats()["inferred_frames"] <= 20 // 4 + 2


def test_frame_size_change_restarts():
    policy = make_temporal("fixed:10")
    policy.step(make_frame(0), oracle(0))
    small = cv2.resize(make_frame(1), (W // 2, H // 2))
    p = policy.step(small, oracle(1))
    assert p.inferred and policy.stats()["keyframe_reasons"] == {"first": 1, "resize": 1}


@pytest.mark.parametrize(
    "spec, cls",
    [
        (None, EveryFrame),
        ("off", EveryFrame),
        ("", EveryFrame),
        ("smooth", EveryFrame),
        ("off+smooth=0.3", EveryFrame),
        ("fixed:3", FixedKeyframes),
        ("fixed:2+smooth", FixedKeyframes),
        ("fixed:5,cut=0", FixedKeyframes),
        ("adaptive", AdaptiveKeyframes),
        ("adaptive:thresh=0.2,max=8", AdaptiveKeyframes),
        ("Adaptive:max=4,budget=30+smooth=0.4", AdaptiveKeyframes),
    ],
)
def test_valid_specs(spec, cls):
    p = make_temporal(spec)
    assert isinstance(p, cls)
    if spec and "smooth" in spec:
        assert p.smooth is not None


def test_spec_parameters_are_applied():
    p = make_temporal("adaptive:thresh=0.2,max=8,cut=0.7,budget=30+smooth=0.4")
    assert (p.thresh, p.max_interval, p.cut, p.budget_ms, p.smooth) == (0.2, 8, 0.7, 30, 0.4)
    assert make_temporal("fixed:3").interval == 3


@pytest.mark.parametrize(
    "spec",
    [
        "fixed",
        "fixed:",
        "fixed:0",
        "fixed:-2",
        "fixed:2.5",
        "fixed:x",
        "fixed:3,speed=2",
        "adaptive:",
        "adaptive:thresh",
        "adaptive:thresh=0",
        "adaptive:thresh=-1",
        "adaptive:max=0",
        "adaptive:max=2.5",
        "adaptive:foo=1",
        "adaptive:max=3,max=4",
        "adaptive:thresh=nan",
        "adaptive:budget=0",
        "fixed:3+blur",
        "fixed:3+smooth=2",
        "fixed:3+smooth=x",
        "fixed:3+smooth+smooth",
        "keyframes",
        "every:2",
        3,
        "fixed:3,check=lk",
        "adaptive:check=",
        "fixed:3,check=fb,check=fb",
    ],
)
def test_invalid_specs_raise_one_line_config_error(spec):
    with pytest.raises(ConfigError) as exc:
        make_temporal(spec)
    msg = str(exc.value)
    assert "\n" not in msg and "--temporal" in msg


def test_flow_side_is_a_policy_parameter_not_a_global():
    from liveseg.video import flow
    from liveseg.video.options import RunOptions

    frame = make_frame(0)  # 160x120: the default side (128) scales it down
    default = make_temporal("fixed:3")
    assert default.flow_side == flow.MAX_FLOW_SIDE
    assert default.motion(frame).gray.shape == flow.flow_size_for((H, W)) == (96, 128)
    small = make_temporal("fixed:3", flow_side=64)
    assert small.flow_side == 64 and small.motion(frame).gray.shape == (48, 64)
    assert make_temporal("off+smooth", flow_side=80).motion(frame).gray.shape == (60, 80)
    assert flow.MAX_FLOW_SIDE == 128  # nothing was set module-wide
    with pytest.raises(ConfigError, match="--flow-side"):
        make_temporal("fixed:3", flow_side=10)
    with pytest.raises(ConfigError, match="--flow-side"):
        RunOptions(flow_side=4096)
    assert RunOptions(flow_side=96).flow_side == 96
