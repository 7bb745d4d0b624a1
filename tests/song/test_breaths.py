"""Breath detection on the synthetic singer, on generated fricatives and room noise, and on real speech."""

import numpy as np
import pytest

from lipcoach.evaluate import breaths as breath_eval
from lipcoach.song.breaths import detect_breaths
from lipcoach.song.songmap import Line, Word

SR = 16000


@pytest.fixture(scope="module")
def song():
    from lipcoach.song.synthetic import make_song

    return make_song(n_lines=4, seed=11, tempo_bpm=120.0, entrance_offsets_ms=[0.0, -60.0, 50.0, 0.0])


def words_and_lines(song):
    words = [Word(text=w.text, start=w.start, end=w.end, line=w.line) for w in song.words]
    lines = [Line(text=t, start=a, end=b) for t, (a, b) in zip(song.line_texts, song.line_spans())]
    return words, lines


def intervals(breaths):
    return [[b.start, b.end] for b in breaths]


def test_every_breath_of_the_synthetic_singer_is_found_with_its_level_and_line(song):
    words, lines = words_and_lines(song)
    found = detect_breaths(song.vocals, sr=song.sr, words=words, lines=lines)
    truth = intervals(song.breaths)
    scores = breath_eval.evaluate(truth, intervals(found))
    assert scores["f1"] == 1.0
    assert scores["onset_mae_s"] < 0.03 and scores["offset_mae_s"] < 0.08
    for r, e in breath_eval.match(truth, intervals(found)):
        assert found[e].level_db == pytest.approx(song.breaths[r].level_db, abs=2.0)
        assert found[e].before_line == song.breaths[r].before_line
        assert found[e].audible
        assert found[e].kind == ("catch" if found[e].end - found[e].start < 0.35 else "full")


def test_breaths_are_found_without_lyrics_and_in_the_mix(song):
    for signal in (song.vocals, song.mix):
        found = detect_breaths(signal, sr=song.sr)
        assert breath_eval.evaluate(intervals(song.breaths), intervals(found))["f1"] >= 0.85


def test_quiet_breaths_under_leaking_accompaniment_are_still_found():
    from lipcoach.song.synthetic import make_song

    quiet = make_song(n_lines=3, seed=4, breath_levels_db=(-38.0, -30.0), accompaniment_db=-20.0)
    words, lines = words_and_lines(quiet)
    found = detect_breaths(quiet.mix, sr=quiet.sr, words=words, lines=lines)
    assert breath_eval.evaluate(intervals(quiet.breaths), intervals(found))["f1"] == 1.0


def voiced(seconds, f0=160.0, amplitude=0.2):
    t = np.arange(int(seconds * SR)) / SR
    note = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8))
    return (amplitude * note / np.abs(note).max()).astype(np.float32)


def hiss(seconds, rng, low=4500.0, high=7500.0, amplitude=0.05):
    from scipy.signal import butter, sosfilt

    sos = butter(4, [low, high], btype="bandpass", fs=SR, output="sos")
    return (amplitude * sosfilt(sos, rng.standard_normal(int(seconds * SR))) * 4).astype(np.float32)


def test_an_s_glued_to_a_vowel_is_not_a_breath():
    rng = np.random.default_rng(1)
    room = (1e-4 * rng.standard_normal(int(4.0 * SR))).astype(np.float32)
    y = room.copy()
    # "yes ... yes": vowel, then /s/ straight after it, a short rest, and again.
    for start in (0.5, 2.0):
        v = voiced(0.5)
        s = hiss(0.18, rng)
        a = int(start * SR)
        y[a : a + len(v)] += v
        y[a + len(v) : a + len(v) + len(s)] += s
    assert detect_breaths(y, sr=SR, infer_silent=False) == []


