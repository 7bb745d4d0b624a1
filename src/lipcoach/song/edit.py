"""Editing a song map: a person's corrections, and the map on a slowed timeline.

Every change to a song map after analysis goes through this module, so the studio's editor,
the CLI and the take scorer apply the same rules:

- :func:`retime_words` moves words to the times a person set (their phonemes follow,
  proportionally). The lines holding a moved word take their span from their words and
  their entrance from :func:`lipcoach.song.rhythm.line_entrances`, the rule the analysis
  uses; a person placed the word, so that line counts as aligned. Lines whose words did not
  move keep everything they had, including "could not be aligned" flags.
- :func:`time_scaled` puts a map on the timeline of the song played at a speed (a take
  recorded while the track played slowed is scored against it).

Edits never change their input: they return a new :class:`~lipcoach.song.songmap.SongMap`.
Times are seconds of the song.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

from lipcoach.errors import LipcoachError
from lipcoach.song.songmap import SongMap, Word

#: Word times may end this far past the song's duration (rounding of the saved map), s.
_END_SLACK_S = 1e-6


@dataclass(frozen=True)
class WordTime:
    """A person's time for one word: ``index`` into ``SongMap.words``, ``start_s``/``end_s`` in s."""

    index: int
    start_s: float
    end_s: float


def retime_word(word: Word, start_s: float, end_s: float) -> None:
    """Move and stretch ``word`` (and its phonemes, proportionally) to ``[start_s, end_s]``, in place."""
    old_start_s, old_end_s = word.start, word.end
    scale = (end_s - start_s) / (old_end_s - old_start_s) if old_end_s > old_start_s else 1.0
    for p in word.phonemes:
        p.start = start_s + (p.start - old_start_s) * scale
        p.end = start_s + (p.end - old_start_s) * scale
    word.start, word.end = start_s, end_s
    word.confidence = 1.0  # a person set it


def validate_word_times(songmap: SongMap, edits: Sequence[WordTime]) -> None:
    """Raise :class:`LipcoachError` (one line, naming the word) if an edit cannot apply to ``songmap``."""
    if not edits:
        raise LipcoachError(None, "no word times to save")
    for e in edits:
        if not (0 <= e.index < len(songmap.words)):
            raise LipcoachError(None, f"word {e.index} does not exist (the map has {len(songmap.words)} words)")
        if not (0.0 <= e.start_s < e.end_s <= songmap.duration + _END_SLACK_S):
            word = songmap.words[e.index].text
            raise LipcoachError(None, f"word {e.index} ({word}): times {e.start_s:.3f}-{e.end_s:.3f} s are not a span inside the song")


def retime_words(songmap: SongMap, edits: Sequence[WordTime]) -> SongMap:
    """A copy of ``songmap`` with the words of ``edits`` at the times a person set.

    Parameters
    ----------
    songmap : SongMap
    edits : sequence of WordTime
        Times in seconds of the song.

    Returns
    -------
    SongMap
        Touched lines span their words, their entrance is re-measured on the beat grid with
        :func:`lipcoach.song.rhythm.line_entrances` and they count as aligned; untouched lines
        are as they were.

    Raises
    ------
    LipcoachError
        A word index that does not exist, a span outside the song, or words out of order.
    """
    from lipcoach.song.rhythm import line_entrances

    validate_word_times(songmap, edits)
    out = copy.deepcopy(songmap)
    for e in edits:
        retime_word(out.words[e.index], e.start_s, e.end_s)
    for a, b in zip(out.words, out.words[1:]):
        if b.start < a.start - 1e-6:
            raise LipcoachError(None, f"word '{b.text}' would start before '{a.text}'; keep the words in order")
    touched = sorted({out.words[e.index].line for e in edits})
    # Touched lines are placed on the grid the song's entrances already use (maps made
    # before entrance slots were measured against the nearest beat, so they keep that).
    subdivision = next((ln.entrance.subdivision for ln in out.lines if ln.entrance is not None and ln.entrance.subdivision), "beat")
    entrances = (line_entrances(out.lines, out.words, beats=out.beats, downbeats=out.downbeats, subdivision=subdivision)
                 if out.beats else [None] * len(out.lines))
    for li in touched:
        if not (0 <= li < len(out.lines)):
            continue
        line = out.lines[li]
        ws = out.words_of_line(li)
        line.start, line.end = ws[0].start, max(w.end for w in ws)
        if line.entrance is not None and entrances[li] is not None:
            line.entrance = entrances[li]
        line.aligned = True
        if getattr(line, "flagged", None):
            line.flagged = False  # a person has now placed this line's words
    return out


def time_scaled(songmap: SongMap, speed: float) -> SongMap:
    """A copy of ``songmap`` on the timeline of the song played at ``speed`` (times / speed).

    A take recorded while the track played slowed is scored against this map, so words,
    breaths and the vocal loudness fall where the actor heard them. ``speed`` 1.0 returns
    ``songmap`` itself.
    """
    if speed == 1.0:
        return songmap
    if not speed > 0:
        raise LipcoachError(None, f"speed must be above 0, not {speed}")
    m = copy.deepcopy(songmap)
    k = 1.0 / speed
    m.duration *= k
    m.tempo_bpm *= speed
    m.beats = [t * k for t in m.beats]
    m.downbeats = [t * k for t in m.downbeats]
    m.onsets = [t * k for t in m.onsets]
    m.vocal_activity = [[a * k, b * k] for a, b in m.vocal_activity]
    for w in m.words:
        w.start, w.end = w.start * k, w.end * k
        for p in w.phonemes:
            p.start, p.end = p.start * k, p.end * k
    for ln in m.lines:
        ln.start, ln.end = ln.start * k, ln.end * k
        if ln.entrance is not None:
            ln.entrance.beat_time *= k
            ln.entrance.offset_ms *= k
            if ln.entrance.slot_time is not None:
                ln.entrance.slot_time *= k
    for b in m.breaths:
        b.start, b.end = b.start * k, b.end * k
    for sec in m.sections:
        sec.start, sec.end = sec.start * k, sec.end * k
    m.loudness.rate *= speed
    return m
