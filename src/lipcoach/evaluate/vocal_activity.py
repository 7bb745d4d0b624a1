"""How well a signal's loudness tells where the singer is singing (frame-level vocal activity).

Used to compare vocal guides (separation methods): a good guide is loud where the annotated
words are and quiet elsewhere, whatever the band does.

Conventions
-----------
- ``reference`` is an array of shape ``(n, 2)`` of sung spans ``[start_s, end_s]`` in seconds
  (e.g. the hand-annotated word spans of a song), non-negative, ``end >= start``.
- ``estimated`` is a frame-level vocal level in dB, sampled at ``rate`` frames per second;
  frame ``i`` covers time ``i / rate``.

Metrics
-------
- ``AUC``: area under the ROC curve of the level as a detector of "inside a sung span"
  (threshold-free; 0.5 = chance, 1 = perfect ranking).
- ``F1 (Otsu)``: frame F1 when the level is split into active / inactive at the Otsu threshold
  of its own histogram (what a simple, unsupervised vocal activity detector would do).
- ``Best F1``: frame F1 at the best threshold (an upper bound for any fixed threshold).
- ``Correlation``: Pearson correlation of the level with the 0/1 sung indicator.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np


def validate(reference: np.ndarray, estimated: np.ndarray, *, rate: float) -> None:
    """Check shapes, units and values; raise ValueError with a helpful message."""
    reference = np.asarray(reference, dtype=float)
    estimated = np.asarray(estimated, dtype=float)
    if reference.ndim != 2 or reference.shape[1] != 2:
        raise ValueError(f"reference spans must have shape (n, 2), got {reference.shape}")
    if reference.size and (np.any(reference < 0) or np.any(reference[:, 1] < reference[:, 0])):
        raise ValueError("reference spans must be non-negative with end >= start (seconds)")
    if estimated.ndim != 1 or estimated.size == 0:
        raise ValueError(f"estimated level must be a non-empty 1-D array, got shape {estimated.shape}")
    if not np.all(np.isfinite(estimated)):
        raise ValueError("estimated level must be finite (clip dB at a floor, e.g. -120)")
    if not rate > 0:
        raise ValueError(f"rate must be positive frames/s, got {rate}")


def span_labels(reference: np.ndarray, *, n_frames: int, rate: float) -> np.ndarray:
    """Boolean per frame: does frame time ``i / rate`` (s) fall inside any reference span."""
    times = np.arange(n_frames) / rate
    labels = np.zeros(n_frames, dtype=bool)
    for start, end in np.asarray(reference, dtype=float).reshape(-1, 2):
        labels[(times >= start) & (times < end)] = True
    return labels


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann–Whitney U with average ranks for ties); NaN if one class."""
    labels = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def f1_at(labels: np.ndarray, scores: np.ndarray, threshold: float) -> float:
    """Frame F1 of ``scores > threshold`` against ``labels``."""
    labels = np.asarray(labels, dtype=bool)
    active = np.asarray(scores) > threshold
    tp = int(np.sum(active & labels))
    denominator = int(active.sum()) + int(labels.sum())
    return 2.0 * tp / denominator if denominator else float("nan")


def best_f1(labels: np.ndarray, scores: np.ndarray) -> float:
    """Highest frame F1 over all thresholds."""
    labels = np.asarray(labels, dtype=bool)
    order = np.argsort(-np.asarray(scores), kind="stable")
    tp = np.cumsum(labels[order])
    predicted = np.arange(1, len(order) + 1)
    n_pos = labels.sum()
    if n_pos == 0:
        return float("nan")
    return float(np.max(2.0 * tp / (predicted + n_pos)))


def otsu_threshold(values: np.ndarray, *, n_bins: int = 256) -> float:
    """Threshold that maximises the between-class variance of ``values`` (Otsu 1979)."""
    values = np.asarray(values, dtype=float)
    hist, edges = np.histogram(values, bins=n_bins)
    centres = 0.5 * (edges[:-1] + edges[1:])
    weight = np.cumsum(hist)
    total = weight[-1]
    mean = np.cumsum(hist * centres)
    w0, w1 = weight[:-1], total - weight[:-1]
    valid = (w0 > 0) & (w1 > 0)
    if not np.any(valid):
        return float(np.median(values))
    m0 = mean[:-1] / np.maximum(w0, 1)
    m1 = (mean[-1] - mean[:-1]) / np.maximum(w1, 1)
    between = np.where(valid, w0 * w1 * (m0 - m1) ** 2, -1.0)
    return float(edges[1:][np.argmax(between)])


def correlation(labels: np.ndarray, scores: np.ndarray) -> float:
    """Pearson correlation of ``scores`` with the 0/1 ``labels``."""
    labels = np.asarray(labels, dtype=float)
    scores = np.asarray(scores, dtype=float)
    if labels.std() == 0 or scores.std() == 0:
        return float("nan")
    return float(np.corrcoef(labels, scores)[0, 1])


def evaluate(reference: np.ndarray, estimated: np.ndarray, *, rate: float) -> "OrderedDict[str, float]":
    """All metrics of this module.

    Parameters
    ----------
    reference : np.ndarray, shape ``(n, 2)``
        Sung spans in seconds.
    estimated : np.ndarray, shape ``(n_frames,)``
        Vocal level in dB at ``rate`` frames per second.
    rate : float
        Frames per second of ``estimated``.
    """
    validate(reference, estimated, rate=rate)
    scores = np.asarray(estimated, dtype=float)
    labels = span_labels(reference, n_frames=len(scores), rate=rate)
    scores_out = OrderedDict()
    scores_out["AUC"] = auc(labels, scores)
    scores_out["F1 (Otsu)"] = f1_at(labels, scores, otsu_threshold(scores))
    scores_out["Best F1"] = best_f1(labels, scores)
    scores_out["Correlation"] = correlation(labels, scores)
    return scores_out
