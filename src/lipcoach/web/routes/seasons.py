"""The season board's API (``/api/seasons``; the page is ``/board``): a thin face over :mod:`lipcoach.production`.

The board lists episodes × numbers × performers; per number, the coach gives lines to
performers and the editor pins a take to a line (both stored by the production core).
"""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

router = APIRouter()


class PinRequest(BaseModel):
    line: int = Field(ge=0, description="0-based line of the number")
    take_id: Optional[int] = Field(default=None, description="a scored take of the number; null unpins")


class LineSingersRequest(BaseModel):
    line: int = Field(ge=0, description="0-based line of the number")
    singers: list[str] = Field(min_length=1, max_length=20, description="characters of the number's episode")


@router.get("/api/seasons")
def seasons(request: Request) -> list[dict]:
    """Every season: episodes × numbers × performers, each number's state and latest scores."""
    from lipcoach.production.board import season_board

    return season_board(request.app.state.catalogue)


@router.get("/api/season-numbers/{number}/edit")
def number_edit(number: str, request: Request) -> dict:
    """Line by line: who sings it, the take the edit uses and the other takes that cover it."""
    from lipcoach.production.board import number_lines

    return number_lines(request.app.state.catalogue, number)


@router.post("/api/season-numbers/{number}/pins")
def pin(number: str, body: PinRequest, request: Request) -> dict:
    from lipcoach.production.board import number_lines
    from lipcoach.production.edit import pin_take

    cat = request.app.state.catalogue
    pin_take(cat, number, body.line, None if body.take_id is None else str(body.take_id))
    return number_lines(cat, number)


@router.post("/api/season-numbers/{number}/lines")
def line_singers(number: str, body: LineSingersRequest, request: Request) -> dict:
    from lipcoach.production.board import number_lines
    from lipcoach.production.season import assign_line

    cat = request.app.state.catalogue
    assign_line(cat, number, body.line, body.singers)
    return number_lines(cat, number)
