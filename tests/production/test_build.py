"""Building numbers: sections at the number's tempo and key, joined on bars, with a combined map that holds."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from lipcoach.media.stretch import stretch_and_shift
from lipcoach.production.build import build_number
from lipcoach.production.catalogue import Song
from lipcoach.production.tables import SeasonNumber, SeasonSong
from lipcoach.song.songmap import SongMap


def _stored(cat, slug):
    with cat.session() as s:
        number_id = s.scalar(select(SeasonNumber.number_id).where(SeasonNumber.slug == slug))
        song = s.scalar(select(Song).where(Song.number_id == number_id))
        smv = cat.latest_map(s, song.id)
        return song, SongMap.load(cat.path("maps", smv.file))


def _source_map(cat, slug):
    with cat.session() as s:
        row = s.scalar(select(SeasonSong).where(SeasonSong.slug == slug))
        return SongMap.load(cat.path("maps", row.map_file))


def test_stretch_and_shift_changes_tempo_and_pitch_independently():
    sr = 16000
    t = np.arange(2 * sr) / sr
    tone = (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    y = stretch_and_shift(tone, sr=sr, speed=1.25, semitones=2.0)
    assert y.size == round(tone.size / 1.25)
    spectrum = np.abs(np.fft.rfft(y[sr // 4: -sr // 4] * np.hanning(y.size - sr // 2)))
    peak_hz = np.fft.rfftfreq(y.size - sr // 2, 1 / sr)[np.argmax(spectrum)]
    assert peak_hz == pytest.approx(440.0 * 2 ** (2 / 12), abs=4.0)


def test_mashup_sections_meet_the_numbers_tempo_and_key(built_catalogue):
    cat, built = built_catalogue
    result = built["boats-and-breath"]
    boats, breath = result.cuts
    assert boats.speed == pytest.approx(104 / 96) and breath.speed == pytest.approx(104 / 120)
    assert (boats.semitones, breath.semitones) == (0.0, 2.0)  # "Hold Your Breath" is in G, the number in A
    # Cut on bar lines of the source songs.
    for cut in result.cuts:
        down = np.asarray(_source_map(cat, cut.song).downbeats)
        assert np.min(np.abs(down - cut.source_start_s)) < 1e-6 and np.min(np.abs(down - cut.source_end_s)) < 1e-6
    assert result.mix.shape[-1] == pytest.approx(result.songmap.duration * 44100, abs=2)


def test_combined_map_validates_and_maps_every_word_through_the_edit(built_catalogue):
    cat, built = built_catalogue
    result = built["boats-and-breath"]
    song, stored = _stored(cat, "boats-and-breath")
    assert stored.source["path"] == str(cat.path("files", song.audio_file))
    assert len(stored.lines) == 4 and [ln["song"] for ln in stored.source["lines"]] == ["paper-boats"] * 2 + ["hold-your-breath"] * 2
    assert [ln["performers"] for ln in stored.source["lines"]] == [["Ana Ruiz"]] * 2 + [["Ben Okafor"]] * 2
    for cut in result.cuts:
        src = _source_map(cat, cut.song)
        src_words = [w for w in src.words if cut.first_line <= w.line <= cut.last_line]
        ours = [w for w in stored.words if stored.source["lines"][w.line]["song"] == cut.song]
        assert [w.text for w in ours] == [w.text for w in src_words]
        expected = [cut.start_s + (w.start - cut.source_start_s) / cut.speed for w in src_words]
        assert np.allclose([w.start for w in ours], expected, atol=1e-3)
        assert all(p.start >= w.start - 1e-3 and p.end <= w.end + 1e-3 for w in ours for p in w.phonemes)
    # Every line keeps its entrance, measured against the beat at the number's tempo.
    for cut in result.cuts:
        src = _source_map(cat, cut.song)
        ours = [ln for i, ln in enumerate(stored.lines) if stored.source["lines"][i]["song"] == cut.song]
        for ln, src_line in zip(ours, src.lines[cut.first_line:cut.last_line + 1]):
            assert ln.entrance.beat_time == pytest.approx(cut.to_number(src_line.entrance.beat_time), abs=1e-3)
            assert ln.entrance.offset_ms == pytest.approx(src_line.entrance.offset_ms / cut.speed, abs=0.2)
    # Breaths land before their lines.
    for b in stored.breaths:
        if b.before_line is not None:
            assert b.end <= stored.lines[b.before_line].start + 1e-3
    assert [s.label for s in stored.sections] == ["Paper Boats (Ana Ruiz)", "Hold Your Breath (Ben Okafor)"]


@pytest.mark.parametrize("slug", ["boats-and-breath", "paper-boats-medley"])
def test_beats_run_on_across_the_joins(built_catalogue, slug):
    cat, built = built_catalogue
    result = built[slug]
    period_s = 60.0 / result.songmap.tempo_bpm
    intervals = np.diff(result.songmap.beats)
    assert np.max(np.abs(intervals - period_s)) < 0.005, intervals
    assert result.join_beat_error_ms and max(abs(e) for e in result.join_beat_error_ms) < 5.0


@pytest.mark.parametrize("slug", ["boats-and-breath", "paper-boats-medley"])
def test_words_of_the_combined_map_are_where_mapping_the_built_track_finds_them(built_catalogue, slug):
    from lipcoach.song.analyze import analyze_song

    cat, _ = built_catalogue
    song, combined = _stored(cat, slug)
    direct = analyze_song(cat.path("files", song.audio_file), lyrics_path=cat.path("files", song.lyrics_file),
                          vocals_path=cat.path("files", song.stem_file))
    assert [w.text for w in direct.words] == [w.text for w in combined.words]
    errors = np.abs(np.array([w.start for w in direct.words]) - np.array([w.start for w in combined.words]))
    assert np.mean(errors <= 0.1) >= 0.9, errors


def test_duet_lines_belong_to_their_performers(built_catalogue):
    cat, _ = built_catalogue
    _, sm = _stored(cat, "hold-your-breath")
    assert [ln["performers"] for ln in sm.source["lines"]] == [["Ana Ruiz"], ["Ben Okafor"], ["Ana Ruiz", "Ben Okafor"],
                                                                ["Ana Ruiz", "Ben Okafor"]]


def test_building_again_without_a_change_does_nothing(built_catalogue):
    cat, _ = built_catalogue
    with cat.session() as s:
        versions_before = len(list(s.scalars(select(Song))))
    assert build_number(cat, "paper-boats-medley") is None
    with cat.session() as s:
        assert len(list(s.scalars(select(Song)))) == versions_before


def test_a_singer_given_to_a_line_the_number_does_not_have_is_refused_at_import(season_copy, tmp_path):
    from lipcoach.errors import LipcoachError
    from lipcoach.production.catalogue import Catalogue
    from lipcoach.production.season import import_season

    text = season_copy.read_text().replace("3-4: [Nellie, Sam]", "3-9: [Nellie, Sam]")
    season_copy.write_text(text)
    line = text.splitlines().index("          3-9: [Nellie, Sam]") + 1
    cat = Catalogue(tmp_path / "data")
    with pytest.raises(LipcoachError, match=f"^{season_copy}:{line}: .*lines: 3-9 gives line 9 a singer, but the number has 4 lines"):
        import_season(cat, season_copy)


def test_a_map_made_since_the_import_at_another_tempo_is_refused_at_build():
    """The import checked the tempo against the song as it was; a rebuilt source map is checked again."""
    from lipcoach.errors import LipcoachError
    from lipcoach.production.build import plan_cuts
    from lipcoach.production.season import SectionSpec
    from lipcoach.testing.clips import songmap_from_words

    sm = songmap_from_words(np.zeros(16000 * 6, np.float32), sr=16000, words=[(1.0, 1.5, "la"), (3.0, 3.5, "la")],
                            line_breaks_s=[2.5])
    sm.tempo_bpm, sm.beats, sm.downbeats = 160.0, [i * 0.375 for i in range(16)], [i * 1.5 for i in range(4)]
    sections = [SectionSpec(song="a", first_line=1, last_line=2)]
    kwargs = dict(titles={}, keys={}, tempo_bpm=92.0, key=None)
    with pytest.raises(LipcoachError, match="160 BPM may be a tempo octave.*tempo_bpm: 80"):
        plan_cuts(sections, {"a": sm}, **kwargs)
    (cut,) = plan_cuts(sections, {"a": sm}, song_tempo_bpm={"a": 80.0}, **kwargs)  # the season gives the song's tempo
    assert cut.speed == pytest.approx(92 / 80)
    (cut,) = plan_cuts(sections, {"a": sm}, stretch_confirmed=True, **kwargs)  # confirmed at import: built as asked
    assert cut.speed == pytest.approx(92 / 160)


def test_a_beat_grid_read_at_a_tempo_octave_is_put_right():
    from lipcoach.production.build import beats_at_tempo

    half_beats = [0.25 * k for k in range(17)]  # 240 BPM read for a 120 BPM song: downbeats every 2 s
    downbeats = [0.25 + 2.0 * k for k in range(2)]
    beats, down = beats_at_tempo(half_beats, downbeats, 240.0, 120.0)
    assert beats == [0.25 + 0.5 * k for k in range(8)] and down == downbeats  # the phase of the downbeats
    beats, down = beats_at_tempo([0.0, 1.0, 2.0], [0.0], 60.0, 120.0)
    assert beats == [0.0, 0.5, 1.0, 1.5, 2.0] and down == [0.0]
    assert beats_at_tempo([0.0, 0.4, 0.8], [0.0], 150.0, 100.0) == ([0.0, 0.4, 0.8], [0.0])  # not an octave: as it is
