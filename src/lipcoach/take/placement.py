"""Placement: where in the song a take starts (``song_start_s`` = song time at take time 0).

With scratch sound (the playback heard in the room, as PluralEyes / Resolve waveform sync):

1. **coarse** — GCC-PHAT between multi-band onset envelopes (log-compressed spectral flux in
   8 log-spaced bands, 10 ms hop) of the take and of the song, over every possible start. Whitening
   (PHAT) keeps the sharp onsets and discards the room's colouring; onset envelopes ignore
   steady noise. Confidence compares the best peak with the best one at least 0.5 s away.
2. **fine** — GCC-PHAT between the waveforms themselves (16 kHz), cross-spectrum averaged
   over 0.5 s blocks (Welch) before the phase transform, in a ±60 ms window around the
   coarse answer, with parabolic interpolation: sample precision (:func:`fine_lag`).

Without sound the mouth is matched against the vocal level over the whole song
(:func:`place_by_mouth`); that placement absorbs any constant performer offset.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from lipcoach.take.signals import smooth

#: Audio rate used for placement, Hz.
PLACEMENT_SR = 16000
#: Hop of the onset envelopes, samples at PLACEMENT_SR (10 ms).
ENVELOPE_HOP = 160
#: The waveform stage refines the coarse placement only when its peak stands this many
#: standard deviations over the whole correlation. Measured on take_accuracy.py's room
#: recordings: 32–48 when the scratch sound is the song's own recording through a room,
#: 4–5 when it is a different rendering of the song (where the "refinement" moved the
#: answer by 40–65 ms).
FINE_MIN_PROMINENCE = 10.0


@dataclasses.dataclass
class Placement:
    """Where the take sits in the song.

    Attributes
    ----------
    song_start_s : float
        Song time at take time 0, s (negative when the take starts before the song).
    confidence : float
        0..1.
    method : str
        ``"scratch_sound"``, ``"mouth"`` or ``"given"``.
    alternatives : list of float
        Other plausible ``song_start_s`` values (s) when the sound repeats in the song.
    """

    song_start_s: float
    confidence: float
    method: str
    alternatives: list = dataclasses.field(default_factory=list)


def _frames_spectrum(audio: np.ndarray, *, n_fft: int, hop_length: int) -> np.ndarray:
    """Power spectrum of Hann-windowed frames, shape (n_fft // 2 + 1, n_frames); frame i centred on i·hop."""
    x = np.pad(np.asarray(audio, dtype=np.float32), (n_fft // 2, n_fft // 2))
    n_frames = 1 + max(0, (x.size - n_fft) // hop_length)
    spec = np.empty((n_fft // 2 + 1, n_frames), dtype=np.float32)
    win = np.hanning(n_fft).astype(np.float32)
    offsets = np.arange(n_fft)[None, :]
    step = 1024  # frames per block: memory bounded whatever the length (a whole index matrix
    # of a 2-minute take, 12000 × 640 int64, was the 84 MB step in the memory trace)
    for i in range(0, n_frames, step):
        idx = offsets + hop_length * np.arange(i, min(i + step, n_frames))[:, None]
        spec[:, i:i + step] = (np.abs(np.fft.rfft(x[idx] * win, axis=1)) ** 2).T
    return spec


def band_matrix(*, sr: int, n_fft: int, n_bands: int, fmin: float = 80.0, fmax: float = 7600.0) -> np.ndarray:
    """Triangular bands evenly spaced on a log-frequency axis, shape (n_bands, n_fft // 2 + 1)."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    edges = np.geomspace(fmin, min(fmax, sr / 2), n_bands + 2)
    fb = np.zeros((n_bands, freqs.size), dtype=np.float32)
    for b in range(n_bands):
        lo, mid, hi = edges[b], edges[b + 1], edges[b + 2]
        fb[b] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0.0, None)
    return fb


def onset_envelope(audio: np.ndarray, *, sr: int = PLACEMENT_SR, hop_length: int = ENVELOPE_HOP,
                   n_bands: int = 8) -> np.ndarray:
    """Multi-band onset strength (half-wave rectified log spectral flux), shape (n_bands, n_frames).

    Parameters
    ----------
    audio : np.ndarray
        Mono audio at ``sr`` Hz.
    hop_length : int
        Samples between frames (frame i is centred at ``i * hop_length``).
    n_bands : int
        Log-spaced bands between 80 Hz and 7.6 kHz.
    """
    n_fft = 4 * hop_length
    power = _frames_spectrum(audio, n_fft=n_fft, hop_length=hop_length)
    bands = band_matrix(sr=sr, n_fft=n_fft, n_bands=n_bands) @ power
    # Floor 50 dB under each band's mean: digital silence must not make giant jumps that
    # a real room (never silent) cannot reproduce.
    logm = np.log(bands + 1e-5 * bands.mean(axis=1, keepdims=True) + 1e-12)
    return np.maximum(np.diff(logm, axis=1, prepend=logm[:, :1]), 0.0)


def placement_envelope(audio: np.ndarray, *, sr: int = PLACEMENT_SR) -> np.ndarray:
    """The onset envelope :func:`place_by_sound` matches (10 ms hop), shape (n_bands, n_frames)."""
    return onset_envelope(audio, sr=sr, hop_length=ENVELOPE_HOP * sr // PLACEMENT_SR)


def gcc_phat(a: np.ndarray, b: np.ndarray, *, n_fft: Optional[int] = None) -> np.ndarray:
    """Generalised cross-correlation with phase transform of two 1-D or band×time signals.

    Returns the circular correlation ``c[k]`` (summed over bands), large where ``a[t + k]``
    matches ``b[t]``; index ``k`` wraps (negative lags at the end).
    """
    a2 = np.atleast_2d(a)
    b2 = np.atleast_2d(b)
    n = n_fft or int(2 ** np.ceil(np.log2(a2.shape[-1] + b2.shape[-1])))
    A = np.fft.rfft(a2 - a2.mean(axis=-1, keepdims=True), n)
    B = np.fft.rfft(b2 - b2.mean(axis=-1, keepdims=True), n)
    X = A * np.conj(B)
    X /= np.abs(X) + 1e-9 * np.abs(X).max()
    return np.fft.irfft(X.sum(axis=0), n)


def place_by_sound(take_audio: np.ndarray, song_audio: np.ndarray, *, sr: int = PLACEMENT_SR,
                   take_audio_start_s: float = 0.0, n_alternatives: int = 4,
                   song_envelope: Optional[np.ndarray] = None) -> Placement:
    """Find the take's scratch sound in the song audio.

    Parameters
    ----------
    take_audio, song_audio : np.ndarray
        Mono audio at ``sr`` Hz.
    take_audio_start_s : float
        Take time of the first take audio sample, s.
    n_alternatives : int
        Most runner-up placements returned (peaks ≥ 80 % of the best, ≥ 0.5 s apart) when
        the best is not unique: repeated choruses, or the same words said the same way.
    song_envelope : np.ndarray, optional
        ``placement_envelope(song_audio, sr=sr)`` when already computed (it depends on the
        song alone, so a scorer can make it while the take is still being tracked).

    Returns
    -------
    Placement
    """
    hop = ENVELOPE_HOP * sr // PLACEMENT_SR
    et = placement_envelope(take_audio, sr=sr)
    es = placement_envelope(song_audio, sr=sr) if song_envelope is None else song_envelope
    n = int(2 ** np.ceil(np.log2(es.shape[1] + et.shape[1])))
    c = gcc_phat(es, et, n_fft=n)  # c[k]: song[t + k] ~ take[t]
    lags = np.arange(n)
    lags = np.where(lags > n // 2, lags - n, lags)
    # Only lags where the take and the song overlap by at least half of the shorter one:
    # a take that mostly runs outside the song is not a take of it.
    need = int(0.5 * min(et.shape[1], es.shape[1]))
    ok = (lags > -et.shape[1] + need) & (lags < es.shape[1] - need)
    c = np.where(ok, c, -np.inf)
    k = int(np.argmax(c))
    best = float(c[k])
    far = np.abs(lags - lags[k]) > int(0.5 * sr / hop)
    second = float(np.max(np.where(far & ok, c, -np.inf))) if np.any(far & ok) else 0.0
    coarse = int(lags[k]) * hop  # samples: song sample = take sample + coarse
    # Between envelope frames (used as is when the waveforms share no fine structure).
    y = c[np.array([k - 1, k, k + 1]) % n]
    den = y[0] - 2 * y[1] + y[2]
    frac = float(np.clip(0.5 * (y[0] - y[2]) / den, -0.5, 0.5)) if np.all(np.isfinite(y)) and den < 0 else 0.0

    correction = fine_lag(take_audio, song_audio, coarse=coarse, sr=sr)
    fine = coarse + (correction if correction is not None else frac * hop)
    song_start_s = fine / sr - take_audio_start_s
    ratio = best / max(second, 1e-9) if second > 0 else 10.0
    # A unique peak (twice the runner-up) is a sure placement; a chorus repeated note for note is not.
    confidence = float(np.clip((ratio - 1.0) / 1.0, 0.0, 1.0))
    alternatives = []
    if confidence < 1.0:
        # Other peaks within 80 % of the best: the caller may choose among them with the mouth.
        masked = c.copy()
        for _ in range(n_alternatives):
            masked[np.abs(lags - lags[int(np.argmax(masked))]) <= int(0.5 * sr / hop)] = -np.inf
            j = int(np.argmax(masked))
            if not np.isfinite(masked[j]) or masked[j] < 0.8 * best:
                break
            alt = int(lags[j]) * hop
            alternatives.append(float((alt + (fine_lag(take_audio, song_audio, coarse=alt, sr=sr) or 0.0)) / sr
                                      - take_audio_start_s))
    return Placement(song_start_s=float(song_start_s), confidence=confidence, method="scratch_sound",
                     alternatives=alternatives)


def fine_lag(take_audio: np.ndarray, song_audio: np.ndarray, *, coarse: int, sr: int = PLACEMENT_SR,
             max_s: float = 60.0, search_s: float = 0.06) -> float:
    """Refine a placement with Welch-averaged GCC-PHAT on the waveforms.

    Averaging the cross-spectrum over 0.5 s blocks before the phase transform keeps what is
    common to the whole take (the playback) and averages away what is not (someone singing
    along, crew talk); a single whole-take PHAT can lock onto such an interferer.

    Parameters
    ----------
    coarse : int
        Song sample matching take sample 0, from the coarse stage.
    search_s : float
        Half-width of the refinement window, s.

    Returns
    -------
    float or None
        Correction to ``coarse``, samples (fractional); 0.0 when the take is too short to
        refine; None when the waveforms share no fine structure (see :data:`FINE_MIN_PROMINENCE`).
    """
    t0 = max(0, -coarse)
    n = min(take_audio.size - t0, song_audio.size - (coarse + t0), int(max_s * sr))
    if n < sr // 2:
        return 0.0
    s = song_audio[coarse + t0: coarse + t0 + n].astype(np.float64)
    t = take_audio[t0: t0 + n].astype(np.float64)
    nper = int(min(8192, 2 ** np.floor(np.log2(max(n // 2, 256)))))
    hop = nper // 4
    win = np.hanning(nper)
    cross = np.zeros(nper // 2 + 1, dtype=complex)
    for i in range(0, n - nper + 1, hop):
        cross += np.conj(np.fft.rfft(s[i:i + nper] * win)) * np.fft.rfft(t[i:i + nper] * win)
    cross = cross / (np.abs(cross) + 1e-12)
    c = np.fft.irfft(cross, nper)
    w = min(int(search_s * sr), nper // 2 - 2)
    cand = np.r_[0:w + 1, nper - w:nper]
    j = int(cand[np.argmax(c[cand])])
    if c[j] < FINE_MIN_PROMINENCE * np.std(c):
        # No sample-level match: the scratch sound is another recording of the song (another
        # rendering, the actor singing), so the waveforms share no fine structure to align.
        return None
    y = c[np.array([j - 1, j, j + 1]) % nper]
    den = y[0] - 2 * y[1] + y[2]
    frac = float(np.clip(0.5 * (y[0] - y[2]) / den, -0.5, 0.5)) if den < 0 else 0.0
    lag = (j if j < nper // 2 else j - nper) + frac
    # c peaks at k where take[i + k] ~ song_segment[i]: the song sample is coarse - k.
    return -lag


def place_by_mouth(mouth: np.ndarray, valid: np.ndarray, vocal: np.ndarray, *, grid_rate_hz: int = 100,
                   start_grid_s: float = 0.0, visemes: Optional[np.ndarray] = None) -> Placement:
    """Find where a silent take's mouth best follows the vocal level, anywhere in the song.

    Parameters
    ----------
    mouth : np.ndarray
        Mouth signal on the grid, sample 0 at take time ``start_grid_s``.
    valid : np.ndarray of bool
    vocal : np.ndarray
        Vocal level of the whole song on the same grid rate, sample 0 at song time 0.
    visemes : np.ndarray, optional
        Expected opening from the lyrics (:func:`lipcoach.take.sync.viseme_signal`) on the
        same grid: its derivative joins the match (it does not depend on the singer's voice,
        and its closures pin the place where a rhythm alone repeats).

    Returns
    -------
    Placement
        ``song_start_s`` such that the mouth best follows the vocal (before the visual-lead
        correction applied by :mod:`lipcoach.take.sync`).
    """
    m = np.where(valid, mouth - mouth[valid].mean() if valid.any() else 0.0, 0.0)
    dm = np.gradient(m) * valid
    dv = np.gradient(smooth(vocal))
    n = int(2 ** np.ceil(np.log2(vocal.size + m.size)))

    def xcorr(x_song, x_take):
        x_song = x_song - x_song.mean()
        return np.fft.irfft(np.fft.rfft(x_song, n) * np.conj(np.fft.rfft(x_take, n)), n)

    # Normalise by the song's local energy so loud passages do not win by loudness alone.
    win = np.ones(m.size)
    def local_norm(x):
        x = x - x.mean()
        e = np.fft.irfft(np.fft.rfft(x * x, n) * np.conj(np.fft.rfft(win, n)), n)
        return np.sqrt(np.maximum(e, 1e-9))

    score = xcorr(vocal, m) / local_norm(vocal) / max(np.linalg.norm(m), 1e-9)
    score += xcorr(dv, dm) / local_norm(dv) / max(np.linalg.norm(dm), 1e-9)
    if visemes is not None and np.any(visemes):
        dx = np.gradient(smooth(visemes))
        score += xcorr(dx, dm) / local_norm(dx) / max(np.linalg.norm(dm), 1e-9)
    lags = np.arange(n)
    lags = np.where(lags > n // 2, lags - n, lags)
    ok = (lags > -m.size // 2) & (lags < vocal.size - m.size // 2)
    score = np.where(ok, score, -np.inf)
    k = int(np.argmax(score))
    best = float(score[k])
    far = np.abs(lags - lags[k]) > grid_rate_hz
    second = float(np.max(np.where(far & ok, score, -np.inf))) if np.any(far & ok) else 0.0
    confidence = float(np.clip((best - second) / max(abs(best), 1e-9) * 3.0, 0.0, 1.0))
    return Placement(song_start_s=float(lags[k] / grid_rate_hz - start_grid_s), confidence=confidence, method="mouth")
