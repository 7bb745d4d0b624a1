"""Performer sync, step 2: the lag search, where the mouth matches the song best.

Inputs: the mouth, song and viseme signals of :mod:`~lipcoach.take.signals`, on one grid at
``grid_rate_hz`` (Hz), and the mouth's validity mask. Lags are in grid samples inside the
search (positive: the mouth is late) and in ms outside it (``offset_ms``, ``center_ms``,
``max_lag_ms``; negative offset = the mouth early).

- :func:`lag_scores`: the lag score (level correlation + derivative correlation + weighted
  mouth/viseme derivative correlation) at each lag of a window;
- :func:`estimate_offset`: the best lag of ``center_ms ± max_lag_ms``, refined between grid
  points with a parabola, as a :class:`~lipcoach.take.verdict.SyncEstimate` (no null test yet);
- :func:`joint_best`: the lag within ±``max_lag_ms`` where rhythm and shapes together match
  best, from their circular standard scores (:mod:`~lipcoach.take.evidence`).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from lipcoach.take.signals import smooth
from lipcoach.take.sync_config import DEFAULT_CONFIG, GRID_RATE_HZ, SyncConfig
from lipcoach.take.verdict import SyncEstimate

def _masked_corr(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> float:
    if w.sum() < 10:
        return 0.0
    a, b = a[w], b[w]
    a = a - a.mean()
    b = b - b.mean()
    den = np.sqrt(np.dot(a, a) * np.dot(b, b))
    return float(np.dot(a, b) / den) if den > 1e-12 else 0.0


def lag_scores(mouth: np.ndarray, vocal: np.ndarray, valid: np.ndarray, *, lags: np.ndarray,
               region: Optional[np.ndarray] = None, visemes: Optional[np.ndarray] = None,
               config: SyncConfig = DEFAULT_CONFIG) -> tuple[np.ndarray, np.ndarray]:
    """Score of every lag: correlation of levels plus correlation of derivatives.

    Parameters
    ----------
    mouth, vocal : np.ndarray
        Signals on the same grid (sample ``i`` of both = the same song time at lag 0).
    valid : np.ndarray of bool
        Where the mouth signal is measured.
    lags : np.ndarray of int
        Grid lags; a positive lag compares ``mouth[i + lag]`` with ``vocal[i]`` (mouth late).
    region : np.ndarray of bool, optional
        Grid samples (of the vocal) that count; default all.
    visemes : np.ndarray, optional
        :func:`viseme_signal` on the same grid; its derivative correlation with the mouth's,
        times ``config.viseme_weight``, joins the score.

    Returns
    -------
    combined : np.ndarray
        Level correlation + derivative correlation (+ weighted viseme correlation) per lag.
    deriv : np.ndarray
        Derivative correlation per lag.
    """
    n = mouth.size
    dm = np.gradient(smooth(mouth, config.deriv_smooth))
    dv = np.gradient(smooth(vocal, config.deriv_smooth))
    use_vis = visemes is not None and config.viseme_weight > 0
    if use_vis:
        dm_v = np.gradient(smooth(mouth, config.viseme_smooth))
        dx = np.gradient(smooth(visemes, config.viseme_smooth))
    base = np.ones(n, dtype=bool) if region is None else region
    combined = np.zeros(lags.size)
    deriv = np.zeros(lags.size)
    for j, lag in enumerate(lags):
        lag = int(lag)
        if lag >= 0:
            sl_m, sl_v = slice(lag, n), slice(0, n - lag)
        else:
            sl_m, sl_v = slice(0, n + lag), slice(-lag, n)
        w = valid[sl_m] & base[sl_v]
        lv = _masked_corr(mouth[sl_m], vocal[sl_v], w)
        ld = _masked_corr(dm[sl_m], dv[sl_v], w)
        combined[j] = lv + ld
        if use_vis:
            combined[j] += config.viseme_weight * _masked_corr(dm_v[sl_m], dx[sl_v], w)
        deriv[j] = ld
    return combined, deriv


def _parabolic(y: np.ndarray, k: int) -> float:
    if 0 < k < y.size - 1:
        y0, y1, y2 = y[k - 1], y[k], y[k + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            return float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5))
    return 0.0


def estimate_offset(mouth: np.ndarray, vocal: np.ndarray, valid: np.ndarray, *, max_lag_ms: Optional[float] = None,
                    region: Optional[np.ndarray] = None, grid_rate_hz: int = GRID_RATE_HZ,
                    center_ms: float = 0.0, visemes: Optional[np.ndarray] = None,
                    config: SyncConfig = DEFAULT_CONFIG) -> SyncEstimate:
    """Best performer offset over a window (no null test; see :func:`sync_verdict`).

    Parameters
    ----------
    mouth, vocal, valid : np.ndarray
        :func:`mouth_signal` and :func:`song_signal` (already moved earlier by the lead).
    max_lag_ms : float, optional
        Half-width of the search, ms (default ``config.max_lag_ms``).
    center_ms : float
        Search ``center_ms ± max_lag_ms``, ms.
    visemes : np.ndarray, optional
        :func:`viseme_signal` of the lyrics on the same grid (used when ``config.viseme_weight > 0``).
    """
    if max_lag_ms is None:
        max_lag_ms = config.max_lag_ms
    step_ms = 1000.0 / grid_rate_hz
    c = int(round(center_ms / step_ms))
    k_max = int(round(max_lag_ms / step_ms))
    lags = np.arange(c - k_max, c + k_max + 1)
    if region is not None:
        # Only the region and the lag reach around it matter: crop for speed on long songs.
        idx = np.flatnonzero(region)
        if idx.size == 0:
            return SyncEstimate(offset_ms=center_ms, peak=0.0, r=0.0, config=config)
        reach = abs(c) + k_max + 2
        lo, hi = max(0, int(idx[0]) - reach), min(mouth.size, int(idx[-1]) + reach + 1)
        mouth, vocal, valid, region = mouth[lo:hi], vocal[lo:hi], valid[lo:hi], region[lo:hi]
        visemes = None if visemes is None else visemes[lo:hi]
    combined, deriv = lag_scores(mouth, vocal, valid, lags=lags, region=region, visemes=visemes, config=config)
    k = int(np.argmax(combined))
    raw_ms = (lags[k] + _parabolic(combined, k)) * step_ms
    return SyncEstimate(offset_ms=raw_ms, peak=float(combined[k]), r=float(deriv[k]),
                        at_edge=k in (0, lags.size - 1), config=config)


def joint_best(rhythm_z: np.ndarray, shape_z: np.ndarray, *, config: SyncConfig = DEFAULT_CONFIG,
               grid_rate_hz: int = GRID_RATE_HZ) -> tuple[float, float]:
    """The lag (ms, mouth late > 0) within ±``config.max_lag_ms`` where rhythm and shapes together match best, and that match.

    The sum of the two standard scores: on a song whose syllables come at an even pace the
    rhythm alone can prefer a lag one syllable away, where the lips' closures and openings do
    not fall on the lyrics' m/b/p and vowels. The two count alike here (not fitted, so the
    offsets the verdict's constants are fitted on do not depend on those constants).
    """
    k = int(round(config.max_lag_ms * grid_rate_hz / 1000.0))
    lags = np.arange(-k, k + 1)
    joint = rhythm_z[lags % rhythm_z.size] + shape_z[lags % shape_z.size]
    k = int(np.argmax(joint))
    return float(lags[k] * 1000.0 / grid_rate_hz), float(joint[k])
