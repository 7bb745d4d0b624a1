"""Song map versions: read one, save a person's corrected word times as the next."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from lipcoach.production.maps import save_word_times
from lipcoach.song.edit import WordTime
from lipcoach.web.deps import StudioDep, song_or_404
from lipcoach.web.models import MapEdit, RowId, VersionQuery

router = APIRouter(prefix="/api/songs", tags=["song maps"])


@router.get("/{song_id}/songmap")
def get_songmap(studio: StudioDep, song_id: RowId, version: VersionQuery = None) -> dict:
    """A version of the song's map (``lipcoach.songmap`` JSON, read through the schema)."""
    cat = studio.cat
    with cat.session() as s:
        song_or_404(s, song_id)
        smv = cat.map_version(s, song_id, version)
    if smv is None:
        raise HTTPException(404, "this song has no song map yet" if version is None else f"no song map version {version}")
    return cat.load_map(smv).to_dict()


@router.post("/{song_id}/songmap")
async def save_songmap(studio: StudioDep, song_id: RowId, edit: MapEdit) -> dict:
    """Save corrected word times as a new version; 409 when ``base_version`` is no longer the latest."""
    with studio.cat.session() as s:
        song_or_404(s, song_id)
    words = [WordTime(w.index, w.start_s, w.end_s) for w in edit.words]
    version, row_id = await run_in_threadpool(save_word_times, studio.cat, song_id, words, base_version=edit.base_version, note=edit.note)
    return {"version": version, "songmap_version_id": row_id}
