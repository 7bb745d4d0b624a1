"""Waveform peaks: the outline a player draws of a song (max |sample| per short frame).

The practice page draws the song's waveform under the beat grid from these peaks, so it
needs neither the audio decoded in the browser nor more than a few kilobytes per minute.
"""

from __future__ import annotations

import os

import numpy as np

#: Peaks per second of audio.
PEAKS_PER_S = 100
#: Sample rate the peaks are taken at, Hz (enough for an outline; fast to decode).
PEAKS_SR = 8000


def waveform_peaks(audio: np.ndarray, *, sr: int, peaks_per_s: int = PEAKS_PER_S) -> np.ndarray:
    """Max |x| of each frame of ``sr // peaks_per_s`` samples, normalised so the loudest is 1.

    Parameters
    ----------
    audio : np.ndarray
        Mono signal, shape ``(n_samples,)``.
    sr : int
        Sample rate of ``audio``, Hz.
    peaks_per_s : int
        Frames per second of audio.

    Returns
    -------
    np.ndarray
        One value in 0..1 per whole frame (a trailing part frame is dropped).

    Examples
    --------
    >>> waveform_peaks(np.array([0.0, 0.5, -1.0, 0.25]), sr=4, peaks_per_s=2)
    array([0.5, 1. ])
    """
    hop = max(1, sr // peaks_per_s)
    n_frames = len(audio) // hop
    if n_frames == 0:
        return np.zeros(0)
    frames = np.abs(np.asarray(audio[: n_frames * hop], dtype=float)).reshape(n_frames, hop).max(axis=1)
    return frames / max(float(frames.max()), 1e-6)


def file_peaks(path: str | os.PathLike, *, peaks_per_s: int = PEAKS_PER_S) -> dict:
    """Peaks of an audio file as the page reads them: ``{"rate", "values", "duration_s"}``."""
    from lipcoach.media.decode import load_audio

    audio, sr = load_audio(path, sr=PEAKS_SR)
    values = waveform_peaks(audio, sr=sr, peaks_per_s=peaks_per_s)
    return {"rate": peaks_per_s, "values": [round(float(v), 3) for v in values], "duration_s": len(audio) / sr}
