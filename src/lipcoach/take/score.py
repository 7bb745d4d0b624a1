"""Scoring a lip-sync take against a song map: the single entry point :func:`score_take`.

Stages: mouth track (:mod:`.mouth`) → placement in the song (:mod:`.placement`) → choice of
face → performer offset and verdict for the take and each line (:mod:`.sync`) → grades
(:mod:`.grade`) → report (:mod:`.report`: JSON ``lipcoach.takereport/2`` and HTML).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Callable, Collection, Optional, Sequence

import numpy as np

from lipcoach import schema
from lipcoach.errors import LipcoachError
from lipcoach.progress import ProgressCallback, silent, subrange
from lipcoach.song.songmap import SongMap
from lipcoach.take import grade as G
from lipcoach.take import placement as P
from lipcoach.take import sync as S
from lipcoach.take.mouth import MAX_TAKE_DURATION_S, MouthTrack, check_faces, check_take_file, track_mouth

NAME = "lipcoach.takereport"
#: A take may run this much longer than the song (pre-roll, a held last frame), s.
TAKE_OVERRUN_S = 2.0
#: A container may state a little more than the frames cover (an audio tail), s.
CONTAINER_SLACK_S = 1.0
#: Scratch sound quieter than this (dBFS RMS) counts as a silent take.
SILENT_DBFS = -60.0
#: Under this placement confidence, scratch sound is not trusted and the mouth places the take.
MIN_SOUND_CONFIDENCE = 0.15
#: A silent take placed by its mouth with a placement confidence under this is stored as
#: "placement unsure" (``placement.unsure``): never ``in_sync``, shown so on the page, in the
#: studio and in the edit. Placement confidence = 3 × (best − runner-up ≥ 1 s away) / best of
#: the mouth's match over the song (:func:`lipcoach.take.placement.place_by_mouth`). Set by
#: hand (docs/takereport.md says why), not fitted.
MOUTH_PLACEMENT_BAR = 0.5
#: Lines are measured over the line plus this much on each side, s.
LINE_MARGIN_S = 1.0
#: Search range around the take offset for a line's own offset, ms.
LINE_LAG_MS = 300.0
#: The offset moves to where rhythm and shapes together match best when that is farther than
#: this from the rhythm's own best (ms), and is then found again within this of it.
JOINT_MOVE_MS = 60.0


@dataclasses.dataclass
class TakeReport:
    """Everything the coach says about a take (see docs/takereport.md).

    ``doc`` is the JSON document; ``series`` keeps the curves for the HTML plot (song time s,
    mouth opening, vocal level), and ``take_path`` lets the HTML writer grab stills.
    """

    doc: dict
    series: dict = dataclasses.field(default_factory=dict)
    take_path: str = ""

    @property
    def verdict(self) -> str:
        return self.doc["verdict"]

    @property
    def score(self) -> float:
        return self.doc["score"]

    def to_dict(self) -> dict:
        return self.doc


#: Suffixes of the take report's JSON and of its page.
JSON_SUFFIXES = (".json",)
HTML_SUFFIXES = (".html", ".htm")


def check_score(take: Path, songmap_path: Path, songmap: SongMap, *, output: Path, json_path: Optional[Path],
                song_audio: Optional[Path], force: bool = False, max_take_s: Optional[float] = MAX_TAKE_DURATION_S) -> None:
    """Pre-flight of ``lipcoach score``: the take is a readable video within the length limit
    (:func:`check_take`); the report and JSON can be written and replace none of the inputs
    (the take, the map, the files it names)."""
    from lipcoach.fileio import check_outputs, source_files

    check_take(take, songmap, max_take_s=max_take_s)
    if song_audio is not None and not Path(song_audio).exists():
        raise LipcoachError(song_audio, "no such file")
    check_outputs([(output, HTML_SUFFIXES, "report"), (json_path, JSON_SUFFIXES, "JSON report")],
                  inputs=[take, songmap_path, song_audio, *source_files(songmap.source, songmap_path)], force=force)


def save_json(report: TakeReport, path: str | os.PathLike) -> None:
    """Write the report as ``lipcoach.takereport`` JSON (the current version), atomically (validated first)."""
    from lipcoach.fileio import write_json_atomic

    schema.validate(report.doc, NAME, source=path)
    write_json_atomic(path, report.doc)


def write_report_html(report: TakeReport, path: str | os.PathLike, *, stills: bool = True) -> None:
    """Write the coach's HTML page (offline, self-contained), atomically."""
    from lipcoach.take.report import write_html

    write_html(report, path, stills=stills)


def _song_audio_path(songmap: SongMap, song_audio: Optional[str | os.PathLike]) -> Optional[Path]:
    if song_audio is not None:
        return Path(song_audio)
    src = songmap.source or {}
    for key in ("path", "audio", "mix"):
        value = src.get(key)
        if isinstance(value, str) and value and Path(value).exists():
            return Path(value)
    return None


def _rms_dbfs(audio: Optional[np.ndarray]) -> float:
    if audio is None or audio.size == 0:
        return -200.0
    return float(10 * np.log10(np.mean(audio.astype(np.float64) ** 2) + 1e-20))


@dataclasses.dataclass
class SongSignals:
    """What the mouth is compared with, on the analysis grid (sample ``i`` = song time ``i / rate_hz``).

    Attributes
    ----------
    level : np.ndarray
        Vocal level 0..1 (:func:`lipcoach.take.sync.vocal_level`), not moved.
    vocal : np.ndarray
        The vocal signal the mouth is matched with (moved earlier by the vocal lead).
    sung : np.ndarray of bool or None
        Where the mouth is held to the vocal (near words, or near vocal activity without lyrics).
    phonemes : list of (start_s, end_s, viseme)
        The lyrics' sounds; empty without lyrics.
    visemes : np.ndarray or None
        Expected opening from the lyrics (:func:`lipcoach.take.sync.viseme_signal`); None without lyrics.
    rate_hz : int
    """

    level: np.ndarray
    vocal: np.ndarray
    sung: Optional[np.ndarray]
    phonemes: list
    visemes: Optional[np.ndarray]
    rate_hz: int = S.GRID_RATE_HZ
    #: Start times (s) of the words the mouth is judged on (all of the map's, or one performer's lines').
    word_starts_s: Optional[list] = None
    #: The lines the mouth is judged on (None: every line).
    lines: Optional[frozenset] = None

    @property
    def has_words(self) -> bool:
        return bool(self.phonemes)


