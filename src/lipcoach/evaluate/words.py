"""Word onset accuracy of a lyrics alignment: a thin layer over ``mir_eval.alignment``.

Reference and estimate are word onset times in seconds, paired by index: the aligner
returns one onset per lyric word, in sung order, so word *i* of the estimate is word *i* of
the reference. The metrics are the lyrics-alignment literature's (MIREX, JamendoLyrics) as
``mir_eval.alignment`` computes them: mean (AAE) and median absolute onset error, and the
share of onsets within a tolerance (``percentage_correct``, 0.3 s being the MIREX window).

Both onset lists must be non-decreasing and non-negative (``mir_eval.alignment.validate``);
the song map's words are in sung order, so a map that breaks this is a bug worth an error.
"""

from __future__ import annotations

import collections
from typing import Sequence

import mir_eval.alignment
import numpy as np

#: Tolerances (s) for the "within" shares; 0.3 s is the MIREX lyrics-alignment convention.
TOLERANCES_S = (0.1, 0.2, 0.3, 0.5, 1.0)


def validate(reference_onsets_s: Sequence[float], estimated_onsets_s: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Check the two onset lists and return them as float arrays.

    Raises
    ------
    ValueError
        When a list is empty, the counts differ, a value is not finite or negative, or a
        list goes backwards in time.
    """
    ref = np.asarray(reference_onsets_s, dtype=float).ravel()
    est = np.asarray(estimated_onsets_s, dtype=float).ravel()
    if ref.size == 0:
        raise ValueError("reference has no word onsets")
    if ref.size != est.size:
        raise ValueError(f"reference has {ref.size} words but the estimate has {est.size}: words are paired by index")
    if not (np.all(np.isfinite(ref)) and np.all(np.isfinite(est))):
        raise ValueError("onsets must be finite numbers (seconds)")
    mir_eval.alignment.validate(ref, est)
    return ref, est


def absolute_errors(reference_onsets_s, estimated_onsets_s) -> np.ndarray:
    """|estimate − reference| per word, seconds."""
    ref, est = validate(reference_onsets_s, estimated_onsets_s)
    return np.abs(est - ref)


def mean_absolute_error(reference_onsets_s, estimated_onsets_s) -> float:
    """Mean absolute onset error (AAE), seconds (``mir_eval.alignment.absolute_error``)."""
    ref, est = validate(reference_onsets_s, estimated_onsets_s)
    return float(mir_eval.alignment.absolute_error(ref, est)[1])


def median_absolute_error(reference_onsets_s, estimated_onsets_s) -> float:
    """Median absolute onset error, seconds (``mir_eval.alignment.absolute_error``)."""
    ref, est = validate(reference_onsets_s, estimated_onsets_s)
    return float(mir_eval.alignment.absolute_error(ref, est)[0])


def percentage_within(reference_onsets_s, estimated_onsets_s, *, tolerance_s: float = 0.3) -> float:
    """Share (0..1) of words whose onset is within ``tolerance_s`` s of the reference
    (``mir_eval.alignment.percentage_correct``; the boundary counts as within)."""
    ref, est = validate(reference_onsets_s, estimated_onsets_s)
    return float(mir_eval.alignment.percentage_correct(ref, est, window=tolerance_s + 1e-9))


def mean_signed_error(reference_onsets_s, estimated_onsets_s) -> float:
    """Mean of estimate − reference, seconds (positive = the estimate is late)."""
    ref, est = validate(reference_onsets_s, estimated_onsets_s)
    return float(np.mean(est - ref))


def evaluate(reference_onsets_s, estimated_onsets_s) -> dict[str, float]:
    """All word onset metrics.

    Returns
    -------
    dict
        ``mean_abs_error_s`` (AAE), ``median_abs_error_s``, ``mean_signed_error_s``,
        ``within_<t>s`` for every ``t`` in :data:`TOLERANCES_S` (share 0..1) and ``n_words``.
    """
    ref, est = validate(reference_onsets_s, estimated_onsets_s)
    scores: dict[str, float] = collections.OrderedDict()
    scores["mean_abs_error_s"] = mean_absolute_error(ref, est)
    scores["median_abs_error_s"] = median_absolute_error(ref, est)
    scores["mean_signed_error_s"] = mean_signed_error(ref, est)
    for tol in TOLERANCES_S:
        scores[f"within_{tol:g}s"] = percentage_within(ref, est, tolerance_s=tol)
    scores["n_words"] = float(ref.size)
    return dict(scores)
