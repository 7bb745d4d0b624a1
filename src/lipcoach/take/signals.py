"""Performer sync, step 1: the mouth and the song as signals on one uniform analysis grid.

Inputs and units:

- the **mouth**: frame times in s (any spacing, constant or variable frame rate) with the
  opening and inner width per frame in eye-corner distances (NaN where no face was found)
  → :func:`mouth_signal` (``log(opening + 0.01)`` minus its resting baseline) and
  :func:`width_signal` (``log(width)`` minus its running mean);
- the **vocal**: the song map's vocal loudness in dBFS per frame at ``rate_hz``
  → :func:`vocal_level` (0..1 over :data:`VOCAL_RANGE_DB` dB under the sung reference),
  moved earlier by the mouth's lead (:func:`song_signal`, :func:`lead_shift`, lead in ms);
- the **lyrics**: word spans and phoneme spans ``(start_s, end_s[, viseme])`` in song time, s
  → :func:`word_activity`, :func:`sung_region`, :func:`viseme_signal` (the opening the
  phonemes ask for) and :func:`shape_targets` (the opening and narrowing they ask for, with
  the rhythm taken out); :func:`count_onsets` counts vocal onsets in a level signal.

Every output is sampled at ``grid_rate_hz`` (default :data:`~lipcoach.take.sync_config.GRID_RATE_HZ`,
100 Hz: sample ``i`` at ``i / grid_rate_hz`` s from the grid's start); widths and windows given
as ``n``/``width`` are in grid samples.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from lipcoach.take.sync_config import DEFAULT_CONFIG, GRID_RATE_HZ, SyncConfig

#: Margin around sung words inside which the mouth is compared with the vocal, s.
SUNG_MARGIN_S = 0.3

#: Window of the mouth's resting-level baseline, s (see rest_baseline).
BASELINE_S = 1.5

#: Dynamic range of the vocal level signal under the sung reference, dB.
VOCAL_RANGE_DB = 35.0

#: Expected mouth opening per viseme class (0 closed … 1 wide open vowel), for the
#: voice-independent evidence (:func:`viseme_signal`): it depends only on which sounds the
#: lyrics put where, not on how the singer's voice carries them.
VISEME_OPENING = {"rest": 0.0, "closed": 0.0, "lip_teeth": 0.2, "rounded": 0.45, "open": 1.0, "mid": 0.75,
                  "spread": 0.5, "tongue_teeth": 0.4, "teeth": 0.35, "back": 0.5, "unknown": 0.5}

#: Shapes are compared only with shapes of the same kind: consonants with consonants (closed
#: lips on m/b/p, lip on teeth on f/v, against the teeth and tongue sounds, whose lips stay
#: apart; k/g take the neighbouring vowel's shape) and vowels with vowels (open against
#: half-open, spread and rounded). Whatever the rhythm puts where (a vowel here, a consonant
#: there) is the same for every sentence of that rhythm and is taken out by centring each
#: kind on its own.
SHAPE_KIND = {"closed": "consonant", "lip_teeth": "consonant", "teeth": "consonant", "tongue_teeth": "consonant",
              "back": "consonant", "open": "vowel", "mid": "vowel", "spread": "vowel", "rounded": "vowel"}


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
    return smooth(box, max(1, int(round(2 * ramp_s * grid_rate_hz)) | 1))


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


def song_signal(level: np.ndarray, activity: Optional[np.ndarray], *, config: SyncConfig = DEFAULT_CONFIG) -> np.ndarray:
    """What the mouth is compared with: the vocal level blended with the word activity.

    The level carries the singer's own dynamics; the word activity carries only where the
    lyrics fall, which is the same whoever sings them (the performer's voice is not the
    singer's). ``config.word_weight`` is the share of the latter. The result is moved earlier
    by ``config.vocal_lead_ms`` (:func:`lead_shift`): the mouth moves ahead of the sound.
    """
    w = config.word_weight
    if activity is not None and w > 0:
        level = (1.0 - w) * level + w * activity[: level.size]
    return lead_shift(level, config.vocal_lead_ms)


def lead_shift(signal: np.ndarray, lead_ms: float, *, grid_rate_hz: int = GRID_RATE_HZ) -> np.ndarray:
    """``signal`` moved ``lead_ms`` earlier on the grid (linear interpolation, edges held).

    Sample ``i`` of the result is ``signal`` at ``i + lead_ms`` (in grid units): what the
    mouth should be doing at ``i`` if it moves ``lead_ms`` ahead of the sound.
    """
    if not lead_ms:
        return signal
    x = np.arange(signal.size, dtype=float)
    return np.interp(x + lead_ms * grid_rate_hz / 1000.0, x, signal)


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
    return smooth(low, width | 1)


def smooth(x: np.ndarray, width: int = 5) -> np.ndarray:
    """Moving average over ``width`` samples, edges padded with the edge value."""
    half = width // 2
    padded = np.pad(np.asarray(x, dtype=float), (half, width - 1 - half), mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def viseme_signal(phonemes, *, n: int, grid_rate_hz: int = GRID_RATE_HZ,
                  config: SyncConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Expected mouth opening from the lyrics alone: :data:`VISEME_OPENING` of each phoneme.

    Each phoneme is placed ``config.lead_ms(viseme)`` earlier than its time in the song map:
    the lips close before an m/b/p is heard and the jaw opens before a vowel sounds.

    Parameters
    ----------
    phonemes : iterable of (start_s, end_s, viseme)
        Phoneme spans in song time, s, with their viseme class.
    n : int
        Grid samples.

    Returns
    -------
    np.ndarray
        0..1 on the grid (0 outside phonemes), smoothed over ``config.viseme_smooth`` samples.
    """
    e = np.zeros(n)
    for a, b, v in phonemes:
        lead_s = config.lead_ms(v) / 1000.0
        e[max(0, int(round((a - lead_s) * grid_rate_hz))):max(0, int(round((b - lead_s) * grid_rate_hz)))] = \
            VISEME_OPENING.get(v, 0.4)
    return smooth(e, config.viseme_smooth)


def count_onsets(level: np.ndarray, *, grid_rate_hz: int = GRID_RATE_HZ, min_gap_s: float = 0.15,
                 rel_height: float = 0.25) -> int:
    """Vocal onsets in a level signal (0..1 on the grid): peaks of its rise, at least ``min_gap_s`` apart.

    Without lyrics these are the events the mouth is held to; a take with few of them cannot
    be called out of sync.
    """
    from scipy.signal import find_peaks

    if level.size < 5:
        return 0
    rise = np.gradient(smooth(level, 5))
    top = float(np.max(rise))
    if top <= 0:
        return 0
    peaks, _ = find_peaks(rise, height=rel_height * top, distance=max(1, int(min_gap_s * grid_rate_hz)))
    return int(peaks.size)


def shape_targets(phonemes, *, n: int, grid_rate_hz: int = GRID_RATE_HZ,
                  config: SyncConfig = DEFAULT_CONFIG) -> tuple[np.ndarray, np.ndarray, int]:
    """What the lyrics ask of the lips, on the grid, with the rhythm taken out.

    Each phoneme of a class in :data:`SHAPE_KIND` is placed ``config.lead_ms(viseme)`` earlier
    (like :func:`viseme_signal`) and asks for the opening and narrowing of its class in
    ``config.shape_table``. Each target is then centred within each kind
    (consonant samples on their own, vowel samples on their own) and is 0 elsewhere, so that a
    mouth that merely opens on every vowel and closes between words (any sentence of the same
    rhythm) scores nothing: only *which* consonant closes the lips and *which* vowel opens or
    rounds them counts.

    Parameters
    ----------
    phonemes : iterable of (start_s, end_s, viseme)
        Phoneme spans in song time, s.
    n : int
        Grid samples.

    Returns
    -------
    opening, rounding : np.ndarray
        Centred targets on the grid (0 where no shape is asked).
    n_shapes : int
        Phonemes that asked for a shape.
    """
    opening = np.zeros(n)
    rounding = np.zeros(n)
    kind = np.zeros(n, dtype=int)  # 0 none, 1 consonant, 2 vowel
    n_shapes = 0
    for a, b, v in phonemes:
        k = SHAPE_KIND.get(v)
        shape = config.shape_of(v)
        if k is None or shape is None:
            continue
        lead_s = config.lead_ms(v) / 1000.0
        i0 = max(0, int(round((a - lead_s) * grid_rate_hz)))
        i1 = min(n, max(i0 + 1, int(round((b - lead_s) * grid_rate_hz))))
        if i0 >= n:
            continue
        n_shapes += 1
        opening[i0:i1], rounding[i0:i1] = shape
        kind[i0:i1] = 1 if k == "consonant" else 2
    for k in (1, 2):
        sel = kind == k
        if sel.any():
            opening[sel] -= opening[sel].mean()
            rounding[sel] -= rounding[sel].mean()
    return opening, rounding, n_shapes


def width_signal(t_s: np.ndarray, width: np.ndarray, *, start_s: float, n: int,
                 grid_rate_hz: int = GRID_RATE_HZ) -> np.ndarray:
    """``log(width)`` of the mouth on the analysis grid, minus its running mean over :data:`BASELINE_S`.

    The running mean takes out what is not the lips' shape (distance to the camera, a head
    turn); NaN frames (no face) are bridged and the result is 0 where there is no face at all.

    Parameters
    ----------
    t_s : np.ndarray
        Frame times, s.
    width : np.ndarray
        Inner mouth width per frame, eye-corner distances; NaN where no face was found.
    start_s : float
        Time of grid sample 0 on the ``t_s`` timeline, s.
    n : int
        Grid samples.
    """
    w = np.asarray(width, dtype=float)
    ok = np.isfinite(w) & (w > 0)
    if ok.sum() < 2:
        return np.zeros(n)
    t_grid = start_s + np.arange(n) / grid_rate_hz
    sig = np.interp(t_grid, t_s[ok], np.log(w[ok]))
    return sig - smooth(sig, int(round(BASELINE_S * grid_rate_hz)) | 1)


def config_kind(viseme: str) -> Optional[str]:
    """``"consonant"`` or ``"vowel"``: which shapes this class is compared with (None: no shape asked)."""
    return SHAPE_KIND.get(viseme)
