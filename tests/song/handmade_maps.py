"""Small song maps built by hand, for export and plot tests (no audio analysis needed)."""

from __future__ import annotations

import numpy as np

from lipcoach.song.rhythm import place_entrance
from lipcoach.song.songmap import Breath, Line, Loudness, Phoneme, Section, SongMap, Word

LYRICS = [
    ("Paper boats upon the river,", 2.0, 0.0),  # text, line onset (s), pitch step
    ("carry all the words I never said", 5.93, 2.0),
    ("morning light across the water", 10.12, -1.0),
]


def small_songmap(*, with_pitch: bool = True, tempo_bpm: float = 120.0, duration_s: float = 14.0) -> SongMap:
    """Three lines, words with odd (non-grid) times, two breaths, a 120 BPM beat grid."""
    beat_s = 60.0 / tempo_bpm
    beats = [round(k * beat_s, 4) for k in range(int(duration_s / beat_s))]
    words, lines = [], []
    for index, (text, onset, step) in enumerate(LYRICS):
        t = onset
        tokens = text.split()
        for k, token in enumerate(tokens):
            length = 0.23 + 0.071 * (len(token) % 4)
            pitch = (62.0 + step + (k % 3)) if with_pitch else None
            if with_pitch and k == 1 and index == 2:
                pitch = None  # one word whose pitch could not be measured
            phonemes = [
                Phoneme(symbol="P", start=t, end=t + 0.4 * length, viseme="closed"),
                Phoneme(symbol="EY", start=t + 0.4 * length, end=t + length, viseme="spread"),
            ]
            words.append(Word(text=token, start=round(t, 4), end=round(t + length, 4), line=index, phonemes=phonemes, pitch_midi=pitch))
            t += length + 0.037 * (k % 2)
        lines.append(
            Line(
                text=text,
                start=onset,
                end=round(t, 4),
                entrance=place_entrance(onset, beats_s=beats, downbeats_s=beats[::4], subdivision="beat"),
                section=0 if index < 2 else 1,
            )
        )
    breaths = [
        Breath(start=1.45, end=1.9, level_db=-18.5, audible=True, kind="full", before_line=0),
        Breath(start=5.62, end=5.84, level_db=-31.0, audible=False, kind="catch", before_line=1),
    ]
    rate = 50.0
    t = np.arange(int(duration_s * rate)) / rate
    sung = np.zeros_like(t, dtype=bool)
    for w in words:
        sung |= (t >= w.start) & (t < w.end)
    values = np.where(sung, -18.0 + 3.0 * np.sin(2 * np.pi * 0.7 * t), -55.0)
    return SongMap(
        duration=duration_s,
        tempo_bpm=tempo_bpm,
        beats=beats,
        downbeats=beats[::4],
        words=words,
        lines=lines,
        breaths=breaths,
        loudness=Loudness(rate=rate, values=[float(v) for v in values], reference_db=-18.0),
        sections=[Section(start=2.0, end=9.0, label="verse"), Section(start=10.12, end=13.0, label="chorus")],
        language="en",
        source={"name": "paper_boats.wav", "path": "/songs/paper_boats.wav"},
    )
