"""A practice-studio data folder with a mapped synthetic number, without running analysis.

The song map is made from the synthetic singer's exact truth, so the studio's tests and
benchmarks need neither alignment time nor alignment luck.
"""

from __future__ import annotations

from pathlib import Path


def truth_songmap(song, *, source_path: str | None = None):
    """A song map from a :class:`~lipcoach.testing.synthetic_song.SyntheticSong`'s truth."""
    from lipcoach.song.songmap import Breath, Entrance
    from lipcoach.testing.clips import songmap_from_words

    starts = [min(w.start for w in song.words if w.line == li) for li in range(len(song.line_texts))]
    m = songmap_from_words(song.vocals, sr=song.sr, words=[(w.start, w.end, w.text) for w in song.words],
                           line_breaks_s=starts[1:], language=song.language, source_path=source_path)
    m.duration = song.duration
    m.tempo_bpm = float(song.tempo_bpm)
    m.beats = [float(b) for b in song.beats]
    m.downbeats = [float(b) for b in song.downbeats]
    m.breaths = [Breath(start=b.start, end=b.end, level_db=b.level_db, audible=True,
                        kind="catch" if b.end - b.start < 0.35 else "full", before_line=b.before_line) for b in song.breaths]
    for line, beat in zip(m.lines, song.line_beats):
        line.entrance = Entrance.from_times(line.start, beat)
    return m


def make_studio(data_dir: Path, song, files: dict, *, title: str = "Paper Boats", performer: str = "Test Actor") -> int:
    """Create a catalogue in ``data_dir`` holding ``song`` (mix, stem, lyrics, map v1); returns the song id."""
    from lipcoach.production.catalogue import Catalogue, Song
    from lipcoach.production.catalogue import add_song_files

    cat = Catalogue(data_dir)
    with cat.session() as s:
        song_id = add_song_files(cat, s, title=title, performer=performer, mix=files["mix.wav"], stem=files["vocals.wav"], lyrics=files["lyrics.txt"])
        row = s.get(Song, song_id)
        cat.add_map_version(s, song_id, truth_songmap(song, source_path=str(cat.path("files", row.audio_file))), origin="import")
        s.commit()
    cat.engine.dispose()
    return song_id
