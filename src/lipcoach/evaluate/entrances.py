"""Line entrance accuracy, mir_eval style.

Reference and estimate are per-line entrance offsets in milliseconds (first word onset minus
the grid point it is written on; negative = early), paired by index. Labels are derived from
the offsets with :data:`lipcoach.song.songmap.ENTRANCE_ON_TOLERANCE_MS`, so label accuracy
says how often a coach would be told the right thing (early / on / late).
"""

from __future__ import annotations

import collections
from typing import Optional, Sequence

import numpy as np

from lipcoach.song.songmap import ENTRANCE_ON_TOLERANCE_MS


def validate(reference_offsets_ms: Sequence[float], estimated_offsets_ms: Sequence[Optional[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Check both lists and return float arrays (a missing estimate, None, becomes NaN).

    Raises
    ------
    ValueError
        When the counts differ, the reference is empty, or a reference value is not finite.
    """
    ref = np.asarray(reference_offsets_ms, dtype=float).ravel()
    est = np.asarray([np.nan if v is None else v for v in estimated_offsets_ms], dtype=float).ravel()
    if ref.size == 0:
        raise ValueError("reference has no entrances")
    if ref.size != est.size:
        raise ValueError(f"reference has {ref.size} entrances but the estimate has {est.size}: lines are paired by index")
    if not np.all(np.isfinite(ref)):
        raise ValueError("reference offsets must be finite numbers (ms)")
    return ref, est


def label(offset_ms: float, *, tolerance_ms: float = ENTRANCE_ON_TOLERANCE_MS) -> str:
    """"early", "on" or "late" for an offset in ms."""
    if abs(offset_ms) <= tolerance_ms:
        return "on"
    return "early" if offset_ms < 0 else "late"


def absolute_errors(reference_offsets_ms, estimated_offsets_ms) -> np.ndarray:
    """|estimate − reference| per line, ms (NaN where the estimate is missing)."""
    ref, est = validate(reference_offsets_ms, estimated_offsets_ms)
    return np.abs(est - ref)


def label_accuracy(reference_offsets_ms, estimated_offsets_ms, *, tolerance_ms: float = ENTRANCE_ON_TOLERANCE_MS) -> float:
    """Share (0..1) of lines whose early/on/late label is right; a missing estimate is wrong."""
    ref, est = validate(reference_offsets_ms, estimated_offsets_ms)
    hits = [np.isfinite(e) and label(r, tolerance_ms=tolerance_ms) == label(e, tolerance_ms=tolerance_ms) for r, e in zip(ref, est)]
    return float(np.mean(hits))


def evaluate(reference_offsets_ms, estimated_offsets_ms, *, tolerance_ms: float = ENTRANCE_ON_TOLERANCE_MS) -> dict[str, float]:
    """All entrance metrics.

    Returns
    -------
    dict
        ``mean_abs_error_ms``, ``median_abs_error_ms``, ``max_abs_error_ms`` (over lines with
        an estimate), ``mean_signed_error_ms`` (positive = estimates late), ``within_20ms``
        (share 0..1 of all lines), ``label_accuracy`` (0..1), ``n_lines``, ``n_missing``.
    """
    ref, est = validate(reference_offsets_ms, estimated_offsets_ms)
    present = np.isfinite(est)
    errors = est[present] - ref[present]
    scores: dict[str, float] = collections.OrderedDict()
    nan = float("nan")
    scores["mean_abs_error_ms"] = float(np.mean(np.abs(errors))) if errors.size else nan
    scores["median_abs_error_ms"] = float(np.median(np.abs(errors))) if errors.size else nan
    scores["max_abs_error_ms"] = float(np.max(np.abs(errors))) if errors.size else nan
    scores["mean_signed_error_ms"] = float(np.mean(errors)) if errors.size else nan
    scores["within_20ms"] = float(np.sum(np.abs(errors) <= 20.0 + 1e-9) / ref.size)
    scores["label_accuracy"] = label_accuracy(ref, est, tolerance_ms=tolerance_ms)
    scores["n_lines"] = int(ref.size)
    scores["n_missing"] = int((~present).sum())
    return scores
