"""Songs: upload (mix, vocal stem, lyrics), analysis, the practice payload, audio, count-in, history."""

from __future__ import annotations

import datetime as _dt
import json
from typing import Annotated, Optional

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile
from fastapi.responses import FileResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from lipcoach.errors import LipcoachError
from lipcoach.production import storage
from lipcoach.production.catalogue import Catalogue, Job, Report, Song, Take, add_song_files
from lipcoach.production.jobs import request_stem, song_part_path, stem_status
from lipcoach.web.deps import StudioDep, song_or_404
from lipcoach.web.models import MAX_SPEED_PCT, MIN_SPEED_PCT, RowId, VersionQuery

router = APIRouter(prefix="/api/songs", tags=["songs"])


def now_key() -> str:
    return _dt.datetime.now().strftime("%Y%m%d%H%M%S%f")


def song_dict(cat: Catalogue, s, song: Song) -> dict:
    smv = cat.latest_map(s, song.id)
    separation = stem_status(cat, s, song)
    separated = separation["state"] == "ready"
    job = s.scalar(select(Job).where(Job.kind == "analyze", Job.key.like(f"analyze:{song.id}:%")).order_by(Job.id.desc()).limit(1))
    return {"id": song.id, "number_id": song.number_id, "title": song.number.title,
            "performer": song.number.performer.name if song.number.performer else "",
            "label": song.audio_label, "audio_file": song.audio_file, "language": song.language,
            "duration_s": song.duration_s, "has_stem": bool(song.stem_file), "has_lyrics": bool(song.lyrics_file),
            "audio_url": f"/api/songs/{song.id}/audio/mix",
            "stem_url": f"/api/songs/{song.id}/audio/stem" if song.stem_file or separated else None,
            # The band (mix minus the separated vocal): with the stem, the page's vocal/band balance.
            "band_url": f"/api/songs/{song.id}/audio/band" if separated else None,
            "separation": separation,
            "map_version": smv.version if smv else None,
            "map_versions": [{"version": m.version, "origin": m.origin, "created_at": m.created_at.isoformat() + "Z"} for m in song.maps],
            "analysis_job": job.to_dict() if job else None}


def _upload(up: Optional[UploadFile]) -> Optional[UploadFile]:
    """An uploaded file, or None when the form's file field was left empty."""
    return up if up is not None and up.filename else None


@router.post("", form_limits={"max_files": 3, "max_fields": 10})
async def upload_song(
    studio: StudioDep,
    song: Annotated[UploadFile, File(description="the mix: audio or video with sound")],
    title: Annotated[str, Form(max_length=300)] = "",
    performer: Annotated[str, Form(max_length=200)] = "",
    language: Annotated[str, Form(max_length=16)] = "",
    stem: Annotated[Optional[UploadFile], File(description="the isolated vocal (optional)")] = None,
    lyrics: Annotated[Optional[UploadFile], File(description="lyrics file: text, LRC, SRT or WebVTT (optional)")] = None,
    lyrics_text: Annotated[str, Form(max_length=storage.MAX_LYRICS_BYTES)] = "",
) -> dict:
    """Store a new number's song and queue its analysis; every file is checked before anything is kept."""
    cat = studio.cat
    if not song.filename:
        raise LipcoachError(None, "choose a song file to upload")
    stem_up, lyrics_up = _upload(stem), _upload(lyrics)

    def add() -> tuple[int, int]:
        with cat.session() as s:
            song_id = add_song_files(
                cat, s, title=title.strip() or "Untitled number", performer=performer.strip(), mix=song.file,
                audio_label=song.filename, stem=stem_up.file if stem_up else None, stem_label=stem_up.filename if stem_up else None,
                lyrics=lyrics_up.file if lyrics_up else None, lyrics_label=lyrics_up.filename if lyrics_up else None,
                lyrics_text=lyrics_text, language=language.strip() or "en")
            s.commit()
            return song_id, s.get(Song, song_id).number_id

    song_id, number_id = await run_in_threadpool(add)
    # The vocal stem first (the practice page's balance), then the map, which reuses it.
    request_stem(cat, song_id, submit_job=studio.runner.submit)
    job = studio.runner.submit("analyze", {"song_id": song_id}, key=f"analyze:{song_id}:{now_key()}")
    return {"number_id": number_id, "song_id": song_id, "job": job.to_dict()}


@router.post("/{song_id}/analyze")
def reanalyze(studio: StudioDep, song_id: RowId) -> dict:
    with studio.cat.session() as s:
        song_or_404(s, song_id)
    return {"job": studio.runner.submit("analyze", {"song_id": song_id}, key=f"analyze:{song_id}:{now_key()}").to_dict()}


