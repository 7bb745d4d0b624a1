"""Beat grid (tempo, beats, downbeats) and line entrances (early / on / late against the grid).

Beats come from librosa's dynamic-programming beat tracker (tempo from a coarse envelope,
tracking on a fine one with hop :data:`HOP_S` ≈ 8 ms and a tight tempo, :data:`TIGHTNESS`).
The tracked sequence is repaired (outliers put back on the local pulse, missing beats at
both ends added), each beat is snapped to the local onset-envelope peak and then to the
first strong attack of the high-passed signal within 25 ms (0.5 ms resolution, so beat
times are not quantised to the hop), and beats that landed on a vocal onset rather than the
pulse (more than 10 ms off a robust line through their ±8 neighbours) go back on that line.
A grid tracked at twice the song's tempo (a slow song's eighth notes) is halved when the kick
and the snare both favour the same one of two alternating beats (:func:`settle_octave`).
The meter (4, or 3 when it fits clearly better) comes from the beats that carry the strongest
low-frequency onsets and chord changes; the bar phase from the harmonic rhythm (chroma change
between the two beats before and the two beats after: chords change on 1 far more than on 3)
and the backbeat (kick on 1 and 3, snare on 2 and 4); see :func:`_downbeat_phase`.

Entrances: a line's entrance is its first word's onset, refined on the vocal signal (the
aligner's onset can be ±50 ms off; see :func:`refine_onset`), placed on the grid the song's
entrances use, as a music director reads it. The grid (:data:`SUBDIVISIONS`: beat, eighth,
triplet or sixteenth) is chosen per song by :func:`choose_subdivision`: the one under which
the entrances are most likely when each is a slot plus a singer's spread of
:data:`SLOT_SPREAD_MS` (a finer grid spreads its probability over more slots, which is its
penalty for density). Each line is then measured against the nearest slot of that grid
(:func:`place_entrance`): "on 1", "the and of 4", "the e of 2", "the trip of 3", and how far
the singer pushes (early) or lays back (late) from it.
"""

from __future__ import annotations

import functools
from typing import Optional, Sequence

import numpy as np
from scipy.signal import butter, sosfilt

from lipcoach.errors import LipcoachError
from lipcoach.song.songmap import ENTRANCE_ON_TOLERANCE_MS, Entrance, Line, Word, entrance_label

#: Onset-envelope hop, seconds (128 samples at 16 kHz).
HOP_S = 0.008
#: librosa beat-tracker tightness: 4x its default, because numbers for the screen are mostly
#: recorded to a click; a loose tracker drifts onto the vocal's onsets.
TIGHTNESS = 400.0
#: A beat moves to the onset-envelope peak within this distance, s.
SNAP_S = 0.04
#: Meter 3 replaces meter 4 only when its downbeat contrast is this much larger (ratio).
METER_3_MARGIN = 1.15
#: Chord change at a beat is measured between this many beats before it and after it. Chosen
#: on the calibration half of benchmarks/entrance_accuracy.py (``--calibrate``, downbeat
#: phase right on most songs): 1 beat follows the sung melody (4 of 12 songs right alone),
#: 2 beats hear the chord (11 of 12 alone, 12 of 12 with the backbeat).
HARMONIC_SPAN_BEATS = 2
#: Weight of the backbeat (kick on 1 and 3 minus snare on 2 and 4, each scaled to mean 1)
#: beside the harmonic change when choosing the bar phase. Chosen with
#: :data:`HARMONIC_SPAN_BEATS` on the calibration half (15 candidates: spans 1, 2, 4 beats ×
#: weights 0–2): span 2 with weights 0.25–1.0 put 12 of 12 phases right, weight 0 put 11,
#: 2.0 put 11; span 1 at most 5 of 12; span 4 12 of 12 for 0.25–1.0 but 9 of 12 without the
#: backbeat. 0.25 is the first of the ties and the middle of the widest plateau.
BACKBEAT_WEIGHT = 0.25
#: Tempo octave (:func:`settle_octave`): the tracked beats are halved when the kick (under
#: 120 Hz) and the snare (1.5–5 kHz) both hit harder on one of the two alternating beat phases,
#: each by at least this much (natural log of the ratio of the phases' means: 0.15 ≈ 16 %).
#: At a song's own tempo a backbeat puts kick and snare on opposite phases (or the kick on
#: every beat); a tracker running at twice the tempo puts both on the same phase, with only
#: hi-hats between. On the calibration generator (benchmarks/groove_songs.py, 12 songs) the
#: true grids give opposite phases in every song and the doubled grids the same phase with
#: the weaker contrast ≥ 0.94, so any value in (0, 0.94) separates them; 0.15 keeps a margin
#: over beat-to-beat noise.
OCTAVE_CONTRAST = 0.15
#: Fewest tracked beats the octave is settled on. Over a short excerpt the drums' phase means
#: are a few hits each, and a click accented on the downbeat, or a sung phrase, tips them: the
#: demo season's 28 s click songs (56 beats at 120 BPM) read as 60 BPM. 64 beats is 16 bars
#: of a doubled grid; a song is minutes long.
MIN_OCTAVE_BEATS = 64
#: Onset refinement looks this far either side of the aligner's onset, s.
REFINE_WINDOW_S = 0.15
#: Band of the harmonic level :func:`voiced_rise` follows, Hz: over the bass's harmonics,
#: under the sibilants.
VOICE_RISE_BAND_HZ = (400.0, 4000.0)
#: Margin of the soft harmonic mask: a bin whose time-smoothed magnitude is this many times
#: its frequency-smoothed one passes at half power.
HARMONIC_MARGIN = 1.0
#: :func:`voiced_rise` goes back from the steepest rise while the level stays this far above
#: the window's floor (10th percentile before the rise), dB.
VOICED_RISE_DB = 6.0
#: ... and this far above the window's median level before the rise, dB.
VOICED_OVER_MEDIAN_DB = 3.0
#: After :func:`voiced_rise`, the attack is sought on the waveform within this distance, s.
ATTACK_WINDOW_S = 0.04
#: Entrance grids and their slots per beat, coarsest first (a tie goes to the coarser grid).
SUBDIVISIONS = {"beat": 1, "eighth": 2, "triplet": 3, "sixteenth": 4}
#: How a slot is counted, by grid, for slot index 1.. within the beat (index 0 is the beat's number).
SLOT_NAMES = {"beat": (), "eighth": ("and",), "triplet": ("trip", "let"), "sixteenth": ("e", "and", "a")}
#: Spread (standard deviation) of sung entrances around their slot when choosing the grid, ms.
#: These three constants were fitted together on the calibration half of
#: benchmarks/entrance_accuracy.py (``--calibrate``: 27 candidates, most slots right with
#: onsets refined on the vocal guide and on the stem); its evaluation half is held out.
SLOT_SPREAD_MS = 50.0
#: Share of entrances no grid explains (aligner slips, rubato) when choosing the grid.
#: Fitted with :data:`SLOT_SPREAD_MS`.
OUTLIER_SHARE = 0.05
#: Share of a finer grid's entrances expected on the beat itself (the rest share the
#: off-beat slots equally). Fitted with :data:`SLOT_SPREAD_MS`: about a third, so an eighth
#: grid expects more lines on its "and"s than on its beats.
BEAT_SHARE = 0.34


