"""Performer sync: how far ahead of or behind the vocal the mouth moves (ms, negative = early).

Both sides become signals on one uniform grid (:data:`GRID_RATE_HZ`):

- the **mouth**: ``log(opening + 0.01)`` of the chosen face, linearly interpolated between
  frame timestamps (so any frame rate, constant or variable, lands on the same grid);
- the **vocal**: the song map's vocal loudness mapped to 0..1 over a 35 dB range under the
  sung reference level (silence and instrumental → 0).

The lag score is the sum of two Pearson correlations, the levels and their time derivatives
(the derivative carries word onsets and lip closures, the level carries held vowels). The lag
with the best score over a long window (the whole take, or a line with its neighbours) gives
the offset, refined between grid points with a parabola. The expected visual lead
(:data:`VISUAL_LEAD_MS`) is removed so a performer in perfect sync reads 0 ms.

Verdict: the derivative correlation at the best lag is compared with a null distribution:
the same correlation at every circular shift of the mouth against the vocal by ≥ 1 s. ``z``
is how many null standard deviations the real peak stands above the null mean. Because the
best of many lags is taken, chance alone reaches about ``sqrt(2 ln K)`` for K independent
lags searched; that plus :data:`Z_MARGIN` is :func:`z_threshold`. A second, independent
piece of evidence is tested at the same lag (:func:`second_evidence`): the mouth against the
opening the lyrics' phonemes ask for (:func:`viseme_signal`, independent of the singer's
voice), or without phonemes the mouth level against the vocal level. A take is ``in_sync``
when the two z-scores together clear ``z_threshold + SECOND_MARGIN`` (and the vocal z is not
far under ``z_threshold``), the correlation is at least :data:`R_IN_SYNC`, and the best lag
is a real peak inside the window (:attr:`SyncEstimate.margin`).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

#: Rate of the common analysis grid, samples/s (10 ms steps).
GRID_RATE_HZ = 100
#: How far the mouth moves ahead of the sound it shapes, ms, as this score measures it.
#: Calibrated on in-sync GRID clips (real speakers with their own voice, 10 takes of 3
#: clips; benchmarks/take_accuracy.py prints it as "visual lead calibration"): the raw lag
#: has a median of −10.3 ms (mouth first). It is small because the score matches the whole
#: opening/closing contour against the vocal level, not lip onsets against acoustic onsets
#: (where the lead before m/b/p is 50–100 ms).
VISUAL_LEAD_MS = 10.0
#: Largest performer offset searched, ms. Beyond half a second a take is not a lip-sync.
MAX_LAG_MS = 500.0
#: Verdict: z must exceed what the best of K chance lags would reach, sqrt(2 ln K), by this
#: margin. K = searched span / CORRELATION_LENGTH_S. With the ±500 ms window the threshold is
#: 3.3; a silent take placed by its mouth anywhere in a 9 s song needs 4.15, in 3 min 5.1.
Z_MARGIN = 1.15
#: Lags closer than this (s) give correlated scores (syllable-rate signals).
CORRELATION_LENGTH_S = 0.1
#: Below this derivative correlation the mouth does not follow the vocal whatever z says.
R_IN_SYNC = 0.15
#: Share of the word-activity signal in what the mouth is compared with (see song_signal).
#: Off by default: in take_accuracy.py 0.5 did not help the other-voice case and lost two
#: silent GRID takes; 0.8 was worse everywhere.
WORD_WEIGHT = 0.0
#: Margin around sung words inside which the mouth is compared with the vocal, s.
SUNG_MARGIN_S = 0.3
#: Moving-average width (grid samples, 90 ms) applied to both signals before
#: differentiating: 25 fps mouth tracks and fine acoustic detail only add noise to the
#: derivative. In take_accuracy.py 90 ms halved the in-sync takes called not_lip_syncing
#: when the song is another voice (21 → 12 of 50) against 50 ms; 150 ms was worse.
DERIV_SMOOTH = 9
#: Window of the mouth's resting-level baseline, s (see rest_baseline).
BASELINE_S = 1.5
#: Dynamic range of the vocal level signal under the sung reference, dB.
VOCAL_RANGE_DB = 35.0
#: Expected mouth opening per viseme class (0 closed … 1 wide open vowel), for the second,
#: voice-independent piece of evidence (:func:`viseme_signal`): it depends only on which
#: sounds the lyrics put where, not on how the singer's voice carries them.
VISEME_OPENING = {"rest": 0.0, "closed": 0.0, "lip_teeth": 0.2, "rounded": 0.45, "open": 1.0, "mid": 0.75,
                  "spread": 0.5, "tongue_teeth": 0.4, "teeth": 0.35, "back": 0.5, "unknown": 0.5}
#: Smoothing of the viseme signal before differentiating, grid samples (50 ms).
VISEME_SMOOTH = 5
#: The vocal z and the second evidence (viseme z, or level z without phonemes) must sum to
#: at least ``z_threshold + SECOND_MARGIN``. Calibrated in benchmarks/take_accuracy.py on
#: half of the songs (GRID trios 0–4 and the two 8 s HDTF clips): the smallest margin, in
#: steps of 0.5, that flags every mismatch there (picture of 3 clips, song of 3 others spoken
#: to the same sentence rhythm); the other half is the held-out check (docs/benchmarks.md).
SECOND_MARGIN = 2.5
#: With a second piece of evidence the vocal z alone may fall this far under ``z_threshold``.
Z_SLACK = 1.0
#: Fewest phonemes (or words without phonemes) in the take for the viseme evidence to count.
MIN_PHONEMES = 6


@dataclasses.dataclass
class SyncEstimate:
    """Offset of the mouth against the vocal over one window.

    Attributes
    ----------
    offset_ms : float
        Performer offset, ms; negative = early (mouth ahead of the vocal), 0 = in sync.
    peak : float
        Combined score at the best lag (sum of two correlations, -2..2).
    r : float
        Derivative correlation at the best lag (-1..1).
    z : float
        Standard scores of ``r`` above the circular-shift null (NaN when not computed).
    confidence : float
        0..1, logistic in ``z`` around ``z_threshold``.
    z_threshold : float
        The z needed for ``in_sync`` given how widely the offset was searched.
    at_edge : bool
        The best lag is the edge of the searched window (no real peak found).
    viseme_z : float
        Standard scores of the mouth/viseme derivative correlation at the same lag above
        its circular-shift null (NaN when the song map has too few phonemes in the take).
    level_z : float
        The same for the mouth level against the vocal level (NaN when not computed).
    """

    offset_ms: float
    peak: float
    r: float
    z: float = float("nan")
    confidence: float = float("nan")
    z_threshold: float = float("nan")
    at_edge: bool = False
    viseme_z: float = float("nan")
    level_z: float = float("nan")

    @property
    def margin(self) -> float:
        """How far the evidence stands over what ``in_sync`` needs (z units; ≥ 0 = enough).

        Two pieces of evidence must agree: the vocal-derivative ``z`` plus the viseme z
        (or, without phonemes, the level z) must reach ``z_threshold + SECOND_MARGIN``, and
        ``z`` alone may fall at most :data:`Z_SLACK` under ``z_threshold``.
        """
        if not np.isfinite(self.z):
            return float("-inf")
        second = self.viseme_z if np.isfinite(self.viseme_z) else self.level_z
        if np.isfinite(second):
            return min(self.z + second - self.z_threshold - SECOND_MARGIN, self.z - self.z_threshold + Z_SLACK)
        return self.z - self.z_threshold

    @property
    def in_sync(self) -> bool:
        return bool(self.margin >= 0 and self.r >= R_IN_SYNC and not self.at_edge)


def z_threshold(search_span_s: float) -> float:
    """z an in-sync take must reach when its offset was searched over ``search_span_s`` seconds."""
    k = max(search_span_s / CORRELATION_LENGTH_S, 2.0)
    return float(Z_MARGIN + np.sqrt(2.0 * np.log(k)))


# ---------------------------------------------------------------------------------------
# signals


def vocal_level(loudness_db: np.ndarray, *, rate_hz: float, reference_db: Optional[float] = None,
                grid_rate_hz: int = GRID_RATE_HZ, duration_s: Optional[float] = None) -> np.ndarray:
    """Vocal loudness (dBFS per frame) as a 0..1 level on the analysis grid.

    Parameters
    ----------
    loudness_db : np.ndarray
        Vocal level per frame, dBFS (``SongMap.loudness.values``).
    rate_hz : float
        Frames per second of ``loudness_db``.
    reference_db : float, optional
        Sung reference level, dBFS; default the 95th percentile.
    grid_rate_hz : int
    duration_s : float, optional
        Length of the output in seconds (default: that of the input).

    Returns
    -------
    np.ndarray
        Level on the grid, sample ``i`` at ``i / grid_rate_hz`` s.
    """
    db = np.asarray(loudness_db, dtype=float)
    db = np.where(np.isfinite(db), db, -120.0)
    ref = float(np.percentile(db, 95)) if reference_db is None or not np.isfinite(reference_db) else float(reference_db)
    # The reference is the median sung level; loud notes sit a few dB above it.
    top = max(ref + 3.0, float(np.percentile(db, 95)))
    level = np.clip((db - (top - VOCAL_RANGE_DB)) / VOCAL_RANGE_DB, 0.0, 1.0)
    dur = duration_s if duration_s is not None else db.size / rate_hz
    t_grid = np.arange(int(round(dur * grid_rate_hz))) / grid_rate_hz
    t_src = (np.arange(db.size) + 0.5) / rate_hz if rate_hz < grid_rate_hz else np.arange(db.size) / rate_hz
    return np.interp(t_grid, t_src, level, left=0.0, right=0.0)


def word_activity(spans_s, *, n: int, grid_rate_hz: int = GRID_RATE_HZ, ramp_s: float = 0.05) -> np.ndarray:
    """1 inside sung words, 0 outside, with ``ramp_s`` linear ramps: the lyric timing alone.

    Parameters
    ----------
    spans_s : iterable of (start_s, end_s)
        Word spans in song time, s.
    n : int
        Grid samples.
    """
    box = np.zeros(n)
    for a, b in spans_s:
        box[max(0, int(round(a * grid_rate_hz))):max(0, int(round(b * grid_rate_hz)))] = 1.0
    return _smooth(box, max(1, int(round(2 * ramp_s * grid_rate_hz)) | 1))


def sung_region(spans_s, *, n: int, margin_s: float = SUNG_MARGIN_S, grid_rate_hz: int = GRID_RATE_HZ) -> np.ndarray:
    """Grid samples within ``margin_s`` of a sung word: where the mouth is held to the vocal.

    Outside (instrumental, pauses) a performer may breathe, prepare the next word or rest
    with the mouth open, none of which the vocal level predicts.
    """
    region = np.zeros(n, dtype=bool)
    m = int(round(margin_s * grid_rate_hz))
    for a, b in spans_s:
        region[max(0, int(a * grid_rate_hz) - m):max(0, int(np.ceil(b * grid_rate_hz)) + m)] = True
    return region


def song_signal(level: np.ndarray, activity: Optional[np.ndarray], *, word_weight: float = None) -> np.ndarray:
    """What the mouth is compared with: the vocal level blended with the word activity.

    The level carries the singer's own dynamics; the word activity carries only where the
    lyrics fall, which is the same whoever sings them (the performer's voice is not the
    singer's). ``word_weight`` (default :data:`WORD_WEIGHT`) is the share of the latter.
    """
    w = WORD_WEIGHT if word_weight is None else word_weight
    if activity is None or w <= 0:
        return level
    return (1.0 - w) * level + w * activity[: level.size]


def mouth_signal(t_s: np.ndarray, opening: np.ndarray, *, start_s: float, n: int,
                 grid_rate_hz: int = GRID_RATE_HZ) -> tuple[np.ndarray, np.ndarray]:
    """The mouth opening on the analysis grid.

    Parameters
    ----------
    t_s : np.ndarray
        Frame times, s (any spacing).
    opening : np.ndarray
        Opening per frame, eye-corner distances; NaN where no face was found.
    start_s : float
        Time of grid sample 0 on the ``t_s`` timeline, s.
    n : int
        Number of grid samples.

    Returns
    -------
    signal : np.ndarray
        ``log(opening + 0.01)`` minus its resting baseline (:func:`rest_baseline`),
        interpolated onto the grid.
    valid : np.ndarray of bool
        True where a face was measured within a frame of the grid sample.
    """
    t_grid = start_s + np.arange(n) / grid_rate_hz
    ok = np.isfinite(opening)
    sig = np.zeros(n)
    valid = np.zeros(n, dtype=bool)
    if ok.sum() < 2:
        return sig, valid
    ts, vs = t_s[ok], np.log(np.asarray(opening)[ok] + 0.01)
    vs = vs - rest_baseline(vs, width=int(round(BASELINE_S / max(float(np.median(np.diff(ts))) if ts.size > 1 else 0.04, 1e-3))))
    sig = np.interp(t_grid, ts, vs)
    # Nearest measured frame must be within ~1.5 frame periods, or the grid sample is a gap.
    period = float(np.median(np.diff(t_s))) if t_s.size > 1 else 0.04
    idx = np.clip(np.searchsorted(ts, t_grid), 1, ts.size - 1)
    near = np.minimum(np.abs(ts[idx] - t_grid), np.abs(ts[idx - 1] - t_grid))
    valid = (near <= 1.5 * period) & (t_grid >= ts[0] - period) & (t_grid <= ts[-1] + period)
    return sig, valid


def rest_baseline(x: np.ndarray, *, width: int) -> np.ndarray:
    """The mouth's local resting level: running minimum over ``width`` frames, then smoothed.

    Subtracting it removes what is not lip movement: a mouth held open for seconds, a
    speaker whose lips never meet, a head turn that changes the normalisation.
    """
    x = np.asarray(x, dtype=float)
    width = int(max(3, min(width, x.size)))
    if x.size < 3:
        return np.full_like(x, np.min(x) if x.size else 0.0)
    half = width // 2
    padded = np.pad(x, (half, width - 1 - half), mode="edge")
    low = np.lib.stride_tricks.sliding_window_view(padded, width).min(axis=1)
    return _smooth(low, width | 1)


def _smooth(x: np.ndarray, width: int = 5) -> np.ndarray:
    """Moving average over ``width`` samples, edges padded with the edge value."""
    half = width // 2
    padded = np.pad(np.asarray(x, dtype=float), (half, width - 1 - half), mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def _masked_corr(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> float:
    if w.sum() < 10:
        return 0.0
    a, b = a[w], b[w]
    a = a - a.mean()
    b = b - b.mean()
    den = np.sqrt(np.dot(a, a) * np.dot(b, b))
    return float(np.dot(a, b) / den) if den > 1e-12 else 0.0


def lag_scores(mouth: np.ndarray, vocal: np.ndarray, valid: np.ndarray, *, lags: np.ndarray,
               region: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
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

    Returns
    -------
    combined : np.ndarray
        Level correlation + derivative correlation per lag.
    deriv : np.ndarray
        Derivative correlation per lag.
    """
    n = mouth.size
    dm = np.gradient(_smooth(mouth, DERIV_SMOOTH))
    dv = np.gradient(_smooth(vocal, DERIV_SMOOTH))
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
        deriv[j] = ld
    return combined, deriv


def _parabolic(y: np.ndarray, k: int) -> float:
    if 0 < k < y.size - 1:
        y0, y1, y2 = y[k - 1], y[k], y[k + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            return float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5))
    return 0.0


