"""The season board (routes ``/board`` and ``/api/seasons``): a thin face over :mod:`lipcoach.production.board`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

router = APIRouter()


@router.get("/board", include_in_schema=False)
async def board_page(request: Request) -> Response:
    from lipcoach.web.app import _static_dir

    return FileResponse(_static_dir() / "board.html", media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})


@router.get("/api/seasons")
def seasons(request: Request) -> list[dict]:
    """Every season: episodes × numbers × performers, each number's state and latest scores."""
    from lipcoach.production.board import season_board

    return season_board(request.app.state.catalogue)
