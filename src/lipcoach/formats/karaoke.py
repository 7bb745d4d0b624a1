"""Song map → the lyric and karaoke formats actors, editors and players already use.

Formats (``fmt``)
-----------------
``lrc``
    Enhanced LRC: one ``[mm:ss.xx]`` stamp per line, a ``<mm:ss.xx>`` stamp before every
    word and one after the line's last word (its end). Read back by
    :func:`lipcoach.formats.lyrics.parse_lyrics_text`, so an exported map can seed the next
    analysis as timed lyrics.
``ass``
    Advanced SubStation Alpha karaoke for video editors (Aegisub, ffmpeg's ``subtitles``
    filter): one Dialogue event per line with ``{\\kf<cs>}`` per word (fill sweeps over the
    word while it is sung; gaps between words are empty ``{\\k<cs>}`` syllables), and a
    "Breath" style event ("˅ breath" / "˅ catch") at every breath. Written with pysubs2.
``vtt``
    WebVTT for browsers and players: one cue per line, starting with its first word, with an
    inline ``<hh:mm:ss.mmm>`` stamp before every following word, and a cue holding only "˅" at every breath (visible in players;
    it has no letters, so the lyrics reader skips it). Read back by the lyrics reader.
``ultrastar``
    UltraStar TXT (#TITLE, #ARTIST, #MP3, #BPM, #GAP, note lines, ``- beat`` line breaks,
    ``E``). One note per word. Pitch is the word's sung pitch (MIDI − 60); a word without a
    measured pitch becomes a freestyle ``F`` note (not scored for pitch) at the song's median
    pitch. #BPM is a multiple of the song's tempo fine enough that every note boundary is
    within 8 ms of the map (an UltraStar beat is a quarter of the #BPM beat), and #GAP puts
    the grid on the song's first beat.

LRC, WebVTT and UltraStar are written here: no library writes enhanced LRC's word stamps
or UltraStar's note grid, and pysubs2's WebVTT writer drops what players and lipcoach need
(inline word stamps survive, but not the cue settings that place lines and breath marks, the
STYLE block, nor the header line by which lipcoach knows the file as its own).

All stamps are rounded to the format's resolution (10 ms for LRC and ASS, 1 ms for VTT)
on the absolute timeline, so errors never accumulate along a line.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable, Optional, Protocol, Sequence

import numpy as np

from lipcoach.errors import LipcoachError
from lipcoach.fileio import write_text_atomic


# What the writers read of a song map. They are typed by shape, not by the song stage's
# classes, so this room stays below ``lipcoach.song`` (which reads lyrics through it);
# :class:`lipcoach.song.songmap.SongMap` has all of these.
class Word(Protocol):
    text: str
    start: float  #: s
    end: float  #: s
    line: int  #: index into the map's lines
    pitch_midi: Optional[float]


class Line(Protocol):
    text: str
    start: float  #: s
    section: int  #: lines of one section share it


class Breath(Protocol):
    start: float  #: s
    end: float  #: s
    kind: str  #: "catch" | "full"


class SongMap(Protocol):
    words: Sequence[Word]
    lines: Sequence[Line]
    breaths: Sequence[Breath]
    beats: Sequence[float]  #: s
    tempo_bpm: float
    language: str
    source: dict[str, Any]

#: Default file suffix per format, added to the song map's name (``song.json`` →
#: ``song.lrc``, ``song.ultrastar.txt``). UltraStar's own ``.txt`` would collide with the
#: lyrics file the map was made from (``song.txt``), so it carries the format's name.
SUFFIXES = {"lrc": ".lrc", "ass": ".ass", "vtt": ".vtt", "ultrastar": ".ultrastar.txt"}
#: The export formats, in the order the CLI lists them.
FORMATS = tuple(SUFFIXES)
#: Symbol shown for a breath (a caesura-like tick used in vocal scores; no letters, so lyric
#: readers do not take it for a sung word).
BREATH_MARK = "˅"

#: UltraStar spells languages out in English.
_LANGUAGE_NAMES = {"en": "English", "fr": "French", "es": "Spanish", "de": "German", "it": "Italian", "pt": "Portuguese", "nl": "Dutch"}

# UltraStar: every note boundary within this many seconds of the map (half a beat).
_ULTRASTAR_MAX_ERROR_S = 0.008


def export_songmap(songmap: SongMap, fmt: str) -> str:
    """Render a song map in a lyric/karaoke format.

    Parameters
    ----------
    songmap : SongMap
    fmt : {"lrc", "ass", "vtt", "ultrastar"}

    Returns
    -------
    str
        The file's text (newline-terminated).

    Raises
    ------
    LipcoachError
        Unknown format, or a map without words (nothing to show).
    """
    writers: dict[str, Callable[[SongMap], str]] = {"lrc": to_lrc, "ass": to_ass, "vtt": to_vtt, "ultrastar": to_ultrastar}
    if fmt not in writers:
        raise LipcoachError(None, f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not songmap.words:
        raise LipcoachError(songmap.source.get("path"), "the song map has no words (was it analysed with lyrics?)")
    return writers[fmt](songmap)


def write_export(songmap: SongMap, fmt: str, out_path: str | os.PathLike) -> Path:
    """Export to ``out_path`` atomically (nothing half-written on failure); return the path."""
    text = export_songmap(songmap, fmt)
    out = Path(out_path)
    write_text_atomic(out, text)
    return out


def default_export_path(songmap_path: str | os.PathLike, fmt: str) -> Path:
    """Where ``lipcoach export`` writes without ``-o``: beside the map, named after it.

    ``song.json`` → ``song.lrc``, ``song.ass``, ``song.vtt``, ``song.ultrastar.txt`` (:data:`SUFFIXES`).
    """
    p = Path(songmap_path)
    stem = p.stem if p.suffix.lower() == ".json" else p.name
    return p.with_name(stem + SUFFIXES[fmt])


def check_export(songmap_path: Path, songmap: SongMap, fmt: str, output: Optional[Path], *, force: bool = False) -> Path:
    """Pre-flight of ``lipcoach export``: the output path (default :func:`default_export_path`),
    checked to replace neither the map nor the files it was made from."""
    from lipcoach.fileio import check_outputs, source_files

    output = output if output is not None else default_export_path(songmap_path, fmt)
    check_outputs([(output, None, f"{fmt} export")], inputs=[songmap_path, *source_files(songmap.source, songmap_path)], force=force)
    return output


# -- shared helpers --------------------------------------------------------------------------


def _lines_of_words(songmap: SongMap) -> list[tuple[int, list[Word]]]:
    """Words grouped by line index, in time order; lines without words are skipped."""
    groups: dict[int, list[Word]] = {}
    for word in sorted(songmap.words, key=lambda w: (w.start, w.end)):
        groups.setdefault(word.line, []).append(word)
    return sorted(groups.items(), key=lambda item: item[1][0].start)


def _cs(seconds: float) -> int:
    """Seconds → whole centiseconds (rounded)."""
    return int(round(max(0.0, seconds) * 100.0))


def _clean(text: str) -> str:
    """One-line text safe inside any of the formats' lines."""
    return " ".join(str(text).replace("{", "(").replace("}", ")").split())