def song_signals(songmap: SongMap, *, config: S.SyncConfig = S.DEFAULT_CONFIG, use_region: bool = True,
                 lines: Optional[Collection[int]] = None) -> SongSignals:
    """The song side of sync, from the map alone (words when it has them, else vocal activity).

    ``lines``: judge the mouth on these lines only (0-based; one performer's lines of a duet):
    the rest of the song is left out of the region the mouth is held to, and its words' sounds
    ask for no shape (a performer who rests while the other sings is not out of sync).
    """
    rate = S.GRID_RATE_HZ
    level = S.vocal_level(np.asarray(songmap.loudness.values), rate_hz=songmap.loudness.rate,
                          reference_db=songmap.loudness.reference_db, duration_s=songmap.duration)
    judged = None if lines is None else frozenset(int(i) for i in lines)
    words = [w for w in songmap.words if judged is None or w.line in judged]
    spans = [(w.start, w.end) for w in words]
    activity = S.word_activity(spans, n=level.size) if spans else None
    vocal = S.song_signal(level, activity, config=config)
    if not songmap.words:
        # No lyrics: the vocal's own activity (or its level) says where the mouth should move.
        spans = [(float(a), float(b)) for a, b in songmap.vocal_activity] or _level_spans(level, rate_hz=rate)
    sung = S.sung_region(spans, n=level.size) if use_region and spans else None
    # A word without phonemes (not in the dictionary, a placeholder) still says when the mouth moves.
    phonemes = [(p.start, p.end, p.viseme) for w in words for p in w.phonemes] + [
        (w.start, w.end, "unknown") for w in words if not w.phonemes]
    # Words that are all placeholders (speech spans, no word in the dictionary) say nothing about
    # the mouth's shapes: their "unknown" boxes would only repeat the word spans, and on
    # continuous speech their few edges outweighed the vocal (HDTF offsets off by 200-500 ms).
    known = any(w.phonemes for w in words)
    visemes = S.viseme_signal(phonemes, n=level.size, config=config) if phonemes and known else None
    return SongSignals(level=level, vocal=vocal, sung=sung, phonemes=phonemes, visemes=visemes, rate_hz=rate,
                       word_starts_s=[w.start for w in words], lines=judged)


def _level_spans(level: np.ndarray, *, rate_hz: int, threshold: float = 0.3) -> list[tuple[float, float]]:
    """Spans (s) where the vocal level stands over ``threshold`` (0..1): singing, for maps without lyrics."""
    on = np.flatnonzero(np.diff(np.r_[0, (level > threshold).astype(int), 0]))
    return [(a / rate_hz, b / rate_hz) for a, b in zip(on[::2], on[1::2])]


@dataclasses.dataclass
class SongSound:
    """The song's audio as placement hears it: mono at :data:`placement.PLACEMENT_SR` and its onset envelope."""

    path: Path
    audio: np.ndarray
    envelope: np.ndarray


def song_sound(songmap: SongMap, *, song_audio: Optional[str | os.PathLike] = None) -> Optional[SongSound]:
    """Read the song's audio for placement by scratch sound (None when no song file is at hand)."""
    path = _song_audio_path(songmap, song_audio)
    if path is None:
        return None
    from lipcoach.media.decode import load_audio

    audio, _ = load_audio(path, sr=P.PLACEMENT_SR)
    return SongSound(path=path, audio=audio, envelope=P.placement_envelope(audio, sr=P.PLACEMENT_SR))


def place_take(track: MouthTrack, songmap: SongMap, *, song_audio: Optional[str | os.PathLike] = None,
               song_start_s: Optional[float] = None,
               song: Optional[Callable[[], Optional[SongSound]]] = None) -> Optional[P.Placement]:
    """Step 1: where the take starts in the song, by the scratch sound (None for a silent take).

    ``song``: gives the song's :class:`SongSound` when asked (read ahead while the take was
    tracked); default :func:`song_sound` reads it now.
    """
    if song_start_s is not None:
        return P.Placement(song_start_s=float(song_start_s), confidence=1.0, method="given")
    if _rms_dbfs(track.audio) <= SILENT_DBFS:
        return None
    sound = song() if song is not None else song_sound(songmap, song_audio=song_audio)
    if sound is None:
        return None
    cand = P.place_by_sound(track.audio, sound.audio, sr=P.PLACEMENT_SR, take_audio_start_s=track.audio_start_s,
                            song_envelope=sound.envelope)
    if cand.confidence >= MIN_SOUND_CONFIDENCE or cand.alternatives:
        return cand
    return None


def _region(sig: SongSignals, lo_i: int = 0, hi_i: Optional[int] = None) -> Optional[np.ndarray]:
    return None if sig.sung is None else sig.sung[lo_i:hi_i]


def choose_face(track: MouthTrack, sig: SongSignals, placement: Optional[P.Placement], *, face: Optional[int] = None,
                config: S.SyncConfig = S.DEFAULT_CONFIG) -> tuple[Any, P.Placement, S.SyncEstimate]:
    """Step 2: the face (and, when the sound repeats in the song, the place) whose mouth follows the song best.

    A silent take is placed here, from each candidate face's mouth over the whole song.
    """
    rate = sig.rate_hz
    candidates = [track.face(face)] if face is not None else [f for f in track.faces if f.found_share >= 0.3]
    candidates = candidates or [max(track.faces, key=lambda f: f.found_share)]
    n_take = int(np.ceil((track.duration_s + 0.5) * rate))
    by_face: list[tuple[Any, P.Placement, S.SyncEstimate]] = []
    covered: list[tuple[int, int]] = []  # per entry of by_face: the grid samples its mouth covers
    for fc in candidates:
        if placement is None:
            m, v = S.mouth_signal(track.t_s, fc.opening, start_s=0.0, n=n_take)
            options = [P.place_by_mouth(m, v, sig.vocal, grid_rate_hz=rate, visemes=sig.visemes)]
        else:
            # When the sound repeats in the song (a chorus), the mouth picks among the places.
            options = [placement] + [dataclasses.replace(placement, song_start_s=a, alternatives=[])
                                     for a in placement.alternatives]
        for pl in options:
            m, valid = S.mouth_signal(track.t_s, fc.opening, start_s=-pl.song_start_s, n=sig.vocal.size)
            by_face.append((fc, pl, S.estimate_offset(m, sig.vocal, valid, region=sig.sung, visemes=sig.visemes,
                                                      config=config)))
            covered.append(_covered(valid))
    if len(by_face) > 1:
        # Places whose sound repeats (a chorus, a line sung twice) or several faces: with lyrics,
        # the one where the lips also take this line's shapes; a rhythm alone repeats too.
        joint = [joint_match(track, fc, pl, sig, lo_i, hi_i, config=config)
                 for (fc, pl, _), (lo_i, hi_i) in zip(by_face, covered)]
        if all(j is not None for j in joint):
            return by_face[int(np.argmax([j[1] for j in joint]))]
    return max(by_face, key=lambda x: x[2].peak)


def _covered(valid: np.ndarray) -> tuple[int, int]:
    """First and last-plus-one grid sample where the mouth is measured ((0, 0) when nowhere)."""
    cover = np.flatnonzero(valid)
    return (int(cover[0]), int(cover[-1]) + 1) if cover.size else (0, 0)


