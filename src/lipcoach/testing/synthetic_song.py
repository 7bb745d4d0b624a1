"""A synthetic singer with exact truth: words, breaths and entrances at known times.

Used by tests that must always run, by the synthetic half of the accuracy benchmark and by
``lipcoach demo``. Nothing here is copyrighted: the words are our own, voiced by eSpeak NG
in a flat, sung-like monotone on a melody, over a click track and a low pad.

Layout of a number (times in seconds): every line starts on a downbeat, pushed early or late
by a known ``entrance_offsets_ms``; its words fall on the eighth-note grid after it; each line
is followed by a bar's rest in which the singer takes a breath of known start, end and level
that ends shortly before the next line. Levels are dB relative to the vocal's median sung
level, measured as in :func:`frame_levels_db` (20 ms RMS frames).

The seed fixes the layout, melody, breaths and entrances, and the audio: eSpeak NG renders
each word afresh (:func:`lipcoach.media.espeak.synthesize`), so the same seed gives the same
samples in every run. Word onsets are still measured on the audio (the first sample above
−40 dB of the word's peak), never assumed.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import soxr

from lipcoach.media import espeak
from lipcoach.song.vocal import LEVEL_FRAME_S, frame_levels_db

#: Our own lyrics for the default number (blank line = new section).
DEFAULT_LYRICS = """\
paper boats upon the river
carry all the words I never said
morning light across the water
every little wave will bring me home

