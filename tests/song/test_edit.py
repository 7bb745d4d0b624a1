"""Map edits: a person's word times, applied with the analysis's own rules, never touching the rest."""

from __future__ import annotations

import pytest

from lipcoach.errors import LipcoachError
from lipcoach.song.edit import WordTime, retime_words
from lipcoach.song.rhythm import line_entrances, place_entrance
from lipcoach.production.sample_studio import truth_songmap


@pytest.fixture
def songmap(short_song):
    m = truth_songmap(short_song)
    m.lines[1].aligned = False  # "could not be aligned": the flag an edit elsewhere must keep
    m.lines[1].confidence = 0.3
    return m


def test_moved_word_takes_its_phonemes_and_line_with_it(songmap):
    w = songmap.words[0]
    out = retime_words(songmap, [WordTime(0, w.start - 0.1, w.end)])
    assert out.words[0].start == pytest.approx(w.start - 0.1)
    assert out.words[0].phonemes[0].start == pytest.approx(w.start - 0.1)
    assert out.words[0].phonemes[-1].end == pytest.approx(songmap.words[0].phonemes[-1].end, abs=1e-3)  # the end did not move
    assert out.lines[0].start == pytest.approx(w.start - 0.1)
    assert songmap.words[0].start == pytest.approx(w.start)  # the input is untouched


def test_touched_line_gets_the_rhythm_modules_entrance_and_others_keep_their_flags(songmap):
    w = songmap.words[0]
    before_line1 = songmap.lines[1]
    out = retime_words(songmap, [WordTime(0, w.start + 0.07, w.end)])
    expected = line_entrances(out.lines, out.words, beats=out.beats, downbeats=out.downbeats, subdivision="beat")[0]
    assert out.lines[0].entrance == expected
    assert out.lines[0].aligned is True
    assert out.lines[1] == before_line1  # flags, confidence, entrance: all as they were


def test_touched_line_stays_on_the_grid_the_songs_entrances_use(songmap):
    for ln in songmap.lines:
        ln.entrance = place_entrance(ln.start, beats_s=songmap.beats, downbeats_s=songmap.downbeats, subdivision="eighth")
    w = songmap.words[0]
    out = retime_words(songmap, [WordTime(0, w.start + 0.07, w.end)])
    expected = place_entrance(w.start + 0.07, beats_s=songmap.beats, downbeats_s=songmap.downbeats, subdivision="eighth")
    assert out.lines[0].entrance == expected
    assert out.lines[0].entrance.subdivision == "eighth" and out.lines[0].entrance.slot is not None


@pytest.mark.parametrize("edit, says", [
    (WordTime(99, 1.0, 1.2), "does not exist"),
    (WordTime(1, 2.0, 1.0), "not a span"),
    (WordTime(1, 0.1, 0.3), "in order"),
    (WordTime(0, 0.0, 999.0), "not a span"),
])
def test_impossible_edits_are_one_clear_error(songmap, edit, says):
    with pytest.raises(LipcoachError, match=says):
        retime_words(songmap, [edit])


def test_no_edit_is_an_error(songmap):
    with pytest.raises(LipcoachError, match="no word times"):
        retime_words(songmap, [])
