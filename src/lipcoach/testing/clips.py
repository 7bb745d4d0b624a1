"""Song maps for talking-face clips: the clip's own sound treated as "the song".

Used by the take benchmarks and tests to score real face clips (GRID, HDTF) whose words
are known by time but which were never mapped by the song pipeline. Phonemes come from the
pronunciation dictionary (:func:`lipcoach.song.g2p.word_phones`) spread evenly over each
word, which is enough to know where m/b/p closures fall within a word to ~50 ms.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from lipcoach.song.songmap import Line, Loudness, Phoneme, SongMap, Word


def _phonemes(text: str, start_s: float, end_s: float, language: str) -> list[Phoneme]:
    from lipcoach.song.g2p import word_phones
    from lipcoach.song.visemes import viseme_of

    if text.startswith("["):
        # A placeholder such as "[speech]" (a speech span without a transcript): its sounds are unknown.
        return []
    try:
        phones = word_phones(text, language)
    except Exception:  # an unknown word just has no phonemes
        return []
    if not phones:
        return []
    edges = np.linspace(start_s, end_s, len(phones) + 1)
    return [Phoneme(symbol=p.rstrip("012"), start=round(float(a), 4), end=round(float(b), 4), viseme=viseme_of(p))
            for p, a, b in zip(phones, edges[:-1], edges[1:])]


def songmap_from_words(audio: np.ndarray, *, sr: int, words: Sequence[tuple[float, float, str]],
                       line_breaks_s: Sequence[float] = (), language: str = "en",
                       source_path: Optional[str] = None, loudness_rate: float = 50.0) -> SongMap:
    """A minimal song map from a clip's audio and word timings.

    Parameters
    ----------
    audio : np.ndarray
        Mono audio at ``sr`` Hz (the "vocal").
    sr : int
    words : sequence of (start_s, end_s, text)
    line_breaks_s : sequence of float
        A new line starts at the first word at or after each of these times, s.
    source_path : str, optional
        Recorded as ``source.path`` (used to place takes by scratch sound).
    loudness_rate : float
        Frames/s of the loudness contour.
    """
    from lipcoach.song.vocal import loudness_contour

    breaks = sorted(line_breaks_s)
    ws: list[Word] = []
    for a, b, text in sorted(words):
        line = int(np.searchsorted(breaks, a, side="right"))
        ws.append(Word(text=text, start=float(a), end=float(b), line=line, phonemes=_phonemes(text, a, b, language)))
    # Renumber lines densely (a break with no word after it makes no line).
    used = sorted({w.line for w in ws})
    remap = {old: new for new, old in enumerate(used)}
    for w in ws:
        w.line = remap[w.line]
    lines = []
    for li in range(len(used)):
        lw = [w for w in ws if w.line == li]
        lines.append(Line(text=" ".join(w.text for w in lw), start=lw[0].start, end=lw[-1].end))
    loud: Loudness = loudness_contour(np.asarray(audio, dtype=np.float32), sr=sr, rate=loudness_rate)
    return SongMap(duration=len(audio) / sr, tempo_bpm=0.0, beats=[], downbeats=[], words=ws, lines=lines, breaths=[],
                   loudness=loud, source={"path": source_path} if source_path else {})


def speech_spans(audio: np.ndarray, *, sr: int, min_gap_s: float = 0.2, min_span_s: float = 0.12) -> list[tuple[float, float]]:
    """Spans of speech (s) from the audio level, for clips without word timings (e.g. HDTF)."""
    from lipcoach.song.vocal import vocal_activity

    return [(float(a), float(b)) for a, b in vocal_activity(np.asarray(audio, dtype=np.float32), sr=sr,
                                                             min_gap_s=min_gap_s, min_span_s=min_span_s)]
