"""Beat grid and line entrances on generated click tracks and on the synthetic singer."""

import numpy as np
import pytest

from lipcoach.evaluate import entrances as entrance_eval
from lipcoach.song import rhythm
from lipcoach.song.songmap import ENTRANCE_ON_TOLERANCE_MS, Line, Word

SR = 16000


def click_track(tempo_bpm, seconds, *, meter=4, first_s=0.5, seed=0):
    """Clicks on every beat (a bass thump on every downbeat), chord change every bar, room noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    y = (1e-3 * rng.standard_normal(n)).astype(np.float32)
    beat_s = 60.0 / tempo_bpm
    beats = np.arange(first_s, seconds - 0.2, beat_s)
    t_click = np.arange(int(0.03 * SR)) / SR
    click = np.sin(2 * np.pi * 1800 * t_click) * np.exp(-t_click / 0.006)
    t_kick = np.arange(int(0.15 * SR)) / SR
    kick = np.sin(2 * np.pi * 60 * t_kick) * np.exp(-t_kick / 0.05)
    roots = [220.0, 174.6, 196.0, 146.8]
    for k, b in enumerate(beats):
        i = int(round(b * SR))
        y[i : i + len(click)] += (0.3 * click)[: n - i]
        if k % meter == 0:
            y[i : i + len(kick)] += (0.6 * kick)[: n - i]
            bar = np.arange(min(int(meter * beat_s * SR), n - i)) / SR
            root = roots[(k // meter) % 4]
            y[i : i + len(bar)] += (0.05 * (np.sin(2 * np.pi * root * bar) + np.sin(2 * np.pi * root * 1.26 * bar))).astype(np.float32)
    return y, beats, beats[::meter]


@pytest.mark.parametrize("tempo", [90.0, 128.0])
def test_beat_grid_finds_tempo_beats_and_downbeats_of_a_click_track(tempo):
    y, beats, downbeats = click_track(tempo, 20.0)
    est_tempo, est_beats, est_down = rhythm.beat_grid(y, sr=SR)
    assert est_tempo == pytest.approx(tempo, rel=0.01)
    errors = [min(abs(np.array(est_beats) - b)) for b in beats[1:-1]]
    assert np.mean(errors) < 0.005 and np.max(errors) < 0.02
    hits = [min(abs(np.array(est_down) - d)) < 0.02 for d in downbeats[1:-1]]
    assert np.mean(hits) == 1.0


def test_beat_grid_hears_three_four_time():
    y, _, downbeats = click_track(100.0, 24.0, meter=3)
    _, est_beats, est_down = rhythm.beat_grid(y, sr=SR)
    assert np.median(np.diff(est_down)) == pytest.approx(3 * 60.0 / 100.0, rel=0.02)
    assert np.mean([min(abs(np.array(est_down) - d)) < 0.02 for d in downbeats[1:-1]]) == 1.0


def test_beat_grid_of_silence_or_a_blip_is_empty():
    assert rhythm.beat_grid(np.zeros(SR // 2, np.float32), sr=SR) == (0.0, [], [])
    assert rhythm.beat_grid(np.zeros(5 * SR, np.float32), sr=SR) == (0.0, [], [])


def test_refine_onset_finds_the_voice_start_from_a_rough_guess():
    y = np.zeros(2 * SR, np.float32)
    t = np.arange(int(0.4 * SR)) / SR
    y[int(1.0 * SR) : int(1.4 * SR)] = 0.3 * np.sin(2 * np.pi * 200 * t) * np.minimum(1.0, t / 0.005)
    for guess in (0.95, 1.05, 1.0):
        assert rhythm.refine_onset(y, sr=SR, onset_s=guess) == pytest.approx(1.0, abs=0.005)


def test_entrances_against_beats_and_off_beats():
    beats = list(np.arange(0.0, 10.0, 0.5))  # 120 bpm
    lines = [Line(text=str(k), start=0.0, end=0.0) for k in range(4)]
    onsets = [2.0 - 0.12, 3.0 + 0.03, 4.25 + 0.01, 5.0 + 0.09]
    words = [Word(text="w", start=o, end=o + 0.3, line=k) for k, o in enumerate(onsets)]
    got = rhythm.line_entrances(lines, words, beats=beats)
    # 120 ms early stays early against its beat (never "on" the previous off-beat) ...
    assert got[0].beat_time == pytest.approx(2.0) and got[0].offset_ms == pytest.approx(-120.0) and got[0].label == "early"
    assert got[1].label == "on"
    # ... and a line written on the "and" is measured against the off-beat.
    assert got[2].beat_time == pytest.approx(4.25) and got[2].offset_ms == pytest.approx(10.0) and got[2].label == "on"
    assert got[3].offset_ms == pytest.approx(90.0) and got[3].label == "late"


def test_entrances_of_the_synthetic_singer_are_within_20_ms():
    from lipcoach.testing.synthetic_song import make_song

    song = make_song(n_lines=4, seed=5, tempo_bpm=108.0, entrance_offsets_ms=[-120.0, 0.0, 60.0, -60.0])
    _, beats, _ = rhythm.beat_grid(song.mix, sr=song.sr)
    rng = np.random.default_rng(0)
    # The aligner's word onsets are ±50 ms off; the vocal puts them right.
    words = [Word(text=w.text, start=w.start + rng.uniform(-0.05, 0.05), end=w.end, line=w.line) for w in song.words]
    lines = [Line(text=t, start=a, end=b) for t, (a, b) in zip(song.line_texts, song.line_spans())]
    got = rhythm.line_entrances(lines, words, beats=beats, vocal=song.vocals, sr=song.sr)
    scores = entrance_eval.evaluate(song.entrance_offsets_ms, [e.offset_ms for e in got])
    assert scores["max_abs_error_ms"] <= 20.0
    assert scores["label_accuracy"] == 1.0
    for entrance, beat in zip(got, song.line_beats):
        assert entrance.beat_time == pytest.approx(beat, abs=0.02)


def test_entrance_evaluation():
    scores = entrance_eval.evaluate([-100.0, 0.0, 60.0], [-90.0, 50.0, None])
    assert scores["mean_abs_error_ms"] == pytest.approx(30.0)
    assert scores["label_accuracy"] == pytest.approx(1 / 3)
    assert scores["n_missing"] == 1 and scores["within_20ms"] == pytest.approx(1 / 3)
    assert entrance_eval.label(-ENTRANCE_ON_TOLERANCE_MS) == "on"
    with pytest.raises(ValueError):
        entrance_eval.evaluate([0.0], [0.0, 1.0])


def test_beats_never_fall_outside_the_song():
    """A click track whose first hit is at 0 s: no beat may be extrapolated before the start."""
    from lipcoach.song.rhythm import beat_grid

    sr = 16000
    audio = np.zeros(sr * 12, np.float32)
    for start in np.arange(0.0, 12.0, 0.5):
        i = int(start * sr)
        audio[i : i + 200] += np.hanning(200).astype(np.float32)
    tempo, beats, downbeats = beat_grid(audio, sr=sr)
    assert beats and min(beats) >= 0.0 and max(beats) <= 12.0
    assert abs(tempo - 120.0) < 1.0