def placement_unsure(placement: P.Placement) -> bool:
    """A take placed by its mouth (no sound) with a confidence under :data:`MOUTH_PLACEMENT_BAR`."""
    return placement.method == "mouth" and placement.confidence < MOUTH_PLACEMENT_BAR


def take_span_s(track: MouthTrack, song_start_s: float, *, song_duration_s: float) -> tuple[float, float]:
    """The song times (s) a take covers, when take time 0 is song time ``song_start_s``."""
    return (max(0.0, song_start_s + float(track.t_s[0])), min(song_duration_s, song_start_s + track.duration_s))


@dataclasses.dataclass
class SyncResult:
    """Step 3's answer: the take's offset and verdict, and the offsets of lines and words."""

    placement: P.Placement
    estimate: S.SyncEstimate
    absolute: bool
    mouth: np.ndarray
    valid: np.ndarray
    lo_i: int
    hi_i: int
    take_span_s: tuple[float, float]
    line_offsets_ms: list
    line_r: list
    line_raw_ms: list
    word_offsets_ms: list

    @property
    def in_sync(self) -> bool:
        return self.estimate.in_sync


def sync_take(track: MouthTrack, fc, placement: P.Placement, est: S.SyncEstimate, sig: SongSignals,
              songmap: SongMap, *, config: S.SyncConfig = S.DEFAULT_CONFIG) -> SyncResult:
    """Step 3: the performer's offset, the verdict (two pieces of evidence), then each line and word."""
    absolute = placement.method != "mouth"
    placement, mouth, valid, est, lo_i, hi_i = _settle_offset(track, fc, placement, est, sig, absolute=absolute,
                                                              config=config)
    est = _take_evidence(track, fc, placement, est, sig, songmap, mouth, valid, lo_i, hi_i, absolute=absolute,
                         config=config)
    take_span = take_span_s(track, placement.song_start_s, song_duration_s=songmap.duration)
    line_offsets, line_r, line_raw = _line_offsets(mouth, valid, sig, songmap, est, take_span, config=config)
    word_offsets = _word_offsets(mouth, valid, sig, songmap, est, take_span, line_offsets, config=config)
    return SyncResult(placement=placement, estimate=est, absolute=absolute, mouth=mouth, valid=valid, lo_i=lo_i,
                      hi_i=hi_i, take_span_s=take_span, line_offsets_ms=line_offsets, line_r=line_r,
                      line_raw_ms=line_raw, word_offsets_ms=word_offsets)


def _offset_into_placement(track: MouthTrack, fc, placement: P.Placement, est: S.SyncEstimate, sig: SongSignals, *,
                           config: S.SyncConfig):
    """A silent take's offset moved into its place: (placement, mouth, valid, estimate) found again there.

    A silent take's start is found from the mouth itself: a constant offset cannot be told
    apart from where the take starts, so it goes into the placement.
    """
    placement = dataclasses.replace(placement, song_start_s=placement.song_start_s + est.offset_ms / 1000.0)
    mouth, valid = S.mouth_signal(track.t_s, fc.opening, start_s=-placement.song_start_s, n=sig.vocal.size)
    return placement, mouth, valid, S.estimate_offset(mouth, sig.vocal, valid, region=sig.sung, visemes=sig.visemes,
                                                      config=config)


def _settle_offset(track: MouthTrack, fc, placement: P.Placement, est: S.SyncEstimate, sig: SongSignals, *,
                   absolute: bool, config: S.SyncConfig):
    """The take's offset, moved where rhythm and shapes together match best when that is over :data:`JOINT_MOVE_MS` away.

    Returns ``(placement, mouth, valid, estimate, lo_i, hi_i)``: ``mouth``/``valid`` on the
    song grid of ``sig``, ``lo_i:hi_i`` the grid samples the take covers. A silent take
    (``absolute`` False) has its offset moved into its placement.
    """
    rate = sig.rate_hz
    mouth, valid = S.mouth_signal(track.t_s, fc.opening, start_s=-placement.song_start_s, n=sig.vocal.size)
    if not absolute:
        placement, mouth, valid, est = _offset_into_placement(track, fc, placement, est, sig, config=config)
    # The null test runs over the part of the song the take covers.
    lo_i, hi_i = _covered(valid)
    joint = joint_match(track, fc, placement, sig, lo_i, hi_i, config=config)
    if joint is not None and abs(joint[0] - est.offset_ms) > JOINT_MOVE_MS:
        # The rhythm's best lag is not where the lips take the lyrics' shapes: the offset is
        # found again near the joint best (the rhythm's own peak there, for its sub-sample fit).
        near = S.estimate_offset(mouth, sig.vocal, valid, region=sig.sung, visemes=sig.visemes, config=config,
                                 center_ms=joint[0], max_lag_ms=JOINT_MOVE_MS)
        est = dataclasses.replace(near, at_edge=abs(near.offset_ms) >= config.max_lag_ms - 1000.0 / rate)
        if not absolute:
            placement, mouth, valid, est = _offset_into_placement(track, fc, placement, est, sig, config=config)
            lo_i, hi_i = _covered(valid)
    return placement, mouth, valid, est, lo_i, hi_i


def _take_evidence(track: MouthTrack, fc, placement: P.Placement, est: S.SyncEstimate, sig: SongSignals,
                   songmap: SongMap, mouth: np.ndarray, valid: np.ndarray, lo_i: int, hi_i: int, *, absolute: bool,
                   config: S.SyncConfig) -> S.SyncEstimate:
    """The verdict's evidence over grid samples ``lo_i:hi_i``: the diagnostics, the rhythm, the shapes."""
    rate = sig.rate_hz
    vocal = sig.vocal
    est = dataclasses.replace(est, placement_unsure=placement_unsure(placement))
    # A silent take's offset was effectively searched over the whole song.
    span = songmap.duration if not absolute else None
    est = S.sync_verdict(mouth[lo_i:hi_i], vocal[lo_i:hi_i], valid[lo_i:hi_i], est, search_span_s=span,
                         region=_region(sig, lo_i, hi_i))
    visemes = None
    if sig.visemes is not None and sum(lo_i <= p[0] * rate < hi_i for p in sig.phonemes) >= config.min_phonemes:
        visemes = sig.visemes[lo_i:hi_i]
    est = S.second_evidence(mouth[lo_i:hi_i], vocal[lo_i:hi_i], valid[lo_i:hi_i], est, visemes=visemes,
                            region=_region(sig, lo_i, hi_i))
    # The verdict: the lag score itself against its null, and whether the take had enough to go on.
    if songmap.words:
        n_events = sum(lo_i <= t * rate < hi_i for t in sig.word_starts_s)
    else:
        n_events = S.count_onsets(sig.level[lo_i:hi_i], grid_rate_hz=rate)
    est = S.evidence(mouth[lo_i:hi_i], vocal[lo_i:hi_i], valid[lo_i:hi_i], est,
                     visemes=None if sig.visemes is None else sig.visemes[lo_i:hi_i], region=_region(sig, lo_i, hi_i),
                     n_events=n_events, search_span_s=span, grid_rate_hz=rate)
    return shape_check(track, fc, placement, est, sig, lo_i, hi_i, config=config)


