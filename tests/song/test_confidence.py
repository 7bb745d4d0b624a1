"""Line confidence: features, the calibrated model's direction, the reliability table and the user's warning."""

from __future__ import annotations

import numpy as np
import pytest

from lipcoach.song import confidence
from lipcoach.song.songmap import Line


def test_agreeing_evidence_is_trusted_and_disagreement_is_not():
    good = confidence.line_features([0.9, 0.8, 0.95], [True] * 3, [0.02, 0.05, 0.03], 0.4)
    lost = confidence.line_features([0.05, 0.1, 0.02], [True, False, False], [float("nan"), 1.5, 2.5], 2.9)
    assert confidence.line_confidence(good) > 0.8 > confidence.line_confidence(lost)
    assert not confidence.is_flagged(confidence.line_confidence(good))
    assert confidence.is_flagged(confidence.line_confidence(lost))
    assert lost[3] == confidence.SHIFT_CAP_S and lost[4] == pytest.approx(2.0)  # NaN (failed) and 2.5 are capped


def test_fit_recovers_a_separable_rule_and_the_threshold_reaches_its_recall():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 2, size=(400, 1))
    good = x[:, 0] < 1.0
    w = confidence.fit_weights(x, good, l2=0.01)
    conf = np.array([confidence.line_confidence(f, w) for f in x])
    assert np.mean((conf > 0.5) == good) > 0.97 and w[1] < 0
    threshold = confidence.threshold_for_recall(conf, good, recall=0.85)
    assert np.mean(conf[~good] < threshold) >= 0.85


def test_false_alarm_threshold_flags_no_more_good_lines_than_allowed_and_as_many_off_lines_as_it_can():
    rng = np.random.default_rng(1)
    good = rng.uniform(size=500) < 0.8
    conf = np.where(good, rng.beta(5, 2, size=500), rng.beta(2, 5, size=500))
    threshold = confidence.threshold_for_false_alarms(conf, good, most_good_flagged=0.10)
    assert np.mean(conf[good] < threshold) <= 0.10
    # One step higher (the next good line's confidence) would flag too many good lines.
    higher = np.sort(conf[good])[np.sort(conf[good]) >= threshold]
    assert np.mean(conf[good] <= higher[0]) > 0.10 and np.mean(conf[~good] < threshold) > 0.5


def test_reliability_table_counts_lines_per_bin():
    rows = confidence.reliability_table(np.array([0.1, 0.15, 0.5, 0.95, 0.99]), np.array([True, False, True, False, False]))
    first = rows[0]
    assert first["n_lines"] == 2 and first["share_off"] == 0.5 and first["expected_off"] == pytest.approx(0.875)
    assert sum(r["n_lines"] for r in rows) == 5 and rows[-1]["share_off"] == 0.0


def test_warning_names_each_flagged_line_with_its_time():
    lines = [Line(text="a", start=3.0, end=4.0), Line(text="b", start=43.2, end=45.0, flagged=True),
             Line(text="c", start=47.0, end=48.0, aligned=False), Line(text="d", start=80.0, end=81.0)]
    assert confidence.flagged_lines_message(lines) == "2 lines may be off: 2 (0:43), 3 (0:47); check them in the studio"
    assert confidence.flagged_lines_message(lines[:1]) is None