@router.get("/{song_id}")
def song_info(studio: StudioDep, song_id: RowId) -> dict:
    with studio.cat.session() as s:
        return song_dict(studio.cat, s, song_or_404(s, song_id))


@router.get("/{song_id}/practice")
def practice_payload(studio: StudioDep, song_id: RowId, version: VersionQuery = None) -> dict:
    """Everything the practice page needs in one request: song, map, peaks, icon table."""
    from lipcoach.song.visemes import PRACTICE_ICON

    cat = studio.cat
    with cat.session() as s:
        song = song_or_404(s, song_id)
        if stem_status(cat, s, song)["state"] == "none":
            # A song added before stems were made, or whose stem was removed since: made now, in
            # the background; the page opens at once and offers the balance when it is ready.
            # (A failed job is not retried on every visit: the page shows its error.)
            request_stem(cat, song_id, submit_job=studio.runner.submit)
        info = song_dict(cat, s, song)
        smv = cat.map_version(s, song_id, version)
        if smv is None and version is not None:
            raise HTTPException(404, f"no song map version {version}")
    doc = cat.load_map(smv).to_dict() if smv else None
    return {"song": info, "songmap": doc, "songmap_version": smv.version if smv else None,
            "icons": PRACTICE_ICON, "peaks": cat.song_peaks(song), "speed_range": [MIN_SPEED_PCT, MAX_SPEED_PCT]}


@router.get("/{song_id}/audio/{part}")
def song_audio(studio: StudioDep, song_id: RowId, part: str) -> Response:
    with studio.cat.session() as s:
        song = song_or_404(s, song_id)
        path = song_part_path(studio.cat, song, part) if part in ("mix", "stem", "band") else None
    if path is None:
        raise HTTPException(404, f"no {part} for this song (yet)")
    return FileResponse(path, media_type=storage.MIME_BY_SUFFIX.get(path.suffix, "application/octet-stream"))


@router.get("/{song_id}/count-in")
def count_in(studio: StudioDep, song_id: RowId, start_s: Annotated[float, Query(ge=0.0, le=24 * 3600.0)],
             speed_pct: Annotated[int, Query(ge=MIN_SPEED_PCT, le=MAX_SPEED_PCT)] = 100,
             bars: Annotated[int, Query(ge=0, le=8)] = 1) -> dict:
    """Count-in clicks before playing from ``start_s`` at ``speed_pct``, the rule the practice tracks use.

    ``clicks_s`` are seconds of playback relative to the moment the song starts playing at
    ``start_s`` (negative: before it); the clicks continue the song's beat grid, so the music
    comes in where the next click would fall.
    """
    from lipcoach.practice import beats_per_bar, count_in_times

    cat = studio.cat
    with cat.session() as s:
        song_or_404(s, song_id)
        smv = cat.latest_map(s, song_id)
    if smv is None:
        raise HTTPException(404, "this song has no song map yet")
    m = cat.load_map(smv)
    per_bar = beats_per_bar(m.beats, m.downbeats)
    if bars == 0 or m.tempo_bpm <= 0:
        return {"beats_per_bar": per_bar, "clicks_s": [], "accents": []}
    clicks = count_in_times(loop_start_s=start_s, beats=m.beats, tempo_bpm=m.tempo_bpm, speed=speed_pct / 100, n_clicks=bars * per_bar)
    return {"beats_per_bar": per_bar, "clicks_s": [round(float(c), 4) for c in clicks], "accents": [k % per_bar == 0 for k in range(len(clicks))]}


@router.get("/{song_id}/history")
def history(studio: StudioDep, song_id: RowId) -> dict:
    """Each line's score across the scored takes of a song, oldest first."""
    cat = studio.cat
    with cat.session() as s:
        song_or_404(s, song_id)
        rows = s.execute(select(Take, Report).join(Report, Report.take_id == Take.id).where(Take.song_id == song_id).order_by(Take.id)).all()
        smv = cat.latest_map(s, song_id)
        attempts = [{"take_id": t.id, "created_at": t.created_at.isoformat() + "Z", "speed": t.speed, "score": r.score,
                     "line_scores": {int(k): v for k, v in json.loads(r.line_scores or "{}").items()}} for t, r in rows]
    lines = [{"index": i, "text": ln.text} for i, ln in enumerate(cat.load_map(smv).lines)] if smv is not None else []
    return {"lines": lines, "attempts": attempts}