def _line_offsets(mouth: np.ndarray, valid: np.ndarray, sig: SongSignals, songmap: SongMap, est: S.SyncEstimate,
                  take_span: tuple[float, float], *, config: S.SyncConfig) -> tuple[list, list, list]:
    """Each line inside the take: its offset (ms; None unless the take is in sync), its ``r``, and the raw offsets."""
    line_offsets: list[Optional[float]] = [None] * len(songmap.lines)
    line_r: list[float] = [0.0] * len(songmap.lines)
    line_raw: list[float] = []
    for li, ln in enumerate(songmap.lines):
        if ln.start < take_span[0] or ln.end > take_span[1]:
            continue
        le = line_estimate(mouth, valid, sig, ln, center_ms=est.offset_ms, config=config)
        line_offsets[li] = round(le.offset_ms, 1) if est.in_sync else None
        line_raw.append(le.offset_ms)
        line_r[li] = le.r
    return line_offsets, line_r, line_raw


def _word_offsets(mouth: np.ndarray, valid: np.ndarray, sig: SongSignals, songmap: SongMap, est: S.SyncEstimate,
                  take_span: tuple[float, float], line_offsets: list, *, config: S.SyncConfig) -> list:
    """Each word inside an in-sync take: its timing error (ms) near its line's offset (None elsewhere)."""
    word_offsets: list[Optional[float]] = [None] * len(songmap.words)
    if est.in_sync:
        for wi, w in enumerate(songmap.words):
            if w.start < take_span[0] or w.end > take_span[1]:
                continue
            base = line_offsets[w.line] if w.line < len(line_offsets) and line_offsets[w.line] is not None else est.offset_ms
            word_offsets[wi] = word_offset_ms(mouth, valid, sig, w, center_ms=base, config=config)
    return word_offsets


def window_estimate(mouth: np.ndarray, valid: np.ndarray, sig: SongSignals, lo_s: float, hi_s: float, *,
                    max_lag_ms: float, center_ms: float, config: S.SyncConfig = S.DEFAULT_CONFIG) -> S.SyncEstimate:
    """The performer's offset over song times ``lo_s``..``hi_s`` (s; sung parts only), searched ``center_ms ± max_lag_ms``.

    ``mouth`` / ``valid``: :func:`lipcoach.take.sync.mouth_signal` on the song grid of ``sig``.
    """
    rate = sig.rate_hz
    region = np.zeros(sig.vocal.size, dtype=bool)
    region[max(0, int(lo_s * rate)):max(0, int(hi_s * rate))] = True
    if sig.sung is not None:
        region &= sig.sung
    return S.estimate_offset(mouth, sig.vocal, valid, region=region, max_lag_ms=max_lag_ms, center_ms=center_ms,
                             visemes=sig.visemes, config=config)


def line_estimate(mouth: np.ndarray, valid: np.ndarray, sig: SongSignals, line, *, center_ms: float,
                  config: S.SyncConfig = S.DEFAULT_CONFIG) -> S.SyncEstimate:
    """A line's own offset: the line with :data:`LINE_MARGIN_S` each side, :data:`LINE_LAG_MS` around ``center_ms``.

    The take report and the live coach (:mod:`lipcoach.take.live`) read lines with this one rule.
    """
    return window_estimate(mouth, valid, sig, line.start - LINE_MARGIN_S, line.end + LINE_MARGIN_S,
                           max_lag_ms=LINE_LAG_MS, center_ms=center_ms, config=config)


#: A word's timing is read over its middle ± this, s, searched :data:`WORD_LAG_MS` around its line's offset.
WORD_WINDOW_S = 0.6
WORD_LAG_MS = 120.0


def word_offset_ms(mouth: np.ndarray, valid: np.ndarray, sig: SongSignals, word, *, center_ms: float,
                   config: S.SyncConfig = S.DEFAULT_CONFIG) -> float:
    """A word's timing error (ms, + = late): the offset over the word and its neighbours, near its line's offset.

    The take report and the live coach (:mod:`lipcoach.take.live`) time words with this one rule.
    """
    mid = 0.5 * (word.start + word.end)
    est = window_estimate(mouth, valid, sig, mid - WORD_WINDOW_S, mid + WORD_WINDOW_S, max_lag_ms=WORD_LAG_MS,
                          center_ms=center_ms, config=config)
    return round(est.offset_ms, 1)


def shape_check(track: MouthTrack, fc, placement: P.Placement, est: S.SyncEstimate, sig: SongSignals, lo_i: int,
                hi_i: int, *, config: S.SyncConfig = S.DEFAULT_CONFIG) -> S.SyncEstimate:
    """The lyrics' mouth shapes against the mouth's opening and width over the take (:func:`S.shape_evidence`).

    Without lyrics there are no shapes to ask for and ``shape_z`` stays NaN.
    """
    inputs = _shape_inputs(track, fc, placement, sig, lo_i, hi_i, config=config)
    if inputs is None:
        return est
    mouth, width, valid, opening_t, rounding_t, n_shapes = inputs
    return S.shape_evidence(mouth, width, valid, est, opening_target=opening_t, rounding_target=rounding_t,
                            n_shapes=n_shapes, grid_rate_hz=sig.rate_hz)


def _shape_inputs(track: MouthTrack, fc, placement: P.Placement, sig: SongSignals, lo_i: int, hi_i: int, *,
                  config: S.SyncConfig = S.DEFAULT_CONFIG):
    """Mouth, width, validity and the lyrics' shape targets over grid samples ``lo_i:hi_i`` (None without lyrics)."""
    rate = sig.rate_hz
    if not sig.phonemes or hi_i - lo_i < 2:
        return None
    t0 = lo_i / rate
    inside = [(a - t0, b - t0, v) for a, b, v in sig.phonemes if lo_i <= a * rate < hi_i]
    n = hi_i - lo_i
    opening_t, rounding_t, n_shapes = S.shape_targets(inside, n=n, grid_rate_hz=rate, config=config)
    mouth, valid = S.mouth_signal(track.t_s, fc.opening, start_s=t0 - placement.song_start_s, n=n)
    width = None
    if fc.width is not None and np.isfinite(np.asarray(fc.width, dtype=float)).any():
        width = S.width_signal(track.t_s, fc.width, start_s=t0 - placement.song_start_s, n=n, grid_rate_hz=rate)
    return mouth, width, valid, opening_t, rounding_t, n_shapes