def _title(songmap: SongMap) -> str:
    name = songmap.source.get("title") or songmap.source.get("name") or songmap.source.get("path") or "Untitled"
    return Path(str(name)).stem if not songmap.source.get("title") else str(name)


# -- LRC -------------------------------------------------------------------------------------


def _lrc_stamp(seconds: float) -> str:
    cs = _cs(seconds)
    minutes, rest = divmod(cs, 6000)
    return f"{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}"


def to_lrc(songmap: SongMap) -> str:
    """Enhanced LRC (see module docstring)."""
    out = [f"[ti:{_clean(_title(songmap))}]"]
    if songmap.source.get("artist"):
        out.append(f"[ar:{_clean(songmap.source['artist'])}]")
    out.append(f"[la:{songmap.language}]")
    out.append("[re:lipcoach]")
    section = None
    for index, words in _lines_of_words(songmap):
        line = songmap.lines[index] if 0 <= index < len(songmap.lines) else None
        if line is not None and section is not None and line.section != section:
            out.append("")  # a blank line: the lyrics reader starts a new section
        section = line.section if line is not None else section
        body = " ".join(f"<{_lrc_stamp(w.start)}>{_clean(w.text)}" for w in words)
        out.append(f"[{_lrc_stamp(words[0].start)}]{body} <{_lrc_stamp(words[-1].end)}>")
    return "\n".join(out) + "\n"


