"""What every route needs: the studio (catalogue, job runner, render quality) and row look-ups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from lipcoach.production.catalogue import Catalogue, Song
from lipcoach.production.jobs import JobRunner


@dataclass(frozen=True)
class Studio:
    """The data folder and workers one app serves."""

    cat: Catalogue
    runner: JobRunner
    render_quality: str


def get_studio(request: Request) -> Studio:
    return request.app.state.studio


StudioDep = Annotated[Studio, Depends(get_studio)]


def row_or_404(session, model, row_id: int, what: str):
    """The ``model`` row with id ``row_id``, or an HTTP 404 "no such <what>"."""
    row = session.get(model, row_id)
    if row is None:
        raise HTTPException(404, f"no such {what}")
    return row


def song_or_404(session, song_id: int) -> Song:
    return row_or_404(session, Song, song_id, "song")
