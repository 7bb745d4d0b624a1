"""The practice studio: a local web app to drill a number slowly, loop it, record and score takes.

``create_app(data_dir)`` builds the FastAPI app over a data folder (see
:mod:`lipcoach.production.catalogue`); ``serve(data_dir, host, port)`` runs it with uvicorn.
Everything the page needs (HTML, JS, CSS, icons) ships in this package: no CDN, no web fonts.

Security: by default the app answers only requests addressed to a loopback name (so a web
page cannot reach it through DNS rebinding) and every POST must carry the ``X-Lipcoach``
header (which a cross-site form cannot send). Bound to another host it requires a token on
every request (query ``?token=`` once, then a same-site cookie, or ``Authorization: Bearer``).
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import json
import os
import secrets
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Optional

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from lipcoach.errors import LipcoachError
from lipcoach.production import jobs as J
from lipcoach.production import storage
from lipcoach.production.catalogue import Catalogue, Job, Number, Report, Song, SongMapVersion, Take
from lipcoach.web.board import router as board_router

#: Renders are offered from 25 % to 100 % in 1 % steps.
MIN_SPEED_PCT, MAX_SPEED_PCT = 25, 100
#: Waveform peaks per second of audio.
PEAKS_PER_S = 100
_COOKIE = "lipcoach_token"
_LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "[::1]"}
_PAGES = {"/": "index.html", "/practice": "practice.html", "/report": "report.html", "/editor": "editor.html"}


def _static_dir() -> Path:
    return Path(str(resources.files("lipcoach.web").joinpath("static")))


def is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def create_app(data_dir: str | os.PathLike, *, token: Optional[str] = None, start_jobs: bool = True,
               render_quality: str = "high") -> FastAPI:
    """The practice studio over ``data_dir``.

    Parameters
    ----------
    data_dir : path
        The catalogue folder (created if missing).
    token : str, optional
        When given, every request must carry it (needed for any non-loopback bind).
    start_jobs : bool
        Start the background job thread with the app (tests may run jobs by hand with
        ``app.state.runner.run_pending()``).
    render_quality : {"high", "balanced", "fast"}
        Rubber Band preset of the renders (see :data:`lipcoach.media.stretch.QUALITY`);
        "balanced" halves the wait on a slow machine.
    """
    from lipcoach.media.stretch import QUALITY

    if render_quality not in QUALITY:
        raise LipcoachError(None, f"unknown render quality {render_quality!r} (choose {', '.join(QUALITY)})")
    cat = Catalogue(data_dir)
    runner = J.JobRunner(cat)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if start_jobs:
            runner.start()
        else:
            J.recover(cat)
        yield
        runner.stop()

    app = FastAPI(title="lipcoach practice studio", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.catalogue = cat
    app.state.runner = runner
    app.state.token = token
    static = _static_dir()

    # -- security ----------------------------------------------------------------------------
    @app.middleware("http")
    async def guard(request: Request, call_next):
        if token is None:
            if not is_loopback(_host_name(request.headers.get("host") or "")):
                return JSONResponse({"error": "this studio only answers on 127.0.0.1 / localhost"}, status_code=403)
        else:
            given = request.query_params.get("token") or request.cookies.get(_COOKIE) or ""
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("bearer "):
                given = auth[7:].strip()
            if not secrets.compare_digest(given.encode(), token.encode()):
                return JSONResponse({"error": "missing or wrong token (use the URL printed when the server started)"}, status_code=401)
        if request.method not in ("GET", "HEAD", "OPTIONS") and request.headers.get("x-lipcoach") != "1":
            return JSONResponse({"error": "missing X-Lipcoach header"}, status_code=403)
        response = await call_next(request)
        if token is not None and request.query_params.get("token"):
            response.set_cookie(_COOKIE, token, httponly=True, samesite="strict")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        )
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.exception_handler(LipcoachError)
    async def lipcoach_error(_request: Request, exc: LipcoachError):
        return JSONResponse({"error": str(exc)}, status_code=413 if isinstance(exc, storage.TooLarge) else 400)

    # -- pages and static files -------------------------------------------------------------
    def page(name: str):
        async def serve_page() -> Response:
            return FileResponse(static / name, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})

        return serve_page

    for route, name in _PAGES.items():
        app.add_api_route(route, page(name), methods=["GET"], include_in_schema=False)
    app.include_router(board_router)  # the season board (production desk)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return FileResponse(static / "favicon.svg", media_type="image/svg+xml")

    @app.get("/static/{name}")
    async def static_file(name: str) -> Response:
        if "/" in name or name.startswith(".") or not (static / name).is_file():
            raise HTTPException(404)
        types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
        return FileResponse(static / name, media_type=types.get(Path(name).suffix, "application/octet-stream"), headers={"Cache-Control": "no-cache"})

    # -- catalogue ---------------------------------------------------------------------------
    @app.get("/api/numbers")
    def list_numbers() -> list[dict]:
        with cat.session() as s:
            numbers = list(s.scalars(select(Number).order_by(Number.id)))
            return [_number_dict(cat, s, n) for n in numbers]

    @app.post("/api/songs")
    async def upload_song(request: Request) -> dict:
        _check_length(request, storage.MAX_AUDIO_BYTES * 2 + storage.MAX_LYRICS_BYTES)
        form = await request.form(max_files=3, max_fields=10)
        title = _text_field(form, "title", 300) or "Untitled number"
        performer = _text_field(form, "performer", 200)
        language = _text_field(form, "language", 16) or "en"
        song_up = form.get("song")
        if song_up is None or isinstance(song_up, str):
            raise LipcoachError(None, "choose a song file to upload")
        stored: list[str] = []
        try:
            audio_name, duration_s = await run_in_threadpool(storage.store_media, song_up.file, cat.root, what="the song")
            stored.append(audio_name)
            stem_name = lyrics_name = None
            stem_up, lyrics_up = form.get("stem"), form.get("lyrics")
            if stem_up is not None and not isinstance(stem_up, str) and stem_up.filename:
                stem_name, _ = await run_in_threadpool(storage.store_media, stem_up.file, cat.root, what="the vocal stem")
                stored.append(stem_name)
            lyrics_text = _text_field(form, "lyrics_text", storage.MAX_LYRICS_BYTES)
            if lyrics_up is not None and not isinstance(lyrics_up, str) and lyrics_up.filename:
                lyrics_name = await run_in_threadpool(storage.store_lyrics, lyrics_up.file, cat.root)
            elif lyrics_text:
                lyrics_name = await run_in_threadpool(storage.store_text, lyrics_text, cat.root)
        except Exception:
            # One bad file refuses the whole upload: drop the files already stored for it.
            for name in stored:
                cat.path("files", name).unlink(missing_ok=True)
            raise
        with cat.session() as s:
            number = Number(title=title, performer=cat.performer(s, performer))
            s.add(number)
            s.flush()
            song = Song(number_id=number.id, audio_file=audio_name, audio_label=(song_up.filename or "")[:300], stem_file=stem_name,
                        lyrics_file=lyrics_name, language=language, duration_s=duration_s)
            s.add(song)
            s.commit()
            song_id, number_id = song.id, number.id
        job = runner.submit("analyze", {"song_id": song_id}, key=f"analyze:{song_id}:{_now_key()}")
        return {"number_id": number_id, "song_id": song_id, "job": job.to_dict()}

    @app.post("/api/songs/{song_id}/analyze")
    def reanalyze(song_id: int) -> dict:
        _song_or_404(cat, song_id)
        return {"job": runner.submit("analyze", {"song_id": song_id}, key=f"analyze:{song_id}:{_now_key()}").to_dict()}

    @app.get("/api/songs/{song_id}")
    def song_info(song_id: int) -> dict:
        with cat.session() as s:
            song = _song_or_404(cat, song_id, s)
            return _song_dict(cat, s, song)

    @app.get("/api/songs/{song_id}/practice")
    def practice_payload(song_id: int, version: Optional[int] = None) -> dict:
        """Everything the practice page needs in one request: song, map, peaks, icon table."""
        from lipcoach.song.visemes import PRACTICE_ICON

        with cat.session() as s:
            song = _song_or_404(cat, song_id, s)
            info = _song_dict(cat, s, song)
            smv = _map_version(cat, s, song_id, version)
            doc = json.loads(cat.path("maps", smv.file).read_text(encoding="utf-8")) if smv else None
        peaks = _peaks(cat, song_id, info["audio_file"])
        return {"song": info, "songmap": doc, "songmap_version": smv.version if smv else None,
                "icons": PRACTICE_ICON, "peaks": peaks, "speed_range": [MIN_SPEED_PCT, MAX_SPEED_PCT]}

    @app.get("/api/songs/{song_id}/songmap")
    def get_songmap(song_id: int, version: Optional[int] = None) -> Response:
        with cat.session() as s:
            _song_or_404(cat, song_id, s)
            smv = _map_version(cat, s, song_id, version)
            if smv is None:
                raise HTTPException(404, "this song has no song map yet")
            return FileResponse(cat.path("maps", smv.file), media_type="application/json")

    @app.post("/api/songs/{song_id}/songmap")
    async def save_songmap(song_id: int, request: Request) -> dict:
        """Save corrected word times (``{"base_version": n, "words": [{"index", "start", "end"}]}``) as a new version."""
        body = await _json_body(request, 2 * 1024 * 1024)
        return await run_in_threadpool(_save_edit, cat, song_id, body)

    @app.get("/api/songs/{song_id}/audio/{part}")
    def song_audio(song_id: int, part: str) -> Response:
        with cat.session() as s:
            song = _song_or_404(cat, song_id, s)
            stored = {"mix": song.audio_file, "stem": song.stem_file}.get(part)
        if not stored:
            raise HTTPException(404, f"no {part} for this song")
        path = cat.path("files", stored)
        return FileResponse(path, media_type=storage.MIME_BY_SUFFIX.get(path.suffix, "application/octet-stream"))

    # -- renders -----------------------------------------------------------------------------
    @app.post("/api/songs/{song_id}/renders")
    async def request_render(song_id: int, request: Request) -> dict:
        """Queue (or find) a render: ``{"speed_pct", "part", "start_s"?, "end_s"?}``.

        With start/end only that part is rendered (a loop; ready in seconds).
        """
        body = await _json_body(request, 4096)
        pct = _speed_pct(body.get("speed_pct"))
        part = body.get("part", "mix")
        if part not in ("mix", "stem"):
            raise LipcoachError(None, "part must be 'mix' or 'stem'")
        with cat.session() as s:
            song = _song_or_404(cat, song_id, s)
            if part == "stem" and not song.stem_file:
                raise LipcoachError(None, "this song has no vocal stem")
            duration_s = song.duration_s
        region = _region_ms(body.get("start_s"), body.get("end_s"), duration_s)
        name = J.render_name(song_id, part, pct, render_quality, region)
        url = f"/api/renders/{song_id}/{part}/{pct}" + (f"?start_ms={region[0]}&end_ms={region[1]}" if region else "")
        answer = {"speed_pct": pct, "url": url, "start_s": region[0] / 1000 if region else 0.0,
                  "end_s": region[1] / 1000 if region else duration_s}
        if pct == 100:
            return {**answer, "state": "done", "url": f"/api/songs/{song_id}/audio/{part}", "start_s": 0.0, "end_s": duration_s}
        if cat.path("renders", name).exists():
            return {**answer, "state": "done"}
        params = {"song_id": song_id, "part": part, "speed_pct": pct, "quality": render_quality}
        if region:
            params.update(start_ms=region[0], end_ms=region[1])
            key = f"renderpart:{song_id}:{part}:{pct}:{render_quality}:{region[0]}-{region[1]}"
            supersedes = f"renderpart:{song_id}:{part}:"
        else:
            key, supersedes = f"render:{song_id}:{part}:{pct}:{render_quality}", f"render:{song_id}:{part}:"
        job = runner.submit("render", params, key=key, supersedes=supersedes)
        if job.state == "done" and not cat.path("renders", name).exists():  # cache file removed by hand: redo
            job = runner.submit("render", params, key=f"{key}:{_now_key()}")
        return {**answer, "state": job.state, "job": job.to_dict()}

    @app.get("/api/renders/{song_id}/{part}/{pct}")
    def get_render(song_id: int, part: str, pct: int, start_ms: Optional[int] = None, end_ms: Optional[int] = None) -> Response:
        if part not in ("mix", "stem"):
            raise HTTPException(404)
        region = (start_ms, end_ms) if start_ms is not None and end_ms is not None else None
        path = cat.path("renders", J.render_name(song_id, part, _speed_pct(pct), render_quality, region))
        if not path.exists():
            raise HTTPException(404, "not rendered yet")
        return FileResponse(path, media_type="audio/wav")

    # -- takes -------------------------------------------------------------------------------
    @app.post("/api/songs/{song_id}/takes")
    async def upload_take(song_id: int, request: Request) -> dict:
        _check_length(request, storage.MAX_TAKE_BYTES + 64 * 1024)
        form = await request.form(max_files=1, max_fields=12)
        video = form.get("video")
        if video is None or isinstance(video, str):
            raise LipcoachError(None, "no video in the upload")
        speed = _float_field(form, "speed", 1.0, 0.25, 1.0)
        song_start_s = _float_field(form, "song_start_s", None, -3600.0, 3600.0)
        loop_a = _float_field(form, "loop_start_s", None, 0.0, 36000.0)
        loop_b = _float_field(form, "loop_end_s", None, 0.0, 36000.0)
        performer = _text_field(form, "performer", 200)
        with cat.session() as s:
            _song_or_404(cat, song_id, s)
            smv = cat.latest_map(s, song_id)
            if smv is None:
                raise LipcoachError(None, "this song has no song map yet; wait for the analysis")
            smv_id = smv.id
        stored, _dur = await run_in_threadpool(storage.store_media, video.file, cat.root, what="the take", need_video=True)
        with cat.session() as s:
            take = Take(song_id=song_id, songmap_version_id=smv_id, file=stored, speed=speed,
                        song_start_s=song_start_s, loop_start_s=loop_a, loop_end_s=loop_b)
            p = cat.performer(s, performer)
            take.performer_id = p.id if p else None
            s.add(take)
            s.commit()
            take_id = take.id
        job = runner.submit("score", {"take_id": take_id}, key=f"score:{take_id}")
        return {"take_id": take_id, "job": job.to_dict()}

    @app.get("/api/takes/{take_id}")
    def take_info(take_id: int) -> dict:
        with cat.session() as s:
            take = _row_or_404(s, Take, take_id, "take")
            job = s.scalar(select(Job).where(Job.key == f"score:{take_id}").order_by(Job.id.desc()).limit(1))
            rep = take.report
            return {"id": take.id, "song_id": take.song_id, "speed": take.speed, "song_start_s": take.song_start_s,
                    "created_at": take.created_at.isoformat() + "Z", "video_url": f"/api/takes/{take_id}/video",
                    "score": rep.score if rep else None, "job": job.to_dict() if job else None,
                    "report_url": f"/api/takes/{take_id}/report" if rep else None}

    @app.get("/api/takes/{take_id}/report")
    def take_report(take_id: int) -> Response:
        with cat.session() as s:
            rep = s.scalar(select(Report).where(Report.take_id == take_id))
            if rep is None:
                raise HTTPException(404, "not scored yet")
            return FileResponse(cat.path("reports", rep.file), media_type="application/json")

    @app.get("/api/takes/{take_id}/video")
    def take_video(take_id: int) -> Response:
        with cat.session() as s:
            take = _row_or_404(s, Take, take_id, "take")
            path = cat.path("files", take.file)
        return FileResponse(path, media_type=storage.MIME_BY_SUFFIX.get(path.suffix, "application/octet-stream"))

    @app.get("/api/songs/{song_id}/history")
    def history(song_id: int) -> dict:
        """Each line's score across the scored takes of a song, oldest first."""
        with cat.session() as s:
            _song_or_404(cat, song_id, s)
            rows = s.execute(select(Take, Report).join(Report, Report.take_id == Take.id).where(Take.song_id == song_id).order_by(Take.id)).all()
            smv = cat.latest_map(s, song_id)
            lines = []
            if smv is not None:
                doc = json.loads(cat.path("maps", smv.file).read_text(encoding="utf-8"))
                lines = [{"index": i, "text": ln["text"]} for i, ln in enumerate(doc.get("lines", []))]
            attempts = [{"take_id": t.id, "created_at": t.created_at.isoformat() + "Z", "speed": t.speed, "score": r.score,
                         "line_scores": {int(k): v for k, v in json.loads(r.line_scores or "{}").items()}} for t, r in rows]
            return {"lines": lines, "attempts": attempts}

    # -- jobs --------------------------------------------------------------------------------
    @app.get("/api/jobs/{job_id}")
    def job_info(job_id: int) -> dict:
        with cat.session() as s:
            job = _row_or_404(s, Job, job_id, "job")
            return job.to_dict()

    @app.get("/api/jobs")
    def list_jobs(active: bool = False) -> list[dict]:
        with cat.session() as s:
            q = select(Job).order_by(Job.id.desc()).limit(50)
            if active:
                q = select(Job).where(Job.state.in_(("queued", "running"))).order_by(Job.id)
            return [j.to_dict() for j in s.scalars(q)]

    return app