# -- ASS -------------------------------------------------------------------------------------


#: Written as the script's first comment: how lipcoach knows the file as its own (lipcoach.fileio).
_ASS_NOTICE = "Written by lipcoach: karaoke timing of the sung words and breath marks."
#: Full-HD script resolution the styles' sizes and margins refer to.
_ASS_PLAY_RES = (1920, 1080)


def _ass_styles() -> dict:
    """The two styles: gold lyrics swept from white at the bottom, blue breath marks at the top."""
    import pysubs2

    shadow = pysubs2.Color(0, 0, 0, 0x80)
    common = dict(fontname="Arial", bold=True, outlinecolor=pysubs2.Color(0, 0, 0), backcolor=shadow, outline=3, shadow=1, encoding=1)
    lyrics = pysubs2.SSAStyle(fontsize=64, primarycolor=pysubs2.Color(255, 215, 0), secondarycolor=pysubs2.Color(255, 255, 255),
                              alignment=pysubs2.Alignment.BOTTOM_CENTER, marginl=60, marginr=60, marginv=70, **common)
    blue = pysubs2.Color(0x40, 0xB0, 0xF0)
    breath = pysubs2.SSAStyle(fontsize=54, primarycolor=blue, secondarycolor=blue,
                              alignment=pysubs2.Alignment.TOP_CENTER, marginl=60, marginr=60, marginv=60, **common)
    return {"Lyrics": lyrics, "Breath": breath}


def to_ass(songmap: SongMap) -> str:
    """ASS karaoke with ``\\kf`` per word and breath events (see module docstring).

    Written with pysubs2, which keeps the karaoke override tags as they are; times are
    whole centiseconds (ASS's resolution), computed here so a line's tags add up exactly.
    """
    import pysubs2

    subs = pysubs2.SSAFile()
    subs.info = {"Title": _clean(_title(songmap)), "WrapStyle": "0", "ScaledBorderAndShadow": "yes",
                 "PlayResX": str(_ASS_PLAY_RES[0]), "PlayResY": str(_ASS_PLAY_RES[1])}
    subs.styles = _ass_styles()
    events = []
    for index, words in _lines_of_words(songmap):
        start_cs = _cs(words[0].start)
        parts, cursor = [], start_cs
        for word in words:
            w_start, w_end = _cs(word.start), max(_cs(word.end), _cs(word.start) + 1)
            if w_start > cursor:
                parts.append(f"{{\\k{w_start - cursor}}}")
            w_start = max(w_start, cursor)  # overlapping words: the sweep cannot go back
            w_end = max(w_end, w_start + 1)
            parts.append(f"{{\\kf{w_end - w_start}}}{_clean(word.text)}")
            parts.append(" ")
            cursor = w_end
        events.append(pysubs2.SSAEvent(start=start_cs * 10, end=cursor * 10, style="Lyrics", text="".join(parts).rstrip()))
    for breath in songmap.breaths:
        label = f"{BREATH_MARK} {'catch' if breath.kind == 'catch' else 'breath'}"
        start_cs, end_cs = _cs(breath.start), max(_cs(breath.end), _cs(breath.start) + 1)
        events.append(pysubs2.SSAEvent(start=start_cs * 10, end=end_cs * 10, style="Breath", layer=1, text=label))
    subs.events = sorted(events, key=lambda e: e.start)
    return subs.to_string("ass", header_notice=_ASS_NOTICE)


# -- WebVTT ----------------------------------------------------------------------------------


