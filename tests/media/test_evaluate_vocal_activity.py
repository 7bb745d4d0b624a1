"""Vocal-activity metrics used to compare vocal guides (benchmarks/separation.py)."""

from __future__ import annotations

import numpy as np
import pytest

from lipcoach.evaluate import vocal_activity as va

RATE = 50.0
SPANS = np.array([[1.0, 2.0], [3.0, 3.5]])


def _level(noise_db: float, seed: int = 0) -> np.ndarray:
    """A level that is −10 dB in the spans and −40 dB elsewhere, plus Gaussian noise (dB)."""
    labels = va.span_labels(SPANS, n_frames=250, rate=RATE)
    rng = np.random.default_rng(seed)
    return np.where(labels, -10.0, -40.0) + noise_db * rng.standard_normal(len(labels))


def test_a_level_that_follows_the_singing_scores_perfectly():
    scores = va.evaluate(SPANS, _level(0.5), rate=RATE)
    assert scores["AUC"] == pytest.approx(1.0)
    assert scores["F1 (Otsu)"] == pytest.approx(1.0)
    assert scores["Best F1"] == pytest.approx(1.0)
    assert scores["Correlation"] > 0.95


def test_a_level_unrelated_to_the_singing_scores_near_chance():
    rng = np.random.default_rng(1)
    scores = va.evaluate(SPANS, rng.normal(-30, 5, 5000), rate=RATE)
    assert 0.45 < scores["AUC"] < 0.55
    assert abs(scores["Correlation"]) < 0.05


def test_noisier_levels_score_lower():
    clean = va.evaluate(SPANS, _level(3.0), rate=RATE)
    noisy = va.evaluate(SPANS, _level(20.0), rate=RATE)
    assert noisy["AUC"] < clean["AUC"] and noisy["Best F1"] < clean["Best F1"]


def test_span_labels_use_frame_times_in_seconds():
    labels = va.span_labels(np.array([[0.1, 0.2]]), n_frames=20, rate=100.0)
    assert np.flatnonzero(labels).tolist() == list(range(10, 20))


def test_auc_counts_ties_as_half():
    assert va.auc(np.array([True, False]), np.array([1.0, 1.0])) == pytest.approx(0.5)


def test_validate_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        va.evaluate(np.array([1.0, 2.0]), np.zeros(10), rate=RATE)
    with pytest.raises(ValueError, match="end >= start"):
        va.evaluate(np.array([[2.0, 1.0]]), np.zeros(10), rate=RATE)
    with pytest.raises(ValueError, match="finite"):
        va.evaluate(SPANS, np.array([0.0, -np.inf]), rate=RATE)
    with pytest.raises(ValueError, match="rate"):
        va.evaluate(SPANS, np.zeros(10), rate=0)