# -- helpers ---------------------------------------------------------------------------------


def _host_name(header: str) -> str:
    """``"127.0.0.1:8765"`` → ``"127.0.0.1"``; ``"[::1]:8765"`` → ``"::1"``."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _now_key() -> str:
    return _dt.datetime.now().strftime("%Y%m%d%H%M%S%f")


def _check_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length is None:
        raise HTTPException(411, "uploads need a Content-Length")
    if int(length) > limit:
        raise HTTPException(413, f"upload larger than {limit // (1 << 20)} MB")


async def _json_body(request: Request, limit: int) -> dict:
    raw = await request.body()
    if len(raw) > limit:
        raise HTTPException(413, "request too large")
    try:
        body = json.loads(raw or b"{}")
    except json.JSONDecodeError:
        raise LipcoachError(None, "request body is not JSON") from None
    if not isinstance(body, dict):
        raise LipcoachError(None, "request body must be a JSON object")
    return body


def _text_field(form, name: str, limit: int) -> str:
    value = form.get(name)
    if value is None or not isinstance(value, str):
        return ""
    value = value.strip()
    if len(value) > limit:
        raise LipcoachError(None, f"{name} is longer than {limit} characters")
    return value


def _float_field(form, name: str, default, lo: float, hi: float):
    value = form.get(name)
    if value is None or value == "":
        return default
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise LipcoachError(None, f"{name} is not a number") from None
    if not (lo <= x <= hi):
        raise LipcoachError(None, f"{name} must be within {lo:g}..{hi:g}")
    return x


def _speed_pct(value) -> int:
    try:
        pct = int(value)
    except (TypeError, ValueError):
        raise LipcoachError(None, "speed_pct must be a whole number of percent") from None
    if not (MIN_SPEED_PCT <= pct <= MAX_SPEED_PCT):
        raise LipcoachError(None, f"speed must be {MIN_SPEED_PCT}..{MAX_SPEED_PCT} %")
    return pct


def _region_ms(start_s, end_s, duration_s: float) -> Optional[tuple[int, int]]:
    """A loop's render region in ms, snapped outwards to 100 ms so nearby loops share a render."""
    import math

    if start_s is None and end_s is None:
        return None
    try:
        a, b = float(start_s), float(end_s)
    except (TypeError, ValueError):
        raise LipcoachError(None, "start_s and end_s must be numbers") from None
    if duration_s > 0:
        b = min(b, duration_s)
    if not (0.0 <= a and b - a >= 0.5):
        raise LipcoachError(None, "a render region must be at least 0.5 s inside the song")
    if b - a > 300.0:
        raise LipcoachError(None, "a render region is at most 5 minutes; render the whole song instead")
    return int(math.floor(a * 10)) * 100, int(math.ceil(b * 10)) * 100


