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


def backbeat_song(tempo_bpm, seconds, *, first_s=0.3, seed=0):
    """Kick on 1 and 3 alike, snare on 2 and 4, the bass root on every beat, a chord held per bar,
    a melody note per beat.

    Only the harmonic rhythm (the chord changes on 1, not on 3) tells beat 1 from beat 3.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    y = (1e-3 * rng.standard_normal(n)).astype(np.float32)
    beat_s = 60.0 / tempo_bpm
    beats = np.arange(first_s, seconds - 0.2, beat_s)
    t = np.arange(int(0.15 * SR)) / SR
    kick = np.sin(2 * np.pi * np.cumsum(50 + 100 * np.exp(-t / 0.03)) / SR) * np.exp(-t / 0.07)
    # A snare has a drum-head body near 190 Hz besides its wires' noise.
    snare = rng.standard_normal(len(t)) * np.exp(-t / 0.04) * 0.5 + np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.03)
    roots = [110.0, 87.3, 98.0, 73.4]

    def add(sound, at_s, gain):
        i = int(round(at_s * SR))
        y[i : i + len(sound)] += (gain * sound)[: n - i].astype(np.float32)

    for k, b in enumerate(beats):
        add(kick if k % 2 == 0 else snare, b, 0.6)
        root = roots[(k // 4) % 4]
        tone = np.arange(int(0.9 * beat_s * SR)) / SR
        add(np.sin(2 * np.pi * root * tone) * np.exp(-tone / 0.3), b, 0.3)  # bass: the root on every beat
        melody = root * 4 * rng.choice([1.0, 1.26, 1.5, 2.0])  # a chord tone, a new one each beat
        add(np.sin(2 * np.pi * melody * tone) * np.minimum(1, tone / 0.02), b + 0.01, 0.2)
        if k % 4 == 0:
            bar = np.arange(int(4 * beat_s * SR)) / SR
            add(sum(np.sin(2 * np.pi * root * r * bar) for r in (2.0, 2.52, 3.0)), b, 0.04)
    return y, beats, beats[::4]


@pytest.mark.parametrize("tempo, seed", [(84.0, 5), (96.0, 6), (126.0, 3)])
def test_downbeats_follow_the_chord_changes_not_the_kick(tempo, seed):
    # Kick on 1 and 3 alike: a detector that counts low onsets takes beat 3 for beat 1 half the
    # time, and every entrance is then named two beats off ("the and of 4" for "the and of 2").
    y, _, downbeats = backbeat_song(tempo, 24.0, seed=seed)
    _, est_beats, est_down = rhythm.beat_grid(y, sr=SR)
    assert np.median(np.diff(est_down)) == pytest.approx(4 * 60.0 / tempo, rel=0.02)
    assert np.mean([min(abs(np.array(downbeats) - d)) < 0.03 for d in est_down]) >= 0.9
    second_bar_and_of_2 = downbeats[1] + 1.5 * 60.0 / tempo
    assert rhythm.place_entrance(second_bar_and_of_2, beats_s=est_beats, downbeats_s=est_down, subdivision="eighth").slot == "and of 2"


def test_beat_grid_of_silence_or_a_blip_is_empty():
    assert rhythm.beat_grid(np.zeros(SR // 2, np.float32), sr=SR) == (0.0, [], [])
    assert rhythm.beat_grid(np.zeros(5 * SR, np.float32), sr=SR) == (0.0, [], [])


def test_refine_onset_finds_the_voice_start_from_a_rough_guess():
    y = np.zeros(2 * SR, np.float32)
    t = np.arange(int(0.4 * SR)) / SR
    y[int(1.0 * SR) : int(1.4 * SR)] = 0.3 * np.sin(2 * np.pi * 200 * t) * np.minimum(1.0, t / 0.005)
    for guess in (0.95, 1.05, 1.0):
        assert rhythm.refine_onset(y, sr=SR, onset_s=guess) == pytest.approx(1.0, abs=0.005)


def test_refine_onset_is_not_taken_in_by_hits_around_the_voice():
    rng = np.random.default_rng(0)
    y = (1e-3 * rng.standard_normal(2 * SR)).astype(np.float32)
    t = np.arange(int(0.5 * SR)) / SR
    voice = sum(np.sin(2 * np.pi * 180 * k * t) / k for k in range(1, 8)) * np.minimum(1.0, t / 0.01)
    y[int(1.0 * SR) : int(1.5 * SR)] += (0.1 * voice).astype(np.float32)
    hit = np.arange(int(0.03 * SR)) / SR
    for at_s in (0.92, 1.08, 1.16):  # hi-hat-like hits, each louder than the voice at its peak
        burst = rng.standard_normal(len(hit)) * np.exp(-hit / 0.006)
        y[int(at_s * SR) : int(at_s * SR) + len(hit)] += (0.4 * burst).astype(np.float32)
    for guess in (0.95, 1.05, 1.1):
        assert rhythm.refine_onset(y, sr=SR, onset_s=guess) == pytest.approx(1.0, abs=0.01)


def _lines_at(onsets):
    lines = [Line(text=str(k), start=o, end=o + 0.3) for k, o in enumerate(onsets)]
    words = [Word(text="w", start=o, end=o + 0.3, line=k) for k, o in enumerate(onsets)]
    return lines, words


BEATS_120 = list(np.arange(0.0, 20.0, 0.5))  # 120 bpm, a bar every 2 s from 0 s
DOWNBEATS_120 = BEATS_120[::4]


def test_a_song_on_the_beat_is_measured_against_beats():
    # Lines on 1 and 3, pushed and laid back: the beat grid explains them; 120 ms early on 1
    # stays early against 1, never "on" the "a" of the beat before it.
    onsets = [2.0 - 0.12, 3.0 + 0.03, 4.0 + 0.01, 5.0 + 0.06, 6.0 - 0.02, 8.0, 9.0 + 0.015, 10.0 - 0.01]
    got = rhythm.line_entrances(*_lines_at(onsets), beats=BEATS_120, downbeats=DOWNBEATS_120)
    assert {e.subdivision for e in got} == {"beat"}
    assert [e.slot for e in got] == ["1", "3", "1", "3", "1", "1", "3", "1"]
    assert [e.bar for e in got] == [2, 2, 3, 3, 4, 5, 5, 6]
    assert got[0].slot_time == pytest.approx(2.0) and got[0].offset_ms == pytest.approx(-120.0) and got[0].label == "early"
    assert got[3].offset_ms == pytest.approx(60.0) and got[3].label == "late"
    assert [e.label for e in got[1:3]] == ["on", "on"]
    assert got[0].describe() == "beat 1, 120 ms early"


def test_a_singer_on_the_and_is_on_time_not_late():
    # Every line comes in on an "and": against the nearest beat each would read "late +250 ms".
    onsets = [2.0 + 1.25 + 0.01, 4.0 + 0.25 - 0.02, 6.0 + 1.75, 8.0 + 0.75 + 0.03, 10.0 + 1.25]
    got = rhythm.line_entrances(*_lines_at(onsets), beats=BEATS_120, downbeats=DOWNBEATS_120)
    assert {e.subdivision for e in got} == {"eighth"}
    assert [e.slot for e in got] == ["and of 3", "and of 1", "and of 4", "and of 2", "and of 3"]
    assert all(e.label == "on" for e in got)
    assert got[0].slot_time == pytest.approx(3.25) and got[0].beat_time == pytest.approx(3.0) and got[0].offset_ms == pytest.approx(10.0)
    assert got[2].describe() == "on the and of 4"


def test_sixteenths_and_triplets_are_named_as_counted():
    sixteenths = [2.125, 2.5 + 0.375, 4.0, 5.125 + 0.01, 7.5 + 0.375 - 0.015, 8.25]
    got = rhythm.line_entrances(*_lines_at(sixteenths), beats=BEATS_120, downbeats=DOWNBEATS_120)
    assert got[0].subdivision == "sixteenth"
    assert [e.slot for e in got] == ["e of 1", "a of 2", "1", "e of 3", "a of 4", "and of 1"]
    triplets = [2.0 + 0.5 / 3, 3.0 + 1.0 / 3, 4.5, 6.0 + 0.5 / 3 + 0.02, 7.5 + 1.0 / 3]
    got = rhythm.line_entrances(*_lines_at(triplets), beats=BEATS_120, downbeats=DOWNBEATS_120)
    assert got[0].subdivision == "triplet"
    assert [e.slot for e in got] == ["trip of 1", "let of 3", "2", "trip of 1", "let of 4"]
    assert got[3].offset_ms == pytest.approx(20.0, abs=0.1)


def test_one_stray_entrance_does_not_change_the_grid():
    onsets = [2.0, 3.0 + 0.02, 4.0 - 0.03, 5.0, 6.0 + 0.01, 7.0, 8.0 - 0.01, 9.3]
    assert rhythm.choose_subdivision(onsets, BEATS_120) == "beat"
    assert rhythm.choose_subdivision([], BEATS_120) == "beat"


def test_pick_up_before_the_first_downbeat_is_bar_zero():
    beats = list(np.arange(1.0, 20.0, 0.5))
    downbeats = beats[2::4]  # the song starts on beat 3 of a pick-up bar
    got = rhythm.place_entrance(1.75, beats_s=beats, downbeats_s=downbeats, subdivision="eighth")
    assert (got.bar, got.slot) == (0, "and of 4")
    got = rhythm.place_entrance(0.5, beats_s=beats, downbeats_s=downbeats, subdivision="beat")
    assert (got.bar, got.slot, got.slot_time) == (0, "2", pytest.approx(0.5))


def test_entrances_of_the_synthetic_singer_are_within_20_ms():
    from lipcoach.testing.synthetic_song import make_song

    song = make_song(n_lines=4, seed=5, tempo_bpm=108.0, entrance_offsets_ms=[-90.0, 0.0, 60.0, -60.0])
    rng = np.random.default_rng(0)
    # The aligner's word onsets are ±50 ms off; the vocal puts them right.
    words = [Word(text=w.text, start=w.start + rng.uniform(-0.05, 0.05), end=w.end, line=w.line) for w in song.words]
    lines = [Line(text=t, start=a, end=b) for t, (a, b) in zip(song.line_texts, song.line_spans())]
    _, beats, downbeats = rhythm.beat_grid(song.mix, sr=song.sr)
    got = rhythm.line_entrances(lines, words, beats=beats, downbeats=downbeats, vocal=song.vocals, sr=song.sr)
    est = entrance_eval.from_entrances(got)
    scores = entrance_eval.evaluate(song.line_beats, song.entrance_offsets_ms, est["slots_s"], est["offsets_ms"], est["labels"],
                                    reference_slot_names=["1"] * 4, estimated_slot_names=est["slot_names"])
    assert scores["slot_accuracy"] == 1.0 and scores["slot_name_accuracy"] == 1.0
    assert scores["max_abs_error_ms"] <= 20.0
    assert scores["label_accuracy"] == 1.0


def test_entrance_evaluation_scores_the_maps_own_slot():
    ref_slots, ref_offsets = [2.0, 3.25, 5.0, 6.0], [-100.0, 0.0, 60.0, 10.0]
    # Line 2: right slot, 10 ms off; line 3: the map put it on the next "and" (wrong slot,
    # even though slot + offset is the same onset); line 4: no entrance.
    est_slots, est_offsets = [2.0, 3.25, 5.25, None], [-90.0, 10.0, -190.0, None]
    scores = entrance_eval.evaluate(ref_slots, ref_offsets, est_slots, est_offsets, ["early", "on", "early", None],
                                    reference_slot_names=["1", "and of 2", "1", "3"], estimated_slot_names=["1", "and of 2", "and of 1", None])
    assert scores["slot_accuracy"] == pytest.approx(0.5) and scores["n_slot_right"] == 2
    assert scores["mean_abs_error_ms"] == pytest.approx(10.0) and scores["within_20ms"] == 1.0
    assert scores["label_accuracy"] == pytest.approx(0.5)  # early, on right; early (truth late), missing wrong
    assert scores["slot_name_accuracy"] == pytest.approx(0.5)
    assert scores["n_missing"] == 1
    # Labels come from the offsets when the estimate gives none.
    assert entrance_eval.evaluate([1.0], [-50.0], [1.0], [-45.0])["label_accuracy"] == 1.0
    assert entrance_eval.label(-ENTRANCE_ON_TOLERANCE_MS) == "on"
    with pytest.raises(ValueError):
        entrance_eval.evaluate([0.0], [0.0], [0.0, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError):
        entrance_eval.evaluate([], [], [], [])


def test_grid_scores():
    ref = np.arange(0.0, 10.0, 0.5)
    scores = entrance_eval.grid_scores(ref, ref + 0.01, 120.0, 121.0)
    assert scores["beat_f_measure"] == 1.0 and scores["tempo_error_bpm"] == pytest.approx(1.0) and scores["tempo_octave_ok"] == 1.0
    scores = entrance_eval.grid_scores(ref, ref + 0.25, 120.0, 60.0)
    assert scores["beat_f_measure"] == 0.0 and scores["tempo_octave_ok"] == 1.0 and scores["tempo_error_ratio"] == pytest.approx(0.5)
    assert scores["tempo_right"] == 0.0  # half the tempo is an octave of it, not the tempo
    assert entrance_eval.grid_scores(ref, ref, 120.0, 121.0)["tempo_right"] == 1.0


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


def slow_backbeat(tempo_bpm=72.0, seconds=40.0, seed=0):
    """A slow rock groove: kick on 1 and 3, snare on 2 and 4, a ride on every eighth (the
    eighths are what make a beat tracker count the song at twice its tempo)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    y = (1e-3 * rng.standard_normal(n)).astype(np.float32)
    beat_s = 60.0 / tempo_bpm
    beats = np.arange(0.5, seconds - 0.5, beat_s)
    t = np.arange(int(0.2 * SR)) / SR
    kick = np.sin(2 * np.pi * np.cumsum(50 + 100 * np.exp(-t / 0.03)) / SR) * np.exp(-t / 0.07)
    snare = 0.5 * rng.standard_normal(len(t)) * np.exp(-t / 0.05) + 0.4 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.03)
    ride = (0.3 * rng.standard_normal(len(t)) + 0.1 * sum(np.sin(2 * np.pi * f * t) for f in (3200, 4700, 6100))) * np.exp(-t / 0.15)

    def add(sound, at_s, gain):
        i = int(round(at_s * SR))
        m = min(len(sound), n - i)
        if m > 0:
            y[i : i + m] += gain * sound[:m]

    for k, b in enumerate(beats):
        add(kick if k % 2 == 0 else snare, b, 0.8)
        add(ride, b, 0.2)
        add(ride, b + beat_s / 2, 0.2)
    return y, beats


def test_a_slow_backbeat_is_counted_at_its_own_tempo_not_twice_it():
    y, beats = slow_backbeat(72.0)
    tempo, est_beats, _ = rhythm.beat_grid(y, sr=SR)
    assert tempo == pytest.approx(72.0, rel=0.03)  # the tracker alone says 144
    err = [np.min(np.abs(np.asarray(est_beats) - b)) for b in beats[2:-2]]
    assert np.median(err) < 0.02


def test_a_fast_backbeat_keeps_its_tempo():
    """Kick and snare on alternate beats is a backbeat at the tracked tempo: never halved."""
    y, beats = slow_backbeat(144.0)
    tempo, _, _ = rhythm.beat_grid(y, sr=SR)
    assert tempo == pytest.approx(144.0, rel=0.03)
