"""Takes: a video of the actor (recorded on the page or a file from set), scored in the background."""

from __future__ import annotations

from typing import Annotated, Optional

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from lipcoach.errors import LipcoachError
from lipcoach.production import storage
from lipcoach.production.catalogue import Job, Report, Song, Take
from lipcoach.web.deps import StudioDep, row_or_404, song_or_404
from lipcoach.web.models import RowId

router = APIRouter(prefix="/api", tags=["takes"])


@router.post("/songs/{song_id}/takes", form_limits={"max_files": 1, "max_fields": 12})
async def upload_take(
    studio: StudioDep,
    song_id: RowId,
    video: Annotated[UploadFile, File(description="the take: a video with the actor's face")],
    speed: Annotated[float, Form(ge=0.25, le=1.0, description="playback speed while recording")] = 1.0,
    song_start_s: Annotated[Optional[float], Form(ge=-3600.0, le=3600.0, description="song time at take time 0, s")] = None,
    loop_start_s: Annotated[Optional[float], Form(ge=0.0, le=36000.0)] = None,
    loop_end_s: Annotated[Optional[float], Form(ge=0.0, le=36000.0)] = None,
    performer: Annotated[str, Form(max_length=200)] = "",
) -> dict:
    """Store a take and queue its scoring against the song's latest map.

    Without ``song_start_s`` (a file from set) the scorer places the take in the song itself.
    """
    cat = studio.cat
    with cat.session() as s:
        song_or_404(s, song_id)
        smv = cat.latest_map(s, song_id)
        if smv is None:
            raise LipcoachError(None, "this song has no song map yet; wait for the analysis")
        smv_id = smv.id
        song_duration_s = s.get(Song, song_id).duration_s
    from lipcoach.take.score import longest_take_s

    # A take far longer than the song (at the speed it was recorded) is refused here, before
    # it is stored or queued: scoring would only refuse it after tracking it to the end.
    stored, _duration_s = await run_in_threadpool(storage.store_media, video.file, cat.root, what="the take", need_video=True,
                                                  label=video.filename, max_duration_s=longest_take_s(song_duration_s, speed))
    with cat.session() as s:
        take = Take(song_id=song_id, songmap_version_id=smv_id, file=stored, speed=speed,
                    song_start_s=song_start_s, loop_start_s=loop_start_s, loop_end_s=loop_end_s)
        p = cat.performer(s, performer)
        take.performer_id = p.id if p else None
        s.add(take)
        s.commit()
        take_id = take.id
    job = studio.runner.submit("score", {"take_id": take_id}, key=f"score:{take_id}")
    return {"take_id": take_id, "job": job.to_dict()}


@router.get("/takes/{take_id}")
def take_info(studio: StudioDep, take_id: RowId) -> dict:
    with studio.cat.session() as s:
        take = row_or_404(s, Take, take_id, "take")
        job = s.scalar(select(Job).where(Job.key == f"score:{take_id}").order_by(Job.id.desc()).limit(1))
        rep = take.report
        return {"id": take.id, "song_id": take.song_id, "speed": take.speed, "song_start_s": take.song_start_s,
                "created_at": take.created_at.isoformat() + "Z", "video_url": f"/api/takes/{take_id}/video",
                "score": rep.score if rep else None, "job": job.to_dict() if job else None,
                "report_url": f"/api/takes/{take_id}/report" if rep else None}


@router.get("/takes/{take_id}/report")
def take_report(studio: StudioDep, take_id: RowId) -> Response:
    with studio.cat.session() as s:
        rep = s.scalar(select(Report).where(Report.take_id == take_id))
        if rep is None:
            raise HTTPException(404, "not scored yet")
        return FileResponse(studio.cat.path("reports", rep.file), media_type="application/json")


@router.get("/takes/{take_id}/video")
def take_video(studio: StudioDep, take_id: RowId) -> Response:
    with studio.cat.session() as s:
        take = row_or_404(s, Take, take_id, "take")
        path = studio.cat.path("files", take.file)
    return FileResponse(path, media_type=storage.MIME_BY_SUFFIX.get(path.suffix, "application/octet-stream"))