def _row_or_404(session, model, row_id: int, what: str):
    """The ``model`` row with id ``row_id``, or an HTTP 404 "no such <what>"."""
    row = session.get(model, row_id)
    if row is None:
        raise HTTPException(404, f"no such {what}")
    return row


def _song_or_404(cat: Catalogue, song_id: int, s=None) -> Song:
    if s is None:
        with cat.session() as s2:
            return _row_or_404(s2, Song, song_id, "song")
    return _row_or_404(s, Song, song_id, "song")


def _map_version(cat: Catalogue, s, song_id: int, version: Optional[int]) -> Optional[SongMapVersion]:
    if version is None:
        return cat.latest_map(s, song_id)
    smv = s.scalar(select(SongMapVersion).where(SongMapVersion.song_id == song_id, SongMapVersion.version == version))
    if smv is None:
        raise HTTPException(404, f"no song map version {version}")
    return smv


def _song_dict(cat: Catalogue, s, song: Song) -> dict:
    smv = cat.latest_map(s, song.id)
    job = s.scalar(select(Job).where(Job.kind == "analyze", Job.key.like(f"analyze:{song.id}:%")).order_by(Job.id.desc()).limit(1))
    return {"id": song.id, "number_id": song.number_id, "title": song.number.title,
            "performer": song.number.performer.name if song.number.performer else "",
            "label": song.audio_label, "audio_file": song.audio_file, "language": song.language,
            "duration_s": song.duration_s, "has_stem": bool(song.stem_file), "has_lyrics": bool(song.lyrics_file),
            "audio_url": f"/api/songs/{song.id}/audio/mix",
            "stem_url": f"/api/songs/{song.id}/audio/stem" if song.stem_file else None,
            "map_version": smv.version if smv else None,
            "map_versions": [{"version": m.version, "origin": m.origin, "created_at": m.created_at.isoformat() + "Z"} for m in song.maps],
            "analysis_job": job.to_dict() if job else None}