def joint_match(track: MouthTrack, fc, placement: P.Placement, sig: SongSignals, lo_i: int, hi_i: int, *,
                config: S.SyncConfig = S.DEFAULT_CONFIG) -> Optional[tuple[float, float]]:
    """The offset (ms) where the rhythm and the lyrics' shapes together match best, and that match (:func:`S.joint_best`).

    None without enough shapes in the take (no lyrics, too few phonemes, a short take).
    """
    inputs = _shape_inputs(track, fc, placement, sig, lo_i, hi_i, config=config)
    if inputs is None or config.shape_weight <= 0:
        return None
    mouth, width, valid, opening_t, rounding_t, n_shapes = inputs
    n = mouth.size
    min_shift = int(round(1.0 * sig.rate_hz)) if n >= 4 * sig.rate_hz else int(round(0.5 * sig.rate_hz))
    if n_shapes < config.min_shapes or n < 4 * min_shift or valid.sum() < 2 * min_shift:
        return None
    shapes = S.shape_scores(mouth, width, valid, opening_target=opening_t, rounding_target=rounding_t, config=config)
    if not np.any(shapes):
        return None
    visemes = None if sig.visemes is None else sig.visemes[lo_i:hi_i]
    rhythm = S.rhythm_scores(mouth, sig.vocal[lo_i:hi_i], valid, visemes=visemes, region=_region(sig, lo_i, hi_i),
                             config=config)
    return S.joint_best(S.circular_z(rhythm, min_shift=min_shift), S.circular_z(shapes, min_shift=min_shift),
                        config=config, grid_rate_hz=sig.rate_hz)


@dataclasses.dataclass
class Grades:
    """Step 4's answer."""

    words: list
    lines: list
    gaps: list
    breaths: list
    score: float
    scale: Any


def grade_take(track: MouthTrack, fc, sync: SyncResult, sig: SongSignals, songmap: SongMap, *,
               body: Optional[Any] = None) -> Grades:
    """Step 4: each word and line graded at the performer's own timing; hidden words set aside."""
    est = sync.estimate
    in_sync = est.in_sync
    song_start_s = sync.placement.song_start_s
    scale = G.face_scale(fc.opening)
    line_offsets = [o if o is not None else (est.offset_ms if in_sync else 0.0) for o in sync.line_offsets_ms]
    visible = G.face_visible(fc)
    words = G.grade_words(songmap, t_s=track.t_s, opening=fc.opening, song_start_s=song_start_s,
                          line_offsets_ms=line_offsets, word_offsets_ms=sync.word_offsets_ms, vocal_grid=sig.level,
                          grid_rate_hz=sig.rate_hz, take_span_s=sync.take_span_s, scale=scale, visible=visible)
    breaths = G.grade_breaths(songmap, t_s=track.t_s, opening=fc.opening, song_start_s=song_start_s,
                              line_offsets_ms=line_offsets, take_span_s=sync.take_span_s, scale=scale,
                              visible=visible, body=body)
    lines: list[G.LineGrade] = []
    for li, ln in enumerate(songmap.lines):
        lw = [w for w in words if w.line == li]
        if not lw:
            continue
        breath = G.breath_before_line(breaths, li)
        seen = [w for w in lw if not w.hidden]
        in_take = sum(1 for w in songmap.words if w.line == li) == len(lw)
        # A line sung with the mouth out of sight has no timing either.
        line_offset = sync.line_offsets_ms[li] if seen else None
        lines.append(G.LineGrade(
            index=li, text=ln.text, start_s=ln.start, end_s=ln.end, offset_ms=line_offset,
            r=round(sync.line_r[li], 3), n_words=len(lw), n_hit=sum(w.hit for w in seen),
            closures_missed=[w.text for w in seen if w.closure_ok is False],
            open_more=[w.text for w in seen if w.open_ratio is not None and w.open_ratio < G.OPEN_OK_RATIO and w.hit],
            breath=breath, score=G.line_score(seen, sync.line_offsets_ms[li] if in_sync else 200.0, breath),
            n_hidden=len(lw) - len(seen), hidden_words=[w.text for w in lw if w.hidden],
            coverable=bool(est.verdict != "not_lip_syncing" and in_take and len(seen) == len(lw)),
            breath_by=G.breath_by(breaths, li), verdict=est.verdict,
        ))
    gaps = G.grade_gaps(songmap, t_s=track.t_s, opening=fc.opening, song_start_s=song_start_s,
                        offset_ms=est.offset_ms if in_sync else 0.0, take_span_s=sync.take_span_s, scale=scale)
    if sig.has_words:
        total = G.take_score(lines, gaps, in_sync=in_sync)
    else:
        total = G.sync_only_score(est.offset_ms if sync.absolute else 0.0, gaps, in_sync=in_sync)
    return Grades(words=words, lines=lines, gaps=gaps, breaths=breaths, score=total, scale=scale)


#: What the report says when the song map has no lyrics.
NO_WORDS_NOTE = ("This song map has no lyrics, so words cannot be graded; placement, offset and verdict come from "
                 "the vocal's onsets and loudness. Map the song with its lyrics to grade each word.")


def _finite(v, digits: int):
    """``v`` rounded to ``digits``, or None when it is missing or not finite (JSON has no NaN)."""
    return round(float(v), digits) if v is not None and np.isfinite(v) else None


def _sync_section(sync: SyncResult, config: S.SyncConfig) -> dict:
    """The report's ``sync`` block: the offset, the evidence and its bars (z), the leads sync used (ms)."""
    est = sync.estimate
    in_sync = est.in_sync
    line_raw = sync.line_raw_ms
    return {"offset_ms": round(est.offset_ms, 1) if in_sync else None, "raw_offset_ms": round(est.offset_ms, 1),
            "confidence": round(est.confidence, 3), "z": _finite(est.z, 2),
            "z_threshold": round(est.z_threshold, 2),
            "viseme_z": _finite(est.viseme_z, 2), "level_z": _finite(est.level_z, 2),
            "evidence_z": _finite(est.evidence_z, 2), "shape_z": _finite(est.shape_z, 2), "shape_best_z": _finite(est.shape_best_z, 2),
            "shapes": est.n_shapes,
            "in_sync_bar": _finite(est.in_bar, 2),
            "not_lip_syncing_bar": _finite(est.out_bar, 2), "events": est.n_events,
            "line_spread_ms": round(float(np.median(np.abs(np.array(line_raw) - est.offset_ms))), 1) if line_raw else None,
            "r": round(est.r, 3), "absolute": sync.absolute, "visual_lead_ms": config.vocal_lead_ms,
            "lead_by_class_ms": {"closure": config.lead_closure_ms, "opening": config.lead_opening_ms,
                                 "other": config.lead_other_ms}}


