"""Reading lyrics in every supported format, and refusing what is not lyrics."""

from __future__ import annotations

import pytest

from lipcoach.errors import LipcoachError
from lipcoach.formats.lyrics import align_form, detect_format, parse_lyrics_text, read_lyrics


def test_plain_text_lines_and_sections(tmp_path):
    path = tmp_path / "song.txt"
    path.write_text("[Verse 1]\nHold your breath,\nand count to seven\n\n\n[Chorus]\nDon't stop - now!\n", encoding="utf-8")
    lyrics = read_lyrics(path)
    assert lyrics.format == "text" and not lyrics.timed
    assert [ln.text for ln in lyrics.lines] == ["Hold your breath,", "and count to seven", "Don't stop - now!"]
    assert [ln.section for ln in lyrics.lines] == [0, 0, 1]
    # display keeps punctuation, alignment form drops it; a lone dash is no word
    assert lyrics.lines[0].words == ["Hold", "your", "breath,"]
    assert lyrics.lines[2].words == ["Don't", "stop", "now!"]
    assert lyrics.lines[2].align_words == ["don't", "stop", "now"]
    assert lyrics.n_words == 10


def test_apostrophes_and_elision_stay_in_the_word():
    assert align_form("L\u2019amour,") == "l'amour"
    assert align_form("\u00abj'veux\u00bb") == "j'veux"
    assert align_form("lovin'") == "lovin"
    assert align_form("...") == ""


def test_lrc_line_and_word_stamps_metadata_and_repeats():
    text = (
        "[ar:Somebody]\n[ti:A song]\n[offset:+500]\n"
        "[00:10.50]Paper <00:11.00>boats <00:11.50>upon the river\n"
        "[00:14.00][01:00.00]Carry all the words\n"
        "\n"
        "[00:20.00]Second verse\n"
        "[00:23.00]\n"
    )
    lyrics = parse_lyrics_text(text, source="box")
    assert lyrics.format == "lrc" and lyrics.timed
    texts = [ln.text for ln in lyrics.lines]
    assert texts == ["Paper boats upon the river", "Carry all the words", "Second verse", "Carry all the words"]
    first = lyrics.lines[0]
    # offset +500 ms moves every stamp 0.5 s earlier
    assert first.start_s == pytest.approx(10.0) and first.end_s == pytest.approx(13.5)
    assert first.word_starts_s[:3] == pytest.approx([10.0, 10.5, 11.0])
    # "the" has no stamp of its own: interpolated between "upon" and the line end guess
    assert len(first.word_starts_s) == 5 and first.word_starts_s[3] > first.word_starts_s[2]
    assert lyrics.lines[2].end_s == pytest.approx(22.5)  # the empty stamp ends the line
    assert lyrics.lines[3].start_s == pytest.approx(59.5)
    assert [ln.section for ln in lyrics.lines] == [0, 0, 1, 2]


def test_srt_cue_with_two_lines_and_markup(tmp_path):
    path = tmp_path / "lyrics.lrc"  # wrong extension on purpose: content decides
    path.write_text(
        "1\n00:00:01,000 --> 00:00:03,500\n<i>Morning light</i>\nacross the water\n\n"
        "2\n00:00:12,250 --> 00:00:14,000\n{\\an8}Every little wave\n",
        encoding="utf-8",
    )
    lyrics = read_lyrics(path)
    assert lyrics.format == "srt"
    assert [ln.text for ln in lyrics.lines] == ["Morning light", "across the water", "Every little wave"]
    assert [(ln.start_s, ln.end_s) for ln in lyrics.lines[:2]] == [(1.0, 3.5), (1.0, 3.5)]
    assert lyrics.lines[2].start_s == pytest.approx(12.25)
    assert lyrics.lines[2].section == 1  # 8.75 s of gap = new section


def test_webvtt_with_inline_word_stamps():
    text = (
        "WEBVTT\n\nNOTE made by hand\n\nintro\n00:01.000 --> 00:03.000 align:start\n"
        "Come <00:01.600>and <00:02.000>dance\n\n"
        "01:02:03.500 --> 01:02:05.000\nlate line\n"
    )
    lyrics = parse_lyrics_text(text)
    assert lyrics.format == "vtt"
    assert lyrics.lines[0].words == ["Come", "and", "dance"]
    assert lyrics.lines[0].word_starts_s == pytest.approx([1.0, 1.6, 2.0])
    assert lyrics.lines[1].start_s == pytest.approx(3723.5)


def test_format_detection_ignores_brackets_in_plain_text():
    assert detect_format("[Chorus]\nla la la\n") == "text"
    assert detect_format("[00:01.00]la la\n") == "lrc"


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        (b"  \n\n \t\n", "empty"),
        (b"...\n- -\n", "no words"),
        (b"[ar:Someone]\n[ti:Nothing]\n", "no words"),
    ],
)
def test_bad_files_give_one_clear_line(tmp_path, content, problem):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(LipcoachError) as info:
        read_lyrics(path)
    message = str(info.value)
    assert str(path) in message and problem in message and "\n" not in message


def test_missing_file_and_windows_1252(tmp_path):
    with pytest.raises(LipcoachError, match="no such file"):
        read_lyrics(tmp_path / "nope.txt")
    path = tmp_path / "old.txt"
    path.write_bytes("Caf\xe9 cr\xe8me\n".encode("latin-1"))
    assert read_lyrics(path).lines[0].words == ["Café", "crème"]


def test_utf16_with_bom(tmp_path):
    path = tmp_path / "u16.txt"
    path.write_bytes("la vie en rose\n".encode("utf-16"))
    assert read_lyrics(path).lines[0].words == ["la", "vie", "en", "rose"]


def test_a_cue_that_ends_before_it_starts_is_refused_with_its_times():
    with pytest.raises(LipcoachError, match=r"cue ends before it starts: 0:00:05.000 --> 0:00:03.500"):
        parse_lyrics_text("1\n00:00:05,000 --> 00:00:03,500\nhello\n", source="cues.srt")
