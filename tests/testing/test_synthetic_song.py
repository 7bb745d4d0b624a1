import numpy as np

from lipcoach.testing.synthetic_song import frame_levels_db


def test_words_breaths_and_entrances_are_where_the_truth_says(short_song):
    song = short_song
    sr = song.sr
    assert [w.text for w in song.words] == " ".join(song.line_texts).split()
    for word in song.words:
        inside = song.vocals[int(word.start * sr) : int(word.end * sr)]
        before = song.vocals[int((word.start - 0.03) * sr) : int(word.start * sr)]
        assert np.sqrt(np.mean(inside**2)) > 4 * np.sqrt(np.mean(before**2) + 1e-12)
    firsts = [next(w for w in song.words if w.line == i) for i in range(len(song.line_texts))]
    for first, beat, offset in zip(firsts, song.line_beats, song.entrance_offsets_ms):
        assert abs((first.start - beat) * 1000 - offset) < 1.0
    assert len(song.breaths) == len(song.line_texts)
    for breath in song.breaths:
        assert breath.end < next(w.start for w in song.words if w.line == breath.before_line)
        assert -30 < breath.level_db < -14


def test_breath_level_is_measured_against_sung_level(short_song):
    song = short_song
    sr = song.sr
    b = song.breaths[0]
    levels = frame_levels_db(song.vocals[int(b.start * sr) : int(b.end * sr)], sr=sr)
    sung = np.concatenate([frame_levels_db(song.vocals[int(w.start * sr) : int(w.end * sr)], sr=sr) for w in song.words])
    assert abs((np.median(levels) - np.median(sung)) - b.level_db) < 3.0


def test_beats_follow_the_tempo(short_song):
    assert np.allclose(np.diff(short_song.beats), 60.0 / short_song.tempo_bpm)
    assert short_song.downbeats == short_song.beats[::4]