def estimate_offset(mouth: np.ndarray, vocal: np.ndarray, valid: np.ndarray, *, max_lag_ms: float = MAX_LAG_MS,
                    region: Optional[np.ndarray] = None, grid_rate_hz: int = GRID_RATE_HZ,
                    center_ms: float = 0.0) -> SyncEstimate:
    """Best performer offset over a window (no null test; see :func:`sync_verdict`).

    Parameters
    ----------
    center_ms : float
        Search ``center_ms ± max_lag_ms`` (raw lag, before the visual-lead correction).
    """
    step_ms = 1000.0 / grid_rate_hz
    c = int(round(center_ms / step_ms))
    k_max = int(round(max_lag_ms / step_ms))
    lags = np.arange(c - k_max, c + k_max + 1)
    if region is not None:
        # Only the region and the lag reach around it matter: crop for speed on long songs.
        idx = np.flatnonzero(region)
        if idx.size == 0:
            return SyncEstimate(offset_ms=center_ms + VISUAL_LEAD_MS, peak=0.0, r=0.0)
        reach = abs(c) + k_max + 2
        lo, hi = max(0, int(idx[0]) - reach), min(mouth.size, int(idx[-1]) + reach + 1)
        mouth, vocal, valid, region = mouth[lo:hi], vocal[lo:hi], valid[lo:hi], region[lo:hi]
    combined, deriv = lag_scores(mouth, vocal, valid, lags=lags, region=region)
    k = int(np.argmax(combined))
    raw_ms = (lags[k] + _parabolic(combined, k)) * step_ms
    return SyncEstimate(offset_ms=raw_ms + VISUAL_LEAD_MS, peak=float(combined[k]), r=float(deriv[k]),
                        at_edge=k in (0, lags.size - 1))