hold your breath and count to seven
we can make the music last tonight
come and dance beside me baby
till the moon is falling from the sky"""


@dataclasses.dataclass
class TrueWord:
    text: str
    start: float  #: s, first sample above -40 dB of the word's peak
    end: float  #: s
    line: int
    espeak_pitch: Optional[int] = None  #: the melody's note for this word, eSpeak pitch units (0..99, higher is higher)


@dataclasses.dataclass
class TrueBreath:
    start: float  #: s
    end: float  #: s
    level_db: float  #: median 20 ms RMS relative to the vocal's median sung level, dB
    before_line: int


@dataclasses.dataclass
class SyntheticSong:
    """A generated number and its exact truth (all times in seconds)."""

    sr: int  #: Hz
    mix: np.ndarray  #: float32 (n,), vocals + accompaniment
    vocals: np.ndarray  #: float32 (n,), the vocal stem (voice + breaths)
    accompaniment: np.ndarray  #: float32 (n,)
    lyrics_text: str
    language: str
    tempo_bpm: float
    beats: list[float]
    downbeats: list[float]
    line_beats: list[float]  #: the slot each line is written on, s (its bar's downbeat unless ``entrance_slots_beats`` moved it)
    entrance_offsets_ms: list[float]  #: first word onset minus its written beat, ms (negative = early)
    words: list[TrueWord]
    breaths: list[TrueBreath]
    line_texts: list[str]

    @property
    def duration(self) -> float:
        return len(self.mix) / self.sr

    def line_spans(self) -> list[tuple[float, float]]:
        """(start_s, end_s) of every line, from its first word onset to its last word end."""
        spans = []
        for index in range(len(self.line_texts)):
            ws = [w for w in self.words if w.line == index]
            spans.append((ws[0].start, ws[-1].end))
        return spans

    def write(self, folder: str | os.PathLike) -> dict[str, Path]:
        """Write mix.wav, vocals.wav, lyrics.txt and truth.json into ``folder``; return their paths."""
        from lipcoach.fileio import write_json_atomic, write_text_atomic
        from lipcoach.media.decode import write_wav

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {name: folder / name for name in ("mix.wav", "vocals.wav", "lyrics.txt", "truth.json")}
        write_wav(paths["mix.wav"], self.mix, self.sr)
        write_wav(paths["vocals.wav"], self.vocals, self.sr)
        write_text_atomic(paths["lyrics.txt"], self.lyrics_text + "\n")
        truth = {
            "generator": "lipcoach synthetic singer",  # first, so lipcoach knows the file as its own
            "tempo_bpm": self.tempo_bpm,
            "beats": self.beats,
            "downbeats": self.downbeats,
            "line_beats": self.line_beats,
            "entrance_offsets_ms": self.entrance_offsets_ms,
            "words": [dataclasses.asdict(w) for w in self.words],
            "breaths": [dataclasses.asdict(b) for b in self.breaths],
            "lines": self.line_texts,
        }
        write_json_atomic(paths["truth.json"], truth)
        return paths


def sung_word(text: str, language: str, *, pitch: int, rate_wpm: int, sr: int) -> np.ndarray:
    """One sung word at ``sr`` with leading and trailing silence (< −40 dB of peak) removed."""
    audio, native_sr = espeak.synthesize(text, language, pitch=pitch, pitch_range=0, rate_wpm=rate_wpm)
    audio = soxr.resample(audio, native_sr, sr).astype(np.float32)
    envelope = np.abs(audio)
    above = np.flatnonzero(envelope > envelope.max() * 10 ** (-40 / 20))
    if len(above) == 0:
        return np.zeros(int(0.1 * sr), np.float32)
    return audio[above[0] : above[-1] + 1]


def _breath(duration_s: float, *, sr: int, rng: np.random.Generator) -> np.ndarray:
    """An inhalation: band-passed noise (≈ 0.5–5 kHz, a formant-ish bump) with a swell envelope."""
    from scipy.signal import butter, sosfilt

    n = int(duration_s * sr)
    noise = rng.standard_normal(n + sr // 10)
    sos = butter(4, [500, min(5000, 0.45 * sr)], btype="bandpass", fs=sr, output="sos")
    shaped = sosfilt(sos, noise)[sr // 10 :]
    centre = rng.uniform(1200, 2500)
    sos_formant = butter(2, [centre * 0.7, centre * 1.3], btype="bandpass", fs=sr, output="sos")
    shaped = shaped + 1.5 * sosfilt(sos_formant, rng.standard_normal(n))
    t = np.linspace(0.0, 1.0, n)
    envelope = np.sin(np.pi * t) ** 0.7  # swells in, fades out
    return (shaped * envelope).astype(np.float32)


def _click(*, sr: int, accent: bool) -> np.ndarray:
    t = np.arange(int(0.03 * sr)) / sr
    freq = 2000.0 if accent else 1500.0
    return (np.sin(2 * np.pi * freq * t) * np.exp(-t / 0.006)).astype(np.float32)


def _pad(duration_s: float, root_hz: float, *, sr: int) -> np.ndarray:
    """A soft low chord (root, fifth, octave) under 400 Hz, so breaths stay audible above it."""
    t = np.arange(int(duration_s * sr)) / sr
    tone = sum(np.sin(2 * np.pi * root_hz * ratio * t) / (k + 1) for k, ratio in enumerate((1.0, 1.5, 2.0)))
    fade = np.minimum(1.0, np.minimum(t / 0.05, (t[-1] - t) / 0.05 + 1e-9))
    return (tone * fade).astype(np.float32)


def make_song(
    *,
    lyrics: Optional[str] = None,
    language: str = "en",
    tempo_bpm: float = 96.0,
    sr: int = 16000,
    seed: int = 0,
    entrance_offsets_ms: Optional[Sequence[float]] = None,
    breath_levels_db: tuple[float, float] = (-28.0, -16.0),
    accompaniment_db: float = -14.0,
    click: bool = True,
    n_lines: Optional[int] = None,
    lead_in_bars: int = 1,
    entrance_slots_beats: Optional[Sequence[float]] = None,
) -> SyntheticSong:
    """Generate a sung number with exact truth.

    Parameters
    ----------
    lyrics : str, optional
        One sung line per line, blank line between sections (default :data:`DEFAULT_LYRICS`).
    language : str
        eSpeak NG language code of the lyrics.
    tempo_bpm : float
        Tempo of the click and the grid, beats per minute (4 beats a bar).
    sr : int
        Output sample rate, Hz.
    seed : int
        Seeds melody, breath lengths and levels, and default entrance offsets.
    entrance_offsets_ms : sequence of float, optional
        Per line, first word onset minus its downbeat, ms (negative = early). Default: drawn
        from {−120, −60, 0, 0, 0, +50, +100}, so early, on and late entrances all occur.
    breath_levels_db : (low, high)
        Breath levels are drawn uniformly in this range, dB relative to the median sung level.
    accompaniment_db : float
        Level of the pad and clicks relative to the vocal's median sung level, dB.
    click : bool
        Add a click on every beat (accented on downbeats).
    n_lines : int, optional
        Use only the first ``n_lines`` lines of the lyrics (short fixtures for tests).
    lead_in_bars : int
        Bars of accompaniment before the first line's breath.
    entrance_slots_beats : sequence of float, optional
        Per line, where in its bar the line is written, in beats after the downbeat (0 = on 1,
        1.5 = the "and" of 2, 2.25 = the "e" of 3). Default: every line on 1.
    """
    rng = np.random.default_rng(seed)
    text = (lyrics or DEFAULT_LYRICS).strip("\n")
    raw_lines = [ln.strip() for ln in text.splitlines()]
    sung = [ln for ln in raw_lines if ln]
    if n_lines is not None:
        sung = sung[:n_lines]
        kept, count = [], 0
        for ln in raw_lines:
            if ln and count < n_lines:
                kept.append(ln)
                count += 1
            elif not ln and count < n_lines:
                kept.append(ln)
        text = "\n".join(kept).strip("\n")
    if entrance_offsets_ms is None:
        entrance_offsets_ms = list(rng.choice([-120.0, -60.0, 0.0, 0.0, 0.0, 50.0, 100.0], size=len(sung)))
    offsets = [float(o) for o in entrance_offsets_ms]
    if len(offsets) != len(sung):
        raise ValueError(f"{len(offsets)} entrance offsets for {len(sung)} lines")
    slots_beats = [0.0] * len(sung) if entrance_slots_beats is None else [float(b) for b in entrance_slots_beats]
    if len(slots_beats) != len(sung) or not all(0.0 <= b < 4.0 for b in slots_beats):
        raise ValueError(f"entrance slots must give one position in 0..4 beats per line ({len(sung)} lines)")

    beat_s = 60.0 / tempo_bpm
    bar_s = 4 * beat_s
    eighth_s = beat_s / 2
    melody = [38, 42, 45, 48, 52, 55, 58]  # eSpeak pitch units, a rough major-ish scale
    rate_wpm = int(np.clip(tempo_bpm * 1.2, 90, 160))

    # Lay out lines: breath bar, then the line on the next downbeat, words on the eighth grid.
    placed: list[tuple[np.ndarray, float, str, int]] = []
    breaths_plan: list[tuple[float, float, int]] = []
    words: list[TrueWord] = []
    line_beats: list[float] = []
    bar_time = lead_in_bars * bar_s + bar_s  # the first line's downbeat leaves a bar for its breath
    for index, line in enumerate(sung):
        line_beat = bar_time + slots_beats[index] * beat_s
        line_beats.append(line_beat)
        onset = line_beat + offsets[index] / 1000.0
        cursor = onset
        for k, word in enumerate(line.split()):
            note = int(rng.choice(melody))
            voice = sung_word(word, language, pitch=note, rate_wpm=rate_wpm, sr=sr)
            start = cursor if k == 0 else line_beat + np.ceil((cursor - line_beat + 0.03) / eighth_s - 1e-9) * eighth_s
            placed.append((voice, start, word, index))
            end = start + len(voice) / sr
            words.append(TrueWord(text=word, start=float(start), end=float(end), line=index, espeak_pitch=note))
            cursor = end
        line_end = cursor
        # Next line: the first downbeat that leaves ≥ 1.2 s of rest for a breath.
        next_bar = bar_time + np.ceil((line_end + 1.2 - bar_time) / bar_s) * bar_s
        bar_time = next_bar
    # Breaths: end 60–160 ms before the line's onset, 0.2–0.7 s long, inside the rest.
    for index in range(len(sung)):
        first = next(w for w in words if w.line == index)
        previous_end = max([w.end for w in words if w.line == index - 1], default=0.3)
        end = first.start - rng.uniform(0.06, 0.16)
        length = rng.uniform(0.2, 0.7)
        start = max(end - length, previous_end + 0.25)
        if end - start >= 0.12:
            breaths_plan.append((start, end, index))

    total_s = bar_time + bar_s
    n = int(total_s * sr)
    voice_track = np.zeros(n, np.float32)
    for audio, start, _, _ in placed:
        i = int(round(start * sr))
        voice_track[i : i + len(audio)] += audio[: max(0, n - i)]
    voice_track /= max(1e-6, np.abs(voice_track).max()) / 0.5

    # Levels are set against the median sung level (frames inside words).
    frame_db = frame_levels_db(voice_track, sr=sr)
    frame_t = (np.arange(len(frame_db)) + 0.5) * LEVEL_FRAME_S
    in_words = np.zeros(len(frame_db), bool)
    for w in words:
        in_words |= (frame_t >= w.start) & (frame_t < w.end)
    sung_db = float(np.median(frame_db[in_words & (frame_db > -80)]))

    breath_track = np.zeros(n, np.float32)
    breaths: list[TrueBreath] = []
    for start, end, index in breaths_plan:
        sound = _breath(end - start, sr=sr, rng=rng)
        target_db = rng.uniform(*breath_levels_db)
        current = float(np.median(frame_levels_db(sound, sr=sr)))
        sound *= 10 ** ((sung_db + target_db - current) / 20)
        i = int(round(start * sr))
        breath_track[i : i + len(sound)] += sound[: max(0, n - i)]
        measured = float(np.median(frame_levels_db(sound, sr=sr))) - sung_db
        breaths.append(TrueBreath(start=float(start), end=float(start + len(sound) / sr), level_db=round(measured, 2), before_line=index))
    vocals = voice_track + breath_track

    # Accompaniment: clicks on beats, pad chords per bar.
    beats = list(np.arange(bar_s, total_s - 1e-6, beat_s))
    downbeats = [b for k, b in enumerate(beats) if k % 4 == 0]
    accompaniment = np.zeros(n, np.float32)
    if click:
        for k, b in enumerate(beats):
            c = _click(sr=sr, accent=k % 4 == 0)
            i = int(round(b * sr))
            accompaniment[i : i + len(c)] += c[: max(0, n - i)]
    roots = [110.0, 87.31, 98.0, 73.42]
    for k, b in enumerate(downbeats):
        pad = 0.3 * _pad(min(bar_s, total_s - b), roots[k % 4], sr=sr)
        i = int(round(b * sr))
        accompaniment[i : i + len(pad)] += pad[: max(0, n - i)]
    acc_db = float(np.median(frame_levels_db(accompaniment, sr=sr)))
    accompaniment *= 10 ** ((sung_db + accompaniment_db - acc_db) / 20)

    mix = vocals + accompaniment
    # A faint noise floor: exact digital silence breaks PocketSphinx (see stack notes).
    mix += (1e-4 * rng.standard_normal(n)).astype(np.float32)
    peak = max(1.0, float(np.abs(mix).max()) / 0.9)
    return SyntheticSong(
        sr=sr,
        mix=(mix / peak).astype(np.float32),
        vocals=(vocals / peak).astype(np.float32),
        accompaniment=(accompaniment / peak).astype(np.float32),
        lyrics_text=text,
        language=language,
        tempo_bpm=float(tempo_bpm),
        beats=[float(b) for b in beats],
        downbeats=[float(b) for b in downbeats],
        line_beats=[float(b) for b in line_beats],
        entrance_offsets_ms=offsets,
        words=words,
        breaths=breaths,
        line_texts=sung,
    )
