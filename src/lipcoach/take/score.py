"""Scoring a lip-sync take against a song map: the single entry point :func:`score_take`.

Stages: mouth track (:mod:`.mouth`) → placement in the song (:mod:`.placement`) → choice of
face → performer offset and verdict for the take and each line (:mod:`.sync`) → grades
(:mod:`.grade`) → report (:mod:`.report`: JSON ``lipcoach.takereport/1`` and HTML).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Optional

import numpy as np

from lipcoach import schema
from lipcoach.errors import LipcoachError
from lipcoach.progress import ProgressCallback, silent, subrange
from lipcoach.song.songmap import SongMap
from lipcoach.take import grade as G
from lipcoach.take import placement as P
from lipcoach.take import sync as S
from lipcoach.take.mouth import MouthTrack, check_faces, track_mouth

NAME = "lipcoach.takereport"
#: A take may run this much longer than the song (pre-roll, a held last frame), s.
TAKE_OVERRUN_S = 2.0
#: Scratch sound quieter than this (dBFS RMS) counts as a silent take.
SILENT_DBFS = -60.0
#: Under this placement confidence, scratch sound is not trusted and the mouth places the take.
MIN_SOUND_CONFIDENCE = 0.15
#: Lines are measured over the line plus this much on each side, s.
LINE_MARGIN_S = 1.0
#: Search range around the take offset for a line's own offset, ms.
LINE_LAG_MS = 300.0


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


def save_json(report: TakeReport, path: str | os.PathLike) -> None:
    """Write the report as ``lipcoach.takereport/1`` JSON, atomically (validated first)."""
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


def score_take(
    take_path: str | os.PathLike,
    songmap: SongMap,
    *,
    face: Optional[int] = None,
    report: Optional[ProgressCallback] = None,
    song_audio: Optional[str | os.PathLike] = None,
    song_start_s: Optional[float] = None,
    track: Optional[MouthTrack] = None,
    word_weight: Optional[float] = None,
    use_region: bool = True,
) -> TakeReport:
    """Score a lip-sync take against a song map.

    Parameters
    ----------
    take_path : path
        The take (any video FFmpeg reads; with or without sound).
    songmap : SongMap
        The song's map (words, phonemes, breaths, vocal loudness).
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
    word_weight : float, optional
        Share of the lyric timing in the signal the mouth is matched with
        (default :data:`lipcoach.take.sync.WORD_WEIGHT`).

    Returns
    -------
    TakeReport

    Raises
    ------
    LipcoachError
        Unreadable take, no video, no usable face, take longer than the song, empty song map.
    """
    report = report or silent
    take_path = Path(take_path)
    if not songmap.words:
        raise LipcoachError(None, "the song map has no words; map the song with its lyrics first")
    if track is None:
        track = track_mouth(take_path, report=subrange(report, 0.0, 0.8))
    check_faces(track)
    if track.duration_s > songmap.duration + TAKE_OVERRUN_S:
        raise LipcoachError(take_path, f"the take is {track.duration_s:.1f} s long but the song is only "
                                       f"{songmap.duration:.1f} s; is this the right song?")
    if face is not None:
        track.face(face)  # raises with the list of faces

    rate = S.GRID_RATE_HZ
    level = S.vocal_level(np.asarray(songmap.loudness.values), rate_hz=songmap.loudness.rate,
                          reference_db=songmap.loudness.reference_db, duration_s=songmap.duration)
    activity = S.word_activity([(w.start, w.end) for w in songmap.words], n=level.size)
    vocal = S.song_signal(level, activity, word_weight=word_weight)
    sung = S.sung_region([(w.start, w.end) for w in songmap.words], n=level.size) if use_region else None
    report(0.8, "placing the take in the song")

    # -- placement ---------------------------------------------------------------------
    placement: Optional[P.Placement] = None
    sound_db = _rms_dbfs(track.audio)
    if song_start_s is not None:
        placement = P.Placement(song_start_s=float(song_start_s), confidence=1.0, method="given")
    elif sound_db > SILENT_DBFS:
        path = _song_audio_path(songmap, song_audio)
        if path is not None:
            from lipcoach.media.decode import load_audio

            song, _ = load_audio(path, sr=P.PLACEMENT_SR)
            cand = P.place_by_sound(track.audio, song, sr=P.PLACEMENT_SR, take_audio_start_s=track.audio_start_s)
            if cand.confidence >= MIN_SOUND_CONFIDENCE or cand.alternatives:
                placement = cand

    candidates = [track.face(face)] if face is not None else [f for f in track.faces if f.found_share >= 0.3]
    candidates = candidates or [max(track.faces, key=lambda f: f.found_share)]
    n_take = int(np.ceil((track.duration_s + 0.5) * rate))
    by_face: list[tuple[Any, P.Placement, S.SyncEstimate]] = []
    for fc in candidates:
        if placement is None:
            m, v = S.mouth_signal(track.t_s, fc.opening, start_s=0.0, n=n_take)
            options = [P.place_by_mouth(m, v, vocal, grid_rate_hz=rate)]
        else:
            # When the sound repeats in the song (a chorus), the mouth picks among the places.
            options = [placement] + [dataclasses.replace(placement, song_start_s=a, alternatives=[])
                                     for a in placement.alternatives]
        for pl in options:
            m, valid = S.mouth_signal(track.t_s, fc.opening, start_s=-pl.song_start_s, n=vocal.size)
            by_face.append((fc, pl, S.estimate_offset(m, vocal, valid, region=sung)))
    fc, placement, est = max(by_face, key=lambda x: x[2].peak)
    report(0.85, "measuring sync")

    mouth, valid = S.mouth_signal(track.t_s, fc.opening, start_s=-placement.song_start_s, n=vocal.size)
    absolute = placement.method != "mouth"
    if not absolute:
        # A silent take's start is found from the mouth itself: a constant offset cannot be
        # told apart from where the take starts, so it goes into the placement.
        placement = dataclasses.replace(placement, song_start_s=placement.song_start_s + est.offset_ms / 1000.0)
        mouth, valid = S.mouth_signal(track.t_s, fc.opening, start_s=-placement.song_start_s, n=vocal.size)
        est = S.estimate_offset(mouth, vocal, valid, region=sung)
    # The null test runs over the part of the song the take covers.
    cover = np.flatnonzero(valid)
    lo_i, hi_i = (int(cover[0]), int(cover[-1]) + 1) if cover.size else (0, 0)
    # A silent take's offset was effectively searched over the whole song.
    span = songmap.duration if not absolute else None
    est = S.sync_verdict(mouth[lo_i:hi_i], vocal[lo_i:hi_i], valid[lo_i:hi_i], est, search_span_s=span,
                         region=None if sung is None else sung[lo_i:hi_i])
    # A word without phonemes (not in the dictionary, a placeholder) still says when the mouth moves.
    phonemes = [(p.start, p.end, p.viseme) for w in songmap.words for p in w.phonemes] + [
        (w.start, w.end, "unknown") for w in songmap.words if not w.phonemes]
    visemes = None
    if sum(lo_i <= p[0] * rate < hi_i for p in phonemes) >= S.MIN_PHONEMES:
        visemes = S.viseme_signal(phonemes, n=vocal.size)[lo_i:hi_i]
    est = S.second_evidence(mouth[lo_i:hi_i], vocal[lo_i:hi_i], valid[lo_i:hi_i], est, visemes=visemes,
                            region=None if sung is None else sung[lo_i:hi_i])
    in_sync = est.in_sync
    take_span = (max(0.0, placement.song_start_s + float(track.t_s[0])),
                 min(songmap.duration, placement.song_start_s + track.duration_s))

    # -- per line and per word offsets ------------------------------------------------------
    center_ms = est.offset_ms - S.VISUAL_LEAD_MS
    line_offsets: list[Optional[float]] = [None] * len(songmap.lines)
    line_r: list[float] = [0.0] * len(songmap.lines)
    line_raw: list[float] = []
    for li, ln in enumerate(songmap.lines):
        if ln.start < take_span[0] or ln.end > take_span[1]:
            continue
        region = np.zeros(vocal.size, dtype=bool)
        region[max(0, int((ln.start - LINE_MARGIN_S) * rate)):int((ln.end + LINE_MARGIN_S) * rate)] = True
        if sung is not None:
            region &= sung
        le = S.estimate_offset(mouth, vocal, valid, region=region, max_lag_ms=LINE_LAG_MS, center_ms=center_ms)
        line_offsets[li] = round(le.offset_ms, 1) if in_sync else None
        line_raw.append(le.offset_ms)
        line_r[li] = le.r
    word_offsets: list[Optional[float]] = [None] * len(songmap.words)
    if in_sync:
        for wi, w in enumerate(songmap.words):
            if w.start < take_span[0] or w.end > take_span[1]:
                continue
            region = np.zeros(vocal.size, dtype=bool)
            mid = 0.5 * (w.start + w.end)
            region[max(0, int((mid - 0.6) * rate)):int((mid + 0.6) * rate)] = True
            if sung is not None:
                region &= sung
            base = line_offsets[w.line] if w.line < len(line_offsets) and line_offsets[w.line] is not None else est.offset_ms
            we = S.estimate_offset(mouth, vocal, valid, region=region, max_lag_ms=120.0,
                                   center_ms=base - S.VISUAL_LEAD_MS)
            word_offsets[wi] = round(we.offset_ms, 1)

    # -- grades ------------------------------------------------------------------------
    report(0.9, "grading words")
    scale = G.face_scale(fc.opening)
    line_offsets_for_grading = [o if o is not None else (est.offset_ms if in_sync else 0.0) for o in line_offsets]
    words = G.grade_words(songmap, t_s=track.t_s, opening=fc.opening, song_start_s=placement.song_start_s,
                          line_offsets_ms=line_offsets_for_grading, word_offsets_ms=word_offsets, vocal_grid=level,
                          grid_rate_hz=rate, take_span_s=take_span, scale=scale)
    lines: list[G.LineGrade] = []
    for li, ln in enumerate(songmap.lines):
        lw = [w for w in words if w.line == li]
        if not lw:
            continue
        breath = G.breath_shown(songmap, li, t_s=track.t_s, opening=fc.opening, song_start_s=placement.song_start_s,
                                offset_ms=line_offsets_for_grading[li], scale=scale)
        lines.append(G.LineGrade(
            index=li, text=ln.text, start_s=ln.start, end_s=ln.end, offset_ms=line_offsets[li], r=round(line_r[li], 3),
            n_words=len(lw), n_hit=sum(w.hit for w in lw),
            closures_missed=[w.text for w in lw if w.closure_ok is False],
            open_more=[w.text for w in lw if w.open_ratio is not None and w.open_ratio < G.OPEN_OK_RATIO and w.hit],
            breath=breath, score=G.line_score(lw, line_offsets[li] if in_sync else 200.0, breath),
        ))
    gaps = G.grade_gaps(songmap, t_s=track.t_s, opening=fc.opening, song_start_s=placement.song_start_s,
                        offset_ms=est.offset_ms if in_sync else 0.0, take_span_s=take_span, scale=scale)
    total = G.take_score(lines, gaps, in_sync=in_sync)

    from lipcoach.take.report import fixes_first

    doc = {
        "schema": schema.tag(NAME),
        "take": {"path": os.fspath(take_path), "duration_s": round(track.duration_s, 3), "fps": round(track.fps, 3),
                 "width_px": track.width_px, "height_px": track.height_px, "rotation_deg": track.rotation_deg,
                 "has_sound": sound_db > SILENT_DBFS},
        "song": {"path": (songmap.source or {}).get("path"), "duration_s": round(songmap.duration, 3)},
        "faces": [{"id": f.id, "found_share": round(f.found_share, 4), "eye_px": round(f.eye_px, 1),
                   "center": [round(c, 3) for c in f.center]} for f in track.faces],
        "face": fc.id,
        "placement": {"song_start_s": round(placement.song_start_s, 4), "confidence": round(placement.confidence, 3),
                      "method": placement.method},
        "sync": {"offset_ms": round(est.offset_ms, 1) if in_sync else None, "raw_offset_ms": round(est.offset_ms, 1),
                 "confidence": round(est.confidence, 3), "z": round(est.z, 2) if np.isfinite(est.z) else None,
                 "z_threshold": round(est.z_threshold, 2),
                 "viseme_z": round(est.viseme_z, 2) if np.isfinite(est.viseme_z) else None,
                 "level_z": round(est.level_z, 2) if np.isfinite(est.level_z) else None,
                 "line_spread_ms": round(float(np.median(np.abs(np.array(line_raw) - est.offset_ms))), 1) if line_raw else None,
                 "r": round(est.r, 3), "absolute": absolute, "visual_lead_ms": S.VISUAL_LEAD_MS},
        "verdict": "in_sync" if in_sync else "not_lip_syncing",
        "score": total,
        "thresholds": {"closed_opening": round(scale.closed, 4), "open_opening": round(scale.open, 4)},
        "lines": [_clean(dataclasses.asdict(ln)) for ln in lines],
        "words": [_clean(dataclasses.asdict(w)) for w in words],
        "gaps": [dataclasses.asdict(g) for g in gaps],
    }
    doc["fixes"] = fixes_first(doc)
    t_song = placement.song_start_s + track.t_s
    series = {"t_song_s": t_song, "opening": fc.opening, "vocal": level, "rate": rate, "take_span": take_span,
              "song_start_s": placement.song_start_s,
              "breaths": [(b.start, b.end) for b in songmap.breaths if b.audible],
              # The analysis signals behind the verdict, for benchmarks and debugging.
              "grid": {"mouth": mouth, "valid": valid, "vocal": vocal, "sung": sung, "lo_i": lo_i, "hi_i": hi_i,
                       "offset_ms": est.offset_ms, "absolute": absolute,
                       "words": [(w.start, w.end) for w in songmap.words],
                       "phonemes": phonemes,
                       "lines": [(ln.start, ln.end) for ln in songmap.lines], "line_raw": line_raw,
                       "take_span": take_span, "z_threshold": est.z_threshold, "at_edge": est.at_edge}}
    report(1.0, "done")
    return TakeReport(doc=doc, series=series, take_path=os.fspath(take_path))


def _clean(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, float):
            out[k] = round(v, 4) if np.isfinite(v) else None
        else:
            out[k] = v
    return out