def assemble_report(take_path: Path, track: MouthTrack, fc, songmap: SongMap, sig: SongSignals, sync: SyncResult,
                    grades: Grades, *, config: S.SyncConfig = S.DEFAULT_CONFIG) -> TakeReport:
    """Step 5: the ``lipcoach.takereport/2`` document and the curves for the HTML page."""
    from lipcoach.take.report import fixes_first

    est, placement = sync.estimate, sync.placement
    line_raw = sync.line_raw_ms
    sound_db = _rms_dbfs(track.audio)

    doc = {
        "schema": schema.tag(NAME),
        "take": {"path": os.fspath(take_path), "duration_s": round(track.duration_s, 3), "fps": round(track.fps, 3),
                 "width_px": track.width_px, "height_px": track.height_px, "rotation_deg": track.rotation_deg,
                 "has_sound": sound_db > SILENT_DBFS},
        "song": {"path": (songmap.source or {}).get("path"), "duration_s": round(songmap.duration, 3),
                 "has_words": sig.has_words},
        "faces": [{"id": f.id, "found_share": round(f.found_share, 4), "eye_px": round(f.eye_px, 1),
                   "center": [round(c, 3) for c in f.center]} for f in track.faces],
        "face": fc.id,
        "placement": {"song_start_s": round(placement.song_start_s, 4), "confidence": round(placement.confidence, 3),
                      "method": placement.method, "unsure": placement_unsure(placement),
                      "unsure_bar": MOUTH_PLACEMENT_BAR if placement.method == "mouth" else None},
        "sync": _sync_section(sync, config),
        "verdict": est.verdict,
        "verdict_reason": est.reason,
        "score": grades.score,
        "words_graded": sig.has_words,
        "notes": [] if sig.has_words else [NO_WORDS_NOTE],
        "thresholds": {"closed_opening": round(grades.scale.closed, 4), "open_opening": round(grades.scale.open, 4),
                       "hidden_yaw_deg": G.HIDDEN_YAW_DEG, "hidden_pitch_deg": G.HIDDEN_PITCH_DEG},
        "lines": [_clean(dataclasses.asdict(ln)) for ln in grades.lines],
        "words": [_clean(dataclasses.asdict(w)) for w in grades.words],
        "gaps": [dataclasses.asdict(g) for g in grades.gaps],
        "breaths": [_clean(dataclasses.asdict(b)) for b in grades.breaths],
    }
    doc["fixes"] = fixes_first(doc)
    t_song = placement.song_start_s + track.t_s
    series = {"t_song_s": t_song, "opening": fc.opening, "vocal": sig.level, "rate": sig.rate_hz,
              "take_span": sync.take_span_s, "song_start_s": placement.song_start_s,
              "breaths": [(b.start, b.end) for b in songmap.breaths if b.audible],
              # The analysis signals behind the verdict, for benchmarks and debugging.
              "grid": {"mouth": sync.mouth, "valid": sync.valid, "vocal": sig.vocal, "sung": sig.sung,
                       "visemes": sig.visemes, "lo_i": sync.lo_i, "hi_i": sync.hi_i,
                       "offset_ms": est.offset_ms, "absolute": sync.absolute,
                       "words": [(w.start, w.end) for w in songmap.words],
                       "phonemes": sig.phonemes,
                       "lines": [(ln.start, ln.end) for ln in songmap.lines], "line_raw": line_raw,
                       "take_span": sync.take_span_s, "z_threshold": est.z_threshold, "at_edge": est.at_edge}}
    return TakeReport(doc=doc, series=series, take_path=os.fspath(take_path))


def longest_take_s(song_duration_s: float, speed: float = 1.0) -> float:
    """The longest take of a song worth tracking, s: the song at the recording's speed plus the allowed overrun.

    Without a known song length (0), :data:`~lipcoach.take.mouth.MAX_TAKE_DURATION_S`.
    """
    if song_duration_s <= 0 or speed <= 0:
        return MAX_TAKE_DURATION_S
    return song_duration_s / speed + TAKE_OVERRUN_S + CONTAINER_SLACK_S


def check_take(take_path: str | os.PathLike, songmap: SongMap, *, max_take_s: Optional[float] = MAX_TAKE_DURATION_S):
    """A take's file checked before any tracking: a readable video, within the limit, not far longer than the song.

    The lengths are the container's (no frame is decoded), so a wrong file (a 2-hour
    recording, another number) is refused in a second rather than after tracking it all.
    Returns the take's :class:`~lipcoach.media.decode.MediaInfo`.
    """
    info = check_take_file(take_path, max_duration_s=max_take_s)
    # The exact check (tracked length against the song, TAKE_OVERRUN_S) follows tracking; the
    # container may count an audio tail, so here only a take clearly too long is refused.
    if info.duration_s > songmap.duration + TAKE_OVERRUN_S + CONTAINER_SLACK_S:
        raise LipcoachError(take_path, f"the take is {info.duration_s:.1f} s long but the song is only "
                                       f"{songmap.duration:.1f} s; is this the right song?")
    return info


def score_take(
    take_path: str | os.PathLike,
    songmap: SongMap,
    *,
    face: Optional[int] = None,
    report: Optional[ProgressCallback] = None,
    song_audio: Optional[str | os.PathLike] = None,
    song_start_s: Optional[float] = None,
    track: Optional[MouthTrack] = None,
    config: S.SyncConfig = S.DEFAULT_CONFIG,
    use_region: bool = True,
    body: Optional[bool] = None,
    lines: Optional[Collection[int]] = None,
    placement: Any = None,
    max_take_s: Optional[float] = MAX_TAKE_DURATION_S,
) -> TakeReport:
    """Score a lip-sync take against a song map: place → choose the face → sync → grade → assemble.

    Parameters
    ----------
    take_path : path
        The take (any video FFmpeg reads; with or without sound).
    songmap : SongMap
        The song's map. With lyrics every word is graded; without, the take still gets its
        placement, offset, confidence and verdict from the vocal's onsets and loudness.
    face : int, optional
        Face id to score (ids by order of appearance); default the face whose mouth follows
        the vocal best.
    report : ProgressCallback, optional
    song_audio : path, optional
        The song's audio for placement by scratch sound; default ``songmap.source["path"]``.
    song_start_s : float, optional
        Skip placement: the song time at take time 0, s.
    track : MouthTrack, optional
        A mouth track already made of this take (benchmarks shift its timestamps).
    config : SyncConfig
        Sync's tuning constants (default the shipped, calibrated ones).
    body : bool, optional
        Look for breaths shown by the body (shoulder rise, MediaPipe Pose around each breath).
        Default: off. Shoulder breaths were never measured on real footage (docs/takereport.md),
        so the report does not claim them unless asked.
    lines : collection of int, optional
        Judge the mouth on these lines only (0-based: one performer's lines of a duet, see
        :func:`score`); default every line.
    placement : Placement, optional
        The take's place in the song found already (:func:`place_take`: one placement for
        every face of a take); ``None`` (and a silent take) places it here.
    max_take_s : float, optional
        Refuse a longer take, s (its container's length, before any tracking); None: no limit.

    Returns
    -------
    TakeReport

    Raises
    ------
    LipcoachError
        Unreadable take, no video, no usable face, take longer than the song.
    """
    report = report or silent
    take_path = Path(take_path)
    want_body = body is True and bool(songmap.breaths) and take_path.is_file()
    ahead = None
    if track is None:
        check_take(take_path, songmap, max_take_s=max_take_s)  # said at once, before any thread starts
        # While the mouth is tracked (Face Mesh keeps one core busy, decoding the other part
        # of the time), a second thread reads the song for placement and starts MediaPipe Pose.
        # It starts with the tracker's first progress report, i.e. once Face Mesh runs: before
        # that (MediaPipe's import, the face count) both threads would only take turns.
        ahead = _ReadAhead(songmap, song_audio=song_audio, song=song_start_s is None, pose=want_body)
    try:
        if track is None:
            tracking = subrange(report, 0.0, 0.75)

            def tracking_report(fraction: float, label: str) -> None:
                ahead.start()
                tracking(fraction, label)

            track = track_mouth(take_path, report=tracking_report, max_duration_s=max_take_s)
        return _score_steps(take_path, track, songmap, face=face, report=report, song_audio=song_audio,
                            song_start_s=song_start_s, config=config, use_region=use_region, want_body=want_body,
                            ahead=ahead, lines=lines, placed=placement)
    finally:
        if ahead is not None:
            ahead.close()


