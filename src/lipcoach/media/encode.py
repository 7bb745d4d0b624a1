"""Encoding audio into a container stream with PyAV (practice renders, generated test takes)."""

from __future__ import annotations

import fractions

import numpy as np


def mux_audio(container, stream, audio: np.ndarray, *, sr: int, block: int = 1024) -> None:
    """Encode float audio into ``stream`` of the open ``container``, then flush the encoder.

    Parameters
    ----------
    container : av.container.OutputContainer
    stream : av.audio.stream.AudioStream
        Added to ``container`` with ``rate=sr`` and the layout matching ``audio``.
    audio : np.ndarray, float
        Shape ``(n_samples,)`` (mono) or ``(channels, n_samples)`` (1 or 2 channels).
    sr : int
        Sample rate, Hz.
    block : int
        Samples per frame handed to the encoder.
    """
    import av

    planar = np.atleast_2d(np.asarray(audio, dtype=np.float32))[:2]
    layout = "mono" if planar.shape[0] == 1 else "stereo"
    time_base = fractions.Fraction(1, sr)
    for start in range(0, planar.shape[1], block):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar[:, start : start + block]), format="fltp", layout=layout)
        frame.sample_rate = sr
        frame.pts = start
        frame.time_base = time_base
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
