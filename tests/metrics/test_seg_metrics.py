import math

import numpy as np
import pytest

from liveseg.errors import InputError
from liveseg.metrics.segmentation import ConfusionMatrix, segmentation_metrics


def test_hand_computed_case():
    gt = np.array([[0, 0], [1, 1]])
    pred = np.array([[0, 1], [1, 1]])
    cm = ConfusionMatrix(2, ignore_index=255)
    cm.update(pred, gt)
    assert cm.matrix.tolist() == [[1, 1], [0, 2]]
    iou = cm.per_class_iou()
    assert iou[0] == pytest.approx(1 / 2) and iou[1] == pytest.approx(2 / 3)
    assert cm.miou() == pytest.approx(7 / 12)
    assert cm.pixel_acc() == pytest.approx(3 / 4)
    assert cm.mean_class_acc() == pytest.approx((1 / 2 + 1) / 2)


def test_ignore_is_excluded_and_perfect_prediction_scores_one():
    gt = np.array([[0, 255], [1, 2]])
    pred = np.array([[0, 2], [1, 2]])  # the ignored pixel is "wrong" but must not count
    s = segmentation_metrics([pred], [gt], 3, 255)
    assert s["miou"] == 1.0 and s["pixel_acc"] == 1.0 and s["mean_class_acc"] == 1.0
    assert s["pixels"] == 3


def test_split_level_matrix_differs_from_mean_of_per_image_ious():
    # image A: class 1 tiny and missed; image B: class 1 large and right.
    gt_a = np.zeros((10, 10), int)
    gt_a[0, 0] = 1
    pred_a = np.zeros((10, 10), int)
    gt_b = np.ones((10, 10), int)
    pred_b = np.ones((10, 10), int)
    cm = ConfusionMatrix(2)
    cm.update(pred_a, gt_a)
    cm.update(pred_b, gt_b)
    # class 0: tp 99, union 100; class 1: tp 100, union 101 -> over the split
    assert cm.miou() == pytest.approx((99 / 100 + 100 / 101) / 2)


def test_absent_class_is_nan_and_left_out_of_the_mean():
    cm = ConfusionMatrix(3)
    cm.update(np.array([0, 1]), np.array([0, 1]))
    iou = cm.per_class_iou()
    assert math.isnan(iou[2]) and cm.miou() == 1.0
    s = cm.summary(["a", "b", "c"])
    assert s["per_class_iou"] == {"a": 1.0, "b": 1.0, "c": None}


def test_empty_prediction_and_out_of_range_predictions():
    gt = np.array([1, 1, 0, 0])
    cm = ConfusionMatrix(2)
    cm.update(np.array([0, 0, 0, 0]), gt)  # class 1 never predicted: IoU 0
    assert cm.per_class_iou()[1] == 0.0 and cm.per_class_iou()[0] == pytest.approx(0.5)
    cm2 = ConfusionMatrix(2)
    cm2.update(np.array([7, 1, 0, 0]), gt)  # 7: wrong for class 1, nobody's false positive
    assert cm2.per_class_iou().tolist() == [1.0, 0.5]
    assert cm2.pixel_acc() == pytest.approx(3 / 4)


def test_ground_truth_outside_class_set_names_file_and_values():
    cm = ConfusionMatrix(2)
    with pytest.raises(InputError, match=r"\[5, 9\].*gt\.png"):
        cm.update(np.zeros(4, int), np.array([0, 5, 9, 255]), name="gt.png")
    with pytest.raises(InputError, match="shape"):
        cm.update(np.zeros(3, int), np.zeros(4, int))


def test_merge_and_raw_roundtrip():
    a, b = ConfusionMatrix(2), ConfusionMatrix(2)
    a.update(np.array([0, 1]), np.array([0, 0]))
    b.update(np.array([1, 1]), np.array([1, 1]))
    a.merge(b)
    c = ConfusionMatrix(2)
    c.raw = a.raw.copy()
    assert c.matrix.tolist() == [[1, 1], [0, 2]]