def _number_dict(cat: Catalogue, s, number: Number) -> dict:
    return {"id": number.id, "title": number.title, "performer": number.performer.name if number.performer else "",
            "songs": [_song_dict(cat, s, song) for song in number.songs]}


def _peaks(cat: Catalogue, song_id: int, audio_file: str) -> dict:
    """Waveform peaks (max |x| per 1/PEAKS_PER_S s, 0..1), cached beside the renders."""
    import numpy as np

    from lipcoach.fileio import write_json_atomic
    from lipcoach.media.decode import load_audio

    cached = cat.path("renders", f"song{song_id}-peaks.json")
    if cached.exists():
        return json.loads(cached.read_text(encoding="utf-8"))
    sr = 8000
    audio, _ = load_audio(cat.path("files", audio_file), sr=sr)
    hop = sr // PEAKS_PER_S
    n = len(audio) // hop
    frames = np.abs(audio[: n * hop]).reshape(n, hop).max(axis=1) if n else np.zeros(0)
    top = float(frames.max()) if n else 1.0
    data = {"rate": PEAKS_PER_S, "values": [round(float(v), 3) for v in frames / max(top, 1e-6)], "duration_s": len(audio) / sr}
    write_json_atomic(cached, data)
    return data


def _save_edit(cat: Catalogue, song_id: int, body: dict) -> dict:
    """Apply edited word times to a map version and save the result as the next version."""
    from lipcoach.song.songmap import Entrance, SongMap

    with cat.session() as s:
        _song_or_404(cat, song_id, s)
        base = _map_version(cat, s, song_id, body.get("base_version"))
        if base is None:
            raise LipcoachError(None, "this song has no song map to edit")
        songmap = SongMap.load(cat.path("maps", base.file))
        edits = body.get("words")
        if not isinstance(edits, list) or not edits:
            raise LipcoachError(None, "no word times to save")
        for e in edits:
            try:
                i, start, end = int(e["index"]), float(e["start"]), float(e["end"])
            except (KeyError, TypeError, ValueError):
                raise LipcoachError(None, "each edited word needs index, start and end") from None
            if not (0 <= i < len(songmap.words)):
                raise LipcoachError(None, f"word {i} does not exist")
            if not (0.0 <= start < end <= songmap.duration + 1e-6):
                raise LipcoachError(None, f"word {i} ({songmap.words[i].text}): times {start:.3f}-{end:.3f} s are not a span inside the song")
            retime_word(songmap.words[i], start, end)
        for a, b in zip(songmap.words, songmap.words[1:]):
            if b.start < a.start - 1e-6:
                raise LipcoachError(None, f"word '{b.text}' would start before '{a.text}'; keep the words in order")
        for li, line in enumerate(songmap.lines):
            ws = songmap.words_of_line(li)
            if ws:
                line.start, line.end = ws[0].start, max(w.end for w in ws)
                if line.entrance is not None and songmap.beats:
                    beat = min(songmap.beats, key=lambda t: abs(t - line.start))
                    line.entrance = Entrance.from_times(line.start, beat)
                line.aligned = True
        songmap.source = {**songmap.source, "edited_from_version": base.version}
        row = cat.add_map_version(s, song_id, songmap, origin="edit", note=str(body.get("note", ""))[:500])
        s.commit()
        return {"version": row.version, "songmap_version_id": row.id}


