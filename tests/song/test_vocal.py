"""Vocal features: loudness contour, vocal activity, onsets and per-word pitch on generated signals."""

import numpy as np
import scipy.stats
import pytest

from lipcoach.errors import LipcoachError
from lipcoach.song import vocal
from lipcoach.song.songmap import Word

SR = 16000


def sung_note(seconds: float, f0: float, *, amplitude: float = 0.2, sr: int = SR) -> np.ndarray:
    """A voice-like note: six decaying harmonics with a 10 ms fade in and out."""
    t = np.arange(int(seconds * sr)) / sr
    note = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 7))
    fade = np.minimum(1.0, np.minimum(t / 0.01, (t[-1] - t) / 0.01))
    return (amplitude * note / np.abs(note).max() * fade).astype(np.float32)


def phrase_signal(spans, *, f0s=None, leak_db=None, seconds=6.0, seed=0):
    """Notes at ``spans`` (s) over a faint noise floor, optionally over a steady periodic leak."""
    rng = np.random.default_rng(seed)
    y = (1e-4 * rng.standard_normal(int(seconds * SR))).astype(np.float32)
    for k, (a, b) in enumerate(spans):
        note = sung_note(b - a, (f0s or [220.0] * len(spans))[k])
        y[int(a * SR) : int(a * SR) + len(note)] += note
    if leak_db is not None:
        t = np.arange(len(y)) / SR
        y += (0.2 * 10 ** (leak_db / 20) * np.sin(2 * np.pi * 110 * t)).astype(np.float32)
    return y


def test_loudness_contour_reports_dbfs_at_the_requested_rate():
    y = sung_note(2.0, 220.0, amplitude=0.1)
    contour = vocal.loudness_contour(y, sr=SR, rate=50.0)
    assert contour.rate == pytest.approx(50.0)
    assert len(contour.values) == 100
    rms_db = 10 * np.log10(np.mean(y[2000:-2000].astype(np.float64) ** 2))
    assert np.median(contour.values) == pytest.approx(rms_db, abs=1.0)
    assert contour.reference_db == pytest.approx(rms_db, abs=1.5)


def test_loudness_contour_refuses_a_rate_under_20_per_second():
    with pytest.raises(LipcoachError, match="20 frames/s"):
        vocal.loudness_contour(np.zeros(SR, np.float32), sr=SR, rate=10.0)


@pytest.mark.parametrize("bad", [np.zeros((2, 100), np.float32), np.array([0.0, np.nan, 0.0], np.float32)])
def test_bad_signals_raise_one_clear_error(bad):
    with pytest.raises(LipcoachError):
        vocal.vocal_activity(bad, sr=SR)


def test_vocal_activity_finds_the_sung_spans_and_ignores_quiet_periodic_leakage():
    spans = [(0.5, 1.7), (2.6, 3.4), (4.2, 5.5)]
    y = phrase_signal(spans, leak_db=-22.0)
    found = vocal.vocal_activity(y, sr=SR)
    assert len(found) == 3
    for (a, b), (fa, fb) in zip(spans, found):
        assert abs(fa - a) < 0.05 and abs(fb - b) < 0.05


def test_vocal_onsets_start_every_phrase():
    spans = [(0.5, 1.7), (2.6, 3.4), (4.2, 5.5)]
    onsets = vocal.vocal_onsets(phrase_signal(spans), sr=SR)
    for a, _ in spans:
        assert min(abs(o - a) for o in onsets) < 0.03
    # No onsets in the rests.
    assert not [o for o in onsets if 1.8 < o < 2.5 or 3.5 < o < 4.1]


def test_word_pitches_are_the_sung_notes_in_midi_without_octave_errors():
    spans = [(0.3, 0.8), (1.0, 1.6), (2.0, 2.4), (3.0, 3.5)]
    f0s = [98.0, 220.0, 330.0, 523.25]  # G2, A3, E4, C5
    y = phrase_signal(spans, f0s=f0s)
    words = [Word(text=f"w{k}", start=a, end=b, line=0) for k, (a, b) in enumerate(spans)]
    words.append(Word(text="silent", start=4.0, end=4.5, line=0))
    pitches = vocal.word_pitches(y, sr=SR, words=words)
    expected = [69 + 12 * np.log2(f / 440.0) for f in f0s]
    for got, want in zip(pitches[:4], expected):
        assert got == pytest.approx(want, abs=0.3)
    assert pitches[4] is None


def test_word_pitches_follow_the_synthetic_singers_melody(short_song):
    """Each word is sung on a known note of the melody (eSpeak pitch units): the measured pitches
    rank the words as the melody does, words on one note agree, and every step up is heard."""
    words = [Word(text=w.text, start=w.start, end=w.end, line=w.line) for w in short_song.words]
    pitches = vocal.word_pitches(short_song.vocals, sr=short_song.sr, words=words)
    sung = [(w.espeak_pitch, p) for w, p in zip(short_song.words, pitches) if p is not None]
    assert len(sung) >= 0.8 * len(words)
    notes = np.array([n for n, _ in sung], float)
    midi = np.array([p for _, p in sung], float)
    assert scipy.stats.spearmanr(notes, midi).statistic >= 0.95
    by_note = {n: midi[notes == n] for n in sorted(set(notes))}
    assert all(np.ptp(values) <= 0.3 for values in by_note.values())  # one note, one pitch (semitones)
    means = [float(np.mean(v)) for v in by_note.values()]
    assert all(b - a >= 0.2 for a, b in zip(means, means[1:]))  # a higher note is measured higher
    assert all(36 <= p <= 64 for p in midi)  # eSpeak's male voice sings between roughly C2 and C4
