"""The season board's API (``/api/seasons``; the page is ``/board``): a thin face over :mod:`lipcoach.production`.

The board lists episodes × numbers × performers; per number, the coach gives lines to
performers and the editor pins a take to a line (both stored by the production core, under
the catalogue's write lock). A number is named by its id in the season file, or as
``SEASON/ID`` when two seasons share the id (each number of ``/api/seasons`` carries that
``ref``); ``/`` may be sent as is or as ``%2F``.
"""

from __future__ import annotations

from typing import Annotated, Optional

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from lipcoach.web.models import MAX_ROW_ID

router = APIRouter()

#: A number's line index is at most this (a number of more lines is not a song).
MAX_LINE_INDEX = 9999

NumberRef = Annotated[str, Path(min_length=1, max_length=250, description="the number's id, or SEASON/ID")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PinRequest(_Body):
    line: int = Field(ge=0, le=MAX_LINE_INDEX, description="0-based line of the number")
    take_id: Optional[int] = Field(default=None, ge=1, le=MAX_ROW_ID, description="a scored take of the number; null unpins")


class LineSingersRequest(_Body):
    line: int = Field(ge=0, le=MAX_LINE_INDEX, description="0-based line of the number")
    singers: list[str] = Field(min_length=1, max_length=20, description="characters of the number's episode")
    base_version: Optional[int] = Field(default=None, ge=1, le=MAX_ROW_ID,
                                        description="the song map version the board showed (``map_version``); 409 when another was saved since")


@router.get("/api/seasons")
def seasons(request: Request) -> list[dict]:
    """Every season: episodes × numbers × performers, each number's state and latest scores."""
    from lipcoach.production.board import season_board

    return season_board(request.app.state.catalogue)


@router.get("/api/season-numbers/{number:path}/edit")
def number_edit(number: NumberRef, request: Request) -> dict:
    """Line by line: who sings it, the take the edit uses and the other takes that cover it."""
    from lipcoach.production.board import number_lines

    return number_lines(request.app.state.catalogue, number)


@router.post("/api/season-numbers/{number:path}/pins")
def pin(number: NumberRef, body: PinRequest, request: Request) -> dict:
    """Pin a take to a line (null unpins); concurrent pins are serialised."""
    from lipcoach.production.board import number_lines
    from lipcoach.production.edit import pin_take

    cat = request.app.state.catalogue
    pin_take(cat, number, body.line, None if body.take_id is None else str(body.take_id))
    return number_lines(cat, number)


@router.post("/api/season-numbers/{number:path}/lines")
def line_singers(number: NumberRef, body: LineSingersRequest, request: Request) -> dict:
    """Give a line to characters of the episode: a new map version; 409 when ``base_version`` is no longer the latest."""
    from lipcoach.production.board import number_lines
    from lipcoach.production.season import assign_line

    cat = request.app.state.catalogue
    assign_line(cat, number, body.line, body.singers, base_version=body.base_version)
    return number_lines(cat, number)