def test_inferred_inhalations_are_marked_inaudible_and_can_be_turned_off():
    rng = np.random.default_rng(2)
    # Room noise 40 dB under the voice, two phrases with a 1 s rest and no audible breath.
    y = (0.002 * rng.standard_normal(int(4.0 * SR))).astype(np.float32)
    y[int(0.5 * SR) : int(1.5 * SR)] += voiced(1.0)
    y[int(2.5 * SR) : int(3.5 * SR)] += voiced(1.0)
    found = detect_breaths(y, sr=SR)
    before_second = [b for b in found if 1.5 < b.start and b.end <= 2.5]
    assert len(before_second) == 1 and not before_second[0].audible
    assert 2.3 < before_second[0].end <= 2.5
    assert [b for b in detect_breaths(y, sr=SR, infer_silent=False) if 1.5 < b.start < 2.5] == []


def test_digital_silence_holds_no_breath():
    y = np.zeros(int(4.0 * SR), np.float32)
    y[int(0.5 * SR) : int(1.5 * SR)] += voiced(1.0)
    y[int(2.5 * SR) : int(3.5 * SR)] += voiced(1.0)
    assert detect_breaths(y, sr=SR) == []


def test_audible_flag_follows_the_accompaniment_level(song):
    words, lines = words_and_lines(song)
    loud_band = detect_breaths(song.vocals, sr=song.sr, words=words, lines=lines, accompaniment_level_db=0.0)
    assert loud_band and not any(b.audible for b in loud_band)


def test_real_speech_breaths_are_found(shared_data):
    from lipcoach.media.decode import load_audio

    folder = shared_data / "breaths" / "libritts_test_clean"
    hits = n_ref = n_est = 0
    for wav in sorted(folder.glob("*.wav")):
        audio, sr = load_audio(wav, sr=16000)
        ref = np.loadtxt(wav.with_suffix(".breaths.tsv"), skiprows=1, usecols=(0, 1), ndmin=2).tolist()
        scores = breath_eval.evaluate(ref, intervals(detect_breaths(audio, sr=sr)))
        hits, n_ref, n_est = hits + scores["true_positives"], n_ref + scores["n_reference"], n_est + scores["n_estimated"]
    # Measured 12 of 14 found with 2 false alarms (F1 0.86); see docs/benchmarks.md.
    assert hits / n_ref >= 0.8 and hits / n_est >= 0.8


# -- evaluate.breaths ----------------------------------------------------------------------

def test_evaluation_matches_by_overlap_one_to_one():
    ref = [[1.0, 1.5], [3.0, 3.3]]
    est = [[1.1, 1.6], [1.2, 1.4], [5.0, 5.4]]
    scores = breath_eval.evaluate(ref, est)
    assert scores["true_positives"] == 1
    assert scores["precision"] == pytest.approx(1 / 3) and scores["recall"] == pytest.approx(0.5)
    assert scores["onset_mae_s"] == pytest.approx(0.1)


def test_evaluation_iou_threshold_and_empty_cases():
    assert breath_eval.evaluate([[0.0, 1.0]], [[0.85, 1.85]])["f1"] == 0.0  # IoU 0.08
    assert breath_eval.evaluate([[0.0, 1.0]], [[0.6, 1.6]])["f1"] == 1.0  # IoU 0.25
    assert breath_eval.evaluate([], [])["f1"] == 1.0
    assert breath_eval.evaluate([[0.0, 1.0]], [])["recall"] == 0.0
    with pytest.raises(ValueError):
        breath_eval.evaluate([[1.0, 0.5]], [])


def test_evaluation_also_reports_the_onset_rule():
    scores = breath_eval.evaluate([[1.0, 2.0], [4.0, 4.3]], [[1.15, 1.3], [4.5, 4.8]])
    assert scores["f1"] == 0.0  # IoU 0.15 and 0: no overlap match
    assert scores["onset_true_positives"] == 1 and scores["onset_f1"] == pytest.approx(0.5)


def test_a_silent_vocal_has_no_breaths_even_with_lyrics():
    y = np.zeros(3 * SR, np.float32)
    assert detect_breaths(y, sr=SR, words=[Word(text="la", start=1.0, end=2.0, line=0)], lines=[Line(text="la", start=1.0, end=2.0)]) == []