def _score_steps(take_path: Path, track: MouthTrack, songmap: SongMap, *, face: Optional[int],
                 report: ProgressCallback, song_audio, song_start_s: Optional[float], config: S.SyncConfig,
                 use_region: bool, want_body: bool, ahead: Optional["_ReadAhead"],
                 lines: Optional[Collection[int]] = None, placed: Optional[P.Placement] = None) -> TakeReport:
    """:func:`score_take` once the take is tracked."""
    check_faces(track)
    if track.duration_s > songmap.duration + TAKE_OVERRUN_S:
        raise LipcoachError(take_path, f"the take is {track.duration_s:.1f} s long but the song is only "
                                       f"{songmap.duration:.1f} s; is this the right song?")
    if face is not None:
        track.face(face)  # raises with the list of faces
    sig = song_signals(songmap, config=config, use_region=use_region, lines=lines)
    report(0.75, "placing the take in the song")
    placement = placed if placed is not None else place_take(
        track, songmap, song_audio=song_audio, song_start_s=song_start_s, song=ahead.song if ahead is not None else None)
    # The shoulders around each breath (MediaPipe Pose) are looked at in a second thread as soon
    # as the take's place in the song is final: by sound or given, and with one candidate place
    # (the mouth picks among a repeated chorus's places). A silent take is placed by sync itself.
    pose = ahead.pose() if ahead is not None and want_body else None
    body_job: Optional[_Background] = None
    try:
        if want_body and placement is not None and not placement.alternatives:
            body_job = _body_in_background(take_path, track, songmap, placement.song_start_s, report, pose=pose)
        fc, placement, est = choose_face(track, sig, placement, face=face, config=config)
        if want_body and body_job is None and placement.method != "mouth":
            body_job = _body_in_background(take_path, track, songmap, placement.song_start_s, report, pose=pose)
        report(0.8, "measuring sync")
        sync = sync_take(track, fc, placement, est, sig, songmap, config=config)
    except BaseException:
        if body_job is not None:
            body_job.join(progress=False)  # never leave Pose running behind the caller's back
        raise
    shown_by_body = None
    if body_job is not None:
        shown_by_body = body_job.result()
    elif want_body:
        from lipcoach.take.body import shoulder_rise

        shown_by_body = shoulder_rise(take_path, songmap.breaths, song_start_s=sync.placement.song_start_s,
                                      take_span_s=sync.take_span_s, report=subrange(report, 0.85, 0.95), pose=pose)
    report(0.95, "grading words")
    grades = grade_take(track, fc, sync, sig, songmap, body=shown_by_body)
    out = assemble_report(take_path, track, fc, songmap, sig, sync, grades, config=config)
    report(1.0, "done")
    return out


class _Background:
    """``fn(report=...)`` run in a thread; its progress reaches ``report`` from the caller's thread.

    Progress callbacks (a rich bar, the web job table) are called from the thread that scores;
    the worker only leaves its latest ``(fraction, label)`` for :meth:`result` to pass on.
    """

    def __init__(self, fn, report: Optional[ProgressCallback], **kwargs) -> None:
        import threading

        self._report = report or silent
        self._latest: Optional[tuple[float, str]] = None
        self._out: Any = None
        self._error: Optional[BaseException] = None

        def relay(fraction: float, label: str) -> None:
            self._latest = (fraction, label)

        def run() -> None:
            try:
                self._out = fn(report=relay, **kwargs) if report is not None else fn(**kwargs)
            except BaseException as exc:  # re-raised in the caller by result()
                self._error = exc

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def join(self, *, progress: bool = True) -> None:
        """Wait for the worker, passing its progress on while waiting unless ``progress`` is False."""
        while self._thread.is_alive():
            self._thread.join(0.1)
            if progress and self._latest is not None:
                self._report(*self._latest)

    def result(self) -> Any:
        """Wait for the worker (passing its progress on), then return its answer or raise its error."""
        self.join()
        if self._latest is not None:  # the worker's last word, also when it finished before we waited
            self._report(*self._latest)
        if self._error is not None:
            raise self._error
        return self._out


def _body_in_background(take_path: Path, track: MouthTrack, songmap: SongMap, song_start_s: float,
                        report: ProgressCallback, *, pose=None) -> _Background:
    """Start :func:`lipcoach.take.body.shoulder_rise` for a take placed at ``song_start_s``."""
    from lipcoach.take.body import shoulder_rise

    return _Background(shoulder_rise, subrange(report, 0.85, 0.95), take_path=take_path, breaths=songmap.breaths,
                       song_start_s=song_start_s,
                       take_span_s=take_span_s(track, song_start_s, song_duration_s=songmap.duration), pose=pose)


class _ReadAhead:
    """The song's sound (:func:`song_sound`) and a Pose graph (:func:`lipcoach.take.body.new_pose`), made in a
    second thread while the take is tracked. A song that cannot be read raises only when
    placement asks for it, as it would without reading ahead; :meth:`close` closes the graph."""

    def __init__(self, songmap: SongMap, *, song_audio, song: bool, pose: bool) -> None:
        def make() -> dict:
            out: dict = {"pose": None, "song": None, "song_error": None}
            if pose:
                from lipcoach.take.body import new_pose

                out["pose"] = new_pose()
            if song:
                try:
                    out["song"] = song_sound(songmap, song_audio=song_audio)
                except Exception as exc:  # raised by song() if placement needs the song
                    out["song_error"] = exc
            return out

        self._make = make
        self._job: Optional[_Background] = None

    def start(self) -> None:
        """Start the second thread (once; later calls do nothing)."""
        if self._job is None:
            self._job = _Background(self._make, None)

    def song(self) -> Optional[SongSound]:
        self.start()
        made = self._job.result()
        if made["song_error"] is not None:
            raise made["song_error"]
        return made["song"]

    def pose(self):
        self.start()
        return self._job.result()["pose"]

    def close(self) -> None:
        if self._job is None:
            return
        self._job.join(progress=False)
        try:
            made = self._job.result()
        except Exception:  # a Pose graph that could not be made leaves nothing to close
            return
        if made["pose"] is not None:
            made["pose"].close()


