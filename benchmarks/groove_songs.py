"""Songs with a groove and exactly known entrances, for the entrance benchmark.

Independent of the detector's own model (and of the synthetic singer's layout in
``lipcoach.testing.synthetic_song``, where every line starts on a downbeat over a click): a band of
drums (kick, snare, hi-hat on the eighths, swung in triplet songs, with a few ms of human
jitter), a bass line and pad chords, at tempi from 70 to 160 bpm, and eSpeak-sung lines
entering on chosen slots (downbeats, the "and" of 2, the "e" of 3, triplet partials) with
chosen pushes and lay-backs.

Styles: which slots the lines enter on.
- ``beat``: beats 1–4 only;
- ``eighth``: about half of the lines on an "and";
- ``sixteenth``: about half on an "e" or an "a";
- ``triplet``: swung eighths (the off-beat at 2/3 of the beat); about half on a "let" or a "trip".

Truth per line: slot time (s), slot name and bar, offset (onset − slot, ms). The onset of a
word is its first sample above −40 dB of the word's peak (``lipcoach.testing.synthetic_song.sung_word``
trims to it).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.signal import butter, sosfilt

STYLES = ("beat", "eighth", "sixteenth", "triplet")
SLOTS_PER_BEAT = {"beat": 1, "eighth": 2, "sixteenth": 4, "triplet": 3}
NAMES = {"beat": (), "eighth": ("and",), "triplet": ("trip", "let"), "sixteenth": ("e", "and", "a")}
WORDS = ("light", "river", "morning", "paper", "silver", "dancing", "over", "window", "yellow", "lady",
         "money", "never", "waiting", "falling", "better", "honey", "city", "coming", "alone", "tonight")


@dataclasses.dataclass
class GrooveSong:
    sr: int
    mix: np.ndarray  #: (n,) mono
    stereo: np.ndarray  #: (2, n): voice, kick, snare and bass in the centre, hi-hat and pads spread
    vocals: np.ndarray
    tempo_bpm: float
    style: str
    swing: bool
    beats: list[float]
    downbeats: list[float]
    slot_times: list[float]  #: s, per line
    slot_names: list[str]  #: "1", "and of 2", ...
    bars: list[int]  #: 1 = the first bar
    offsets_ms: list[float]  #: onset − slot, ms
    onsets: list[float]  #: s, each line's first sung onset
    lines: list[list[tuple[str, float, float]]]  #: per line, (word, start_s, end_s)


def _slot_choices(style: str, rng: np.random.Generator) -> tuple[int, int]:
    """(beat in bar 0..3, part of the beat) for one line."""
    n = SLOTS_PER_BEAT[style]
    beat = int(rng.choice(4, p=[0.4, 0.2, 0.25, 0.15]))
    if style == "beat" or rng.random() < 0.45:
        return beat, 0
    return beat, int(rng.integers(1, n))


def _offset_ms(style: str, beat_s: float, rng: np.random.Generator) -> float:
    """A push or lay-back: near the slot for some lines, up to ±80 ms (and under a third of
    the slot spacing, so that the slot stays unambiguous) for others."""
    spacing_ms = beat_s * 1000 / SLOTS_PER_BEAT[style]
    limit = min(80.0, 0.3 * spacing_ms)
    if rng.random() < 0.4:
        return float(np.round(rng.uniform(-12, 12)))
    return float(np.round(rng.uniform(-limit, limit)))


def _drum(kind: str, sr: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "kick":
        t = np.arange(int(0.18 * sr)) / sr
        freq = 50 + 100 * np.exp(-t / 0.03)
        return (np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.07)).astype(np.float32)
    if kind == "snare":
        t = np.arange(int(0.16 * sr)) / sr
        noise = sosfilt(butter(2, [1200, 6000], btype="bandpass", fs=sr, output="sos"), rng.standard_normal(len(t)))
        return (0.7 * noise * np.exp(-t / 0.05) + 0.4 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.03)).astype(np.float32)
    t = np.arange(int(0.04 * sr)) / sr
    noise = sosfilt(butter(4, min(6000, 0.4 * sr), btype="highpass", fs=sr, output="sos"), rng.standard_normal(len(t)))
    return (0.5 * noise * np.exp(-t / 0.01)).astype(np.float32)


def _tone(freq_hz: float, seconds: float, sr: int, *, harmonics: int, attack_s: float) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    y = sum(np.sin(2 * np.pi * freq_hz * k * t) / k for k in range(1, harmonics + 1))
    env = np.minimum(1.0, t / attack_s) * np.minimum(1.0, (t[-1] - t) / 0.03 + 1e-9)
    return (y * env).astype(np.float32)


def _add(track: np.ndarray, sound: np.ndarray, start_s: float, sr: int, gain: float = 1.0) -> None:
    i = int(round(start_s * sr))
    if i < 0:
        sound, i = sound[-i:], 0
    if i >= len(track):
        return
    part = sound[: len(track) - i]
    track[i : i + len(part)] += gain * part


def make_groove_song(*, seed: int, tempo_bpm: float, style: str, n_lines: int = 8, sr: int = 16000) -> GrooveSong:
    """One song: 2 bars of band, then ``n_lines`` sung lines on ``style`` slots."""
    from lipcoach.testing.synthetic_song import sung_word

    rng = np.random.default_rng(seed)
    swing = style == "triplet"
    beat_s = 60.0 / tempo_bpm
    bar_s = 4 * beat_s
    lead_bars = 2
    slot_times, slot_names, bars, offsets, onsets, lines = [], [], [], [], [], []
    voice_parts: list[tuple[np.ndarray, float]] = []
    bar = lead_bars  # 0-based bar index of the next line's bar
    free_from = lead_bars * bar_s
    rate_wpm = int(np.clip(tempo_bpm * 1.1, 90, 170))
    for _ in range(n_lines):
        beat, part = _slot_choices(style, rng)
        position = beat + part / SLOTS_PER_BEAT[style]  # in beats from the bar's start
        while bar * bar_s + position * beat_s < free_from + 0.5:
            bar += 1
        slot = bar * bar_s + position * beat_s
        offset = _offset_ms(style, beat_s, rng)
        onset = slot + offset / 1000.0
        words = [str(w) for w in rng.choice(WORDS, size=int(rng.integers(3, 6)), replace=False)]
        cursor, line = onset, []
        for k, word in enumerate(words):
            audio = sung_word(word, "en", pitch=int(rng.integers(35, 60)), rate_wpm=rate_wpm, sr=sr)
            start = cursor if k == 0 else onset + np.ceil((cursor - onset + 0.04) / (beat_s / 2)) * (beat_s / 2)
            voice_parts.append((audio, start))
            line.append((word, float(start), float(start + len(audio) / sr)))
            cursor = start + len(audio) / sr
        name = str(beat + 1) if part == 0 else f"{NAMES[style][part - 1]} of {beat + 1}"
        slot_times.append(float(slot))
        slot_names.append(name)
        bars.append(bar + 1)  # bar numbers count from the song's first bar
        offsets.append(offset)
        onsets.append(float(onset))
        lines.append(line)
        free_from = cursor
        bar += 1
    n_bars = int(np.ceil((free_from + 0.5) / bar_s)) + 1
    total_s = n_bars * bar_s
    n = int(total_s * sr)
    vocals = np.zeros(n, np.float32)
    for audio, start in voice_parts:
        _add(vocals, audio, start, sr)
    vocals *= 0.5 / max(1e-6, float(np.abs(vocals).max()))

    drums = np.zeros(n, np.float32)
    hats = np.zeros(n, np.float32)
    bass = np.zeros(n, np.float32)
    pads = np.zeros(n, np.float32)
    pads_right = np.zeros(n, np.float32)
    kick, snare, hat = _drum("kick", sr, rng), _drum("snare", sr, rng), _drum("hat", sr, rng)
    beats = [k * beat_s for k in range(4 * n_bars)]
    off = 2.0 / 3.0 if swing else 0.5
    roots = [55.0, 43.65, 49.0, 36.71]  # A1, F1, G1, D1
    for k, b in enumerate(beats):
        jitter = lambda: rng.normal(0, 0.002)  # noqa: E731  a drummer's few ms
        in_bar = k % 4
        if in_bar in (0, 2):
            _add(drums, kick, b + jitter(), sr, 1.0)
        if in_bar in (1, 3):
            _add(drums, snare, b + jitter(), sr, 0.8)
        _add(hats, hat, b + jitter(), sr, 0.35)
        _add(hats, hat, b + off * beat_s + jitter(), sr, 0.25)
        if in_bar == 2 and rng.random() < 0.3:
            _add(drums, kick, b + off * beat_s + jitter(), sr, 0.7)  # a syncopated kick on the "and" of 3
        root = roots[(k // 4) % 4]
        if in_bar in (0, 2):
            _add(bass, _tone(root * 2, 0.9 * beat_s, sr, harmonics=4, attack_s=0.005), b, sr)
        if in_bar == 3:
            _add(bass, _tone(root * 3, 0.4 * beat_s, sr, harmonics=4, attack_s=0.005), b + off * beat_s, sr)
        if in_bar == 0:
            for ratio in (4.0, 5.04, 6.0):
                _add(pads, _tone(root * ratio, bar_s, sr, harmonics=2, attack_s=0.15), b, sr, 0.3)
                _add(pads_right, _tone(root * ratio * 1.003, bar_s, sr, harmonics=2, attack_s=0.2), b, sr, 0.3)
    sung = vocals[np.abs(vocals) > 0]
    vocal_rms = float(np.sqrt(np.mean(sung**2))) if sung.size else 0.1

    def at_db(x: np.ndarray, db: float) -> np.ndarray:
        rms = float(np.sqrt(np.mean(x**2))) + 1e-12
        return x * (vocal_rms * 10 ** (db / 20) / rms)

    drums_db, hats_db, bass_db, pads_db = -6.0, -14.0, -10.0, -16.0
    centre = vocals + at_db(drums, drums_db) + at_db(bass, bass_db)
    left = centre + at_db(hats, hats_db) * 1.3 + at_db(pads, pads_db) * 1.2 + at_db(pads_right, pads_db) * 0.3
    right = centre + at_db(hats, hats_db) * 0.5 + at_db(pads, pads_db) * 0.3 + at_db(pads_right, pads_db) * 1.2
    stereo = np.vstack([left, right]) + (1e-4 * rng.standard_normal((2, n))).astype(np.float32)
    peak = max(1.0, float(np.abs(stereo).max()) / 0.9)
    stereo = (stereo / peak).astype(np.float32)
    mix = stereo.mean(axis=0)
    return GrooveSong(
        sr=sr, mix=mix, stereo=stereo, vocals=(vocals / peak).astype(np.float32), tempo_bpm=float(tempo_bpm),
        style=style, swing=swing, beats=beats, downbeats=beats[::4], slot_times=slot_times, slot_names=slot_names,
        bars=bars, offsets_ms=offsets, onsets=onsets, lines=lines,
    )
