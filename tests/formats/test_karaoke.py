"""Exports of a song map: each format parses back to the map's word times within 10 ms."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lipcoach.errors import LipcoachError
from lipcoach.formats.karaoke import BREATH_MARK, FORMATS, export_songmap, write_export
from lipcoach.formats.lyrics import parse_lyrics_text
from tests.song.handmade_maps import small_songmap

TOLERANCE_S = 0.010


def _starts(songmap) -> np.ndarray:
    return np.array([w.start for w in songmap.words])


# -- small readers for the formats the lyrics reader does not handle -------------------------


def _ass_seconds(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def read_ass_karaoke(text: str) -> tuple[list[tuple[str, float, float]], list[tuple[float, float, str]]]:
    """Words ``(text, start_s, end_s)`` from \\k/\\kf tags of Lyrics events, and Breath events."""
    words, breaths = [], []
    fmt = None
    for row in text.splitlines():
        if row.startswith("Format:") and fmt is None and "Text" in row and "Start" in row:
            fmt = [f.strip() for f in row[len("Format:"):].split(",")]
        if not row.startswith("Dialogue:"):
            continue
        fields = row[len("Dialogue:"):].split(",", len(fmt) - 1)
        event = dict(zip(fmt, (f.strip() for f in fields)))
        start = _ass_seconds(event["Start"])
        if event["Style"] == "Breath":
            breaths.append((start, _ass_seconds(event["End"]), event["Text"]))
            continue
        cursor = start
        for tag, cs, syllable in re.findall(r"\{\\(kf|k)(\d+)\}([^{]*)", event["Text"]):
            duration = int(cs) / 100.0
            if syllable.strip():
                words.append((syllable.strip(), cursor, cursor + duration))
            cursor += duration
    return words, breaths


def read_ultrastar(text: str) -> tuple[dict, list[tuple[str, float, float, int, str]]]:
    """Header and notes ``(kind, start_s, end_s, pitch, syllable)`` of an UltraStar TXT."""
    header, notes = {}, []
    for row in text.splitlines():
        if row.startswith("#"):
            key, _, value = row[1:].partition(":")
            header[key] = value
        elif row[:1] in (":", "*", "F", "R", "G"):
            kind, start, length, pitch, syllable = re.match(r"(\S) (-?\d+) (\d+) (-?\d+) (.*)$", row).groups()
            bpm, gap = float(header["BPM"].replace(",", ".")), float(header["GAP"])
            beat = 15.0 / bpm
            t0 = gap / 1000.0 + int(start) * beat
            notes.append((kind, t0, t0 + int(length) * beat, int(pitch), syllable))
    return header, notes


# -- round trips -----------------------------------------------------------------------------


def test_lrc_round_trips_words_and_lines_through_the_lyrics_reader():
    songmap = small_songmap()
    text = export_songmap(songmap, "lrc")
    assert re.search(r"^\[00:02\.00\]<00:02\.00>Paper ", text, re.M)
    lyrics = parse_lyrics_text(text, source="export.lrc")
    assert lyrics.format == "lrc"
    assert [w for ln in lyrics.lines for w in ln.words] == [w.text for w in songmap.words]
    starts = np.concatenate([ln.word_starts_s for ln in lyrics.lines])
    np.testing.assert_allclose(starts, _starts(songmap), atol=TOLERANCE_S)
    np.testing.assert_allclose([ln.start_s for ln in lyrics.lines], [ln.start for ln in songmap.lines], atol=TOLERANCE_S)
    # The blank line between the two sections survives.
    assert [ln.section for ln in lyrics.lines] == [0, 0, 1]


def test_vtt_round_trips_words_and_hides_breaths_from_the_lyrics_reader():
    songmap = small_songmap()
    text = export_songmap(songmap, "vtt")
    assert text.startswith("WEBVTT")
    assert text.count(BREATH_MARK + "</c>") == len(songmap.breaths)
    lyrics = parse_lyrics_text(text, source="export.vtt")
    assert lyrics.format == "vtt"
    # Breath cues are visible in a player but are not read back as sung lines.
    assert len(lyrics.lines) == len(songmap.lines)
    assert [w for ln in lyrics.lines for w in ln.words] == [w.text for w in songmap.words]
    starts = np.concatenate([ln.word_starts_s for ln in lyrics.lines])
    np.testing.assert_allclose(starts, _starts(songmap), atol=0.001)
    np.testing.assert_allclose([ln.end_s for ln in lyrics.lines], [ln.end for ln in songmap.lines], atol=0.001)


def test_ass_karaoke_sweeps_each_word_at_its_sung_time_and_marks_breaths():
    songmap = small_songmap()
    text = export_songmap(songmap, "ass")
    assert "PlayResX: 1920" in text and "PlayResY: 1080" in text
    assert "Style: Breath," in text
    words, breaths = read_ass_karaoke(text)
    assert [w[0] for w in words] == [w.text for w in songmap.words]
    np.testing.assert_allclose([w[1] for w in words], _starts(songmap), atol=TOLERANCE_S)
    np.testing.assert_allclose([w[2] for w in words], [w.end for w in songmap.words], atol=TOLERANCE_S)
    assert len(breaths) == 2
    np.testing.assert_allclose([b[0] for b in breaths], [b.start for b in songmap.breaths], atol=TOLERANCE_S)
    assert "catch" in breaths[1][2] and BREATH_MARK in breaths[0][2]
    assert text.count("{\\kf") == len(songmap.words)


def test_ultrastar_notes_keep_word_times_and_pitches():
    songmap = small_songmap()
    header, notes = read_ultrastar(export_songmap(songmap, "ultrastar"))
    assert header["MP3"] == "paper_boats.wav" and header["TITLE"] == "paper_boats"
    assert float(header["BPM"]) % songmap.tempo_bpm == 0  # on the song's own grid
    assert len(notes) == len(songmap.words)
    np.testing.assert_allclose([n[1] for n in notes], _starts(songmap), atol=TOLERANCE_S)
    np.testing.assert_allclose([n[2] for n in notes], [w.end for w in songmap.words], atol=TOLERANCE_S)
    for note, word in zip(notes, songmap.words):
        if word.pitch_midi is None:
            assert note[0] == "F"  # freestyle: not scored for pitch
        else:
            assert note[0] == ":" and note[3] == round(word.pitch_midi) - 60
    # A syllable that starts a new word begins with a space; a line's first word does not.
    first_of_line = {songmap.words_of_line(i)[0].start for i in range(len(songmap.lines))}
    for note, word in zip(notes, songmap.words):
        assert note[4] == (word.text if word.start in first_of_line else " " + word.text)


def test_ultrastar_text_has_line_breaks_between_lines_and_an_end_mark():
    text = export_songmap(small_songmap(), "ultrastar")
    rows = text.strip().splitlines()
    assert rows[-1] == "E"
    breaks = [int(r.split()[1]) for r in rows if r.startswith("- ")]
    assert len(breaks) == 2
    note_rows = [r for r in rows if r[:1] in (":", "F")]
    starts = [int(r.split()[1]) for r in note_rows]
    assert starts == sorted(starts)


def test_ultrastar_without_any_pitch_uses_freestyle_notes():
    _, notes = read_ultrastar(export_songmap(small_songmap(with_pitch=False), "ultrastar"))
    assert {n[0] for n in notes} == {"F"} and {n[3] for n in notes} == {0}


def test_ultrastar_without_tempo_still_keeps_times():
    songmap = small_songmap()
    songmap.tempo_bpm, songmap.beats, songmap.downbeats = 0.0, [], []
    _, notes = read_ultrastar(export_songmap(songmap, "ultrastar"))
    np.testing.assert_allclose([n[1] for n in notes], _starts(songmap), atol=TOLERANCE_S)


@pytest.mark.parametrize("fmt", FORMATS)
def test_write_export_writes_the_text_atomically(tmp_path, fmt):
    songmap = small_songmap()
    out = write_export(songmap, fmt, tmp_path / "sub" / f"song.{fmt}")
    assert out.read_text(encoding="utf-8") == export_songmap(songmap, fmt)
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary left behind


def test_unknown_format_and_wordless_map_are_clear_errors(tmp_path):
    songmap = small_songmap()
    with pytest.raises(LipcoachError, match="unknown export format 'srt'"):
        export_songmap(songmap, "srt")
    songmap.words = []
    with pytest.raises(LipcoachError, match="no words"):
        write_export(songmap, "lrc", tmp_path / "x.lrc")
    assert not (tmp_path / "x.lrc").exists()


def test_exports_survive_a_saved_and_reloaded_map(tmp_path):
    songmap = small_songmap()
    songmap.save(tmp_path / "song.json")
    from lipcoach.song.songmap import SongMap

    reloaded = SongMap.load(tmp_path / "song.json")
    for fmt in FORMATS:
        assert export_songmap(reloaded, fmt) == export_songmap(songmap, fmt)


@pytest.mark.parametrize("fmt, events", [("ass", 5), ("vtt", 5), ("lrc", 3)])
def test_ffmpeg_reads_the_subtitle_exports_at_the_right_times(tmp_path, fmt, events):
    av = pytest.importorskip("av")
    songmap = small_songmap()
    path = write_export(songmap, fmt, tmp_path / f"song.{fmt}")
    starts = []
    with av.open(str(path)) as container:
        stream = container.streams[0]
        for packet in container.demux(stream):
            if packet.pts is not None and packet.size:
                starts.append(float(packet.pts * packet.time_base))
    assert len(starts) == events  # 3 lines (+ 2 breath marks where the format shows them)
    expected = sorted([ln.start for ln in songmap.lines] + ([b.start for b in songmap.breaths] if events == 5 else []))
    np.testing.assert_allclose(sorted(starts), expected, atol=TOLERANCE_S)