def _circular_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean()
    b = b - b.mean()
    c = np.fft.irfft(np.fft.rfft(a) * np.conj(np.fft.rfft(b)), a.size)
    den = np.sqrt(np.dot(a, a) * np.dot(b, b))
    return c / den if den > 1e-12 else c * 0.0


def sync_verdict(mouth: np.ndarray, vocal: np.ndarray, valid: np.ndarray, estimate: SyncEstimate, *,
                 max_lag_ms: float = MAX_LAG_MS, min_shift_s: float = 1.0,
                 search_span_s: Optional[float] = None, region: Optional[np.ndarray] = None,
                 grid_rate_hz: int = GRID_RATE_HZ) -> SyncEstimate:
    """Add ``z`` and ``confidence`` to an estimate with a circular-shift null distribution.

    The derivative correlation is computed for every circular shift at once (FFT); the
    shifts of at least ``min_shift_s`` are the null sample (chance correlations of these very
    signals). ``search_span_s`` is how widely the offset was searched (default the lag
    window, 2 × ``max_lag_ms``; the whole song for a silent take placed by its mouth).
    """
    span = search_span_s if search_span_s is not None else 2.0 * max_lag_ms / 1000.0
    threshold = z_threshold(span)
    w = valid.astype(float)
    dm = np.gradient(_smooth(mouth, DERIV_SMOOTH)) * w
    dv = np.gradient(_smooth(vocal, DERIV_SMOOTH)) * w
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
    lag0 = int(round((estimate.offset_ms - VISUAL_LEAD_MS) * grid_rate_hz / 1000.0))
    obs = float(np.max(c[np.arange(lag0 - 2, lag0 + 3) % n]))
    z = (obs - float(np.mean(null))) / max(float(np.std(null)), 1e-6)
    out = dataclasses.replace(estimate, z=float(z), z_threshold=threshold)
    return dataclasses.replace(out, confidence=_confidence(out))


