"""Photo collections (stills): per-image IoU and boundary F per source, images of any size."""

import numpy as np

from liveseg.metrics.evaluate import evaluate_predictor


def _item(h, w, group, shift):
    img = np.zeros((h, w, 3), np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = 1
    img[..., 0] = np.roll(mask, shift, axis=1) * 255  # the "prediction" is the red channel
    return img, mask, group


def _predict(img):
    p = (img[..., 0] > 0).astype(np.float32)
    return np.stack([1 - p, p])


def test_stills_score_each_image_and_average_per_group():
    items = [_item(40, 30, "a", 0), _item(50, 64, "a", 0), _item(33, 47, "b", 4)]
    r = evaluate_predictor(
        _predict, items, 2, 255, ["bg", "person"], foreground_index=1, stills=True
    )
    st = r["stills"]
    assert "video" not in r and st["groups"] == 2
    assert st["per_group"]["a"] == {"images": 2, "j": 1.0, "f": 1.0}
    b = st["per_group"]["b"]
    # a 4-pixel shift of a 23-wide box: IoU (23-4)/(23+4)
    assert abs(b["j"] - 19 / 27) < 0.02 and b["f"] < 1.0
    assert abs(st["j_mean"] - (1.0 + b["j"]) / 2) < 1e-9
