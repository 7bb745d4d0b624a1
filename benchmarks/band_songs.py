"""A second song generator, for held-out entrance and breath figures: a band that does not play
where the downbeat rule looks.

``groove_songs.py`` (the calibration generator) puts every chord change on 1, the kick on 1 and
3 and the snare on 2 and 4 in every bar, exactly where :mod:`lipcoach.song.rhythm` looks for
the bar phase. Here each song draws its own arrangement, so the detector meets bands it was not
tuned on:

* **harmonic rhythm**: a chord per bar, per two bars, two per bar (on 1 and 3), or pushed (the
  change anticipated on the "and" of 4 of the bar before, as pop and funk do);
* **drums**: rock (kick 1 and 3, snare 2 and 4), four on the floor (kick every beat, clap 2
  and 4), two-step (kick 1 and the "and" of 3, snare 2 and 4), syncopated (kick 1, the "and"
  of 2 and 3, snare 2 and 4) or none (a piano ballad: the keyboard keeps time). No half-time
  feel: kick 1 and snare 3 at 150 bpm is a backbeat at 75, so its tempo truth is ambiguous; hi-hats on quarters, eighths or sixteenths, or a ride; a snare
  fill on the last beats of every fourth bar; the drums drop out for the first two bars;
* **instruments**: a bass that holds, pumps eighths or walks; chords as a pad or as a
  plucked, decaying keyboard struck on a per-song rhythm; levels drawn per song;
* **tempo** 66–166 bpm (slow songs are where beat trackers double the tempo).

Lines are eSpeak-sung (``lipcoach.testing.synthetic_song.sung_word``) on chosen slots with
chosen pushes and lay-backs, as in ``groove_songs.py`` (styles beat, eighth, sixteenth,
triplet; triplet songs swing their off-beats). Optionally a real inhalation
(``breath_clips``, cut from hand-labelled speech) is put into the vocal stem before every
line that has room for one: then the song's only breaths are the labelled ones.

Truth: as :class:`groove_songs.GrooveSong`, plus ``breaths`` ([start_s, end_s] per placed
breath) and ``arrangement`` (what was drawn).
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import numpy as np
from scipy.signal import butter, sosfilt

from groove_songs import NAMES, SLOTS_PER_BEAT, WORDS, _add, _drum, _offset_ms, _slot_choices, _tone

HARMONY = ("bar", "two_bars", "half_bar", "pushed")
DRUMS = ("rock", "four_on_floor", "two_step", "syncopated", "none")
HATS = ("quarter", "eighth", "sixteenth", "ride")
BASS = ("hold", "pump", "walk")
CHORDS = ("pad", "keys")
#: A breath ends this long before its line's first word, s (uniform draw), as a singer's does.
BREATH_LEAD_S = (0.05, 0.20)
#: Breath RMS re the sung RMS of the line it prepares, dB (uniform draw): studio-breath levels.
BREATH_LEVEL_DB = (-26.0, -14.0)


@dataclasses.dataclass
class BandSong:
    sr: int
    mix: np.ndarray
    stereo: np.ndarray
    vocals: np.ndarray
    tempo_bpm: float
    style: str
    swing: bool
    beats: list[float]
    downbeats: list[float]
    slot_times: list[float]
    slot_names: list[str]
    bars: list[int]
    offsets_ms: list[float]
    onsets: list[float]
    lines: list[list[tuple[str, float, float]]]
    breaths: list[list[float]]
    arrangement: dict


def _clap(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.12 * sr)) / sr
    noise = sosfilt(butter(2, [900, 4500], btype="bandpass", fs=sr, output="sos"), rng.standard_normal(len(t)))
    bursts = sum(np.exp(-np.maximum(0, t - d) / 0.004) * (t >= d) for d in (0.0, 0.008, 0.017)) + np.exp(-t / 0.04)
    return (0.6 * noise * bursts / 4).astype(np.float32)


def _ride(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.35 * sr)) / sr
    metal = sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(3000, 7000, 6))
    noise = sosfilt(butter(2, 5000, btype="highpass", fs=sr, output="sos"), rng.standard_normal(len(t)))
    return (0.15 * (metal / 6 + noise) * np.exp(-t / 0.18)).astype(np.float32)


def _pluck(freq_hz: float, seconds: float, sr: int) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    y = sum(np.sin(2 * np.pi * freq_hz * k * t) * np.exp(-t * (2.0 + 1.5 * k)) / k for k in range(1, 7))
    return (y * np.minimum(1.0, t / 0.003)).astype(np.float32)


def _chord_starts(harmony: str, n_bars: int, bar_s: float, beat_s: float) -> list[float]:
    """Times where the chord changes."""
    if harmony == "bar":
        return [b * bar_s for b in range(n_bars)]
    if harmony == "two_bars":
        return [b * bar_s for b in range(0, n_bars, 2)]
    if harmony == "half_bar":
        return [b * bar_s + h * 2 * beat_s for b in range(n_bars) for h in (0, 1)]
    # pushed: every change after the first lands an eighth early (the "and" of 4).
    return [0.0] + [b * bar_s - 0.5 * beat_s for b in range(1, n_bars)]


def make_band_song(*, seed: int, tempo_bpm: float, style: str, n_lines: int = 8, sr: int = 16000,
                   breath_clips: Optional[Sequence[np.ndarray]] = None) -> BandSong:
    """One song: 2 bars of band, then ``n_lines`` sung lines on ``style`` slots (see module docstring)."""
    from lipcoach.testing.synthetic_song import sung_word

    rng = np.random.default_rng(seed + 7_000_000)
    arrangement = dict(harmony=str(rng.choice(HARMONY)), drums=str(rng.choice(DRUMS, p=[0.3, 0.2, 0.15, 0.2, 0.15])),
                       hats=str(rng.choice(HATS)), bass=str(rng.choice(BASS)), chords=str(rng.choice(CHORDS)),
                       keys_rhythm=int(rng.integers(0, 3)),
                       levels_db=dict(drums=float(rng.uniform(-10, -4)), hats=float(rng.uniform(-18, -10)), bass=float(rng.uniform(-14, -7)),
                                      chords=float(rng.uniform(-16, -9))))
    if arrangement["drums"] == "none":
        arrangement["chords"] = "keys"  # a piano ballad: the keyboard keeps the time
    swing = style == "triplet"
    beat_s = 60.0 / tempo_bpm
    bar_s = 4 * beat_s
    lead_bars = 2
    slot_times, slot_names, bars, offsets, onsets, lines = [], [], [], [], [], []
    voice_parts: list[tuple[np.ndarray, float]] = []
    breath_parts: list[tuple[int, float, float]] = []  # (clip index, start_s, level_db)
    bar = lead_bars
    free_from = lead_bars * bar_s
    rate_wpm = int(np.clip(tempo_bpm * 1.1, 90, 170))
    # Room before a line for a breath: up to the longest clip plus its lead and a clearance.
    room_s = 0.5 if not breath_clips else max(len(c) for c in breath_clips) / sr + BREATH_LEAD_S[1] + 0.3
    for _ in range(n_lines):
        beat, part = _slot_choices(style, rng)
        position = beat + part / SLOTS_PER_BEAT[style]
        while bar * bar_s + position * beat_s < free_from + room_s:
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
        if breath_clips:
            k = int(rng.integers(len(breath_clips)))
            end = onset - rng.uniform(*BREATH_LEAD_S)
            start = end - len(breath_clips[k]) / sr
            if start >= free_from + 0.25:
                breath_parts.append((k, start, float(rng.uniform(*BREATH_LEVEL_DB))))
        name = str(beat + 1) if part == 0 else f"{NAMES[style][part - 1]} of {beat + 1}"
        slot_times.append(float(slot))
        slot_names.append(name)
        bars.append(bar + 1)
        offsets.append(offset)
        onsets.append(float(onset))
        lines.append(line)
        free_from = cursor
        bar += 1
    n_bars = int(np.ceil((free_from + 0.5) / bar_s)) + 1
    n = int(n_bars * bar_s * sr)
    vocals = np.zeros(n, np.float32)
    for audio, start in voice_parts:
        _add(vocals, audio, start, sr)
    vocals *= 0.5 / max(1e-6, float(np.abs(vocals).max()))
    sung = vocals[np.abs(vocals) > 1e-4]
    vocal_rms = float(np.sqrt(np.mean(sung**2))) if sung.size else 0.1
    breaths = []
    for k, start, level_db in breath_parts:
        clip = np.asarray(breath_clips[k], np.float32)
        gain = vocal_rms * 10 ** (level_db / 20) / (float(np.sqrt(np.mean(clip**2))) + 1e-12)
        _add(vocals, gain * clip, start, sr)
        a = int(round(start * sr)) / sr
        breaths.append([a, a + len(clip) / sr])

    drums = np.zeros(n, np.float32)
    hats = np.zeros(n, np.float32)
    bass = np.zeros(n, np.float32)
    chords_left = np.zeros(n, np.float32)
    chords_right = np.zeros(n, np.float32)
    kick, snare, hat = _drum("kick", sr, rng), _drum("snare", sr, rng), _drum("hat", sr, rng)
    clap, ride = _clap(sr, rng), _ride(sr, rng)
    beats = [k * beat_s for k in range(4 * n_bars)]
    off = 2.0 / 3.0 if swing else 0.5

    def jitter() -> float:
        return float(rng.normal(0, 0.002))

    pattern = arrangement["drums"]
    for k, b in enumerate(beats):
        in_bar, bar_index = k % 4, k // 4
        if bar_index < lead_bars or pattern == "none":
            continue
        fill = bar_index % 4 == 3 and in_bar >= 2
        if pattern == "rock":
            if in_bar in (0, 2):
                _add(drums, kick, b + jitter(), sr)
            if in_bar in (1, 3) and not fill:
                _add(drums, snare, b + jitter(), sr, 0.8)
        elif pattern == "four_on_floor":
            _add(drums, kick, b + jitter(), sr)
            if in_bar in (1, 3):
                _add(drums, clap, b + jitter(), sr, 0.9)
        elif pattern == "two_step":
            if in_bar == 0:
                _add(drums, kick, b + jitter(), sr)
            if in_bar == 2:
                _add(drums, kick, b + off * beat_s + jitter(), sr, 0.9)
            if in_bar in (1, 3) and not fill:
                _add(drums, snare, b + jitter(), sr, 0.8)
        elif pattern == "syncopated":
            if in_bar == 0:
                _add(drums, kick, b + jitter(), sr)
            if in_bar in (1, 2):
                _add(drums, kick, b + off * beat_s + jitter(), sr, 0.8)
            if in_bar in (1, 3) and not fill:
                _add(drums, snare, b + jitter(), sr, 0.8)
        if fill:
            for q in range(4):
                _add(drums, snare, b + q * beat_s / 4 + jitter(), sr, 0.35 + 0.1 * q)
        hats_kind = arrangement["hats"]
        if hats_kind == "ride":
            _add(hats, ride, b + jitter(), sr, 0.6)
            _add(hats, ride, b + off * beat_s + jitter(), sr, 0.4)
        else:
            per_beat = {"quarter": [0.0], "eighth": [0.0, off], "sixteenth": [0.0, 0.25, 0.5, 0.75]}[hats_kind]
            if swing and hats_kind == "sixteenth":
                per_beat = [0.0, 1 / 3, 2 / 3]
            for q, frac in enumerate(per_beat):
                _add(hats, hat, b + frac * beat_s + jitter(), sr, 0.35 if q == 0 else 0.22)

    roots = [55.0, 43.65, 49.0, 36.71, 41.2, 46.25]
    progression = [roots[i] for i in rng.permutation(len(roots))[:4]]
    changes = _chord_starts(arrangement["harmony"], n_bars, bar_s, beat_s)
    keys_hits = [[0.0, 1.5, 3.0], [0.0, 1.0, 2.0, 3.0], [0.5, 1.5, 2.5, 3.5]][arrangement["keys_rhythm"]]
    for c, start in enumerate(changes):
        end = changes[c + 1] if c + 1 < len(changes) else n_bars * bar_s
        root = progression[c % 4]
        length = end - start
        if arrangement["chords"] == "pad":
            for ratio in (4.0, 5.04, 6.0):
                _add(chords_left, _tone(root * ratio, length, sr, harmonics=2, attack_s=0.15), start, sr, 0.3)
                _add(chords_right, _tone(root * ratio * 1.003, length, sr, harmonics=2, attack_s=0.2), start, sr, 0.3)
        else:
            # Struck on the keyboard rhythm within the chord's span (and on the change itself).
            hits = sorted({start} | {t for bar0 in np.arange(np.floor(start / bar_s), np.ceil(end / bar_s)) for t in
                                     (bar0 * bar_s + h * beat_s for h in keys_hits) if start <= t < end - 0.05})
            for t in hits:
                for ratio in (4.0, 5.04, 6.0):
                    _add(chords_left if ratio != 5.04 else chords_right, _pluck(root * ratio, min(1.2, end - t), sr), t, sr, 0.3)
        # Bass within the chord's span.
        t = start
        step = {"hold": 2 * beat_s, "pump": 0.5 * beat_s, "walk": beat_s}[arrangement["bass"]]
        walk = (1.0, 1.26, 1.5, 1.68)
        q = 0
        while t < end - 0.05:
            ratio = walk[q % 4] if arrangement["bass"] == "walk" else 1.0
            _add(bass, _tone(root * 2 * ratio, min(0.9 * step, end - t), sr, harmonics=4, attack_s=0.005), t, sr)
            t += step
            q += 1

    def at_db(x: np.ndarray, db: float) -> np.ndarray:
        rms = float(np.sqrt(np.mean(x**2))) + 1e-12
        return x * (vocal_rms * 10 ** (db / 20) / rms) if np.any(x) else x

    levels = arrangement["levels_db"]
    centre = vocals + at_db(drums, levels["drums"]) + at_db(bass, levels["bass"])
    hats_at, left_at, right_at = at_db(hats, levels["hats"]), at_db(chords_left, levels["chords"]), at_db(chords_right, levels["chords"])
    left = centre + 1.3 * hats_at + 1.2 * left_at + 0.3 * right_at
    right = centre + 0.5 * hats_at + 0.3 * left_at + 1.2 * right_at
    stereo = np.vstack([left, right]) + (1e-4 * rng.standard_normal((2, n))).astype(np.float32)
    peak = max(1.0, float(np.abs(stereo).max()) / 0.9)
    stereo = (stereo / peak).astype(np.float32)
    return BandSong(
        sr=sr, mix=stereo.mean(axis=0), stereo=stereo, vocals=(vocals / peak).astype(np.float32), tempo_bpm=float(tempo_bpm),
        style=style, swing=swing, beats=beats, downbeats=beats[::4], slot_times=slot_times, slot_names=slot_names,
        bars=bars, offsets_ms=offsets, onsets=onsets, lines=lines, breaths=breaths, arrangement=arrangement,
    )
