"""The pages (HTML) and their scripts, styles and icons; everything ships in the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

router = APIRouter(include_in_schema=False)

PAGES = {"/": "index.html", "/practice": "practice.html", "/report": "report.html", "/editor": "editor.html", "/board": "board.html"}
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}


def static_dir() -> Path:
    return Path(str(resources.files("lipcoach.web").joinpath("static")))


def _page(name: str):
    async def serve_page() -> Response:
        return FileResponse(static_dir() / name, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})

    return serve_page


for _route, _name in PAGES.items():
    router.add_api_route(_route, _page(_name), methods=["GET"])


@router.get("/favicon.ico")
async def favicon() -> Response:
    return FileResponse(static_dir() / "favicon.svg", media_type="image/svg+xml")


@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    static = static_dir()
    if "/" in name or name.startswith(".") or not (static / name).is_file():
        raise HTTPException(404)
    return FileResponse(static / name, media_type=_TYPES.get(Path(name).suffix, "application/octet-stream"), headers={"Cache-Control": "no-cache"})