def _vtt_time(seconds: float) -> str:
    ms = int(round(max(0.0, seconds) * 1000.0))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def to_vtt(songmap: SongMap) -> str:
    """WebVTT with per-word inline stamps and breath cues (see module docstring)."""
    cues = []
    for index, words in _lines_of_words(songmap):
        start, end = words[0].start, max(w.end for w in words)
        # The cue starts with its first word; WebVTT wants inline stamps strictly after the
        # cue start, so only the following words carry one.
        body = " ".join([_clean(words[0].text)] + [f"<{_vtt_time(w.start)}>{_clean(w.text)}" for w in words[1:]])
        cues.append((start, f"{_vtt_time(start)} --> {_vtt_time(end)} line:85%\n{body}"))
    for breath in songmap.breaths:
        end = max(breath.end, breath.start + 0.001)
        cue = f"{_vtt_time(breath.start)} --> {_vtt_time(end)} line:10%\n<c.breath.{breath.kind}>{BREATH_MARK}</c>"
        cues.append((breath.start, cue))
    cues.sort(key=lambda c: c[0])
    head = (
        "WEBVTT - lipcoach karaoke\n\n"
        "NOTE\nWords carry inline start stamps; cues holding only "
        f"{BREATH_MARK} mark the singer's breaths (class breath.full or breath.catch).\n\n"
        "STYLE\n::cue(.breath) { color: #40b0f0; }\n"
    )
    return head + "".join(f"\n{text}\n" for _, text in cues)


# -- UltraStar -------------------------------------------------------------------------------


def ultrastar_grid(songmap: SongMap) -> tuple[float, float]:
    """``(#BPM, #GAP ms)`` for a map: BPM = song tempo × 2^k, fine enough for 8 ms accuracy.

    One UltraStar beat lasts ``15 / BPM`` s; rounding a time to the nearest beat errs by at
    most half of that. Without a tempo, 1000 BPM (15 ms beats) is used.
    """
    min_bpm = 15.0 / (2 * _ULTRASTAR_MAX_ERROR_S)
    tempo = songmap.tempo_bpm if songmap.tempo_bpm and songmap.tempo_bpm > 0 else 0.0
    if tempo:
        bpm = tempo * 2 ** max(0, math.ceil(math.log2(min_bpm / tempo)))
    else:
        bpm = 1000.0
    first_word = min(w.start for w in songmap.words)
    beats_before = [b for b in songmap.beats if b <= first_word]
    gap_s = beats_before[-1] if beats_before else first_word
    return round(bpm, 3), round(gap_s * 1000.0)


def to_ultrastar(songmap: SongMap) -> str:
    """UltraStar TXT, one note per word (see module docstring)."""
    bpm, gap_ms = ultrastar_grid(songmap)
    beat_s = 15.0 / bpm

    def beat(t: float) -> int:
        return int(round((t - gap_ms / 1000.0) / beat_s))

    known = [w.pitch_midi for w in songmap.words if w.pitch_midi is not None and np.isfinite(w.pitch_midi)]
    neutral = int(round(float(np.median(known)) - 60)) if known else 0
    name = songmap.source.get("name") or Path(str(songmap.source.get("path") or "song.mp3")).name
    out = [
        f"#TITLE:{_clean(_title(songmap))}",
        f"#ARTIST:{_clean(songmap.source.get('artist') or 'Unknown')}",
        f"#MP3:{name}",
        f"#LANGUAGE:{_LANGUAGE_NAMES.get(songmap.language, songmap.language)}",
        "#CREATOR:lipcoach",
        f"#BPM:{bpm:g}",
        f"#GAP:{gap_ms:d}",
    ]
    previous_end = None
    for k, (index, words) in enumerate(_lines_of_words(songmap)):
        if k > 0:
            out.append(f"- {min(previous_end, beat(words[0].start))}")
        cursor = None
        for j, word in enumerate(words):
            start = beat(word.start) if cursor is None else max(beat(word.start), cursor)
            length = max(1, beat(word.end) - start)
            pitched = word.pitch_midi is not None and np.isfinite(word.pitch_midi)
            kind = ":" if pitched else "F"
            pitch = int(round(word.pitch_midi - 60)) if pitched else neutral
            text = _clean(word.text) if j == 0 else " " + _clean(word.text)
            out.append(f"{kind} {start} {length} {pitch} {text}")
            cursor = start + length
        previous_end = cursor
    out.append("E")
    return "\n".join(out) + "\n"
