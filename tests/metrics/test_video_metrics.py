import numpy as np
import pytest

from liveseg.metrics.video import (
    bound_pixels,
    db_statistics,
    disk,
    dtssd,
    evaluate_sequence,
    f_measure,
    flicker_rate,
    j_measure,
    seg2bmap,
    summarize,
)


def square(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_j_edge_cases_and_hand_case():
    empty = np.zeros((4, 4), bool)
    full = np.ones((4, 4), bool)
    assert j_measure(empty, empty) == 1.0  # both empty
    assert j_measure(full, empty) == 0.0  # empty prediction
    assert j_measure(full, full) == 1.0
    assert j_measure(square(4, 4, 0, 2, 0, 4), square(4, 4, 0, 4, 0, 2)) == pytest.approx(4 / 12)


def test_seg2bmap_east_south_southeast_neighbours():
    b = seg2bmap(square(4, 4, 1, 3, 1, 3))
    assert b.astype(int).tolist() == [
        [1, 1, 1, 0],
        [1, 0, 1, 0],
        [1, 1, 1, 0],
        [0, 0, 0, 0],
    ]


def test_disk_matches_skimage_definition_and_tolerance():
    assert disk(1).tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    assert disk(2).sum() == 13
    assert bound_pixels((480, 854)) == 8  # ceil(0.008 * 979.7)
    assert bound_pixels((240, 427)) == 4


def test_f_edge_cases():
    empty = np.zeros((20, 20), bool)
    sq = square(20, 20, 5, 15, 5, 15)
    assert f_measure(sq, sq) == 1.0
    assert f_measure(empty, empty) == 1.0  # no boundaries at all: P = R = 1
    f, p, r = f_measure(sq, empty, return_pr=True)  # empty prediction: P = 1, R = 0
    assert (f, p, r) == (0.0, 1.0, 0.0)
    f, p, r = f_measure(empty, sq, return_pr=True)  # prediction on empty gt: P = 0, R = 1
    assert (f, p, r) == (0.0, 0.0, 1.0)


def test_f_tolerance_in_pixels():
    gt = square(100, 100, 30, 70, 30, 70)  # tolerance ceil(0.008 * 141.4) = 2 px
    assert f_measure(gt, square(100, 100, 31, 71, 31, 71)) == 1.0  # 1 px shift: within
    far = f_measure(gt, square(100, 100, 40, 80, 40, 80))  # 10 px shift: mostly outside
    assert 0.0 < far < 0.5


def test_db_statistics_mean_recall_decay():
    m, r, d = db_statistics([1, 1, 1, 1, 0, 0, 0, 0])
    assert m == 0.5 and r == 0.5 and d == 1.0
    m, r, d = db_statistics([0.6] * 10)
    assert m == pytest.approx(0.6) and r == 1.0 and d == pytest.approx(0.0)


def test_evaluate_sequence_excludes_first_and_last_frames():
    gt = [square(8, 8, 2, 6, 2, 6)] * 4
    preds = [np.zeros((8, 8), bool), gt[1], gt[2], np.zeros((8, 8), bool)]
    r = evaluate_sequence(gt, preds)  # wrong frames are the first and last: excluded
    assert r["frames"] == 2 and r["j"] == 1.0 and r["f"] == 1.0 and r["jf"] == 1.0
    r = evaluate_sequence(gt, preds, exclude_ends=False)
    assert r["j"] == 0.5 and r["j_recall"] == 0.5
    s = summarize({"a": r, "b": evaluate_sequence(gt, gt, exclude_ends=False)})
    assert s["j_mean"] == 0.75 and s["jf"] == pytest.approx((s["j_mean"] + s["f_mean"]) / 2)


def test_temporal_stability_hand_cases():
    a = np.zeros((2, 2), np.float32)
    b = np.ones((2, 2), np.float32)
    assert dtssd([a, a, a]) == 0.0
    assert dtssd([a, b], [a, b]) == 0.0  # the change is in the ground truth too
    assert dtssd([a, b], [a, a]) == 1.0
    assert dtssd([a * 0, b * 255], [a, a]) == 1.0  # 0/255 masks are scaled to [0, 1]
    p = [np.array([[0, 0], [0, 0]]), np.array([[1, 0], [0, 1]])]
    g = [np.array([[0, 0], [0, 0]]), np.array([[0, 0], [0, 1]])]
    # gt stable on 3 pixels; the prediction changes on one of them
    assert flicker_rate(p, g) == pytest.approx(1 / 3)
    assert flicker_rate(p) == pytest.approx(2 / 4)
