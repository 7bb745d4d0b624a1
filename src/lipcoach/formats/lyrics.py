"""Reading lyrics: plain text, LRC (line and enhanced word stamps), SRT and WebVTT (cues read by pysubs2).

The format is detected from the content, never from the file extension (lyrics pasted into
the web app have no extension, and ``.txt`` files often hold LRC). All times are seconds
from the start of the song.

Words are whitespace-separated tokens. Each keeps its sung *display* text ("home,") and has
an *alignment* form (:func:`align_form`: "home") with the surrounding punctuation stripped
and typographic apostrophes made plain. Apostrophes inside a word stay in it, so English
contractions ("don't") and French elisions ("l'amour", "j'veux") are one timed word, as a
singer sings them and as the JamendoLyrics annotations count them; the grapheme-to-phoneme
step (:mod:`lipcoach.song.g2p`) reads the whole token, which lets eSpeak apply the
elision's liaison rules. Tokens with no letter or digit ("-", "...") are display-only and
are not words.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from lipcoach.errors import LipcoachError

#: Largest lyrics file read, bytes, by the CLI and the studio alike. A song's lyrics are a
#: few kB (a 10-minute patter song with its timing stamps stays under 40 kB); anything far
#: bigger is almost certainly the wrong file (an audio file, a log).
MAX_LYRICS_BYTES = 256 * 1024

#: Most sung words per second of audio, averaged over the whole song. The fastest recorded
#: rap verses reach about 6-7 words a second (11 syllables a second) for a few bars; no
#: song sustains 10 over its length. More words than this are the wrong lyrics (or the wrong
#: song), and aligning them would take minutes and gigabytes for nothing.
MAX_WORDS_PER_S = 10.0

#: Gap between consecutive timed cues (SRT/VTT/LRC without blank lines), s, taken as a
#: section break. Sung verses are separated by instrumental bars that are usually longer.
SECTION_GAP_S = 6.0

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})


@dataclass
class LyricLine:
    """One sung line.

    Attributes
    ----------
    text : str
        The line as written (markup and time stamps removed).
    words : list of str
        Display tokens of the sung words, punctuation kept ("home,").
    section : int
        Section index (verse, chorus...), counted from 0.
    start_s, end_s : float or None
        Time window of the line in seconds when the lyrics are timed (LRC line stamp, SRT/VTT
        cue); ``None`` for plain text. An LRC line ends where the next stamp starts.
    word_starts_s : list of float or None
        Onset of every word in seconds (enhanced LRC ``<mm:ss.xx>`` or VTT inline stamps),
        same length as ``words``; ``None`` when the line has no word stamps.
    """

    text: str
    words: list[str]
    section: int = 0
    start_s: Optional[float] = None
    end_s: Optional[float] = None
    word_starts_s: Optional[list[float]] = None

    @property
    def align_words(self) -> list[str]:
        """Alignment forms of :attr:`words` (lower case, outer punctuation stripped)."""
        return [align_form(w) for w in self.words]


@dataclass
class Lyrics:
    """Lyrics of one song: lines in sung order.

    Attributes
    ----------
    lines : list of LyricLine
    format : str
        "text", "lrc", "srt" or "vtt" (what was detected).
    source : str or None
        The file (or label) the lyrics came from, for error messages.
    """

    lines: list[LyricLine]
    format: str = "text"
    source: Optional[str] = field(default=None)

    @property
    def timed(self) -> bool:
        """True when every line has a time window (LRC/SRT/VTT)."""
        return bool(self.lines) and all(ln.start_s is not None for ln in self.lines)

    @property
    def n_words(self) -> int:
        return sum(len(ln.words) for ln in self.lines)

    def word_list(self) -> list[tuple[int, str]]:
        """Every word as ``(line index, display text)``, in sung order."""
        return [(i, w) for i, ln in enumerate(self.lines) for w in ln.words]


def align_form(token: str) -> str:
    """The form of a display token used for alignment and G2P.

    Lower case, NFC, typographic apostrophes replaced by "'", leading/trailing punctuation
    removed (inner apostrophes and hyphens kept: "don't", "l'amour", "well-known").

    >>> align_form("Home,")
    'home'
    >>> align_form("\u2018L\u2019amour!\u2019")
    "l'amour"
    """
    text = unicodedata.normalize("NFC", token).translate(_APOSTROPHES).lower()
    start, end = 0, len(text)
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return text[start:end]


def tokenize(text: str) -> list[str]:
    """Display tokens of the sung words in ``text`` (tokens without letters/digits dropped)."""
    return [tok for tok in text.split() if align_form(tok)]


# --- reading -----------------------------------------------------------------------------

def read_lyrics(path: str | os.PathLike) -> Lyrics:
    """Read a lyrics file of any supported format.

    Raises
    ------
    LipcoachError
        Missing, empty, binary or undecodable file, or one that holds no words.
    """
    p = Path(path)
    if not p.exists():
        raise LipcoachError(p, "no such file")
    if p.is_dir():
        raise LipcoachError(p, "is a folder, not a lyrics file")
    size = p.stat().st_size
    if size == 0:
        raise LipcoachError(p, "lyrics file is empty")
    if size > MAX_LYRICS_BYTES:
        raise LipcoachError(p, f"is {size / 1024:.0f} KiB, too big for a lyrics file (limit {MAX_LYRICS_BYTES // 1024} KiB)")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise LipcoachError(p, f"cannot be read ({exc.strerror or exc})") from None
    return parse_lyrics_text(_decode(data, p), source=str(p))


def check_lyrics_fit(n_words: int, duration_s: float, *, source: str | os.PathLike | None) -> None:
    """Refuse lyrics with more words than a song of ``duration_s`` seconds can carry.

    The limit is :data:`MAX_WORDS_PER_S` words per second of audio. Checked before any
    analysis, so wrong lyrics cost a second, not minutes.

    Raises
    ------
    LipcoachError
        Naming ``source``: the word count, the song's length and the limit.
    """
    limit = int(MAX_WORDS_PER_S * max(duration_s, 0.0))
    if n_words > limit:
        raise LipcoachError(source, f"has {n_words} words but the song is only {duration_s:.1f} s long; "
                                    f"no one sings more than {MAX_WORDS_PER_S:.0f} words a second "
                                    f"(limit {limit} words for this song): are these the right lyrics?")


def _decode(data: bytes, source) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise LipcoachError(source, "is not readable text (bad UTF-16)") from None
    if b"\x00" in data:
        raise LipcoachError(source, "is a binary file, not lyrics text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Old lyric files are often Windows-1252; accept that only when it decodes to
        # printable text, otherwise it is most likely a binary file.
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise LipcoachError(source, "is not readable text (neither UTF-8 nor Windows-1252)") from None
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
    if controls > max(2, len(text) // 100):
        raise LipcoachError(source, "is a binary file, not lyrics text")
    return text


_SRT_TIME = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})")
_CUE_LINE = re.compile(r"^\s*(?P<a>(?:\d+:)?\d{1,2}:\d{1,2}[,.]\d{1,3})\s*-->\s*(?P<b>(?:\d+:)?\d{1,2}:\d{1,2}[,.]\d{1,3})")
_LRC_STAMP = re.compile(r"\[(\d+):(\d{1,2}(?:[.:]\d+)?)\]")
_LRC_LINE = re.compile(r"^\s*(?:\[\d+:\d{1,2}(?:[.:]\d+)?\]\s*)+")
_LRC_TAG = re.compile(r"^\s*\[([a-zA-Z#]+)\s*:(.*)\]\s*$")
_WORD_STAMP = re.compile(r"<(\d+):(\d{1,2}(?:[.:]\d+)?)>")
_VTT_STAMP = re.compile(r"<((?:\d+:)?\d{1,2}:\d{1,2}\.\d{1,3})>")
_MARKUP = re.compile(r"</?[a-zA-Z][^>]*>|\{\\[^}]*\}")
_SECTION_LABEL = re.compile(r"^\s*[\[(][^\])]*[\])]\s*:?\s*$")


#: Stored file suffix of each lyrics format :func:`detect_format` names.
LYRICS_SUFFIXES = {"vtt": ".vtt", "srt": ".srt", "lrc": ".lrc", "text": ".txt"}


def detect_format(text: str) -> str:
    """Guess "vtt", "srt", "lrc" or "text" from the content of a lyrics file."""
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("WEBVTT"):
        return "vtt"
    lines = text.splitlines()
    if any(_CUE_LINE.match(ln) for ln in lines):
        return "srt"
    if sum(1 for ln in lines if _LRC_LINE.match(ln)) >= max(1, len([ln for ln in lines if ln.strip()]) // 4):
        return "lrc"
    return "text"


def parse_lyrics_text(text: str, *, source: str | None = None) -> Lyrics:
    """Parse lyrics given as a string (the web app's text box, or a decoded file).

    Parameters
    ----------
    text : str
        Lyrics in any supported format.
    source : str or None
        Name used in error messages (a path, or e.g. "lyrics box").

    Raises
    ------
    LipcoachError
        When the text holds no sung words or a timed format is malformed.
    """
    if not text or not text.strip():
        raise LipcoachError(source, "lyrics are empty")
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    fmt = detect_format(text)
    if fmt == "lrc":
        lines = _parse_lrc(text, source)
    elif fmt in ("srt", "vtt"):
        lines = _parse_cues(text, source, vtt=fmt == "vtt")
    else:
        lines = _parse_plain(text)
    lines = [ln for ln in lines if ln.words]
    if not lines:
        raise LipcoachError(source, "lyrics hold no words")
    # Renumber sections densely from 0 so that dropped empty sections leave no holes.
    remap: dict[int, int] = {}
    for ln in lines:
        ln.section = remap.setdefault(ln.section, len(remap))
    return Lyrics(lines=lines, format=fmt, source=source)


def _parse_plain(text: str) -> list[LyricLine]:
    lines: list[LyricLine] = []
    section, pending_break = 0, False
    for raw in text.split("\n"):
        stripped = raw.strip()
        if not stripped or _SECTION_LABEL.match(stripped):
            # A blank line or a label such as "[Chorus]" starts a new section; labels are
            # not sung, so they never become lines.
            pending_break = True
            continue
        if pending_break and lines:
            section += 1
        pending_break = False
        lines.append(LyricLine(text=stripped, words=tokenize(stripped), section=section))
    return lines


def _lrc_seconds(minutes: str, seconds: str) -> float:
    # Some writers use "mm:ss:xx" (colon before hundredths).
    sec = seconds.replace(":", ".")
    return int(minutes) * 60 + float(sec)


def _parse_lrc(text: str, source) -> list[LyricLine]:
    offset_s = 0.0
    entries: list[tuple[float, int, str, Optional[list[float]], list[str], int]] = []
    section, pending_break, order = 0, False, 0
    for raw in text.split("\n"):
        if not raw.strip():
            pending_break = True
            continue
        tag = _LRC_TAG.match(raw)
        if tag and not _LRC_LINE.match(raw):
            if tag.group(1).lower() == "offset":
                # [offset:+500] shows lyrics 500 ms sooner: stamps move earlier.
                try:
                    offset_s = float(tag.group(2).strip()) / 1000.0
                except ValueError:
                    raise LipcoachError(source, f"bad LRC offset tag {raw.strip()!r}") from None
            continue
        head = _LRC_LINE.match(raw)
        if not head:
            continue  # free text inside an LRC file (credits, comments) is not sung
        stamps = [_lrc_seconds(m, s) for m, s in _LRC_STAMP.findall(head.group(0))]
        body = raw[head.end():]
        word_starts: Optional[list[float]] = None
        words: list[str]
        if _WORD_STAMP.search(body):
            words, word_starts = _stamped_words(body, _WORD_STAMP, lambda m: _lrc_seconds(m.group(1), m.group(2)), stamps[0])
            body = _WORD_STAMP.sub(" ", body)
        else:
            words = tokenize(body)
        display = " ".join(body.split())
        if pending_break and entries:
            section += 1
        pending_break = False
        for stamp in stamps:  # a chorus may carry several stamps: one line per stamp
            entries.append((stamp, order, display, word_starts, words, section))
            order += 1
            if word_starts is not None and len(stamps) > 1:
                # Word stamps belong to the first occurrence only; shift them for repeats.
                word_starts = [t - stamps[0] + stamp for t in word_starts]
    if not entries:
        raise LipcoachError(source, "LRC lyrics hold no time-stamped lines")
    entries.sort(key=lambda e: (e[0], e[1]))
    lines: list[LyricLine] = []
    for k, (stamp, _order, display, word_starts, words, sec) in enumerate(entries):
        if not words:
            continue  # an empty stamped line only marks where the previous line ends
        end = entries[k + 1][0] if k + 1 < len(entries) else None
        starts = None
        if word_starts is not None:
            starts = [max(0.0, t - offset_s) for t in word_starts]
        lines.append(
            LyricLine(
                text=display,
                words=words,
                section=sec,
                start_s=max(0.0, stamp - offset_s),
                end_s=None if end is None else max(0.0, end - offset_s),
                word_starts_s=starts,
            )
        )
    # Repeated stamps put a chorus back in time order: number sections by runs of lines that
    # came from the same block of the file.
    runs, previous = -1, None
    for ln in lines:
        if ln.section != previous:
            runs, previous = runs + 1, ln.section
        ln.section = runs
    _sections_from_gaps(lines, only_if_single=True)
    return lines


def _stamped_words(body: str, pattern: re.Pattern, to_seconds, initial_s: Optional[float]) -> tuple[list[str], Optional[list[float]]]:
    """Split a line with inline word stamps into words and their onsets.

    A word without its own stamp (two words after one stamp) gets ``None`` filled by linear
    interpolation; stamps after the last word (an end mark) are ignored.
    """
    words: list[str] = []
    starts: list[Optional[float]] = []
    current: Optional[float] = initial_s  # words before the first stamp start with the line
    pos = 0
    for m in list(pattern.finditer(body)) + [None]:
        chunk = body[pos: m.start() if m else len(body)]
        first = True
        for tok in tokenize(_MARKUP.sub(" ", chunk)):
            words.append(tok)
            starts.append(current if first else None)
            first = False
        if m is None:
            break
        current = to_seconds(m)
        pos = m.end()
    if not words or all(s is None for s in starts):
        return words, None
    filled = _interpolate_missing(starts)
    return words, filled


def _interpolate_missing(values: list[Optional[float]]) -> list[float]:
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    out: list[float] = []
    for i, v in enumerate(values):
        if v is not None:
            out.append(v)
            continue
        before = [(j, x) for j, x in known if j < i]
        after = [(j, x) for j, x in known if j > i]
        if before and after:
            (j0, x0), (j1, x1) = before[-1], after[0]
            out.append(x0 + (x1 - x0) * (i - j0) / (j1 - j0))
        elif before:
            out.append(before[-1][1] + 0.3 * (i - before[-1][0]))  # a typical sung word, s
        else:
            out.append(max(0.0, after[0][1] - 0.3 * (after[0][0] - i)))
    return out


def _cue_seconds(stamp: str) -> float:
    m = _SRT_TIME.fullmatch(stamp.strip())
    if not m:
        raise ValueError(stamp)
    hours, minutes, seconds, frac = m.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(frac.ljust(3, "0")) / 1000.0


# WebVTT's inline word stamps (``<00:01.600>``) look like cue timings and tags to pysubs2,
# which would start a cue at each or strip them; they travel through it as plain text
# between two private-use characters and are read back here.
_HELD_STAMP = re.compile("\ue000(\\d+)\ue001")


def _parse_cues(text: str, source, *, vtt: bool) -> list[LyricLine]:
    """SRT and WebVTT cues, read by pysubs2: one lyric line per row of a cue's text."""
    import pysubs2

    if vtt:
        text = _VTT_STAMP.sub(lambda m: f"\ue000{round(_cue_seconds(m.group(1)) * 1000)}\ue001", text)
    try:
        cues = pysubs2.SSAFile.from_string(text, format_="vtt" if vtt else "srt")
    except (pysubs2.Pysubs2Error, ValueError) as exc:
        raise LipcoachError(source, f"unreadable {'WebVTT' if vtt else 'SRT'} ({str(exc)[:80]})") from None
    lines: list[LyricLine] = []
    for cue in cues:
        start, end = cue.start / 1000.0, cue.end / 1000.0
        if end < start:
            raise LipcoachError(source, f"cue ends before it starts: {pysubs2.time.ms_to_str(cue.start, fractions=True)} --> "
                                        f"{pysubs2.time.ms_to_str(cue.end, fractions=True)}")
        for row in cue.plaintext.split("\n"):
            body = row.strip()
            if not body:
                continue
            words, word_starts = None, None
            if _HELD_STAMP.search(body):
                words, word_starts = _stamped_words(body, _HELD_STAMP, lambda mm: int(mm.group(1)) / 1000.0, start)
                body = _HELD_STAMP.sub(" ", body)
            body = " ".join(_MARKUP.sub(" ", body).split())
            if body.startswith("-"):
                body = body.lstrip("- ")  # SRT dialogue dash
            words = words if words is not None else tokenize(body)
            lines.append(LyricLine(text=body, words=words, start_s=start, end_s=end, word_starts_s=word_starts))
    _sections_from_gaps(lines, only_if_single=False)
    return lines


def _sections_from_gaps(lines: list[LyricLine], *, only_if_single: bool) -> None:
    """Number sections by long gaps between timed lines, when the file gives no structure."""
    if not lines or (only_if_single and len({ln.section for ln in lines}) > 1):
        return
    section = 0
    for k, ln in enumerate(lines):
        if k and ln.start_s is not None and lines[k - 1].end_s is not None:
            prev_end = lines[k - 1].end_s
            if ln.start_s - prev_end >= SECTION_GAP_S:
                section += 1
        ln.section = section
