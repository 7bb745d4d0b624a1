"""The word onset metrics themselves (lipcoach.evaluate.words over mir_eval.alignment)."""

from __future__ import annotations

import numpy as np
import pytest

from lipcoach.evaluate import words


REF = [1.0, 2.0, 3.0, 4.0, 5.0]
EST = [1.05, 2.3, 2.5, 4.0, 7.0]  # errors 0.05, 0.3, 0.5, 0.0, 2.0


def test_absolute_errors_mean_and_median():
    assert words.absolute_errors(REF, EST) == pytest.approx([0.05, 0.3, 0.5, 0.0, 2.0])
    assert words.mean_absolute_error(REF, EST) == pytest.approx(0.57)
    assert words.median_absolute_error(REF, EST) == pytest.approx(0.3)
    assert words.mean_signed_error(REF, EST) == pytest.approx((0.05 + 0.3 - 0.5 + 0.0 + 2.0) / 5)


def test_share_within_counts_the_boundary_as_within():
    assert words.percentage_within(REF, EST, tolerance_s=0.3) == pytest.approx(3 / 5)  # 0.05, 0.3 (boundary), 0.0
    assert words.percentage_within(REF, EST, tolerance_s=0.1) == pytest.approx(2 / 5)
    assert words.percentage_within(REF, EST, tolerance_s=1.0) == pytest.approx(4 / 5)
    assert words.percentage_within(REF, REF, tolerance_s=0.0) == 1.0


def test_evaluate_names_every_metric():
    scores = words.evaluate(REF, EST)
    assert scores["mean_abs_error_s"] == pytest.approx(0.57)
    assert scores["within_0.3s"] == pytest.approx(0.6) and scores["within_0.1s"] == pytest.approx(0.4)
    assert scores["within_0.5s"] == pytest.approx(0.8) and scores["n_words"] == 5
    assert set(scores) == {"mean_abs_error_s", "median_abs_error_s", "mean_signed_error_s", "n_words"} | {f"within_{t:g}s" for t in words.TOLERANCES_S}


def test_a_constant_shift_is_all_wrong_beyond_its_size():
    ref = np.linspace(0.5, 30.0, 40)
    scores = words.evaluate(ref, ref + 0.25)
    assert scores["within_0.3s"] == 1.0 and scores["within_0.2s"] == 0.0
    assert scores["mean_abs_error_s"] == pytest.approx(0.25) and scores["mean_signed_error_s"] == pytest.approx(0.25)


@pytest.mark.parametrize(
    "ref, est, message",
    [
        ([], [], "no word onsets"),
        ([1.0, 2.0], [1.0], "paired by index"),
        ([1.0, float("nan")], [1.0, 2.0], "finite"),
        ([1.0, 2.0], [2.0, 1.0], "monotonically"),
        ([1.0, 2.0], [-1.0, 2.0], "below 0"),
    ],
)
def test_validate_rejects_what_cannot_be_scored(ref, est, message):
    with pytest.raises(ValueError, match=message):
        words.validate(ref, est)
