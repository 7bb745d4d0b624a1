"""Waveform peaks: the outline the practice page draws."""

from __future__ import annotations

import numpy as np
import pytest

from lipcoach.media.peaks import file_peaks, waveform_peaks


def test_peaks_are_max_abs_per_frame_normalised():
    sr = 1000
    x = np.zeros(sr)
    x[5] = -0.5  # frame 0
    x[15] = 0.25  # frame 1
    peaks = waveform_peaks(x, sr=sr, peaks_per_s=100)
    assert len(peaks) == 100
    assert peaks[0] == 1.0 and peaks[1] == 0.5 and peaks[2:].max() == 0.0


def test_silence_and_short_input_do_not_divide_by_zero():
    assert waveform_peaks(np.zeros(5), sr=1000, peaks_per_s=100).tolist() == []
    assert waveform_peaks(np.zeros(100), sr=1000, peaks_per_s=100).tolist() == [0.0] * 10


def test_file_peaks_cover_the_song(short_song, short_song_files):
    data = file_peaks(short_song_files["mix.wav"])
    assert data["rate"] == 100 and max(data["values"]) == 1.0
    assert data["duration_s"] == pytest.approx(short_song.duration, abs=0.01)
    assert len(data["values"]) == pytest.approx(100 * short_song.duration, abs=1)