def _confidence(est: SyncEstimate) -> float:
    if est.at_edge or not np.isfinite(est.margin):
        return 0.0
    return float(1.0 / (1.0 + np.exp(-2.0 * est.margin)))


def viseme_signal(phonemes, *, n: int, grid_rate_hz: int = GRID_RATE_HZ, smooth: int = VISEME_SMOOTH) -> np.ndarray:
    """Expected mouth opening from the lyrics alone: :data:`VISEME_OPENING` of each phoneme.

    Parameters
    ----------
    phonemes : iterable of (start_s, end_s, viseme)
        Phoneme spans in song time, s, with their viseme class.
    n : int
        Grid samples.

    Returns
    -------
    np.ndarray
        0..1 on the grid (0 outside phonemes), smoothed over ``smooth`` samples.
    """
    e = np.zeros(n)
    for a, b, v in phonemes:
        e[max(0, int(a * grid_rate_hz)):max(0, int(b * grid_rate_hz))] = VISEME_OPENING.get(v, 0.4)
    return _smooth(e, smooth)


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
    lag0 = int(round((estimate.offset_ms - VISUAL_LEAD_MS) * grid_rate_hz / 1000.0))
    k = int(round(search_ms * grid_rate_hz / 1000.0))
    a = np.where(valid, mouth, 0.0)
    vz = float("nan")
    if visemes is not None:
        vz = _shift_z(np.gradient(_smooth(a, VISEME_SMOOTH)), np.gradient(_smooth(visemes, VISEME_SMOOTH)), lag0,
                      search=k, min_shift=min_shift)
    m = np.where(valid, mouth - (mouth[valid].mean() if valid.any() else 0.0), 0.0)
    v = vocal - vocal.mean()
    if region is not None:
        v = v * region
    lz = _shift_z(m, v, lag0, search=k, min_shift=min_shift)
    out = dataclasses.replace(estimate, viseme_z=float(vz), level_z=float(lz))
    return dataclasses.replace(out, confidence=_confidence(out))
