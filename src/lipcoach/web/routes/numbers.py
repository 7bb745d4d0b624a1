"""The numbers of the show and their performers (the library page)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from lipcoach.production.catalogue import Number
from lipcoach.web.deps import StudioDep
from lipcoach.web.routes.songs import song_dict

router = APIRouter(prefix="/api", tags=["numbers"])


@router.get("/numbers")
def list_numbers(studio: StudioDep) -> list[dict]:
    """Every number with its songs, oldest first."""
    with studio.cat.session() as s:
        return [{"id": n.id, "title": n.title, "performer": n.performer.name if n.performer else "",
                 "songs": [song_dict(studio.cat, s, song) for song in n.songs]}
                for n in s.scalars(select(Number).order_by(Number.id))]
