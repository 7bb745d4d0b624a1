"""Vocal signal features: loudness contour, vocal activity, vocal onsets, per-word pitch.

Everything here works on a mono vocal signal (an isolated stem, a separated vocal guide, or
the mix when nothing better exists) as float32 samples at ``sr`` Hz. Frames advance by
:data:`HOP_S` seconds unless a function says otherwise; all returned times are seconds from
the start of the signal; all levels are dBFS: 10·log10 of the mean square (a full-scale
square wave reads 0 dB, a full-scale sine −3 dB).

The shared per-frame analysis, :func:`frame_features`, is also what
:mod:`lipcoach.song.breaths` reads, so that "sung", "voiced" and "quiet" mean the same thing
in both places.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import numpy as np
import scipy.fft

from lipcoach.errors import LipcoachError
from lipcoach.song.songmap import Loudness, Word

#: Frame step of the shared analysis, seconds.
HOP_S = 0.01
#: Analysis window of the shared analysis, seconds (≥ 2 periods of a 70 Hz voice).
FRAME_S = 0.04
#: Lowest and highest fundamental the periodicity search looks for, Hz.
F0_MIN_HZ = 70.0
F0_MAX_HZ = 1000.0
#: A frame is voiced when its normalised autocorrelation peak reaches this (0..1).
VOICED_PERIODICITY = 0.6
#: Level floor used instead of log(0), dBFS.
FLOOR_DB = -120.0
#: Spectral bands of :attr:`FrameFeatures.bands_db`: count and range, Hz.
N_BANDS = 16
BANDS_LOW_HZ = 250.0
BANDS_HIGH_HZ = 7800.0


@dataclasses.dataclass
class FrameFeatures:
    """Per-frame description of a vocal signal (one value per :data:`HOP_S` step).

    Attributes
    ----------
    sr : int
        Sample rate of the analysed signal, Hz.
    hop_length : int
        Frame step, samples.
    times_s : np.ndarray
        Frame centres, s.
    level_db : np.ndarray
        RMS level over a :data:`FRAME_S` window, dBFS.
    band_db : np.ndarray
        Power in the breath band (500–6000 Hz, capped below Nyquist), dB (same reference as
        ``level_db``: a full-band white signal has ``band_db`` a few dB under ``level_db``).
    high_ratio_db : np.ndarray
        Power above 4 kHz minus power in 500–4000 Hz, dB: high for /s/ and /z/, low for
        breaths, whose noise sits mostly between 1 and 3 kHz.
    flatness : np.ndarray
        Spectral flatness (geometric / arithmetic mean of power) in the breath band, 0..1.
    periodicity : np.ndarray
        Peak of the normalised autocorrelation (of the signal above 300 Hz) for lags of
        1/:data:`F0_MAX_HZ` … 1/:data:`F0_MIN_HZ` s, 0..1: near 1 for a sung vowel, low for
        breath noise.
    bands_db : np.ndarray
        Power in :data:`N_BANDS` log-spaced bands between :data:`BANDS_LOW_HZ` and
        :data:`BANDS_HIGH_HZ` (capped at 0.48·sr), shape (n_frames, n_bands), dB (same
        reference as ``level_db``). Compared with the same bands in nearby frames, it says
        whether a stretch adds broadband noise to the accompaniment (a breath) or not.
    band_edges_hz : np.ndarray
        Edges of those bands, Hz, shape (n_bands + 1,).
    band_flatness_db : np.ndarray
        Spectral flatness inside each of those bands (geometric over arithmetic mean of the
        bins' power), dB, ≤ 0, shape (n_frames, n_bands): near 0 for noise (a breath), far
        under 0 for a band with partials in it (a note, a chord).
    """

    sr: int
    hop_length: int
    times_s: np.ndarray
    level_db: np.ndarray
    band_db: np.ndarray
    high_ratio_db: np.ndarray
    flatness: np.ndarray
    periodicity: np.ndarray
    bands_db: np.ndarray
    band_edges_hz: np.ndarray
    band_flatness_db: np.ndarray

    def index(self, time_s: float) -> int:
        """Index of the frame whose centre is nearest ``time_s`` (clipped to the signal)."""
        return int(np.clip(round(time_s * self.sr / self.hop_length), 0, len(self.times_s) - 1))



#: Frame of the plain level figures (synthetic truth, accompaniment level, a song's peak), seconds.
LEVEL_FRAME_S = 0.02


def frame_levels_db(audio: np.ndarray, *, sr: int, frame_s: float = LEVEL_FRAME_S) -> np.ndarray:
    """RMS level of consecutive non-overlapping frames, dBFS (floor −120 dB)."""
    n = max(1, int(round(frame_s * sr)))
    usable = len(audio) // n * n
    frames = audio[:usable].reshape(-1, n).astype(np.float64)
    return 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12)

def _check(vocal: np.ndarray, sr: int) -> np.ndarray:
    vocal = np.asarray(vocal)
    if vocal.ndim != 1:
        raise LipcoachError(None, f"vocal must be mono (1-D), got shape {vocal.shape}")
    if sr <= 0:
        raise LipcoachError(None, f"sample rate must be positive, got {sr}")
    if not np.all(np.isfinite(vocal)):
        raise LipcoachError(None, "vocal signal contains NaN or infinite samples")
    return vocal.astype(np.float32, copy=False)


def _frames(signal: np.ndarray, *, frame_length: int, hop_length: int) -> np.ndarray:
    """Centred frames (n_frames, frame_length) of ``signal``, zero-padded at both ends."""
    padded = np.pad(signal, (frame_length // 2, frame_length // 2))
    n_frames = 1 + (len(signal) - 1) // hop_length if len(signal) else 0
    if n_frames == 0:
        return np.zeros((0, frame_length), np.float32)
    return np.lib.stride_tricks.as_strided(
        padded, shape=(n_frames, frame_length), strides=(padded.strides[0] * hop_length, padded.strides[0]), writeable=False
    )


def frame_features(vocal: np.ndarray, *, sr: int, hop_s: float = HOP_S) -> FrameFeatures:
    """Compute the shared per-frame features of a vocal signal.

    Compute them once per signal and pass them (``features=``) to :func:`loudness_contour`,
    :func:`vocal_activity`, :func:`vocal_onsets` and :func:`lipcoach.song.breaths.detect_breaths`,
    which all read the same frames.

    Parameters
    ----------
    vocal : np.ndarray
        Mono signal, float, shape (n,).
    sr : int
        Sample rate, Hz.
    hop_s : float
        Frame step, seconds.

    Returns
    -------
    FrameFeatures
    """
    return _frame_features(_check(vocal, sr), sr=sr, hop_s=hop_s)


def _frame_features(vocal: np.ndarray, *, sr: int, hop_s: float) -> FrameFeatures:
    hop_length = max(1, int(round(hop_s * sr)))
    frame_length = int(round(FRAME_S * sr))
    lag_lo = max(1, int(sr / F0_MAX_HZ))
    lag_hi = min(frame_length - 2, int(np.ceil(sr / F0_MIN_HZ)))
    # Zero-padded past frame + longest lag, so the autocorrelation is linear, not circular.
    n_fft = 1 << int(np.ceil(np.log2(frame_length + lag_hi + 1)))
    window = np.hanning(frame_length).astype(np.float32)
    frames = _frames(vocal, frame_length=frame_length, hop_length=hop_length)
    n_frames = len(frames)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    top = min(6000.0, 0.45 * sr)
    band = (freqs >= 500.0) & (freqs <= top)
    mid = (freqs >= 500.0) & (freqs < 4000.0)
    high = (freqs >= 4000.0) & (freqs <= 0.48 * sr)
    above_hum = (freqs >= 300.0).astype(np.float32)
    edges = np.geomspace(BANDS_LOW_HZ, min(BANDS_HIGH_HZ, 0.48 * sr), N_BANDS + 1)
    # Bin-to-band summing matrix (n_bins, n_bands); a band narrower than a bin keeps its nearest bin.
    band_of_bin = np.zeros((len(freqs), N_BANDS), np.float32)
    for k in range(N_BANDS):
        inside = (freqs >= edges[k]) & (freqs < edges[k + 1])
        if not inside.any():
            inside = np.abs(freqs - np.sqrt(edges[k] * edges[k + 1])) == np.min(np.abs(freqs - np.sqrt(edges[k] * edges[k + 1])))
        band_of_bin[inside, k] = 1.0
    # Autocorrelation of the window itself, to undo the taper's bias toward short lags.
    win_ac = scipy.fft.irfft(np.abs(scipy.fft.rfft(window, n_fft)) ** 2)[: lag_hi + 1]
    win_ac = win_ac / win_ac[0]
    norm = np.sum(window**2)

    level = np.empty(n_frames)
    band_db = np.empty(n_frames)
    high_ratio = np.empty(n_frames)
    flatness = np.empty(n_frames)
    periodicity = np.empty(n_frames)
    bands_db = np.empty((n_frames, N_BANDS))
    band_flatness = np.empty((n_frames, N_BANDS))
    bins_per_band = band_of_bin.sum(axis=0)
    chunk = 2048
    for a in range(0, n_frames, chunk):
        block = frames[a : a + chunk].astype(np.float32) * window
        spec = scipy.fft.rfft(block, n_fft, axis=1)
        power = spec.real**2 + spec.imag**2
        # Parseval over a one-sided spectrum (every bin but DC and Nyquist counts twice):
        # the mean square of the frame, weighted by the window.
        total = 2 * power.sum(axis=1, dtype=np.float64) - power[:, 0] - power[:, -1]
        level[a : a + chunk] = 10 * np.log10(total / (n_fft * norm) + 1e-12)
        band_power = power[:, band]
        summed = power @ band_of_bin
        bands_db[a : a + chunk] = 10 * np.log10(2 * summed / (n_fft * norm) + 1e-12)
        mean_log10 = (np.log10(power + 1e-20) @ band_of_bin) / bins_per_band
        band_flatness[a : a + chunk] = 10 * (mean_log10 - np.log10(summed / bins_per_band + 1e-20))
        band_db[a : a + chunk] = 10 * np.log10(2 * band_power.sum(axis=1) / (n_fft * norm) + 1e-12)
        high_ratio[a : a + chunk] = 10 * np.log10((power[:, high].sum(axis=1) + 1e-12) / (power[:, mid].sum(axis=1) + 1e-12))
        flatness[a : a + chunk] = np.exp(np.mean(np.log(band_power + 1e-20), axis=1)) / (band_power.mean(axis=1) + 1e-20)
        # Periodicity from 300 Hz up: mains hum and rumble (periodic, under every breath)
        # live below it, while even a low voice has most harmonics above it.
        ac = scipy.fft.irfft(power * above_hum, n_fft, axis=1)[:, : lag_hi + 1]
        r0 = ac[:, :1]
        nacf = ac[:, lag_lo : lag_hi + 1] / (r0 + 1e-20) / win_ac[lag_lo : lag_hi + 1]
        periodicity[a : a + chunk] = np.where(r0[:, 0] > 1e-10, np.clip(nacf.max(axis=1), 0.0, 1.0), 0.0)
    level = np.maximum(level, FLOOR_DB)
    band_db = np.maximum(band_db, FLOOR_DB)
    times = np.arange(n_frames) * hop_length / sr
    bands_db = np.maximum(bands_db, FLOOR_DB)
    return FrameFeatures(sr, hop_length, times, level, band_db, high_ratio, flatness, periodicity, bands_db, edges, band_flatness)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index pairs of the True runs of a boolean array."""
    if len(mask) == 0:
        return []
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def _close_gaps(mask: np.ndarray, max_gap: int) -> np.ndarray:
    """Fill False runs of at most ``max_gap`` frames that lie between True frames."""
    out = mask.copy()
    runs = _runs(~mask)
    for a, b in runs:
        if a > 0 and b < len(mask) and b - a <= max_gap:
            out[a:b] = True
    return out


def sung_threshold_db(features: FrameFeatures) -> float:
    """Level a voiced frame must reach to count as singing, dBFS.

    The threshold sits 35 dB under the loud end of the signal (95th percentile), or a third
    of the way from the noise floor (10th percentile) to that loud end, whichever is higher:
    the second term keeps accompaniment leaking into a separated vocal (periodic, but quieter
    than the voice) out of the vocal activity.
    """
    level = features.level_db
    if len(level) == 0:
        return 0.0
    loud = float(np.percentile(level, 95))
    floor = float(np.percentile(level, 10))
    return max(loud - 35.0, floor + (loud - floor) / 3.0)


def voiced_mask(features: FrameFeatures) -> np.ndarray:
    """Frames that are sung: periodic and loud enough (see :func:`sung_threshold_db`)."""
    threshold = sung_threshold_db(features)
    voiced = (features.periodicity >= VOICED_PERIODICITY) & (features.level_db >= threshold)
    # Single periodic frames inside noise are chance peaks of the autocorrelation.
    isolated = voiced & ~np.roll(voiced, 1) & ~np.roll(voiced, -1)
    return voiced & ~isolated


def vocal_activity(vocal: np.ndarray, *, sr: int, min_gap_s: float = 0.25, min_span_s: float = 0.1,
                   features: Optional[FrameFeatures] = None) -> list[list[float]]:
    """Where the singer sings: spans of voiced, loud-enough frames.

    Parameters
    ----------
    vocal : np.ndarray
        Mono vocal signal, shape (n,).
    sr : int
        Sample rate, Hz.
    min_gap_s : float
        Silences shorter than this (consonants, stops, short rests) do not split a span, s.
    min_span_s : float
        Spans shorter than this are dropped, s.
    features : FrameFeatures, optional
        Precomputed :func:`frame_features` of ``vocal`` (saves recomputing them).

    Returns
    -------
    list of [start_s, end_s]
        Sorted, non-overlapping spans in seconds. Periodic accompaniment leaking into a
        separated vocal stays out as long as it is well under the voice (see
        :func:`sung_threshold_db`).
    """
    features = features or frame_features(vocal, sr=sr)
    hop_s = features.hop_length / features.sr
    active = _close_gaps(voiced_mask(features), int(round(min_gap_s / hop_s)))
    spans = []
    for a, b in _runs(active):
        if (b - a) * hop_s >= min_span_s:
            spans.append([round(a * hop_s, 3), round(b * hop_s, 3)])
    return spans


def sung_reference_db(features: FrameFeatures, words: Optional[Sequence[Word]] = None) -> float:
    """Median level of the sung frames, dBFS: inside words when given, else voiced frames."""
    level = features.level_db
    if words:
        inside = np.zeros(len(level), bool)
        for w in words:
            inside[features.index(w.start) : features.index(w.end) + 1] = True
        mask = inside & (level > FLOOR_DB + 1)
    else:
        mask = voiced_mask(features)
    if not mask.any():
        mask = level > FLOOR_DB + 1
    return float(np.median(level[mask])) if mask.any() else FLOOR_DB


def loudness_contour(vocal: np.ndarray, *, sr: int, rate: float = 50.0,
                     features: Optional[FrameFeatures] = None) -> Loudness:
    """Vocal level over time, for the song map and the plot.

    Parameters
    ----------
    vocal : np.ndarray
        Mono vocal signal, shape (n,).
    sr : int
        Sample rate, Hz.
    rate : float
        Frames per second of the contour (at least 20).
    features : FrameFeatures, optional
        Precomputed :func:`frame_features` of ``vocal``; used for the sung reference.

    Returns
    -------
    Loudness
        ``values``: RMS level of consecutive ``1/rate`` s frames, dBFS (floor −120);
        ``reference_db``: median level of the sung frames, dBFS.
    """
    vocal = _check(vocal, sr)
    if rate < 20.0:
        raise LipcoachError(None, f"loudness rate must be at least 20 frames/s, got {rate}")
    n = max(1, int(round(sr / rate)))
    values = np.maximum(frame_levels_db(vocal, sr=sr, frame_s=n / sr), FLOOR_DB)
    features = features or frame_features(vocal, sr=sr)
    reference = sung_reference_db(features)
    return Loudness(rate=float(sr / n), values=[round(float(v), 2) for v in values], reference_db=round(reference, 2))


def vocal_onsets(vocal: np.ndarray, *, sr: int, features: Optional[FrameFeatures] = None) -> list[float]:
    """Times where the voice starts a new note or syllable, s.

    Spectral-flux onsets (librosa) of the vocal, kept only where singing follows within
    100 ms, so onsets of leaking accompaniment and of breaths are dropped.

    Parameters
    ----------
    vocal : np.ndarray
        Mono vocal signal, shape (n,).
    sr : int
        Sample rate, Hz.
    features : FrameFeatures, optional
        Precomputed :func:`frame_features` of ``vocal``.

    Returns
    -------
    list of float
        Sorted onset times, s.
    """
    import librosa

    vocal = _check(vocal, sr)
    features = features or frame_features(vocal, sr=sr)
    if len(vocal) < features.hop_length * 4:
        return []
    hop = features.hop_length
    envelope = librosa.onset.onset_strength(y=vocal, sr=sr, hop_length=hop, n_fft=1 << int(np.ceil(np.log2(0.032 * sr))))
    frames = librosa.onset.onset_detect(onset_envelope=envelope, sr=sr, hop_length=hop, backtrack=False, units="frames")
    voiced = voiced_mask(features)
    reach = int(round(0.1 * sr / hop))
    keep = []
    for f in frames:
        if voiced[f : f + reach + 1].any():
            keep.append(round(float(f * hop / sr), 3))
    # Span starts are onsets too, even when the flux peak is weak (soft attacks).
    for start, _ in vocal_activity(vocal, sr=sr, features=features):
        if not keep or min(abs(start - k) for k in keep) > 0.05:
            keep.append(round(start, 3))
    return sorted(keep)


def _f0_of_frames(frames: np.ndarray, *, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Fundamental (Hz) and periodicity (0..1) of windowed frames by normalised autocorrelation.

    The chosen lag is the shortest one whose autocorrelation is within 10 % of the best peak
    (the classic guard against sub-octave errors), refined by parabolic interpolation.
    """
    frame_length = frames.shape[1]
    window = np.hanning(frame_length)
    lag_lo = max(2, int(sr / F0_MAX_HZ))
    lag_hi = min(frame_length - 2, int(np.ceil(sr / F0_MIN_HZ)))
    n_fft = 1 << int(np.ceil(np.log2(frame_length + lag_hi + 2)))  # linear autocorrelation up to lag_hi
    win_ac = scipy.fft.irfft(np.abs(scipy.fft.rfft(window, n_fft)) ** 2)[: lag_hi + 2]
    win_ac /= win_ac[0]
    spec = scipy.fft.rfft((frames * window).astype(np.float32), n_fft, axis=1)
    ac = scipy.fft.irfft((spec.real**2 + spec.imag**2).astype(np.complex64), n_fft, axis=1)[:, : lag_hi + 2].astype(np.float64)
    nacf = ac / (ac[:, :1] + 1e-20) / win_ac
    seg = nacf[:, lag_lo : lag_hi + 1]
    peak = np.zeros_like(seg, dtype=bool)
    peak[:, 1:-1] = (seg[:, 1:-1] > seg[:, :-2]) & (seg[:, 1:-1] >= seg[:, 2:])
    best = np.where(peak, seg, -np.inf).max(axis=1)
    ok = np.isfinite(best) & (best > 0)
    chosen = peak & (seg >= 0.9 * best[:, None])
    k = np.argmax(chosen, axis=1)
    rows = np.arange(len(seg))
    k = np.clip(k, 1, seg.shape[1] - 2)
    a, b, c = seg[rows, k - 1], seg[rows, k], seg[rows, k + 1]
    denom = a - 2 * b + c
    shift = np.where(denom < 0, 0.5 * (a - c) / np.where(denom < 0, denom, -1.0), 0.0)
    f0 = np.where(ok, sr / (lag_lo + k + shift), np.nan)
    strength = np.where(ok, np.minimum(1.0, b), 0.0)
    return f0, strength


def word_pitches(vocal: np.ndarray, *, sr: int, words: Sequence[Word]) -> list[Optional[float]]:
    """Median sung pitch of every word, as a MIDI note number (fractional).

    Only the frames inside each word are analysed (autocorrelation pitch, 70–1000 Hz,
    40 ms windows every 10 ms), so a 3-minute song costs well under a second.

    Parameters
    ----------
    vocal : np.ndarray
        Mono vocal signal, shape (n,).
    sr : int
        Sample rate, Hz.
    words : sequence of Word
        Words with ``start`` and ``end`` in seconds.

    Returns
    -------
    list of float or None
        One entry per word: the median MIDI pitch of its clearly periodic frames
        (periodicity ≥ 0.6), or None when the word has fewer than 3 such frames.
    """
    vocal = _check(vocal, sr)
    hop = max(1, int(round(HOP_S * sr)))
    frame_length = int(round(FRAME_S * sr))
    padded = np.pad(vocal, (frame_length // 2, frame_length // 2))
    # All words' frames go through one batched autocorrelation.
    owner, starts = [], []
    for k, w in enumerate(words):
        a = int(max(0, w.start) * sr)
        b = int(min(len(vocal), max(w.end, w.start) * sr))
        s = np.arange(a, max(a, b - 1), hop)
        starts.append(s)
        owner.append(np.full(len(s), k))
    all_starts = np.concatenate(starts) if starts else np.zeros(0, int)
    all_owner = np.concatenate(owner) if owner else np.zeros(0, int)
    f0 = np.full(len(all_starts), np.nan)
    strength = np.zeros(len(all_starts))
    energy = np.zeros(len(all_starts))
    for c in range(0, len(all_starts), 4096):
        idx = all_starts[c : c + 4096, None] + np.arange(frame_length)[None, :]
        frames = padded[idx].astype(np.float64)
        energy[c : c + 4096] = np.mean(frames**2, axis=1)
        f0[c : c + 4096], strength[c : c + 4096] = _f0_of_frames(frames, sr=sr)
    out: list[Optional[float]] = []
    for k in range(len(words)):
        mine = all_owner == k
        if mine.sum() < 3:
            out.append(None)
            continue
        e, f, st = energy[mine], f0[mine], strength[mine]
        good = (st >= 0.6) & (e >= e.max() * 10 ** (-30 / 10)) & np.isfinite(f)
        if good.sum() < 3:
            out.append(None)
            continue
        out.append(float(np.median(69.0 + 12.0 * np.log2(f[good] / 440.0))))
    return out
