"""Performer sync, step 3: the statistics, how far the match at the found lag stands above chance.

Inputs: the take's mouth, vocal, viseme, width and shape-target signals
(:mod:`~lipcoach.take.signals`) over the take only, on one grid at ``grid_rate_hz`` (Hz), and
the :class:`~lipcoach.take.verdict.SyncEstimate` of the lag search (its ``offset_ms``, ms, gives
the lag). Each statistic is compared with its own null: the same statistic at every circular
shift of the take by ≥ 1 s (0.5 s under 4 s), computed at once by FFT; results are standard
scores (z) above the null mean, added to the estimate.

- rhythm evidence: :func:`evidence` (``evidence_z``, the lag score itself; the verdict's main
  input), with :func:`rhythm_scores` and :func:`circular_z` for every lag at once;
- shape evidence: :func:`shape_evidence` (``shape_z``, ``shape_best_z``: do the lips take the
  shapes the lyrics ask for), with :func:`shape_channels` and :func:`shape_scores`;
- diagnostics kept in the report: :func:`sync_verdict` (the vocal-derivative ``z``) and
  :func:`second_evidence` (``viseme_z``, ``level_z``).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from lipcoach.take.signals import smooth
from lipcoach.take.sync_config import DEFAULT_CONFIG, GRID_RATE_HZ, SyncConfig
from lipcoach.take.verdict import SyncEstimate, verdict_confidence, z_threshold

def _circular_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean()
    b = b - b.mean()
    c = np.fft.irfft(np.fft.rfft(a) * np.conj(np.fft.rfft(b)), a.size)
    den = np.sqrt(np.dot(a, a) * np.dot(b, b))
    return c / den if den > 1e-12 else c * 0.0


def sync_verdict(mouth: np.ndarray, vocal: np.ndarray, valid: np.ndarray, estimate: SyncEstimate, *,
                 max_lag_ms: Optional[float] = None, min_shift_s: float = 1.0,
                 search_span_s: Optional[float] = None, region: Optional[np.ndarray] = None,
                 grid_rate_hz: int = GRID_RATE_HZ) -> SyncEstimate:
    """Add ``z`` and ``confidence`` to an estimate with a circular-shift null distribution.

    The derivative correlation is computed for every circular shift at once (FFT); the
    shifts of at least ``min_shift_s`` are the null sample (chance correlations of these very
    signals). ``search_span_s`` is how widely the offset was searched (default the lag
    window, 2 × ``max_lag_ms``; the whole song for a silent take placed by its mouth).
    """
    config = estimate.config
    max_lag_ms = config.max_lag_ms if max_lag_ms is None else max_lag_ms
    span = search_span_s if search_span_s is not None else 2.0 * max_lag_ms / 1000.0
    threshold = z_threshold(span, config=config)
    w = valid.astype(float)
    dm = np.gradient(smooth(mouth, config.deriv_smooth)) * w
    dv = np.gradient(smooth(vocal, config.deriv_smooth)) * w
    if region is not None:
        dv = dv * region
    n = dm.size
    k_max = int(round(max_lag_ms * grid_rate_hz / 1000.0))
    min_shift = int(round(min_shift_s * grid_rate_hz))
    if n < 2 * (min_shift + k_max) + 10:
        # Short takes: shifts of half a second still break the syllable rhythm.
        min_shift = int(round(0.5 * grid_rate_hz))
    if n < 2 * (min_shift + k_max) + 10:
        return dataclasses.replace(estimate, z=float("nan"), confidence=0.0, z_threshold=threshold)
    c = _circular_corr(dm, dv)
    lags = np.arange(n)
    lags = np.minimum(lags, n - lags)
    # Every circular shift beyond min_shift is a "not in sync" sample of the same signals:
    # its spread is the chance level of a correlation for this take's length and rhythm.
    null = c[lags >= min_shift]
    lag0 = int(round(estimate.offset_ms * grid_rate_hz / 1000.0))
    obs = float(np.max(c[np.arange(lag0 - 2, lag0 + 3) % n]))
    z = (obs - float(np.mean(null))) / max(float(np.std(null)), 1e-6)
    out = dataclasses.replace(estimate, z=float(z), z_threshold=threshold, searched_song=search_span_s is not None)
    return dataclasses.replace(out, confidence=verdict_confidence(out))


def second_evidence(mouth: np.ndarray, vocal: np.ndarray, valid: np.ndarray, estimate: SyncEstimate, *,
                    visemes: Optional[np.ndarray] = None, region: Optional[np.ndarray] = None,
                    search_ms: float = 30.0, grid_rate_hz: int = GRID_RATE_HZ) -> SyncEstimate:
    """Add ``viseme_z`` and ``level_z``: evidence beside the vocal-derivative z, at the same lag.

    - ``viseme_z`` (when ``visemes`` is given): does the mouth open and close with the sounds of
      the lyrics? The derivative of the mouth against the derivative of :func:`viseme_signal`.
      It does not depend on the singer's voice, and a picture of other words spoken to the same
      rhythm follows the vocal's rhythm but not its m/b/p closures and open vowels.
    - ``level_z``: the mouth level against the vocal level (inside the sung region), used when
      the song map has no phonemes for the take.

    Both are compared with every circular shift of at least 1 s (0.5 s for takes under 4 s),
    like :func:`sync_verdict`, at the estimate's lag ± ``search_ms``.

    Parameters
    ----------
    mouth, vocal, valid : np.ndarray
        Mouth signal, vocal level and mouth validity on the same grid, over the take only.
    estimate : SyncEstimate
        Its ``offset_ms`` gives the lag.
    visemes : np.ndarray, optional
        :func:`viseme_signal` over the same samples.
    region : np.ndarray of bool, optional
        Sung region over the same samples.
    """
    n = mouth.size
    min_shift = int(round(1.0 * grid_rate_hz))
    if n < 4 * min_shift:
        min_shift = int(round(0.5 * grid_rate_hz))
    config = estimate.config
    lag0 = int(round(estimate.offset_ms * grid_rate_hz / 1000.0))
    k = int(round(search_ms * grid_rate_hz / 1000.0))
    a = np.where(valid, mouth, 0.0)
    vz = float("nan")
    if visemes is not None:
        vz = _shift_z(np.gradient(smooth(a, config.viseme_smooth)), np.gradient(smooth(visemes, config.viseme_smooth)), lag0,
                      search=k, min_shift=min_shift)
    m = np.where(valid, mouth - (mouth[valid].mean() if valid.any() else 0.0), 0.0)
    v = vocal - vocal.mean()
    if region is not None:
        v = v * region
    lz = _shift_z(m, v, lag0, search=k, min_shift=min_shift)
    out = dataclasses.replace(estimate, viseme_z=float(vz), level_z=float(lz))
    return dataclasses.replace(out, confidence=verdict_confidence(out))


def _shift_z(a: np.ndarray, b: np.ndarray, lag0: int, *, search: int, min_shift: int) -> float:
    """z of the best circular correlation of ``a`` against ``b`` within ``lag0 ± search`` samples,
    against every circular shift of at least ``min_shift`` samples (NaN when too short)."""
    n = a.size
    if n < 4 * min_shift or not np.any(b - b.mean()) or not np.any(a - a.mean()):
        return float("nan")
    c = _circular_corr(a, b)
    lags = np.arange(n)
    lags = np.minimum(lags, n - lags)
    null = c[lags >= min_shift]
    obs = float(np.max(c[np.arange(lag0 - search, lag0 + search + 1) % n]))
    return (obs - float(np.mean(null))) / max(float(np.std(null)), 1e-6)


def evidence(mouth: np.ndarray, vocal: np.ndarray, valid: np.ndarray, estimate: SyncEstimate, *,
             visemes: Optional[np.ndarray] = None, region: Optional[np.ndarray] = None, n_events: int = 0,
             search_span_s: Optional[float] = None, grid_rate_hz: int = GRID_RATE_HZ) -> SyncEstimate:
    """Add ``evidence_z``: the lag score at the found lag against its circular-shift null.

    The lag score's own terms (:func:`lag_scores`: levels, derivatives, and with lyrics the
    weighted mouth/viseme derivatives) are computed for every circular shift of the mouth
    against the song at once (FFT). Shifts of at least 1 s (0.5 s under 4 s) are the null:
    what this very mouth and song reach when they are not in sync. The observed value is the
    best within ±2 grid samples of ``estimate.offset_ms``.

    Parameters
    ----------
    mouth, vocal, valid : np.ndarray
        Over the take only, on one grid.
    estimate : SyncEstimate
    visemes : np.ndarray, optional
        :func:`viseme_signal` over the same samples (None: no lyrics, or too few phonemes).
    region : np.ndarray of bool, optional
        Sung region over the same samples.
    n_events : int
        Word onsets (or vocal onsets without lyrics) in the take (:func:`count_onsets`).
    search_span_s : float, optional
        How widely the offset or place was searched, s (default the lag window).
    """
    config = estimate.config
    n = mouth.size
    span = search_span_s if search_span_s is not None else 2.0 * config.max_lag_ms / 1000.0
    min_shift = int(round(1.0 * grid_rate_hz)) if n >= 4 * grid_rate_hz else int(round(0.5 * grid_rate_hz))
    out = dataclasses.replace(estimate, n_events=int(n_events), search_span_s=float(span))
    if n < 4 * min_shift or valid.sum() < 2 * min_shift:
        return dataclasses.replace(out, evidence_z=float("nan"), confidence=0.0)
    z = circular_z(rhythm_scores(mouth, vocal, valid, visemes=visemes, region=region, config=config),
                   min_shift=min_shift)
    lag0 = int(round(estimate.offset_ms * grid_rate_hz / 1000.0))
    ez = float(np.max(z[np.arange(lag0 - 2, lag0 + 3) % n]))
    out = dataclasses.replace(out, evidence_z=ez)
    return dataclasses.replace(out, confidence=verdict_confidence(out))


def rhythm_scores(mouth: np.ndarray, vocal: np.ndarray, valid: np.ndarray, *, visemes: Optional[np.ndarray] = None,
                  region: Optional[np.ndarray] = None, config: SyncConfig = DEFAULT_CONFIG) -> np.ndarray:
    """The lag score (:func:`lag_scores`' terms) at every circular shift of the mouth against the song (FFT).

    Sample ``k`` is the score at a lag of ``k`` grid samples (mouth late), ``n - k`` at ``-k``.
    """
    w = valid.astype(float)
    reg = np.ones(mouth.size) if region is None else region.astype(float)
    m = np.where(valid, mouth - mouth[valid].mean(), 0.0)
    score = _circular_corr(m, (vocal - vocal.mean()) * reg)
    score = score + _circular_corr(np.gradient(smooth(m, config.deriv_smooth)) * w,
                                   np.gradient(smooth(vocal, config.deriv_smooth)) * reg)
    if visemes is not None and config.viseme_weight > 0:
        score = score + config.viseme_weight * _circular_corr(np.gradient(smooth(m, config.viseme_smooth)) * w,
                                                              np.gradient(smooth(visemes, config.viseme_smooth)))
    return score


def circular_z(score: np.ndarray, *, min_shift: int) -> np.ndarray:
    """Standard scores of a circular lag score against its own null: every shift of at least ``min_shift`` samples."""
    n = score.size
    lags = np.arange(n)
    null = score[np.minimum(lags, n - lags) >= min_shift]
    return (score - float(np.mean(null))) / max(float(np.std(null)), 1e-9)


def _standard(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``x`` in standard deviations about its mean over ``valid`` samples, 0 elsewhere."""
    x = np.where(valid, x - (x[valid].mean() if valid.any() else 0.0), 0.0)
    sd = float(np.sqrt(np.mean(x[valid] ** 2))) if valid.any() else 0.0
    return x / sd if sd > 1e-9 else x * 0.0


def shape_channels(mouth: np.ndarray, width: Optional[np.ndarray],
                   valid: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """The two shape measurements of a take, in standard deviations over its valid samples.

    Returns
    -------
    opening : np.ndarray
        :func:`mouth_signal` standardised.
    narrowing : np.ndarray or None
        Minus :func:`width_signal`, standardised, less what the opening explains of it (least
        squares over the take: an open jaw also draws the corners in), standardised again.
        None without a width.
    """
    m = _standard(mouth, valid)
    if width is None or not np.any(width):
        return m, None
    wv = _standard(width, valid)
    beta = float(np.dot(wv[valid], m[valid]) / max(float(np.dot(m[valid], m[valid])), 1e-9))
    return m, _standard(-(wv - beta * m), valid)


def shape_evidence(mouth: np.ndarray, width: Optional[np.ndarray], valid: np.ndarray, estimate: SyncEstimate, *,
                   opening_target: np.ndarray, rounding_target: np.ndarray, n_shapes: int,
                   grid_rate_hz: int = GRID_RATE_HZ) -> SyncEstimate:
    """Add ``shape_z`` and ``shape_best_z``: do the lips take the shapes the lyrics ask for, at the found lag?

    Two correlations, summed (the second weighted by ``config.shape_width_weight``):

    - the mouth opening (:func:`mouth_signal`, log scale, so a closure weighs) against
      :func:`shape_targets`' opening target: lips shut on m/b/p and on the teeth on f/v, not
      on t/d/s/n; wide on "ah", less on "eh", "ee", "oo";
    - the mouth's narrowing (minus :func:`width_signal`, with what the opening explains of
      it removed by a least-squares fit over the take: an open jaw also draws the corners in)
      against the rounding target: narrow on "oo"/"w"/"r", wide on "ee".

    Both targets are centred within consonants and within vowels, so two sentences on one
    rhythm (GRID's all share one) differ here where they differ in sounds. The sum at every
    circular shift of the mouth by ≥ 1 s (0.5 s under 4 s) is the null, as in :func:`evidence`;
    the observed value is the best within ±2 grid samples of ``estimate.offset_ms``.
    ``shape_best_z`` is the best standard score at any lag within ±``max_lag_ms`` of the
    placement (lag 0), for :attr:`SyncEstimate.shapes_absent`.

    Parameters
    ----------
    mouth, valid : np.ndarray
        :func:`mouth_signal` over the take only.
    width : np.ndarray or None
        :func:`width_signal` over the same samples (None: the tracker gave no width; the
        opening is used alone).
    estimate : SyncEstimate
    opening_target, rounding_target : np.ndarray
        :func:`shape_targets` over the same samples.
    n_shapes : int
        Phonemes asking for a shape in the take; under ``config.min_shapes`` ``shape_z`` is NaN.
    """
    config = estimate.config
    n = mouth.size
    out = dataclasses.replace(estimate, n_shapes=int(n_shapes), shape_z=float("nan"))
    min_shift = int(round(1.0 * grid_rate_hz)) if n >= 4 * grid_rate_hz else int(round(0.5 * grid_rate_hz))
    if n_shapes < config.min_shapes or n < 4 * min_shift or valid.sum() < 2 * min_shift:
        return out

    score = shape_scores(mouth, width, valid, opening_target=opening_target, rounding_target=rounding_target,
                         config=config)
    if not np.any(score):
        return out
    z_all = circular_z(score, min_shift=min_shift)
    lag0 = int(round(estimate.offset_ms * grid_rate_hz / 1000.0))
    out = dataclasses.replace(out, shape_z=float(np.max(z_all[np.arange(lag0 - 2, lag0 + 3) % n])))
    # Anywhere in the searched window (±max_lag_ms of the placement): the best lag's z, for
    # "not lip-syncing" (an offset misread must not hide shapes taken at the true lag).
    k = int(round(config.max_lag_ms * grid_rate_hz / 1000.0))
    out = dataclasses.replace(out, shape_best_z=float(np.max(z_all[np.arange(-k, k + 1) % n])))
    return dataclasses.replace(out, confidence=verdict_confidence(out))


def shape_scores(mouth: np.ndarray, width: Optional[np.ndarray], valid: np.ndarray, *, opening_target: np.ndarray,
                 rounding_target: np.ndarray, config: SyncConfig = DEFAULT_CONFIG) -> np.ndarray:
    """The shape score of :func:`shape_evidence` at every circular shift of the mouth (FFT; all zeros when no shape is asked)."""
    m, narrow = shape_channels(mouth, width, valid)
    score = _circular_corr(m, opening_target) if np.any(opening_target) else np.zeros(mouth.size)
    if narrow is not None and config.shape_width_weight > 0 and np.any(rounding_target) and np.any(narrow):
        score = score + config.shape_width_weight * _circular_corr(narrow, rounding_target)
    return score
