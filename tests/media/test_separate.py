"""The vocal guide: a centred, non-repeating voice comes out of a louder, panned, looping band."""

from __future__ import annotations

import numpy as np
import pytest

from lipcoach.errors import LipcoachError
from lipcoach.media import separate
from lipcoach.media.separate import centre_mask, similar_frames, vocal_guide

SR = 16000


def _voice(duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """A sung-like line: random melody notes with vibrato, ten harmonics, short rests."""
    n = int(duration_s * SR)
    t = np.arange(n) / SR
    note_s = 0.45
    notes = 57 + rng.integers(0, 12, size=int(duration_s / note_s) + 1)
    midi = np.repeat(notes, int(note_s * SR))[:n] + 0.35 * np.sin(2 * np.pi * 5.5 * t)
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voice = sum(np.sin(k * phase) / k for k in range(1, 11))
    gate = (np.floor(t / 2.0) % 2 == 0) | (t % 2.0 < 1.6)  # a rest now and then, like phrases
    envelope = np.convolve(gate.astype(float), np.hanning(801) / np.hanning(801).sum(), mode="same")
    return (0.1 * voice * envelope).astype(np.float32)


def _band(duration_s: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A one-bar loop, wide-panned: chord left, hi-hat noise right, bass left of centre."""
    bar = int(1.0 * SR)
    t = np.arange(bar) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0, 523.3)) * np.exp(-2.0 * t)
    hats = np.zeros(bar)
    for k in range(8):
        i = k * bar // 8
        hats[i : i + 800] += rng.standard_normal(800) * np.exp(-np.arange(800) / 120.0)
    bass = np.sin(2 * np.pi * 110.0 * t) * (t % 0.5 < 0.3)
    reps = int(np.ceil(duration_s))
    n = int(duration_s * SR)
    chord, hats, bass = (np.tile(x, reps)[:n] for x in (chord, hats, bass))
    # About twice the voice's level: the mix alone correlates poorly with the voice.
    left = 0.4 * chord + 0.04 * hats + 0.36 * bass
    right = 0.06 * chord + 0.3 * hats + 0.12 * bass
    return left.astype(np.float32), right.astype(np.float32)


@pytest.fixture(scope="module")
def scene():
    rng = np.random.default_rng(11)
    voice = _voice(12.0, rng)
    left, right = _band(12.0, rng)
    return voice, np.vstack([voice + left, voice + right])


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def test_stereo_guide_is_much_closer_to_the_voice_than_the_mix(scene):
    voice, stereo = scene
    mix_r = _corr(stereo.mean(axis=0), voice)
    guide = vocal_guide(stereo, sr=SR)
    assert guide.shape == voice.shape and guide.dtype == np.float32
    guide_r = _corr(guide, voice)
    assert mix_r < 0.6
    assert guide_r > mix_r + 0.25, (mix_r, guide_r)


def test_mono_input_falls_back_to_repetition_and_still_helps(scene):
    voice, stereo = scene
    mono = stereo.mean(axis=0)
    guide = vocal_guide(mono, sr=SR)
    assert guide.shape == mono.shape
    assert _corr(guide, voice) > _corr(mono, voice) + 0.1


def test_band_outside_the_voice_is_removed(scene):
    _, stereo = scene
    guide = vocal_guide(stereo, sr=SR)
    spectrum = np.abs(np.fft.rfft(guide)) ** 2
    freqs = np.fft.rfftfreq(len(guide), 1 / SR)
    rumble = np.sum(spectrum[freqs < 50]) / np.sum(spectrum)
    assert rumble < 1e-3


def test_any_length_and_rate_keeps_the_input_length():
    rng = np.random.default_rng(0)
    for sr, n in ((16000, 7001), (44100, 44100 * 3 + 17), (16000, 300)):
        x = (0.1 * rng.standard_normal((2, n))).astype(np.float32)
        assert vocal_guide(x, sr=sr).shape == (n,)


def test_dual_mono_is_not_passed_through_whole():
    rng = np.random.default_rng(1)
    voice = _voice(8.0, rng)
    left, _ = _band(8.0, rng)
    mono = voice + left
    # Identical channels carry no panning information: the guide must equal the mono guide.
    np.testing.assert_allclose(vocal_guide(np.vstack([mono, mono]), sr=SR), vocal_guide(mono, sr=SR), atol=1e-6)


def test_centre_mask_keeps_centre_and_drops_panned_and_antiphase_bins():
    left = np.array([[1.0 + 1.0j, 1.0, 1.0, 1.0]], dtype=np.complex64)
    right = np.array([[1.0 + 1.0j, 0.0, -1.0, 0.5]], dtype=np.complex64)
    mask = centre_mask(left, right, power=1.0)[0]
    np.testing.assert_allclose(mask, [1.0, 0.0, 0.0, 0.8], atol=1e-6)


def test_similar_frames_finds_the_repeats_outside_the_excluded_lag():
    period, n = 10, 60
    phase = 2 * np.pi * (np.arange(n) % period) / period
    features = np.vstack([np.cos(phase), np.sin(phase), np.ones(n)])
    idx = similar_frames(features, n_neighbours=2, min_lag=5, max_lag=30, block=16)
    lags = np.abs(idx - np.arange(n)[:, None])
    assert idx.shape == (n, 2)
    assert np.all(lags >= 5) and np.all(lags <= 30)
    assert np.all(lags % period == 0)


def test_bad_input_is_a_clear_error():
    with pytest.raises(LipcoachError, match="mono .* or stereo"):
        vocal_guide(np.zeros((3, 1000), np.float32), sr=SR)
    with pytest.raises(LipcoachError, match="no audio samples"):
        vocal_guide(np.zeros((2, 0), np.float32), sr=SR)
    with pytest.raises(LipcoachError, match="unknown separation method 'demucs'"):
        vocal_guide(np.zeros(1000, np.float32), sr=SR, method="demucs")
    with pytest.raises(LipcoachError, match="sample rate"):
        vocal_guide(np.zeros(1000, np.float32), sr=0)


def test_non_finite_samples_do_not_poison_the_guide():
    x = np.zeros((2, SR), np.float32)
    x[:, 100] = np.nan
    x[:, 200] = np.inf
    assert np.all(np.isfinite(vocal_guide(x, sr=SR)))


def test_spleeter_separates_in_the_default_install(scene):
    voice, stereo = scene
    n = 4 * SR
    guide = vocal_guide(stereo[:, :n], sr=SR, method="spleeter")
    assert guide.shape == (n,)
    assert _corr(guide, voice[:n]) > _corr(stereo[:, :n].mean(axis=0), voice[:n]) + 0.1


def test_methods_listed():
    assert separate.METHODS == ("classical", "spleeter")


def test_long_input_processed_in_blocks_gives_the_same_guide(scene):
    _, stereo = scene
    whole = separate.classical_guide(stereo, sr=SR, block_s=1e9)
    in_blocks = separate.classical_guide(stereo, sr=SR, block_s=3.0)
    np.testing.assert_allclose(in_blocks, whole, atol=1e-5 * np.abs(whole).max())
