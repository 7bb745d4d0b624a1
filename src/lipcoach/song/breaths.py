"""Breath detection: every inhalation of the singer, with its level, kind and the line it prepares.

An inhalation is turbulent noise: unvoiced (low periodicity), broadband with most of its
energy between 1 and 3 kHz (so less "hiss" above 4 kHz than an /s/), 0.1–0.9 s long,
typically 15–40 dB under the sung level, and it sits in a gap between phrases. The detector
works in three steps on the shared frame analysis of :mod:`lipcoach.song.vocal`
(10 ms frames):

1. **Where to look.** Frames away from singing: outside the aligned words when words are
   given (widened by 30 ms for the aligner's error), never within 30 ms of a voiced frame,
   and at most :data:`MAX_LEAD_S` before the next sung onset (an inhalation prepares
   phonation; noise in an instrumental passage is leakage).
2. **Acoustic evidence.** Frames whose breath-band (500–6000 Hz) power stands at least
   :data:`EXCESS_DB` over the local noise floor, are not periodic, and are quieter than
   the singing; runs of them become breaths after hysteresis on the edges. Runs that look
   like consonants (hissy /s/-like spectrum, or short and glued to a vowel or to an /s/)
   are dropped.
2b. **Over the band (words known).** In a mix the band keeps playing through a rest and
   the breath band never sinks to a floor, so step 2 hears few real breaths there
   (benchmarks/breath_accuracy.py: 12 % of real inhalations placed in held-out real mixes). With
   words, each rest frame is also compared with the band's own spectrum in the nearby rests
   (:func:`band_background_db`, 16 bands): a breath raises most of the 1–6 kHz bands together
   (:func:`broadband_excess_db`) and makes the spectrum inside them flatter than the band's
   usual (noise fills the valleys between the band's partials); it lasts 0.15–1.5 s, holds its
   excess, swells rather than strikes, and ends at most :data:`MAX_LEAD_S` before a word
   (:func:`breaths_over_the_band`). Such breaths are ``audible``: they stand over the band.
2c. **One per rest, checked on the mix.** With words, only the last breath heard before each
   sung word is kept (:func:`latest_per_rest`). When ``vocal`` is a separated stem and the mix
   is given, a breath heard in the stem must also raise the mix over the band's typical sound
   there (:func:`mix_check`).
3. **Silent inhalations.** A singer (or speaker) inhales before a phrase that follows a rest,
   even when the breath noise drowns in the noise floor or in the accompaniment leaking into
   a separated vocal. When step 2 found nothing in such a rest, a breath is placed at its end
   (at most :data:`INFER_MAX_S` long) with ``audible=False``. With lyrics, a rest is a gap of
   at least :data:`INFER_MIN_GAP_S` between two lines. Without lyrics, it is a gap of at least
   :data:`INFER_MIN_REST_S` between voiced runs, the breath covers only the quiet unvoiced
   stretch before the onset (not the consonant that ended the previous phrase), and digital
   silence gets none. ``infer_silent=False`` turns this off.

Levels are dB relative to the vocal's median sung level (see
:func:`lipcoach.song.vocal.sung_reference_db`).
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import numpy as np

from lipcoach.song import vocal as vf
from lipcoach.song.songmap import Breath, Line, Word

#: Breath-band power must exceed the local noise floor by this much to count as breath noise, dB.
EXCESS_DB = 6.0
#: Edges of a breath extend while the breath band stays this far over the floor, dB.
EDGE_EXCESS_DB = 3.0
#: ... or while within this much of the breath's own median breath-band level, dB.
EDGE_BELOW_OWN_DB = 6.0
#: Breath noise more than this far under the sung level is ignored (inaudible anyway), dB.
MIN_LEVEL_DB = -50.0
#: Frames louder than this relative to the sung level are not breath noise (a shout, a hit), dB.
MAX_LEVEL_DB = -6.0
#: A breath's median level is at most this, relative to the sung level: louder noise next to
#: the voice is a consonant (/h/, /sh/, /f/), dB.
MAX_BREATH_LEVEL_DB = -12.0
#: Frames at or above this periodicity are voice, not breath (0..1).
MAX_PERIODICITY = 0.6
#: Shortest and longest breath reported, s.
MIN_BREATH_S = 0.1
MAX_BREATH_S = 1.5
#: A breath ends at most this long before the next sung onset, s.
MAX_LEAD_S = 1.5
#: Shorter than this is a quick "catch" breath, longer a "full" breath, s.
CATCH_MAX_S = 0.35
#: With lyrics, rests between lines at least this long get an inferred inhalation when no noise is found, s.
INFER_MIN_GAP_S = 0.3
#: Without lyrics, the shortest rest (between voiced runs) that gets an inferred inhalation, s.
INFER_MIN_REST_S = 0.5
#: Longest inferred inhalation, s.
INFER_MAX_S = 0.6
#: A breath quieter than this relative to the sung level is marked inaudible, dB.
AUDIBLE_MIN_DB = -40.0
#: Over accompaniment, a breath is audible when at most this far under it, dB.
AUDIBLE_UNDER_ACCOMPANIMENT_DB = 10.0
#: Slack around aligned word boundaries (aligner error), s.
WORD_SLACK_S = 0.03
#: Keep-out around voiced frames, s.
VOICED_GUARD_S = 0.03
#: Noise runs shorter than this that touch the voice or a word are consonants, not breaths, s.
GLUED_MAX_S = 0.2
#: "Touch": within this much of a voiced frame (beyond the keep-out) or a word boundary, s.
GLUE_S = 0.03
#: /s/-like hiss: power above 4 kHz over 0.5–4 kHz power beyond this, dB. Raised up to
#: :data:`HISS_RATIO_MAX_DB` when the room noise itself is that bright (white-ish noise).
HISS_RATIO_DB = 0.0
HISS_RATIO_MAX_DB = 3.0
#: With words (:func:`breaths_over_the_band`; all chosen on the calibration half of
#: benchmarks/breath_accuracy.py): excess over the band across 1–6 kHz for a breath's core and
#: its edges, dB; in-band flatness over the band's usual, dB; attack limit, dB per 20 ms;
#: smoothing of the evidence, s.
#: The attack limit was 24 until 2026-11-29: two calibration inhalations (cut with a fast
#: start) rose 26.4 and 27.3 dB per 20 ms and were refused; at 30, calibration recall
#: 0.946 -> 0.961, while the unmodified calibration rests with an audible breath went 90 -> 94
#: of 129 (audible breaths in those mixes 246 -> 250, none far from singing).
BAND_EXCESS_DB = 2.0
BAND_EDGE_DB = 1.0
NOISIER_DB = 0.5
MAX_ATTACK_DB = 30.0
EVIDENCE_SMOOTH_S = 0.09
#: ... or, where the band is quiet: in-band flatness at least this (white noise: about −2.5 dB)
#: and this far over the background, dB.
NOISE_FLATNESS_DB = -3.0
LOUD_EXCESS_DB = 6.0
#: Shortest breath over a band, s: an inhalation swells and fades over 0.15–0.8 s, while a
#: restruck chord or a fill pokes out for a frame or ten.
MIN_BAND_BREATH_S = 0.15
#: Runs of band evidence this close (after their edges are extended) are one breath, s. Chosen
#: on the calibration half of benchmarks/breath_accuracy.py: a 0.24 s inhalation there fell
#: apart into 0.14 s and 0.10 s runs 50 ms apart, each too short on its own. Not 0.1: a
#: restruck chord 0.10 s before a breath (tests/song/test_breaths.py) was then joined to it.
JOIN_GAP_S = 0.06
#: Band background (:func:`band_background_db`): half-window, s, and percentile per band.
BACKGROUND_WINDOW_S = 3.0
BACKGROUND_PERCENTILE = 20.0
#: With a vocal stem and the mix (``detect_breaths(stem, mix=...)``): a breath heard in the stem
#: must also raise the mix over the band's own spectrum in the nearby rests by at least this
#: much (median over the breath of :func:`broadband_excess_db` on the mix, over the band's
#: median spectrum there), dB: separation leaves cymbal, shaker and reverb residue in a stem's
#: rests, and that residue is the band's usual sound in the mix, while a singer's breath adds
#: to it.
MIX_CHECK_DB = 0.5
#: ... over this percentile, per band, of the mix in the nearby rests (the band's typical sound).
MIX_CHECK_PERCENTILE = 50.0
#: With words, only the last breath heard in each rest is kept (:func:`latest_per_rest`).
ONE_PER_REST = True
#: Window for the local noise floor (± this many seconds) and its percentile.
FLOOR_WINDOW_S = 4.0
FLOOR_PERCENTILE = 5.0


def _dilate(mask: np.ndarray, n: int) -> np.ndarray:
    if n <= 0 or not mask.any():
        return mask.copy()
    kernel = np.ones(2 * n + 1)
    return np.convolve(mask.astype(float), kernel, mode="same") > 0


def local_floor_db(values: np.ndarray, *, hop_s: float, window_s: float = FLOOR_WINDOW_S,
                   percentile: float = FLOOR_PERCENTILE, mask: Optional[np.ndarray] = None) -> np.ndarray:
    """Running low percentile of ``values`` (the noise floor of a dB track), per frame.

    Parameters
    ----------
    values : np.ndarray
        A per-frame dB track.
    hop_s : float
        Frame step, s.
    window_s : float
        Half-width of the running window, s.
    percentile : float
        Percentile taken inside the window (0..100).
    mask : np.ndarray of bool, optional
        Frames allowed into the estimate (e.g. unvoiced frames); all when None.

    Returns
    -------
    np.ndarray
        Floor per frame, dB. Computed every 0.25 s and linearly interpolated.
    """
    n = len(values)
    if n == 0:
        return values.copy()
    mask = np.ones(n, bool) if mask is None or not mask.any() else mask
    half = max(1, int(round(window_s / hop_s)))
    step = max(1, int(round(0.25 / hop_s)))
    centres = np.arange(0, n, step)
    fallback = float(np.percentile(values[mask], percentile))
    floors = np.empty(len(centres))
    for k, c in enumerate(centres):
        a, b = max(0, c - half), min(n, c + half + 1)
        chosen = values[a:b][mask[a:b]]
        floors[k] = np.percentile(chosen, percentile) if len(chosen) >= 20 else fallback
    return np.interp(np.arange(n), centres, floors)


def band_background_db(features: vf.FrameFeatures, rest: np.ndarray, *, window_s: float = BACKGROUND_WINDOW_S,
                       percentile: float = BACKGROUND_PERCENTILE) -> np.ndarray:
    """What the accompaniment alone sounds like around each frame, per spectral band, dB.

    A low percentile, per band, of the frames of ``features.bands_db`` within ± ``window_s``
    that lie in ``rest`` (no singing): the band keeps playing through a rest, so a breath must
    stand out against the band's own spectrum there, not against silence.

    Parameters
    ----------
    features : FrameFeatures
        Shared frame analysis (``bands_db``, shape (n_frames, n_bands)).
    rest : np.ndarray of bool
        Frames without singing, shape (n_frames,). With fewer than 30 of them in a window, all
        frames of the window are used.
    window_s : float
        Half-width of the window, s.
    percentile : float
        Percentile taken per band (0..100).

    Returns
    -------
    np.ndarray
        Background per frame and band, dB, shape (n_frames, n_bands). Computed every 0.25 s
        and linearly interpolated.
    """
    bands = features.bands_db
    n = len(bands)
    if n == 0:
        return bands.copy()
    hop_s = features.hop_length / features.sr
    half = max(1, int(round(window_s / hop_s)))
    centres = np.arange(0, n, max(1, int(round(0.25 / hop_s))))
    at_centres = np.empty((len(centres), bands.shape[1]))
    for k, c in enumerate(centres):
        a, b = max(0, c - half), min(n, c + half + 1)
        chosen = bands[a:b][rest[a:b]]
        at_centres[k] = np.percentile(chosen if len(chosen) >= 30 else bands[a:b], percentile, axis=0)
    frames = np.arange(n)
    return np.stack([np.interp(frames, centres, at_centres[:, j]) for j in range(bands.shape[1])], axis=1)


def broadband_excess_db(features: vf.FrameFeatures, background_db: np.ndarray, *,
                        low_hz: float = 1000.0, high_hz: float = 6000.0) -> np.ndarray:
    """How far each frame stands over the background across the breath bands, dB.

    The median, over the bands whose centre lies in ``low_hz``–``high_hz``, of the frame's
    band power minus the background's: an inhalation (turbulent noise spread over 1–6 kHz)
    raises most of these bands together, while a note, a chord or a bass line raises a few.
    """
    edges = features.band_edges_hz
    centres = np.sqrt(edges[:-1] * edges[1:])
    chosen = (centres >= low_hz) & (centres <= high_hz)
    return np.median(features.bands_db[:, chosen] - background_db[:, chosen], axis=1)


def _search_mask(features: vf.FrameFeatures, voiced: np.ndarray, words: Optional[Sequence[Word]]) -> np.ndarray:
    hop_s = features.hop_length / features.sr
    allowed = ~_dilate(voiced, int(round(VOICED_GUARD_S / hop_s)))
    if words:
        # Widened by the slack: a word's consonants spill past the aligner's boundaries
        # more often than a breath runs into the word.
        for w in words:
            allowed[features.index(w.start - WORD_SLACK_S) : features.index(w.end + WORD_SLACK_S) + 1] = False
    return allowed


def _phrase_starts(features: vf.FrameFeatures, voiced: np.ndarray, words: Optional[Sequence[Word]],
                   lines: Optional[Sequence[Line]]) -> list[tuple[float, float, float]]:
    """(rest_start_s, phrase_onset_s, min_rest_s) for every phrase that may follow a rest."""
    hop_s = features.hop_length / features.sr
    if lines:
        ordered = sorted(lines, key=lambda ln: ln.start)
        pairs = [(0.0, ordered[0].start)] + [(a.end, b.start) for a, b in zip(ordered[:-1], ordered[1:])]
        return [(a, b, INFER_MIN_GAP_S) for a, b in pairs if b > a]
    if words:
        # Phrases are the words' lines: a gap between two words of one line is not a rest.
        spans: dict[int, list[float]] = {}
        for w in words:
            span = spans.setdefault(w.line, [w.start, w.end])
            span[0], span[1] = min(span[0], w.start), max(span[1], w.end)
        ordered = sorted(spans.values())
        pairs = [(0.0, ordered[0][0])] + [(a[1], b[0]) for a, b in zip(ordered[:-1], ordered[1:])]
        return [(a, b, INFER_MIN_GAP_S) for a, b in pairs if b > a]
    # Without lyrics: rests are the gaps between voiced runs (short unvoiced stretches
    # inside words are closed first so that they do not count as rests).
    sung = vf._close_gaps(voiced, int(round(0.12 / hop_s)))
    runs = vf._runs(sung)
    pairs = []
    previous_end = 0.0
    for a, b in runs:
        if (b - a) * hop_s < 0.05:
            continue
        pairs.append((previous_end, a * hop_s))
        previous_end = b * hop_s
    # Without lyrics a short rest may be a gap between two words of one phrase.
    return [(a, b, INFER_MIN_REST_S) for a, b in pairs if b > a]


def _hiss_threshold_db(features: vf.FrameFeatures, floor_db: np.ndarray) -> float:
    """High/mid ratio above which a frame is /s/-like hiss rather than breath, dB.

    0 dB, unless the noise floor is itself bright: then 3 dB over the floor's own ratio,
    at most :data:`HISS_RATIO_MAX_DB`, so white room noise does not read as hiss.
    """
    at_floor = features.band_db <= floor_db + 3.0
    if at_floor.sum() < 10:
        return HISS_RATIO_DB
    floor_ratio = float(np.median(features.high_ratio_db[at_floor]))
    return float(np.clip(floor_ratio + 3.0, HISS_RATIO_DB, HISS_RATIO_MAX_DB))


def _breath_level_db(band_db: np.ndarray, floor_db: np.ndarray) -> float:
    """Median level of the breath itself, dB: breath-band power minus the floor's power.

    Measured in the breath band so that bass and pads of the accompaniment (or hum) under a
    breath do not count; the floor's power is subtracted, but by at most 10 dB, so a breath
    buried in the floor is reported near the floor's level rather than at minus infinity.
    """
    power = 10.0 ** (band_db / 10.0)
    own = np.maximum(power - 10.0 ** (floor_db / 10.0), 0.1 * power)
    return float(np.median(10.0 * np.log10(own + 1e-20)))


def _next_onset_s(time_s: float, voiced_idx: np.ndarray, hop_s: float, word_starts: Optional[np.ndarray]) -> Optional[float]:
    """The first sung onset at or after ``time_s`` (a word start when words are known), s."""
    if word_starts is not None:
        later = word_starts[word_starts >= time_s - WORD_SLACK_S]
        return float(later[0]) if len(later) else None
    later = voiced_idx[voiced_idx * hop_s >= time_s]
    return float(later[0] * hop_s) if len(later) else None


def _glued(a: int, b: int, voiced_idx: np.ndarray, word_edges: np.ndarray, hop_s: float) -> bool:
    """Whether frames [a, b) touch a sounding frame or a word boundary within :data:`GLUE_S`."""
    reach = GLUE_S + VOICED_GUARD_S
    if len(voiced_idx):
        before = voiced_idx[voiced_idx < a]
        after = voiced_idx[voiced_idx >= b]
        if (len(before) and (a - before[-1]) * hop_s <= reach) or (len(after) and (after[0] - b) * hop_s <= reach):
            return True
    if len(word_edges):
        nearest = np.min(np.minimum(np.abs(word_edges - a * hop_s), np.abs(word_edges - b * hop_s)))
        return bool(nearest <= reach + WORD_SLACK_S)
    return False


def _smooth(values: np.ndarray, n: int) -> np.ndarray:
    return np.convolve(values, np.ones(n) / n, mode="same") if n > 1 and len(values) > n else values


def breaths_over_the_band(features: vf.FrameFeatures, words: Sequence[Word]) -> tuple[list[tuple[float, float]], np.ndarray]:
    """Inhalations in the rests of a song whose words are known, judged against the band.

    The accompaniment keeps playing through a rest, so a frame is breath noise when, against
    the band's own spectrum in the nearby rests (:func:`band_background_db`), it stands
    :data:`BAND_EXCESS_DB` over it across the 1–6 kHz bands (:func:`broadband_excess_db`:
    broadband, not a note) *and* its spectrum inside those bands is flatter than the band's
    usually is by :data:`NOISIER_DB` (turbulent noise fills the valleys between the band's
    partials). Both tracks are smoothed over :data:`EVIDENCE_SMOOTH_S`. Runs of such frames
    (80 ms dips bridged, edges extended while the excess stays over :data:`BAND_EDGE_DB`,
    runs then within :data:`JOIN_GAP_S` of each other joined: an inhalation that stalls
    between two pulls is one breath) become breaths when they last :data:`MIN_BAND_BREATH_S`–:data:`MAX_BREATH_S`, hold their excess
    (median over the run ≥ :data:`BAND_EXCESS_DB`: a drum hit decays at once), start no faster
    than :data:`MAX_ATTACK_DB` per 20 ms (a hit or a strum attacks, a breath swells) and end at
    most :data:`MAX_LEAD_S` before a word.

    Returns
    -------
    spans : list of (start_s, end_s)
    background_band_db : np.ndarray
        The band's power in the breath band (500–6000 Hz) per frame, dB: the floor a breath's
        level is measured over.
    """
    hop_s = features.hop_length / features.sr
    n = len(features.times_s)
    allowed = _search_mask(features, np.zeros(n, bool), words)
    background = band_background_db(features, allowed)
    excess_raw = broadband_excess_db(features, background)
    smooth_n = max(1, int(round(EVIDENCE_SMOOTH_S / hop_s)))
    excess = _smooth(excess_raw, smooth_n)
    edges = features.band_edges_hz
    centres = np.sqrt(edges[:-1] * edges[1:])
    chosen = (centres >= 1000.0) & (centres <= 6000.0)
    flatness = features.band_flatness_db[:, chosen].mean(axis=1)
    usual = band_background_db(dataclasses.replace(features, bands_db=flatness[:, None]), allowed, percentile=50.0)[:, 0]
    noisier = _smooth(flatness - usual, smooth_n)
    # Over a quiet or noise-like background a breath cannot be flatter than it: there it is
    # noise (in-band flatness near white noise's) standing well over the background.
    noise_over_quiet = (_smooth(flatness, smooth_n) >= NOISE_FLATNESS_DB) & (excess >= LOUD_EXCESS_DB)
    core = allowed & (excess >= BAND_EXCESS_DB) & ((noisier >= NOISIER_DB) | noise_over_quiet)
    edge = allowed & (excess >= BAND_EDGE_DB) & ((noisier >= NOISIER_DB - 0.5) | noise_over_quiet)
    core = vf._close_gaps(core, int(round(0.08 / hop_s))) & allowed
    word_starts = np.array(sorted(w.start for w in words))
    attack_lag = max(1, int(round(0.02 / hop_s)))
    # Edges first; a run that strikes (a hit, a strum) is dropped; then runs that nearly touch
    # are joined (a breath's noise can dip between its in-rush and its tail for longer than the
    # 80 ms bridge) and judged as one.
    extended: list[tuple[int, int]] = []
    for a, b in vf._runs(core):
        while a > 0 and edge[a - 1]:
            a -= 1
        while b < n and edge[b]:
            b += 1
        head = excess_raw[max(0, a - attack_lag) : min(b, a + int(round(0.1 / hop_s)))]
        if len(head) > attack_lag and float(np.max(head[attack_lag:] - head[:-attack_lag])) > MAX_ATTACK_DB:
            continue
        if extended and a - extended[-1][1] <= int(round(JOIN_GAP_S / hop_s)) and allowed[extended[-1][1] : a].all():
            extended[-1] = (extended[-1][0], max(b, extended[-1][1]))
        else:
            extended.append((a, b))
    spans: list[tuple[float, float]] = []
    for a, b in extended:
        duration = (b - a) * hop_s
        if duration < MIN_BAND_BREATH_S or duration > MAX_BREATH_S:
            continue
        if float(np.median(excess[a:b])) < BAND_EXCESS_DB:
            continue
        later = word_starts[word_starts >= b * hop_s - WORD_SLACK_S]
        if not len(later) or later[0] - b * hop_s > MAX_LEAD_S:
            continue
        if spans and a * hop_s - spans[-1][1] <= 0.1:
            spans[-1] = (spans[-1][0], b * hop_s)
        else:
            spans.append((a * hop_s, b * hop_s))
    in_band = (centres >= 500.0) & (centres <= 6000.0)
    background_band_db = 10 * np.log10(np.sum(10 ** (background[:, in_band] / 10), axis=1) + 1e-20)
    return spans, background_band_db


def mix_excess_db(mix_features: vf.FrameFeatures, voiced: np.ndarray, words: Optional[Sequence[Word]]) -> np.ndarray:
    """How far the mix stands over the band's typical spectrum in the nearby rests, per frame, dB
    (:func:`broadband_excess_db` over :func:`band_background_db` at the median,
    :data:`MIX_CHECK_PERCENTILE`: a rest frame without a breath sits near 0; rests = away from
    the words, or from the stem's voiced frames without words)."""
    n = len(mix_features.times_s)
    guard = voiced[:n] if len(voiced) >= n else np.pad(voiced, (0, n - len(voiced)))
    rest = _search_mask(mix_features, guard, words)
    return broadband_excess_db(mix_features, band_background_db(mix_features, rest, percentile=MIX_CHECK_PERCENTILE))


def mix_check(excess_db: np.ndarray, start_s: float, end_s: float, *, hop_s: float, min_db: float = MIX_CHECK_DB) -> bool:
    """Whether a breath heard in a stem also raises the mix (median of ``excess_db`` over it ≥ ``min_db``)."""
    a = max(0, int(round(start_s / hop_s)))
    b = min(len(excess_db), max(a + 1, int(round(end_s / hop_s))))
    return a < len(excess_db) and float(np.median(excess_db[a:b])) >= min_db


def latest_per_rest(found: list[tuple[float, float, bool]], word_starts_s: np.ndarray) -> list[tuple[float, float, bool]]:
    """One inhalation per rest: of the breaths that end before the same sung word (with no
    word between them), only the one that ends last.

    A singer fills the lungs once before the phrase, as late as the phrase allows; other noise
    earlier in the rest (a fill, a strum, the band's own breathy pad) is not that breath.
    ``found`` holds (start_s, end_s, heard); only heard ones are thinned.
    """
    heard = [f for f in found if f[2]]
    keep: dict[int, tuple[float, float, bool]] = {}
    for f in heard:
        k = int(np.searchsorted(word_starts_s, f[1] - WORD_SLACK_S))  # index of the next word
        if k not in keep or f[1] > keep[k][1]:
            keep[k] = f
    return [f for f in found if not f[2]] + list(keep.values())


def detect_breaths(
    vocal: np.ndarray,
    *,
    sr: int,
    words: Optional[Sequence[Word]] = None,
    lines: Optional[Sequence[Line]] = None,
    accompaniment_level_db: Optional[float] = None,
    infer_silent: bool = True,
    features: Optional[vf.FrameFeatures] = None,
    over_band: bool = True,
    mix: Optional[np.ndarray] = None,
    mix_features: Optional[vf.FrameFeatures] = None,
    one_per_rest: bool = ONE_PER_REST,
) -> list[Breath]:
    """Find every inhalation of the singer.

    Parameters
    ----------
    vocal : np.ndarray
        Mono vocal signal (stem, separated vocal, or the mix), shape (n,).
    sr : int
        Sample rate, Hz.
    words : sequence of Word, optional
        Aligned words; breaths are searched only outside them (widened by 30 ms), which keeps
        fricatives (/s/, /f/, /sh/) from being called breaths.
    lines : sequence of Line, optional
        Sung lines; each breath gets ``before_line`` = the line starting within 1.5 s after it
        (from the words' ``line`` indices when only words are given).
    accompaniment_level_db : float, optional
        Level of the accompaniment relative to the vocal's median sung level, dB. A breath
        more than 10 dB under it is marked inaudible, unless it was heard over the band's own
        spectrum (:func:`breaths_over_the_band`), which already says it carries over the band.
        A breath heard over the band that overlaps one found by the noise-floor rule replaces
        it by their union (when that is at most :data:`MAX_BREATH_S`): the floor rule often
        hears only the loud start of the same inhalation.
    infer_silent : bool
        Place an inaudible inhalation at the end of every rest before a phrase where no breath
        noise was found (≥ 0.3 s between lines with lyrics, ≥ 0.5 s between voiced runs
        without; see the module docstring).
    features : FrameFeatures, optional
        Precomputed :func:`lipcoach.song.vocal.frame_features` of ``vocal``.
    over_band : bool
        With words, also judge rests against the band's own spectrum
        (:func:`breaths_over_the_band`); False keeps the noise-floor rule alone (the
        benchmark's peer).
    mix : np.ndarray, optional
        The mix, when ``vocal`` is a vocal stem of it (same length and rate). Breaths are read
        from the stem, where the band is gone and an inhalation stands over the stem's floor;
        each one heard there must also show in the mix (:func:`mix_check`), so separation
        residue (cymbals, reverb) is not taken for a breath.
    mix_features : FrameFeatures, optional
        Precomputed :func:`lipcoach.song.vocal.frame_features` of ``mix``.
    one_per_rest : bool
        With words, keep only the last breath heard in each rest (:func:`latest_per_rest`).

    Returns
    -------
    list of Breath
        Sorted by start. ``start``/``end`` in s; ``level_db`` = median breath-band level of
        the breath (noise floor subtracted, see :func:`_breath_level_db`) minus the median
        sung level, dB; ``audible`` False for inferred inhalations and for breaths under
        −40 dB (or more than 10 dB under ``accompaniment_level_db``); ``kind`` "catch"
        (< 0.35 s) or "full".
    """
    features = features or vf.frame_features(vocal, sr=sr)
    n = len(features.times_s)
    if n == 0:
        return []
    hop_s = features.hop_length / features.sr
    reference = vf.sung_reference_db(features, words)
    if reference <= vf.FLOOR_DB + 1.0:
        return []  # nothing is sung: no singer to breathe, and no level to measure against
    voiced = vf.voiced_mask(features)
    allowed = _search_mask(features, voiced, words)
    floor = local_floor_db(features.band_db, hop_s=hop_s, mask=~_dilate(voiced, int(round(0.05 / hop_s))))
    excess = features.band_db - floor
    # Levels in the breath band: bass, pads and hum under a breath are not the breath.
    relative = features.band_db - reference
    noise_like = features.periodicity < MAX_PERIODICITY
    hiss = features.high_ratio_db > _hiss_threshold_db(features, floor)
    plausible = allowed & noise_like & ~hiss & (relative >= MIN_LEVEL_DB) & (relative <= MAX_LEVEL_DB)
    core = plausible & (excess >= EXCESS_DB)
    edge = plausible & (excess >= EDGE_EXCESS_DB)
    # Breath noise flickers frame to frame; bridge 80 ms dips inside the allowed region.
    core = vf._close_gaps(core, int(round(0.08 / hop_s))) & allowed
    max_frames = int(round(MAX_BREATH_S / hop_s))
    spans: list[tuple[int, int]] = []
    for a, b in vf._runs(core):
        # Edges: while the noise stays over the floor, or (when the floor is the breath
        # itself, as in a noisy room) within 6 dB of the breath's own level.
        own = float(np.median(features.band_db[a:b])) - EDGE_BELOW_OWN_DB
        a0, b0 = a, b
        while a > 0 and plausible[a - 1] and (edge[a - 1] or features.band_db[a - 1] >= own):
            a -= 1
        while b < n and plausible[b] and (edge[b] or features.band_db[b] >= own):
            b += 1
        if b - a > max_frames:
            a, b = a0, b0
        if spans and a - spans[-1][1] <= int(round(0.1 / hop_s)) and allowed[spans[-1][1] : a].all():
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))

    voiced_idx = np.flatnonzero(voiced)
    # Speech sounds a noise run can be glued to: vowels and hissing fricatives (an /s/ fades
    # out through a short tail of quieter noise that is no inhalation).
    sounding_idx = np.flatnonzero(voiced | (hiss & (relative > MIN_LEVEL_DB) & (excess >= EXCESS_DB)))
    word_edges = np.array(sorted([w.start for w in words or []] + [w.end for w in words or []]))
    word_starts = np.array(sorted(w.start for w in words)) if words else None
    found: list[tuple[float, float, bool]] = []
    for a, b in spans:
        duration = (b - a) * hop_s
        if duration < MIN_BREATH_S or duration > MAX_BREATH_S:
            continue
        if float(np.median(relative[a:b])) > MAX_BREATH_LEVEL_DB:
            continue
        # Consonants are glued to their vowel (or word); breaths leave the voice for a moment.
        if duration < GLUED_MAX_S and _glued(a, b, sounding_idx, word_edges, hop_s):
            continue
        # An inhalation prepares phonation: noise long before the next sung onset (in an
        # instrumental passage) is leakage or room noise, not the singer.
        nxt = _next_onset_s(b * hop_s, voiced_idx, hop_s, word_starts)
        if nxt is None or nxt - b * hop_s > MAX_LEAD_S:
            continue
        found.append((a * hop_s, b * hop_s, True))
    heard_over_band: set[tuple[float, float]] = set()
    if words and over_band:
        # Over a band (the mix), breath noise rarely clears the floor above; judged against
        # the band's own spectrum in the rests instead. Spans the first rule found stand.
        heard_spans, band_floor = breaths_over_the_band(features, words)
        for start, end in heard_spans:
            overlapping = [f for f in found if f[0] < end and f[1] > start]
            if overlapping:
                # The floor rule heard part of the same inhalation (often only its loud start):
                # one breath, the union, as long as that stays a breath's length.
                start = min([start] + [f[0] for f in overlapping])
                end = max([end] + [f[1] for f in overlapping])
                if end - start > MAX_BREATH_S:
                    continue
                found = [f for f in found if f not in overlapping]
            found.append((start, end, True))
            heard_over_band.add((start, end))
            a, b = features.index(start), features.index(end) + 1
            floor[a:b] = np.maximum(floor[a:b], band_floor[a:b])

    if mix is not None:
        mix_features = mix_features or vf.frame_features(mix, sr=sr)
        support = mix_excess_db(mix_features, voiced, words)
        found = [f for f in found if not f[2] or mix_check(support, f[0], f[1], hop_s=hop_s)]
    if words and one_per_rest:
        found = latest_per_rest(found, np.array(sorted(w.start for w in words)))

    if infer_silent:
        for rest_start, onset, min_rest in _phrase_starts(features, voiced, words, lines):
            if onset - rest_start < min_rest:
                continue
            if any(s < onset and e > rest_start for s, e, _ in found):
                continue
            end = onset - VOICED_GUARD_S
            start = max(rest_start + VOICED_GUARD_S, end - INFER_MAX_S)
            if words or lines:
                # The lyrics say a line follows a rest: the singer inhales there, whatever
                # the vocal guide (leakage, a gated stem) lets us hear.
                if end - start >= MIN_BREATH_S:
                    found.append((start, end, False))
                continue
            a, b = features.index(start), features.index(end)
            # Only the quiet, unvoiced stretch that runs up to the onset (not a consonant
            # ending the previous phrase).
            quiet = allowed[a:b] & ~hiss[a:b] & (relative[a:b] <= MAX_BREATH_LEVEL_DB)
            # A single odd frame in room noise is not a consonant: cut at 30 ms of non-quiet.
            loud_runs = [r for r in vf._runs(~quiet) if r[1] - r[0] >= 3 or r[0] == 0]
            if loud_runs:
                a += loud_runs[-1][1]
                start = a * hop_s
            # Digital silence (a gated stem) or a silent band holds no breath to infer.
            if end - start >= MIN_BREATH_S and np.median(relative[a:b]) >= MIN_LEVEL_DB:
                found.append((start, end, False))

    found.sort()
    breaths = []
    if lines:
        line_starts = sorted((ln.start, k) for k, ln in enumerate(lines))
    else:
        firsts: dict[int, float] = {}
        for w in words or []:
            firsts[w.line] = min(firsts.get(w.line, w.start), w.start)
        line_starts = sorted((start, k) for k, start in firsts.items())
    for start, end, heard in found:
        a, b = features.index(start), max(features.index(start) + 1, features.index(end))
        level = _breath_level_db(features.band_db[a:b], floor[a:b]) - reference
        audible = heard and level >= AUDIBLE_MIN_DB
        if accompaniment_level_db is not None and (start, end) not in heard_over_band:
            # Heard over the band's own spectrum already answers whether it carries over the band.
            audible = audible and level >= accompaniment_level_db - AUDIBLE_UNDER_ACCOMPANIMENT_DB
        before_line = next((k for s, k in line_starts if end - 0.1 <= s <= end + 1.5), None)
        breaths.append(
            Breath(
                start=round(start, 3),
                end=round(end, 3),
                level_db=round(level, 1),
                audible=bool(audible),
                kind="catch" if end - start < CATCH_MAX_S else "full",
                before_line=before_line,
            )
        )
    return breaths