def _mono(audio: np.ndarray, sr: int) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2:
        audio = audio.mean(axis=0)
    if audio.ndim != 1:
        raise LipcoachError(None, f"audio must be mono or (channels, samples), got shape {audio.shape}")
    if sr <= 0:
        raise LipcoachError(None, f"sample rate must be positive, got {sr}")
    if not np.all(np.isfinite(audio)):
        raise LipcoachError(None, "audio contains NaN or infinite samples")
    return audio


def _peak_refine(envelope: np.ndarray, index: int, radius: int) -> float:
    """Fractional index of the envelope maximum within ``index ± radius`` (parabolic)."""
    a, b = max(1, index - radius), min(len(envelope) - 1, index + radius + 1)
    if b <= a:
        return float(index)
    k = a + int(np.argmax(envelope[a:b]))
    if 0 < k < len(envelope) - 1:
        y0, y1, y2 = envelope[k - 1], envelope[k], envelope[k + 1]
        denom = y0 - 2 * y1 + y2
        if denom < 0:
            return k + 0.5 * (y0 - y2) / denom
    return float(k)


def _beat_features(audio: np.ndarray, *, sr: int, beats_s: np.ndarray, hop: int, span_beats: int) -> dict[str, np.ndarray]:
    """Per-beat evidence for the bar phase, one value per beat of ``beats_s``.

    ``low``: low-frequency (< 200 Hz) onset strength; ``kick``: under 120 Hz (kick drum);
    ``snare``: 1.5–5 kHz (snare, claps); ``change``: chroma change from the previous beat
    span; ``harmonic``: chroma change between the ``span_beats`` beats before the beat and
    the ``span_beats`` beats from it (NaN where a side is missing). Frames at ``4 * hop``.
    """
    import librosa

    n_fft = 2048 if sr > 24000 else 1024
    hop = hop * 4  # beat-level features: a 32 ms hop is plenty and 4x cheaper
    spec = np.abs(librosa.stft(audio, n_fft=n_fft, hop_length=hop))
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)

    def flux(mask: np.ndarray) -> np.ndarray:
        band = np.log1p(100 * spec[mask])
        return np.maximum(0.0, np.diff(band, axis=1, prepend=band[:, :1])).sum(axis=0)

    # tuning=0: librosa's tuning estimate (piptrack) costs seconds and a semitone-wide
    # chroma bin does not care about a few cents.
    chroma = librosa.feature.chroma_stft(S=spec**2, sr=sr, n_fft=n_fft, hop_length=hop, tuning=0.0)
    frames = np.clip(np.round(beats_s * sr / hop).astype(int), 0, spec.shape[1] - 1)
    radius = max(1, int(0.05 * sr / hop))

    def at_beats(envelope: np.ndarray) -> np.ndarray:
        return np.array([envelope[max(0, f - radius) : f + radius + 1].max() for f in frames])

    bounds = np.concatenate(([0], frames, [spec.shape[1]]))

    def unit(a: int, b: int) -> np.ndarray:
        v = chroma[:, a : max(a + 1, b)].mean(axis=1)
        return v / (np.linalg.norm(v) + 1e-9)

    spans = [unit(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
    change = np.array([1.0 - float(np.dot(spans[i], spans[i + 1])) for i in range(len(frames))])
    harmonic = np.full(len(frames), np.nan)
    for i in range(span_beats, len(frames) - span_beats + 1):
        before = unit(frames[i - span_beats], frames[i])
        after = unit(frames[i], bounds[i + 1 + span_beats])
        harmonic[i] = 1.0 - float(np.dot(before, after))
    return dict(low=at_beats(flux(freqs < 200)), kick=at_beats(flux(freqs < 120)),
                snare=at_beats(flux((freqs > 1500) & (freqs < 5000))), change=change, harmonic=harmonic)


def _phase_means(values: np.ndarray, meter: int) -> np.ndarray:
    """Mean of ``values`` (scaled to mean 1) over beats ``p, p + meter, …`` for each phase p."""
    scaled = values / (np.nanmean(values) + 1e-9)
    return np.array([np.nanmean(scaled[p::meter]) if np.any(np.isfinite(scaled[p::meter])) else 0.0 for p in range(meter)])


def _downbeat_phase(audio: np.ndarray, *, sr: int, beats_s: np.ndarray, hop: int,
                    span_beats: int = HARMONIC_SPAN_BEATS, backbeat_weight: float = BACKBEAT_WEIGHT) -> tuple[int, int]:
    """(meter, phase): beats ``phase, phase + meter, …`` are the downbeats.

    The meter (4, or 3 when its contrast is :data:`METER_3_MARGIN` larger) comes from the
    low-frequency onsets plus the beat-to-beat chord change. The phase within the bar comes
    from the harmonic rhythm and the backbeat: chords change on 1 far more than on 3 (chroma
    change between the :data:`HARMONIC_SPAN_BEATS` beats before and after each beat: spans
    long enough to average over the sung notes), and the kick lands on 1 and 3 while the
    snare lands on 2 and 4 (:data:`BACKBEAT_WEIGHT` × (kick − snare) per phase). Kick and
    low onsets alone cannot tell 1 from 3; single-beat chord change follows the melody.
    """
    if len(beats_s) < 8:
        return 4, 0
    f = _beat_features(audio, sr=sr, beats_s=beats_s, hop=hop, span_beats=span_beats)
    onset_score = f["low"] / (f["low"].mean() + 1e-9) + f["change"] / (f["change"].mean() + 1e-9)
    contrast: dict[int, float] = {}
    for meter in (4, 3):
        means = np.array([onset_score[p::meter].mean() for p in range(meter)])
        best = int(np.argmax(means))
        contrast[meter] = float(means[best] / (np.mean(np.delete(means, best)) + 1e-9))
    meter = 3 if contrast[3] > contrast[4] * METER_3_MARGIN else 4
    score = _phase_means(f["harmonic"], meter) + backbeat_weight * (_phase_means(f["kick"], meter) - _phase_means(f["snare"], meter))
    return meter, int(np.argmax(score))


def octave_evidence(audio: np.ndarray, *, sr: int, beats_s: np.ndarray, hop: int) -> tuple[float, float]:
    """Natural-log contrast of the kick and of the snare between even and odd beats.

    Returns ``(kick, snare)``: log(mean at even beats / mean at odd beats) of each drum's onset
    strength (:func:`_beat_features`, ``kick`` under 120 Hz and ``snare`` 1.5–5 kHz). Both
    positive (or both negative) means the drums favour one phase: the other phase's beats are
    the off-beats of a grid tracked at twice the tempo.
    """
    f = _beat_features(audio, sr=sr, beats_s=beats_s, hop=hop, span_beats=1)
    out = []
    for key in ("kick", "snare"):
        even, odd = float(np.mean(f[key][0::2])), float(np.mean(f[key][1::2]))
        out.append(float(np.log((even + 1e-9) / (odd + 1e-9))))
    return out[0], out[1]


def settle_octave(audio: np.ndarray, *, sr: int, beats_s: np.ndarray, hop: int,
                  contrast: float = OCTAVE_CONTRAST) -> np.ndarray:
    """The beats at the song's own tempo: every other tracked beat when the grid runs at twice it.

    A beat tracker locks onto the eighth notes of a slow song (76 bpm heard as 152) because the
    hi-hat and the voice fill the off-beats. The drums tell: at the song's own tempo a backbeat
    puts the kick and the snare on alternate beats (or the kick on every beat), while on a
    doubled grid both land on the same beats and only the hi-hat on the others. When the kick
    and the snare both favour the same phase by at least ``contrast`` (see
    :func:`octave_evidence`), only that phase's beats are kept. Songs without drums (no kick or
    snare contrast), and excerpts under :data:`MIN_OCTAVE_BEATS` tracked beats, keep their grid.
    """
    beats_s = np.asarray(beats_s, float)
    if len(beats_s) < MIN_OCTAVE_BEATS:
        return beats_s
    kick, snare = octave_evidence(audio, sr=sr, beats_s=beats_s, hop=hop)
    if kick * snare <= 0 or min(abs(kick), abs(snare)) < contrast:
        return beats_s
    return beats_s[0::2] if kick > 0 else beats_s[1::2]


def _regularise(frames: np.ndarray, envelope: np.ndarray) -> np.ndarray:
    """Repair a tracked beat sequence (frame indices): outliers, and missing ends.

    A beat more than 20 % of a period off the line through its ±4 neighbours is moved onto
    that line (the tracker followed a vocal onset instead of the pulse); the grid is then
    extended at both ends while the onset envelope keeps a clear peak on the predicted beat.
    """
    if len(frames) < 6:
        return frames
    period = float(np.median(np.diff(frames)))
    fixed = frames.copy()
    for i in range(len(frames)):
        nb = [j for j in range(max(0, i - 4), min(len(frames), i + 5)) if j != i]
        slope, intercept = np.polyfit(nb, frames[nb], 1)
        predicted = slope * i + intercept
        if abs(frames[i] - predicted) > 0.2 * period:
            fixed[i] = predicted
    radius = max(1, int(round(0.1 * period)))
    strength = np.median([envelope[max(0, int(f) - radius) : int(f) + radius + 1].max() for f in fixed])

    def has_peak(f: float) -> bool:
        a, b = int(round(f)) - radius, int(round(f)) + radius + 1
        return a >= 0 and b <= len(envelope) and envelope[a:b].max() >= 0.5 * strength

    head, tail = list(fixed[:1]), list(fixed[-1:])
    while has_peak(head[0] - period):
        head.insert(0, head[0] - period)
    while has_peak(tail[-1] + period):
        tail.append(tail[-1] + period)
    return np.concatenate((head[:-1], fixed, tail[1:]))


def _steady(beats_s: np.ndarray, *, audio: np.ndarray, sr: int, tolerance_s: float = 0.01) -> np.ndarray:
    """Keep snapped beats that agree with the local pulse; put the others back on it.

    For every beat, a line is fitted (iteratively reweighted: outliers dropped) through the
    snapped times of its ±8 neighbours; a beat more than ``tolerance_s`` off that line latched
    onto a vocal or fill onset, so it moves to the line and then to an attack within
    ``tolerance_s`` of it, if there is one.
    """
    n = len(beats_s)
    if n < 6:
        return beats_s
    out = beats_s.copy()
    idx = np.arange(n, dtype=float)
    for i in range(n):
        lo, hi = max(0, i - 8), min(n, i + 9)
        x, y = idx[lo:hi], beats_s[lo:hi]
        keep = np.ones(len(x), bool)
        slope, intercept = np.polyfit(x, y, 1)
        for _ in range(3):
            residual = y - (slope * x + intercept)
            keep = np.abs(residual) <= max(tolerance_s, 2.5 * float(np.median(np.abs(residual[keep]))))
            if keep.sum() < 4:
                break
            slope, intercept = np.polyfit(x[keep], y[keep], 1)
        predicted = slope * i + intercept
        if abs(beats_s[i] - predicted) > tolerance_s:
            attack = _attack(audio, sr=sr, time_s=predicted, radius_s=tolerance_s)
            out[i] = attack if abs(attack - predicted) <= tolerance_s else predicted
    return np.sort(out)


@functools.lru_cache(maxsize=8)
def _highpass(sr: int, cutoff_hz: float = 1000.0) -> np.ndarray:
    return butter(4, min(cutoff_hz, 0.4 * sr), btype="highpass", fs=sr, output="sos")


def _attack(audio: np.ndarray, *, sr: int, time_s: float, radius_s: float = 0.025) -> float:
    """Time of the first strong level rise (2 ms windows, 0.5 ms steps) within ``time_s ± radius_s``."""
    win = max(2, int(round(0.002 * sr)))
    step = max(1, win // 4)
    a = max(0, int((time_s - radius_s) * sr) - win)
    b = min(len(audio), int((time_s + radius_s) * sr) + 2 * win)
    pad = int(0.01 * sr)
    seg = audio[max(0, a - pad) : b].astype(np.float64)
    if len(seg) - (a - max(0, a - pad)) < 3 * win:
        return time_s
    # High-passed at 1 kHz: a 2 ms window on a bass note swings by tens of dB between its
    # zero crossings, while attacks are broadband.
    seg = sosfilt(_highpass(sr), seg)[a - max(0, a - pad) :]
    n = (len(seg) - win) // step + 1
    power = np.convolve(seg**2, np.ones(win) / win, mode="valid")[::step][:n]
    level = 10 * np.log10(power + 1e-12)
    lag = win // step
    rise = level[lag:] - level[:-lag]
    if len(rise) == 0 or rise.max() < 6.0:
        return time_s
    # The earliest strong rise, not the steepest: a voice landing with the drum peaks a few
    # ms after the hit and is often louder.
    k = int(np.argmax(rise >= max(6.0, 0.5 * rise.max())))
    while k + 1 < len(rise) and rise[k + 1] > rise[k]:
        k += 1
    # Window k + lag is the first that holds the attack: its start is the attack time.
    return float((a + (k + lag) * step) / sr)


def beat_grid(audio: np.ndarray, *, sr: int, octave: bool = True) -> tuple[float, list[float], list[float]]:
    """Tempo, beats and downbeats of a song.

    Parameters
    ----------
    audio : np.ndarray
        The mix, mono (n,) or (channels, n), float.
    sr : int
        Sample rate, Hz.
    octave : bool
        Settle the tempo octave with :func:`settle_octave` (False: the tracker's own octave,
        the benchmark's peer).

    Returns
    -------
    tempo_bpm : float
        60 / median inter-beat interval, beats per minute (0.0 when no beats are found).
    beats_s : list of float
        Beat times, s, refined to the attack of each beat (sub-frame, see the module docstring).
    downbeats_s : list of float
        The beats that start a bar, s.
    """
    import librosa

    audio = _mono(audio, sr)
    hop = max(32, int(round(HOP_S * sr)))
    if len(audio) < sr:
        return 0.0, [], []
    n_fft = 1 << int(np.ceil(np.log2(0.032 * sr)))
    envelope = librosa.onset.onset_strength(y=audio, sr=sr, hop_length=hop, n_fft=n_fft)
    if not np.any(envelope > 0):
        return 0.0, [], []
    # Tempo from a coarse envelope (the tempogram at an 8 ms hop costs seconds), beats on the fine one.
    coarse = 4
    tempo_hint = float(librosa.feature.tempo(onset_envelope=envelope[: len(envelope) // coarse * coarse].reshape(-1, coarse).max(axis=1),
                                             sr=sr, hop_length=hop * coarse)[0])
    _, frames = librosa.beat.beat_track(onset_envelope=envelope, sr=sr, hop_length=hop, units="frames",
                                        bpm=tempo_hint, tightness=TIGHTNESS)
    if len(frames) < 2:
        return 0.0, [], []
    frames = _regularise(np.asarray(frames, float), envelope)
    period = float(np.median(np.diff(frames)))
    radius = max(1, int(round(min(SNAP_S * sr / hop, 0.15 * period))))
    refined = np.array([_peak_refine(envelope, int(round(f)), radius) for f in frames])
    # The flux peak lags the attack by a fraction of the analysis window; the attack itself
    # (first strong rise of the short-time level) is where a drummer's hit is heard.
    beats = np.array([_attack(audio, sr=sr, time_s=t * hop / sr) for t in refined])
    beats = _steady(np.sort(beats), audio=audio, sr=sr)
    beats = beats[np.concatenate(([True], np.diff(beats) > 0.05))]
    # Regularising a grid can extrapolate a beat before the song starts or after it ends.
    beats = beats[(beats >= 0.0) & (beats <= len(audio) / sr)]
    if len(beats) < 2:
        return 0.0, [], []
    if octave:
        beats = settle_octave(audio, sr=sr, beats_s=beats, hop=hop)
    tempo = 60.0 / float(np.median(np.diff(beats))) if len(beats) > 1 else 0.0
    meter, phase = _downbeat_phase(audio, sr=sr, beats_s=beats, hop=hop)
    downbeats = beats[phase::meter]
    return round(tempo, 2), [round(float(b), 4) for b in beats], [round(float(b), 4) for b in downbeats]


def _strongest_rise(rise_db: np.ndarray, times_s: np.ndarray, *, onset_s: float, window_s: float,
                    min_rise_db: float = 6.0) -> Optional[int]:
    """Index of the largest level rise within ``window_s`` of ``onset_s``, or None when none reaches ``min_rise_db``."""
    inside = np.abs(times_s - onset_s) <= window_s
    if not inside.any():
        return None
    rise_db = np.where(inside, rise_db, -np.inf)
    k = int(np.argmax(rise_db))
    return k if rise_db[k] >= min_rise_db else None


def voiced_rise(signal: np.ndarray, *, sr: int, onset_s: float, window_s: float = REFINE_WINDOW_S) -> Optional[float]:
    """Where sustained *pitched* sound in the voice band starts, near ``onset_s``, s.

    Drums, clicks and consonant bursts are short in time and broad in frequency; a sung vowel
    is the opposite. The window's spectrogram (32 ms frames every 4 ms) is split by median
    filtering (harmonic: along time, 13 frames; percussive: along frequency, 17 bins; soft
    mask H² / (H² + (:data:`HARMONIC_MARGIN` · P)²)), and the level of the harmonic part
    between :data:`VOICE_RISE_BAND_HZ` is followed. A median filter keeps the edge of a step,
    so a held note's start stays where it is while a hit is damped.

    The steepest rise within ``onset_s ± window_s`` (median level over the next 40 ms minus
    the previous 40 ms; None when under 6 dB) is followed back down its slope while the level
    stays :data:`VOICED_RISE_DB` over the floor before it and :data:`VOICED_OVER_MEDIAN_DB`
    over the median before it: a soft consonant or a slow swell starts well before its
    steepest rise. The result is the centre of the first frame of that slope.
    """
    from scipy.ndimage import median_filter

    hop = max(1, int(round(0.004 * sr)))
    n_fft = 1 << int(np.ceil(np.log2(0.032 * sr)))
    pad_s = 0.1
    a = max(0, int((onset_s - window_s - pad_s) * sr))
    b = min(len(signal), int((onset_s + window_s + pad_s) * sr) + n_fft)
    segment = np.asarray(signal[a:b], dtype=np.float64)
    if len(segment) < n_fft + 40 * hop:
        return None
    frames = np.lib.stride_tricks.sliding_window_view(segment, n_fft)[::hop]
    spec = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)).T  # (bins, frames)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    band = (freqs >= VOICE_RISE_BAND_HZ[0]) & (freqs <= VOICE_RISE_BAND_HZ[1])
    harmonic = median_filter(spec, size=(1, 13), mode="nearest")
    percussive = median_filter(spec, size=(17, 1), mode="nearest")
    # A soft mask with a margin: noise (a snare, a hi-hat, a breath) is as smooth across
    # frequency as across time; with a margin over 1 it would weigh less (2: a fifth of its
    # power), but then so would the voice's own consonants (measured: worse onsets).
    mask = harmonic**2 / (harmonic**2 + (HARMONIC_MARGIN * percussive) ** 2 + 1e-12)
    level = 10 * np.log10(np.sum((mask * spec)[band] ** 2, axis=0) + 1e-12)
    times = (a + np.arange(len(level)) * hop + n_fft / 2) / sr
    span = int(round(0.04 / (hop / sr)))
    if len(level) < 2 * span + 1:
        return None
    windows = np.lib.stride_tricks.sliding_window_view(level, 2 * span)
    rise = np.median(windows[:, span:], axis=1) - np.median(windows[:, :span], axis=1)
    centre = np.arange(len(rise)) + span  # the first frame after the split
    k = _strongest_rise(rise, times[centre], onset_s=onset_s, window_s=window_s)
    if k is None:
        return None
    i = centre[k]
    # Back from the rise while the sound stands out of what came before it: over the floor
    # (10th percentile) and over the window's typical level before the rise (median), so a
    # bass note or pad held under the voice does not carry the walk back.
    before = level[: i + 1]
    threshold = max(float(np.percentile(before, 10)) + VOICED_RISE_DB, float(np.median(before)) + VOICED_OVER_MEDIAN_DB)
    # Only down a slope: a louder sound before the voice (a hit decaying into it) stops the walk.
    j = i
    while j > 0 and threshold <= level[j - 1] <= level[j] + 1.0:
        j -= 1
    return float(times[j])


def refine_onset(vocal: np.ndarray, *, sr: int, onset_s: float, window_s: float = REFINE_WINDOW_S) -> float:
    """Move an aligner's word onset to where the voice actually starts, s.

    First :func:`voiced_rise` finds where pitched sound rises within ``onset_s ± window_s``
    (so a drum hit near the line is not taken for it); the attack is then found on the
    waveform within :data:`ATTACK_WINDOW_S` of that point, as follows.

    On the waveform, the onset is the point of the largest *sustained* rise of
    the vocal's level above 250 Hz (median level over the next 40 ms minus the median over
    the previous 30 ms, 4 ms windows every 1 ms), which ignores clicks, consonant bursts and
    bass leaking into a vocal guide; it is then moved back to the start of the attack: the
    earliest millisecond, contiguous with the rise, whose level is above both the level
    before the rise + 6 dB and the level after it − 30 dB.

    Parameters
    ----------
    vocal : np.ndarray
        Mono vocal signal, shape (n,).
    sr : int
        Sample rate, Hz.
    onset_s : float
        Approximate onset, s.
    window_s : float
        Search radius, s.

    Returns
    -------
    float
        The refined onset, s (``onset_s`` unchanged when no clear rise exists).
    """
    vocal = np.asarray(vocal, dtype=np.float32)
    coarse = voiced_rise(vocal, sr=sr, onset_s=onset_s, window_s=window_s)
    if coarse is not None:
        onset_s, window_s = coarse, ATTACK_WINDOW_S
    return _attack_start(vocal, sr=sr, onset_s=onset_s, window_s=window_s)


def _attack_start(vocal: np.ndarray, *, sr: int, onset_s: float, window_s: float) -> float:
    """The start of the largest sustained level rise within ``onset_s ± window_s`` (see
    :func:`refine_onset`), s; ``onset_s`` when there is none."""
    step = max(1, int(round(0.001 * sr)))
    win = max(step, int(round(0.004 * sr)))
    before, after = 30, 40  # ms
    a = int((onset_s - window_s - before / 1000 - 0.01) * sr)
    b = int((onset_s + window_s + after / 1000 + 0.01) * sr)
    a, b = max(0, a), min(len(vocal), b)
    segment = vocal[a:b].astype(np.float64)
    if len(segment) < win + (before + after) * step:
        return onset_s
    # Above 250 Hz: bass and pads leaking into a vocal guide do not move the level.
    segment = sosfilt(_highpass(sr, 250.0), segment)
    n = (len(segment) - win) // step + 1
    power = np.convolve(segment**2, np.ones(win) / win, mode="valid")[::step][:n]
    level = 10 * np.log10(power + 1e-12)
    idx = np.arange(before, n - after)
    if len(idx) == 0:
        return onset_s
    # Medians, not means: a click or a consonant burst is too short to move them.
    windows = np.lib.stride_tricks.sliding_window_view(level, before + after)
    rise = np.median(windows[:, before:], axis=1)[idx - before] - np.median(windows[:, :before], axis=1)[idx - before]
    times = a / sr + (idx * step + win / 2) / sr
    k = _strongest_rise(rise, times, onset_s=onset_s, window_s=window_s)
    if k is None:
        return onset_s
    i = idx[k]
    top = float(np.percentile(level[i : i + after], 90))
    base = float(np.median(level[i - before : i]))
    threshold = max(base + 6.0, top - 30.0)
    # The attack starts at the first frame, going back from the rise, still above the threshold.
    j = i + int(np.argmax(level[i : i + after] >= threshold))
    while j > i - before and level[j - 1] >= threshold:
        j -= 1
    return float(a / sr + (j * step + win / 2) / sr)


def beat_positions(times_s: Sequence[float], beats_s: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Where times fall on a beat grid, in beats, and the local beat period.

    Parameters
    ----------
    times_s : sequence of float
        Times, s.
    beats_s : sequence of float
        Beat times, s, increasing (at least 2).

    Returns
    -------
    positions : np.ndarray
        Fractional beat index of each time (0.0 = the first beat, 2.5 = halfway between the
        third and fourth); before the first or after the last beat the grid goes on at the
        first or last beat period.
    periods_s : np.ndarray
        The beat period around each time, s.
    """
    beats = np.asarray(beats_s, dtype=float)
    times = np.asarray(times_s, dtype=float)
    if len(beats) < 2:
        raise ValueError("a beat grid needs at least 2 beats")
    k = np.clip(np.searchsorted(beats, times, side="right") - 1, 0, len(beats) - 2)
    periods = beats[k + 1] - beats[k]
    positions = k + (times - beats[k]) / periods
    return positions, periods


def time_at_position(position: float, beats_s: Sequence[float]) -> float:
    """Time of a fractional beat index on a beat grid, s (inverse of :func:`beat_positions`)."""
    beats = np.asarray(beats_s, dtype=float)
    k = int(np.clip(np.floor(position), 0, len(beats) - 2))
    return float(beats[k] + (position - k) * (beats[k + 1] - beats[k]))


def subdivision_log_likelihood(
    positions: np.ndarray,
    periods_s: np.ndarray,
    subdivision: str,
    *,
    spread_ms: float = SLOT_SPREAD_MS,
    outlier_share: float = OUTLIER_SHARE,
    beat_share: float = BEAT_SHARE,
) -> float:
    """Log-likelihood of entrance positions (in beats) under one grid, nats.

    Each entrance is a slot plus Gaussian spread ``spread_ms``. The beat's probability is
    shared among the grid's slots: ``beat_share`` on the beat, the rest equally on the
    off-beat slots (all of it on the beat for the beat grid), so a finer grid pays for its
    density and only wins when entrances sit between the coarser grid's slots.
    ``outlier_share`` of the probability is uniform over the beat. Relative to a uniform
    density, so 0 means "no better than chance".
    """
    n = SUBDIVISIONS[subdivision]
    sigma_s = spread_ms / 1000.0
    scaled = np.asarray(positions, float) * n
    nearest = np.round(scaled)
    density = np.zeros(len(scaled))
    for step in (-1, 0, 1):
        slot = nearest + step
        on_beat = np.mod(slot, n) == 0
        weight = 1.0 if n == 1 else np.where(on_beat, beat_share, (1.0 - beat_share) / (n - 1))
        distance_s = (scaled - slot) / n * periods_s
        density += weight * np.exp(-0.5 * (distance_s / sigma_s) ** 2) / (sigma_s * np.sqrt(2 * np.pi))
    density = (1 - outlier_share) * density + outlier_share / periods_s
    return float(np.sum(np.log(density * periods_s)))


def choose_subdivision(
    onsets_s: Sequence[float],
    beats_s: Sequence[float],
    *,
    spread_ms: float = SLOT_SPREAD_MS,
    outlier_share: float = OUTLIER_SHARE,
    beat_share: float = BEAT_SHARE,
) -> str:
    """The grid a song's entrances are written on: "beat", "eighth", "triplet" or "sixteenth".

    The grid with the largest :func:`subdivision_log_likelihood` of the entrance onsets; ties
    (and songs with no onsets) go to the coarser grid.
    """
    onsets = np.asarray([t for t in onsets_s if np.isfinite(t)], dtype=float)
    if len(onsets) == 0 or len(beats_s) < 2:
        return "beat"
    positions, periods = beat_positions(onsets, beats_s)
    scores = {
        name: subdivision_log_likelihood(positions, periods, name, spread_ms=spread_ms, outlier_share=outlier_share, beat_share=beat_share)
        for name in SUBDIVISIONS
    }
    best = max(scores.values())
    return next(name for name in SUBDIVISIONS if scores[name] >= best - 1e-9)


def _count_in_bar(beat_index: int, downbeat_indices: np.ndarray) -> tuple[int, int]:
    """(bar, count) of a beat: bar 1 starts at the first downbeat (0 = a pick-up), count from 1."""
    if len(downbeat_indices) == 0:
        return beat_index // 4 + 1, beat_index % 4 + 1
    meter = int(np.median(np.diff(downbeat_indices))) if len(downbeat_indices) > 1 else 4
    meter = max(2, meter)
    d = int(np.searchsorted(downbeat_indices, beat_index, side="right")) - 1
    if d < 0:
        return 0, int((beat_index - downbeat_indices[0]) % meter) + 1
    return d + 1, int((beat_index - downbeat_indices[d]) % meter) + 1


def place_entrance(
    onset_s: float,
    *,
    beats_s: Sequence[float],
    downbeats_s: Sequence[float] = (),
    subdivision: str = "beat",
    tolerance_ms: float = ENTRANCE_ON_TOLERANCE_MS,
) -> Entrance:
    """An entrance on the grid: the nearest slot of ``subdivision``, its name, and the offset.

    Parameters
    ----------
    onset_s : float
        The line's first sung onset, s.
    beats_s, downbeats_s : sequence of float
        Beat grid and the beats that start a bar, s.
    subdivision : str
        A key of :data:`SUBDIVISIONS` (see :func:`choose_subdivision`).
    tolerance_ms : float
        ``|offset|`` up to this is "on" the slot.

    Returns
    -------
    Entrance
        ``slot_time`` the slot (s), ``slot`` its name ("and of 4"), ``bar``, ``beat_time`` the
        beat the slot belongs to, ``offset_ms`` onset minus slot (negative = pushed, early).
    """
    if subdivision not in SUBDIVISIONS:
        raise ValueError(f"unknown subdivision {subdivision!r}; choose one of {', '.join(SUBDIVISIONS)}")
    beats = np.sort(np.asarray(beats_s, dtype=float))
    n = SUBDIVISIONS[subdivision]
    position, _ = beat_positions([onset_s], beats)
    slot_index = int(np.round(position[0] * n))
    beat_index, part = divmod(slot_index, n)
    slot_time = time_at_position(slot_index / n, beats)
    downbeat_indices = np.unique(np.round(beat_positions(downbeats_s, beats)[0]).astype(int)) if len(downbeats_s) else np.zeros(0, int)
    bar, count = _count_in_bar(beat_index, downbeat_indices)
    slot = str(count) if part == 0 else f"{SLOT_NAMES[subdivision][part - 1]} of {count}"
    offset_ms = (onset_s - slot_time) * 1000.0
    return Entrance(
        beat_time=round(time_at_position(beat_index, beats), 4),
        offset_ms=round(offset_ms, 1),
        label=entrance_label(offset_ms, tolerance_ms),
        slot_time=round(slot_time, 4),
        slot=slot,
        bar=int(bar),
        subdivision=subdivision,
    )


def line_entrances(
    lines: Sequence[Line],
    words: Sequence[Word],
    *,
    beats: Sequence[float],
    downbeats: Sequence[float] = (),
    vocal: Optional[np.ndarray] = None,
    sr: Optional[int] = None,
    subdivision: Optional[str] = None,
) -> list[Optional[Entrance]]:
    """Entrance of every line: its first word's onset on the song's entrance grid.

    Parameters
    ----------
    lines : sequence of Line
    words : sequence of Word
        Aligned words; ``word.line`` indexes ``lines``.
    beats, downbeats : sequence of float
        Beat grid and bar starts, s.
    vocal : np.ndarray, optional
        Mono vocal signal; when given (with ``sr``), each first-word onset is refined with
        :func:`refine_onset`.
    sr : int, optional
        Sample rate of ``vocal``, Hz.
    subdivision : str, optional
        Force a grid; by default :func:`choose_subdivision` picks it from the entrances.

    Returns
    -------
    list of Entrance or None
        One per line (None when the grid has fewer than 2 beats); see :func:`place_entrance`.
    """
    grid = np.sort(np.asarray(beats, dtype=float))
    if len(grid) < 2:
        return [None] * len(lines)
    first: dict[int, float] = {}
    for w in words:
        if w.line not in first or w.start < first[w.line]:
            first[w.line] = w.start
    onsets = []
    for index, line in enumerate(lines):
        onset = first.get(index, line.start)
        if vocal is not None and sr:
            onset = refine_onset(vocal, sr=sr, onset_s=onset)
        onsets.append(onset)
    # Interpolated lines (not aligned) say nothing about where the singer comes in.
    trusted = [t for t, line in zip(onsets, lines) if getattr(line, "aligned", True)]
    grid_name = subdivision or choose_subdivision(trusted, grid)
    return [place_entrance(t, beats_s=grid, downbeats_s=downbeats, subdivision=grid_name) for t in onsets]