def _clean(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, float):
            out[k] = round(v, 4) if np.isfinite(v) else None
        else:
            out[k] = v
    return out


def _named_on_every_line(doc: dict, wanted: Sequence[str]) -> list[dict]:
    """The ``performers`` entries of a number sung by one performer: each name given sings every line."""
    return [{"performer": name, "face": doc["face"], "lines": [ln["index"] for ln in doc["lines"]],
             "in_take": True, "score": doc["score"], "verdict": doc["verdict"],
             "verdict_reason": doc.get("verdict_reason"), "offset_ms": doc["sync"]["offset_ms"]}
            for name in wanted]


def _candidate_performers(track: MouthTrack, songmap: SongMap, by_name: dict, wanted: list, *, n_faces: int,
                          placement: Optional[P.Placement]) -> list:
    """The performers who may be in the take, sorted: those named (all of the number's when none is), and when
    the take's place is known and no one is named, only those with a line inside it."""
    candidates = sorted(wanted or by_name)
    if len(wanted) > n_faces:
        candidates = sorted(wanted)  # more named performers than faces: the faces say which of them are in shot
    if placement is not None and not placement.alternatives and not wanted:
        # Only the performers with a line in the take can be in it (saves scoring the others).
        lo_s, hi_s = take_span_s(track, placement.song_start_s, song_duration_s=songmap.duration)
        inside = [name for name in candidates
                  if any(songmap.lines[i].end > lo_s and songmap.lines[i].start < hi_s for i in by_name[name])]
        candidates = inside or candidates
    return candidates


def score(
    take_path: str | os.PathLike,
    songmap: SongMap,
    *,
    performers: Optional[Sequence[str]] = None,
    face: Optional[int] = None,
    report: Optional[ProgressCallback] = None,
    song_audio: Optional[str | os.PathLike] = None,
    song_start_s: Optional[float] = None,
    track: Optional[MouthTrack] = None,
    config: S.SyncConfig = S.DEFAULT_CONFIG,
    body: Optional[bool] = None,
    max_take_s: Optional[float] = MAX_TAKE_DURATION_S,
) -> TakeReport:
    """Score a take: who is in it, each performer graded on their own lines, the take's verdict.

    The one entry point of the CLI (``lipcoach score``), the studio's score jobs and dailies.
    A number whose map says who sings each line (a duet, a group number, a mashup of
    characters) is judged performer by performer (:mod:`lipcoach.take.performers`): each line
    gets the verdict of the performer who sings it, and a line whose singer is not in the take
    has no verdict and is not coverable. Any other number is one performer on every line
    (:func:`score_take`).

    Parameters
    ----------
    take_path, songmap, face, report, song_audio, song_start_s, track, config, body
        As :func:`score_take`.
    performers : sequence of str, optional
        Who is in the take (the studio's performer of the take, ``--performer``). With a
        single face in shot and several performers in the number, who it is is otherwise told
        by whose lines the face mouths best. Names must be performers of the number when its
        map names them.

    Returns
    -------
    TakeReport
        ``doc["performers"]`` lists every performer of the number (``in_take``, face, lines,
        score, verdict, reason, offset); ``doc["lines"][i]["verdict"]`` is the verdict of the
        performer who sings line i.

    Raises
    ------
    LipcoachError
        As :func:`score_take`; a named performer the number does not have.
    """
    from lipcoach.take import performers as PF

    report = report or silent
    who = PF.line_performers(songmap)
    wanted = [p for p in (performers or []) if p]
    if who is None:
        result = score_take(take_path, songmap, face=face, report=report, song_audio=song_audio,
                            song_start_s=song_start_s, track=track, config=config, body=body, max_take_s=max_take_s)
        if wanted:
            result.doc["performers"] = _named_on_every_line(result.doc, wanted)
        return result
    by_name = PF.lines_of(who)
    unknown = [p for p in wanted if p not in by_name]
    if unknown:
        raise LipcoachError(None, f"no performer {unknown[0]!r} in this number (its performers: {', '.join(sorted(by_name))})")
    take_path = Path(take_path)
    if track is None:
        check_take(take_path, songmap, max_take_s=max_take_s)  # refused by the container's length, before tracking
        track = track_mouth(take_path, report=subrange(report, 0.0, 0.5), max_duration_s=max_take_s)
    check_faces(track)
    if track.duration_s > songmap.duration + TAKE_OVERRUN_S:
        raise LipcoachError(take_path, f"the take is {track.duration_s:.1f} s long but the song is only "
                                       f"{songmap.duration:.1f} s; is this the right song?")
    if face is not None:
        faces = [track.face(face).id]
    else:
        faces = [f.id for f in track.faces if f.found_share >= PF.MIN_FOUND_SHARE] or \
            [max(track.faces, key=lambda f: f.found_share).id]
    placement = place_take(track, songmap, song_audio=song_audio, song_start_s=song_start_s)
    candidates = _candidate_performers(track, songmap, by_name, wanted, n_faces=len(faces), placement=placement)
    pairs = [(fc, name) for fc in faces for name in candidates]
    results: dict[tuple[int, str], TakeReport] = {}
    for k, (fc, name) in enumerate(pairs):
        results[fc, name] = score_take(take_path, songmap, face=fc, track=track, song_audio=song_audio,
                                       song_start_s=song_start_s, config=config, body=body, lines=by_name[name],
                                       placement=placement,
                                       report=subrange(report, 0.5 + 0.5 * k / len(pairs), 0.5 + 0.5 * (k + 1) / len(pairs)))
    if len(wanted) == len(faces) == 1:
        face_of = {wanted[0]: faces[0]}
    else:
        table = {fc: {name: {ln["index"]: ln["score"] for ln in results[fc, name].doc["lines"]} for name in candidates}
                 for fc in faces}
        face_of = PF.assign_faces(table, {name: by_name[name] for name in candidates})
    docs = {name: results[fc, name].doc for name, fc in face_of.items()}
    doc = PF.combine(docs, face_of, who)
    from lipcoach.take.report import fixes_first

    doc["fixes"] = fixes_first(doc)
    base = results[face_of[min(face_of, key=lambda n: min(by_name[n]))], min(face_of, key=lambda n: min(by_name[n]))]
    report(1.0, "done")
    return TakeReport(doc=doc, series=base.series, take_path=os.fspath(take_path))
