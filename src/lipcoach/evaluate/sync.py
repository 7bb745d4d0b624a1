"""Take sync accuracy, mir_eval style: performer offsets and the lip-sync verdict.

Reference and estimate are performer offsets in ms (negative = early), paired by take.
Verdicts are compared with whether each take really is a lip-sync of the song: the
detection rate counts mismatched takes called ``not_lip_syncing``, the false-mismatch count
counts real lip-syncs called ``not_lip_syncing``.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

#: One video frame at 25 fps, ms: the tolerance a coach can see.
FRAME_MS = 40.0


def validate(reference_offsets_ms: Sequence[float], estimated_offsets_ms: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Check paired offset lists and return float arrays (ms).

    Raises
    ------
    ValueError
        Different lengths, empty, or non-finite values.
    """
    ref = np.asarray(reference_offsets_ms, dtype=float).ravel()
    est = np.asarray(estimated_offsets_ms, dtype=float).ravel()
    if ref.size == 0:
        raise ValueError("no takes to evaluate")
    if ref.size != est.size:
        raise ValueError(f"{ref.size} reference offsets but {est.size} estimates")
    if not (np.all(np.isfinite(ref)) and np.all(np.isfinite(est))):
        raise ValueError("offsets must be finite numbers (ms)")
    return ref, est


def errors_ms(reference_offsets_ms, estimated_offsets_ms) -> np.ndarray:
    """Signed error (estimate − reference) per take, ms."""
    ref, est = validate(reference_offsets_ms, estimated_offsets_ms)
    return est - ref


def within(reference_offsets_ms, estimated_offsets_ms, *, tolerance_ms: float = FRAME_MS) -> float:
    """Share (0..1) of takes whose |error| is at most ``tolerance_ms``."""
    return float(np.mean(np.abs(errors_ms(reference_offsets_ms, estimated_offsets_ms)) <= tolerance_ms))


def median_absolute_error(reference_offsets_ms, estimated_offsets_ms) -> float:
    """Median |error|, ms."""
    return float(np.median(np.abs(errors_ms(reference_offsets_ms, estimated_offsets_ms))))


def mean_error(reference_offsets_ms, estimated_offsets_ms) -> float:
    """Mean signed error (bias), ms."""
    return float(np.mean(errors_ms(reference_offsets_ms, estimated_offsets_ms)))


def verdict_counts(verdicts: Sequence[str], expected_in_sync: Sequence[bool]) -> dict[str, float]:
    """Detection of non-lip-syncs.

    Returns
    -------
    dict
        ``mismatch_detection_rate`` (share of mismatched takes flagged, NaN if none),
        ``false_mismatch`` (in-sync takes flagged, a count) and ``false_mismatch_rate``.
    """
    v = np.array([x == "not_lip_syncing" for x in verdicts], dtype=bool)
    e = np.asarray(expected_in_sync, dtype=bool)
    if v.size != e.size:
        raise ValueError("verdicts and expectations differ in length")
    mism = ~e
    return {
        "mismatch_detection_rate": float(np.mean(v[mism])) if mism.any() else float("nan"),
        "false_mismatch": int(np.sum(v[e])),
        "false_mismatch_rate": float(np.mean(v[e])) if e.any() else float("nan"),
    }


def evaluate(reference_offsets_ms, estimated_offsets_ms, *, verdicts: Optional[Sequence[str]] = None,
             expected_in_sync: Optional[Sequence[bool]] = None) -> dict[str, float]:
    """All sync metrics for paired in-sync takes (offsets in ms).

    Returns
    -------
    dict
        ``n``, ``within_40ms``, ``within_20ms``, ``median_abs_error_ms``, ``mean_error_ms``,
        ``max_abs_error_ms`` and, when verdicts are given, the :func:`verdict_counts` entries.
    """
    err = errors_ms(reference_offsets_ms, estimated_offsets_ms)
    out: dict[str, float] = {
        "n": int(err.size),
        "within_40ms": float(np.mean(np.abs(err) <= FRAME_MS)),
        "within_20ms": float(np.mean(np.abs(err) <= 20.0)),
        "median_abs_error_ms": float(np.median(np.abs(err))),
        "mean_error_ms": float(np.mean(err)),
        "max_abs_error_ms": float(np.max(np.abs(err))),
    }
    if verdicts is not None:
        out.update(verdict_counts(verdicts, expected_in_sync if expected_in_sync is not None else [True] * len(verdicts)))
    return out