def retime_word(word, start_s: float, end_s: float) -> None:
    """Move and stretch a word (and its phonemes, proportionally) to ``[start_s, end_s]``."""
    old_a, old_b = word.start, word.end
    scale = (end_s - start_s) / (old_b - old_a) if old_b > old_a else 1.0
    for p in word.phonemes:
        p.start = start_s + (p.start - old_a) * scale
        p.end = start_s + (p.end - old_a) * scale
    word.start, word.end = start_s, end_s
    word.confidence = 1.0  # a person set it


def serve(data_dir: str | os.PathLike, host: str = "127.0.0.1", port: int = 8765, *, demo: bool = False,
          token: Optional[str] = None, open_browser: bool = False, render_quality: str = "high") -> None:
    """Run the practice studio until interrupted (Ctrl-C).

    Parameters
    ----------
    data_dir : path
        Catalogue folder.
    host : str
        Interface to bind. Anything but a loopback address requires a token: one is generated
        (and printed in the URL) unless given.
    port : int
    demo : bool
        Add the built-in demo number (generated, analysed in the background) if the catalogue
        has no number yet.
    token : str, optional
    open_browser : bool
        Open the URL in the default browser.
    render_quality : {"high", "balanced", "fast"}
        Rubber Band preset of the speed renders.
    """
    import uvicorn

    app, url = prepare(data_dir, host, port, demo=demo, token=token, render_quality=render_quality)
    print(f"lipcoach practice studio: {url}", flush=True)
    if app.state.token:
        print("(bound beyond this machine: the token in that URL is required on every request)", flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def prepare(data_dir: str | os.PathLike, host: str = "127.0.0.1", port: int = 8765, *, demo: bool = False,
            token: Optional[str] = None, render_quality: str = "high") -> tuple[FastAPI, str]:
    """The app :func:`serve` runs and the URL it prints (with the token when one is needed)."""
    if not is_loopback(host) and not token:
        token = secrets.token_urlsafe(24)
    app = create_app(data_dir, token=token, render_quality=render_quality)
    if demo:
        from lipcoach.production.demo import add_demo_number

        add_demo_number(app.state.catalogue)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    return app, url
