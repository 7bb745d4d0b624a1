"""mir_eval-style sync metrics."""

import math

import pytest

from lipcoach.evaluate import sync as ev


def test_metrics_on_known_errors():
    m = ev.evaluate([0, 100, -200, 300], [10, 150, -200, 290], verdicts=["in_sync"] * 3 + ["not_lip_syncing"])
    assert m["n"] == 4
    assert m["within_40ms"] == 0.75
    assert m["median_abs_error_ms"] == 10.0
    assert m["mean_error_ms"] == pytest.approx(12.5)
    assert m["false_mismatch"] == 1
    assert math.isnan(m["mismatch_detection_rate"])


def test_detection_rate_counts_only_mismatched_takes():
    c = ev.verdict_counts(["not_lip_syncing", "in_sync", "not_lip_syncing"], [False, False, True])
    assert c["mismatch_detection_rate"] == 0.5 and c["false_mismatch"] == 1


def test_validate_refuses_unpaired_lists():
    with pytest.raises(ValueError):
        ev.validate([1, 2], [1])
    with pytest.raises(ValueError):
        ev.validate([], [])
