"""Rubber Band renders of a song at a speed: whole songs, and loops (ready in seconds)."""

from __future__ import annotations

import math
from typing import Annotated, Literal, Optional

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import FileResponse, Response

from lipcoach.errors import LipcoachError
from lipcoach.production import jobs as J
from lipcoach.web.deps import StudioDep, song_or_404
from lipcoach.web.models import MAX_SPEED_PCT, MIN_SPEED_PCT, RenderRequest, RowId

router = APIRouter(prefix="/api", tags=["renders"])

#: A loop's render covers at least this much, s.
MIN_REGION_S = 0.5
#: Longer loops are rendered as the whole song, s.
MAX_REGION_S = 300.0


def region_ms(start_s: Optional[float], end_s: Optional[float], duration_s: float) -> Optional[tuple[int, int]]:
    """A loop's render region in ms, snapped outwards to 100 ms so nearby loops share a render."""
    if start_s is None and end_s is None:
        return None
    if start_s is None or end_s is None:
        raise LipcoachError(None, "start_s and end_s go together")
    a, b = start_s, min(end_s, duration_s) if duration_s > 0 else end_s
    if not (0.0 <= a and b - a >= MIN_REGION_S):
        raise LipcoachError(None, f"a render region must be at least {MIN_REGION_S} s inside the song")
    if b - a > MAX_REGION_S:
        raise LipcoachError(None, "a render region is at most 5 minutes; render the whole song instead")
    return int(math.floor(a * 10)) * 100, int(math.ceil(b * 10)) * 100


@router.post("/songs/{song_id}/renders")
def request_render(studio: StudioDep, song_id: RowId, body: RenderRequest) -> dict:
    """Queue (or find) a render; with start/end only that part is rendered (a loop; ready in seconds)."""
    with studio.cat.session() as s:
        song = song_or_404(s, song_id)
        if J.song_part_path(studio.cat, song, body.part) is None:
            raise LipcoachError(None, "this song has no vocal stem yet" if body.part != "mix" else "this song's file is missing")
        duration_s = song.duration_s
    if body.speed_pct == 100:
        return {"speed_pct": 100, "state": "done", "url": f"/api/songs/{song_id}/audio/{body.part}", "start_s": 0.0, "end_s": duration_s}
    region = region_ms(body.start_s, body.end_s, duration_s)
    url = f"/api/renders/{song_id}/{body.part}/{body.speed_pct}" + (f"?start_ms={region[0]}&end_ms={region[1]}" if region else "")
    answer = {"speed_pct": body.speed_pct, "url": url, "start_s": region[0] / 1000 if region else 0.0,
              "end_s": region[1] / 1000 if region else duration_s}
    state, job = J.request_render(studio.cat, song_id=song_id, part=body.part, speed_pct=body.speed_pct,
                                  quality=studio.render_quality, region_ms=region, submit_job=studio.runner.submit)
    return {**answer, "state": state, **({"job": job.to_dict()} if job is not None else {})}


@router.get("/renders/{song_id}/{part}/{pct}")
def get_render(studio: StudioDep, song_id: RowId, part: Literal["mix", "stem", "band"],
               pct: Annotated[int, Path(ge=MIN_SPEED_PCT, le=MAX_SPEED_PCT)],
               start_ms: Annotated[Optional[int], Query(ge=0, le=24 * 3600 * 1000)] = None,
               end_ms: Annotated[Optional[int], Query(ge=0, le=24 * 3600 * 1000)] = None) -> Response:
    region = (start_ms, end_ms) if start_ms is not None and end_ms is not None else None
    path = studio.cat.path("renders", J.render_name(song_id, part, pct, studio.render_quality, region))
    if not path.exists():
        raise HTTPException(404, "not rendered yet")
    return FileResponse(path, media_type="audio/wav")
