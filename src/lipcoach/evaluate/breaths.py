"""Breath detection accuracy, mir_eval style.

Reference and estimate are lists of ``[start_s, end_s]`` intervals. A reference breath and an
estimated breath **match** when their intersection-over-union (IoU) is at least
``min_overlap`` (default :data:`MIN_OVERLAP` = 0.2); each breath matches at most one other
(maximum bipartite matching that, among maximal matchings, maximises total IoU). Precision,
recall and F1 count matched pairs; onset/offset errors are measured over matched pairs only.

A secondary, event-style rule (as for onsets in mir_eval) matches breaths whose starts
differ by at most 0.2 s; it is reported as ``onset_*`` metrics, the IoU rule is the headline.

Why IoU 0.2: hand labels of breath edges disagree by about 0.1 s (breaths swell in and fade
out), and a 0.3 s breath found 0.1 s late still has IoU 0.5; IoU 0.2 accepts that but rejects an
estimate that merely touches a breath, or one spanning a whole 2 s rest around a 0.3 s breath.
"""

from __future__ import annotations

import collections
from typing import Sequence

import numpy as np

#: Default IoU needed for a match.
MIN_OVERLAP = 0.2
#: Onset tolerance of the secondary, event-style rule (``onset_*`` metrics), s.
ONSET_TOLERANCE_S = 0.2


def validate(reference_intervals: Sequence[Sequence[float]], estimated_intervals: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Check both interval lists and return them as (n, 2) float arrays of seconds.

    Raises
    ------
    ValueError
        When an interval is not a finite ``[start, end]`` pair with ``end > start``.
    """
    out = []
    for name, intervals in (("reference", reference_intervals), ("estimate", estimated_intervals)):
        arr = np.asarray(intervals, dtype=float).reshape(-1, 2) if len(intervals) else np.zeros((0, 2))
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} intervals must be finite numbers (seconds)")
        if np.any(arr[:, 1] <= arr[:, 0]):
            raise ValueError(f"{name} has an interval whose end is not after its start")
        out.append(arr)
    return out[0], out[1]


def iou_matrix(reference_intervals, estimated_intervals) -> np.ndarray:
    """Intersection over union of every (reference, estimate) pair, shape (n_ref, n_est)."""
    ref, est = validate(reference_intervals, estimated_intervals)
    inter = np.clip(np.minimum(ref[:, None, 1], est[None, :, 1]) - np.maximum(ref[:, None, 0], est[None, :, 0]), 0, None)
    union = (ref[:, 1] - ref[:, 0])[:, None] + (est[:, 1] - est[:, 0])[None, :] - inter
    return inter / np.maximum(union, 1e-12)


def _assign(ok: np.ndarray, closeness: np.ndarray) -> list[tuple[int, int]]:
    from scipy.optimize import linear_sum_assignment

    if ok.size == 0:
        return []
    # A large bonus per admissible pair makes the assignment maximise the count first.
    weight = np.where(ok, 1000.0 + closeness, 0.0)
    rows, cols = linear_sum_assignment(weight, maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if ok[r, c]]


def match(reference_intervals, estimated_intervals, *, min_overlap: float = MIN_OVERLAP) -> list[tuple[int, int]]:
    """Matched (reference index, estimate index) pairs, IoU ≥ ``min_overlap``.

    The matching is maximum (as many pairs as possible), ties broken by the largest total IoU.
    """
    iou = iou_matrix(reference_intervals, estimated_intervals)
    return _assign(iou >= min_overlap, iou)


def match_onsets(reference_intervals, estimated_intervals, *, tolerance_s: float = ONSET_TOLERANCE_S) -> list[tuple[int, int]]:
    """Matched pairs whose start times differ by at most ``tolerance_s`` seconds (event-style rule).

    The maximum matching of :func:`mir_eval.util.match_events`, as mir_eval's onset metrics use.
    """
    import mir_eval

    ref, est = validate(reference_intervals, estimated_intervals)
    if len(ref) == 0 or len(est) == 0:
        return []
    return [(int(r), int(e)) for r, e in mir_eval.util.match_events(ref[:, 0], est[:, 0], tolerance_s)]


def precision_recall_f1(reference_intervals, estimated_intervals, *, min_overlap: float = MIN_OVERLAP) -> tuple[float, float, float]:
    """Precision, recall and F1 (0..1) of the estimated breaths.

    With no reference and no estimate all three are 1; with one side empty they are 0.
    """
    ref, est = validate(reference_intervals, estimated_intervals)
    if len(ref) == 0 and len(est) == 0:
        return 1.0, 1.0, 1.0
    hits = len(match(ref, est, min_overlap=min_overlap))
    precision = hits / len(est) if len(est) else 0.0
    recall = hits / len(ref) if len(ref) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def evaluate(reference_intervals, estimated_intervals, *, min_overlap: float = MIN_OVERLAP) -> dict[str, float]:
    """All breath metrics.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` (0..1), ``n_reference``, ``n_estimated``, ``true_positives``,
        ``onset_mae_s`` and ``offset_mae_s`` (mean absolute start / end error over matched
        pairs, s; NaN without matches), ``mean_iou`` of the matched pairs, and the same
        precision / recall / F1 under the secondary event-style rule (starts within
        :data:`ONSET_TOLERANCE_S`): ``onset_precision``, ``onset_recall``, ``onset_f1``,
        ``onset_true_positives``.
    """
    ref, est = validate(reference_intervals, estimated_intervals)
    pairs = match(ref, est, min_overlap=min_overlap)
    precision, recall, f1 = precision_recall_f1(ref, est, min_overlap=min_overlap)
    scores: dict[str, float] = collections.OrderedDict()
    scores["precision"] = precision
    scores["recall"] = recall
    scores["f1"] = f1
    scores["n_reference"] = len(ref)
    scores["n_estimated"] = len(est)
    scores["true_positives"] = len(pairs)
    if pairs:
        r, e = np.array(pairs).T
        scores["onset_mae_s"] = float(np.mean(np.abs(est[e, 0] - ref[r, 0])))
        scores["offset_mae_s"] = float(np.mean(np.abs(est[e, 1] - ref[r, 1])))
        scores["mean_iou"] = float(np.mean(iou_matrix(ref, est)[r, e]))
    else:
        scores["onset_mae_s"] = float("nan")
        scores["offset_mae_s"] = float("nan")
        scores["mean_iou"] = float("nan")
    hits = len(match_onsets(ref, est))
    p = hits / len(est) if len(est) else float(len(ref) == 0)
    r = hits / len(ref) if len(ref) else float(len(est) == 0)
    scores["onset_precision"] = p
    scores["onset_recall"] = r
    scores["onset_f1"] = 2 * p * r / (p + r) if p + r else 0.0
    scores["onset_true_positives"] = hits
    return scores
