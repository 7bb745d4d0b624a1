"""Rubber Band stretching, clicks and cues: what a user hears in a slowed practice track."""

from __future__ import annotations

import numpy as np
import pytest

from lipcoach.errors import LipcoachError
from lipcoach.media import stretch

SR = 16000


def _dominant_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spec)])


def _click_train(period_s: float, n: int, sr: int) -> np.ndarray:
    x = np.zeros(int((n + 1) * period_s * sr), np.float32)
    c = stretch.click(sr=sr)
    for k in range(n):
        i = int(round((k + 0.5) * period_s * sr))
        x[i : i + len(c)] += c
    return x


def _onsets(x: np.ndarray, sr: int, thresh: float = 0.3) -> np.ndarray:
    env = np.abs(x)
    above = np.flatnonzero(env > thresh * env.max())
    starts = above[np.insert(np.diff(above) > int(0.1 * sr), 0, True)]
    return starts / sr


def test_slower_keeps_pitch_and_lasts_longer():
    t = np.arange(3 * SR) / SR
    x = (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    y = stretch.time_stretch(x, sr=SR, speed=0.5, quality="fast")
    assert len(y) == 2 * len(x)
    assert abs(_dominant_hz(y[SR : 5 * SR], SR) - 440.0) < 3.0


def test_beats_land_at_original_time_over_speed():
    x = _click_train(0.5, 8, SR)
    y = stretch.time_stretch(x, sr=SR, speed=0.75, quality="high")
    got = _onsets(y, SR)
    want = (np.arange(8) + 0.5) * 0.5 / 0.75
    assert len(got) == 8
    # Rubber Band keeps transients within a few ms of input_time / speed.
    assert np.max(np.abs(got - want)) < 0.02


def test_stereo_shape_is_kept():
    x = np.random.default_rng(0).standard_normal((2, SR)).astype(np.float32) * 0.1
    y = stretch.time_stretch(x, sr=SR, speed=0.8, quality="fast")
    assert y.shape == (2, int(round(SR / 0.8)))


def test_parallel_pieces_join_without_a_dropout():
    # Steady partials with random phases plus noise: a misaligned seam between the pieces
    # stretched in separate processes shows as a deep dip of the level where they meet.
    rng = np.random.default_rng(1)
    t = np.arange(int(44 * SR)) / SR
    x = sum(0.05 * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in (220, 277, 330, 440, 554, 660, 880))
    x = (x + 0.02 * rng.standard_normal(len(t))).astype(np.float32)
    y = stretch.time_stretch(x, sr=SR, speed=0.8, quality="balanced", n_jobs=2)
    assert len(y) == int(round(len(x) / 0.8))
    hop = int(0.02 * SR)
    body = y[SR : len(y) - SR]
    rms = np.sqrt((body[: len(body) // hop * hop].reshape(-1, hop) ** 2).mean(axis=1))
    level_db = 20 * np.log10(rms / np.median(rms))
    assert level_db.min() > -3.0


def test_parallel_pieces_keep_the_beat():
    x = _click_train(0.5, 60, SR)  # 30.5 s: long enough to be split
    y = stretch.time_stretch(x, sr=SR, speed=0.75, quality="balanced", n_jobs=2)
    got = _onsets(y, SR)
    want = (np.arange(60) + 0.5) * 0.5 / 0.75
    assert len(got) == 60
    assert np.max(np.abs(got - want)) < 0.045


@pytest.mark.parametrize("speed", [0.2, 2.5, float("nan")])
def test_speed_out_of_range_is_one_clear_error(speed):
    with pytest.raises(LipcoachError, match="speed"):
        stretch.time_stretch(np.zeros(SR, np.float32), sr=SR, speed=speed)


def test_unknown_quality_is_refused():
    with pytest.raises(LipcoachError, match="quality"):
        stretch.time_stretch(np.zeros(SR, np.float32), sr=SR, speed=0.5, quality="ultra")


def test_mix_at_places_sounds_at_their_times_and_clips_at_the_end():
    track = np.zeros((2, SR), np.float32)
    tick = stretch.breath_tick(sr=SR)
    stretch.mix_at(track, tick, [0.25, 0.99], sr=SR, gain_db=-20.0)
    first = np.flatnonzero(np.abs(track[0]) > 0)[0]
    assert abs(first / SR - 0.25) < 0.002
    assert np.abs(track).max() == pytest.approx(0.1, rel=0.05)


def test_accented_click_is_higher():
    hi, lo = stretch.click(sr=SR, accent=True), stretch.click(sr=SR)
    assert _dominant_hz(hi, SR) > _dominant_hz(lo, SR) + 500
