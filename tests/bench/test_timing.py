"""The benchmark helpers' arithmetic (no timing thresholds)."""

from liveseg.bench.timing import median_of, rotated, summarize


def test_rotated_puts_each_variant_first_in_turn():
    items = ["a", "b", "c"]
    assert [rotated(items, r)[0] for r in range(4)] == ["a", "b", "c", "a"]
    assert all(sorted(rotated(items, r)) == items for r in range(5))
    assert rotated([], 3) == []


def test_medians():
    assert summarize([1.0, 2.0, 3.0, 10.0])["median_ms"] == 2.5
    rows = [{"fps": 10.0}, {"fps": 12.0}, {}, {"fps": 30.0}]
    assert median_of(rows, "fps") == 12.0 and median_of(rows, "x") is None
    assert median_of([{"v": 1.23456}], "v", 2) == 1.23
