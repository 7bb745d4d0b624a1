"""The practice studio: a local web app to drill a number slowly, loop it, record and score takes.

``create_app(data_dir)`` builds the FastAPI app over a data folder (see
:mod:`lipcoach.production.catalogue`); ``serve(data_dir, host, port)`` runs it with uvicorn.
The routes live in :mod:`lipcoach.web.routes`, one module per resource; they translate HTTP
to the core (:mod:`lipcoach.production`, :mod:`lipcoach.song`) and back, nothing more.
Everything the page needs (HTML, JS, CSS, icons) ships in this package: no CDN, no web fonts.
The API is described at ``/api/openapi.json``.

Security: by default the app answers only requests addressed to a loopback name (so a web
page cannot reach it through DNS rebinding) and every POST must carry the ``X-Lipcoach``
header (which a cross-site form cannot send). Bound to another host it requires a token on
every request (query ``?token=`` once, then a same-site cookie, or ``Authorization: Bearer``).
Responses may not be embedded by other origins (``Cross-Origin-Resource-Policy``), and media
(songs, renders, takes) refuse requests a browser marks as coming from another site.

Bad input: every request body is size-checked before it is read (413), and every malformed
value is a 400 with one line saying what is wrong; no message carries a server path.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from contextlib import asynccontextmanager
from typing import Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lipcoach.errors import LipcoachError, NotFound, StorageError, storage_problem
from lipcoach.production import jobs as J
from lipcoach.production import storage
from lipcoach.production.catalogue import Catalogue, StaleMap, reconcile
from lipcoach.web.access import TOKEN_COOKIE, host_name, is_loopback
from lipcoach.web.deps import Studio
from lipcoach.web.routes import ROUTERS

log = logging.getLogger("lipcoach.web")

#: Request bodies larger than these are refused (413) before they are read, bytes.
BODY_LIMITS = [
    (re.compile(r"^/api/songs$"), 2 * storage.MAX_AUDIO_BYTES + storage.MAX_LYRICS_BYTES + 64 * 1024),
    (re.compile(r"^/api/songs/[^/]+/takes$"), storage.MAX_TAKE_BYTES + 64 * 1024),
    (re.compile(r"^/api/songs/[^/]+/songmap$"), 2 * 1024 * 1024),
]
#: Any other request body, bytes.
DEFAULT_BODY_LIMIT = 16 * 1024
#: Media routes: a browser page of another site may not load these.
_MEDIA = re.compile(r"^/api/(songs/[^/]+/audio/|renders/|takes/[^/]+/video)")


def body_limit(path: str) -> int:
    """The largest body a request to ``path`` may carry, bytes."""
    for pattern, limit in BODY_LIMITS:
        if pattern.match(path):
            return limit
    return DEFAULT_BODY_LIMIT


def _size(n_bytes: int) -> str:
    return f"{n_bytes / (1 << 20):.0f} MB" if n_bytes >= 1 << 20 else f"{n_bytes / 1024:.0f} KB"


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"error": f"request body is larger than the {_size(limit)} limit"}, status_code=413)


class BodyLimit:
    """ASGI middleware: refuse a body over :func:`body_limit` by its Content-Length, or while it streams.

    Whatever the app makes of a body cut off while streaming, the client gets the 413.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        limit = body_limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                return await JSONResponse({"error": "Content-Length is not a number"}, status_code=400)(scope, receive, send)
            if int(declared) > limit:
                return await _too_large(limit)(scope, receive, send)
        received, over, started = 0, False, False

        async def counted_receive():
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    return {"type": "http.disconnect"}  # the app stops reading here
            return message

        async def guarded_send(message):
            nonlocal started
            if over:
                return  # the app's answer to a cut-off body is replaced by the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            await _too_large(limit)(scope, receive, send)


def _validation_message(exc: RequestValidationError) -> str:
    """One line saying which field is wrong and why (``words.0.start: Input should be a finite number``)."""
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path", "form"))
        if err.get("type") == "json_invalid":
            return "request body is not valid JSON"
        if err.get("type") == "missing" and not where:
            return "the request needs a JSON body"
        if err.get("type") == "model_attributes_type" or (err.get("type") == "dict_type" and not where):
            return "request body must be a JSON object"
        parts.append(f"{where or 'request'}: {err.get('msg', 'is not valid')}")
    return "; ".join(parts)


def _public_message(exc: LipcoachError) -> str:
    """The error's one line, without a server path (a user's own file name is kept)."""
    if exc.path and os.path.isabs(exc.path):
        return exc.problem
    return str(exc)


def create_app(data_dir: str | os.PathLike, *, token: Optional[str] = None, start_jobs: bool = True,
               render_quality: str = "high", reconcile_grace_s: float = 300.0) -> FastAPI:
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
    reconcile_grace_s : float
        At start-up, files no row refers to and older than this are set aside (see
        :func:`lipcoach.production.catalogue.reconcile`), s.
    """
    from lipcoach.media.stretch import QUALITY

    if render_quality not in QUALITY:
        raise LipcoachError(None, f"unknown render quality {render_quality!r} (choose {', '.join(QUALITY)})")
    cat = Catalogue(data_dir)
    runner = J.JobRunner(cat)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        reconcile(cat, grace_s=reconcile_grace_s)
        if start_jobs:
            runner.start()
        else:
            J.recover(cat)
        yield
        runner.stop()

    app = FastAPI(title="lipcoach practice studio", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.catalogue = cat
    app.state.runner = runner
    app.state.token = token
    app.state.studio = Studio(cat=cat, runner=runner, render_quality=render_quality)
    for router in ROUTERS:
        app.include_router(router)

    _add_guard(app, token)
    # Outermost: a body over its limit is refused before any other layer reads it.
    app.add_middleware(BodyLimit)

    _add_error_answers(app)
    return app


def _add_guard(app: FastAPI, token: Optional[str]) -> None:
    """Who may ask (loopback or token, the X-Lipcoach header on writes, media from its own pages) and the safety headers."""

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if token is None:
            if not is_loopback(host_name(request.headers.get("host") or "")):
                return JSONResponse({"error": "this studio only answers on 127.0.0.1 / localhost"}, status_code=403)
        else:
            given = request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE) or ""
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("bearer "):
                given = auth[7:].strip()
            if not secrets.compare_digest(given.encode(), token.encode()):
                return JSONResponse({"error": "missing or wrong token (use the URL printed when the server started)"}, status_code=401)
        if request.method not in ("GET", "HEAD", "OPTIONS") and request.headers.get("x-lipcoach") != "1":
            return JSONResponse({"error": "missing X-Lipcoach header"}, status_code=403)
        if _MEDIA.match(request.url.path) and request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return JSONResponse({"error": "media of this studio play only on its own pages"}, status_code=403)
        response = await call_next(request)
        if token is not None and request.query_params.get("token"):
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        )
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


def _add_error_answers(app: FastAPI) -> None:
    """Every error as ``{"error": one line}``: 400 bad input, 409 stale edit, 413 too large, 404 not found."""

    @app.exception_handler(LipcoachError)
    async def lipcoach_error(_request: Request, exc: LipcoachError):
        status = (413 if isinstance(exc, storage.TooLarge) else 409 if isinstance(exc, StaleMap) else 404 if isinstance(exc, NotFound)
                  else 503 if isinstance(exc, StorageError) else 400)
        return JSONResponse({"error": _public_message(exc)}, status_code=status)

    async def storage_error(request: Request, exc: Exception):
        """A full disk or a read-only data folder: one line (503), not SQLite's multi-line error (500)."""
        problem = storage_problem(exc)
        if problem is None:
            raise exc
        log.error("%s %s: %s (%s)", request.method, request.url.path, problem, exc.__class__.__name__)
        return JSONResponse({"error": f"the studio's data folder cannot be written: {problem.problem}"}, status_code=503)

    from sqlalchemy.exc import OperationalError

    app.add_exception_handler(OperationalError, storage_error)
    app.add_exception_handler(OSError, storage_error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else "bad request"
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "the request body could not be read: not valid JSON, nested too deeply, or a form with too many parts"
        return JSONResponse({"error": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError):
        return JSONResponse({"error": _validation_message(exc)}, status_code=400)


# -- helpers ---------------------------------------------------------------------------------


def serve(data_dir: str | os.PathLike, host: str = "127.0.0.1", port: int = 8765, *, demo: bool = False,
          token: Optional[str] = None, open_browser: bool = False, render_quality: str = "high",
          https: bool = False) -> None:
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
    https : bool
        Serve over HTTPS with a self-signed certificate made here (:mod:`lipcoach.web.tls`, kept in
        ``data_dir/tls``), so a phone on the same network may open its camera for live coaching.
        Bound to loopback (the default), the studio is then bound to every interface, with a token.
    """
    import uvicorn

    ssl = {}
    if https:
        from lipcoach.web.tls import ensure_certificate

        if is_loopback(host):
            host = "0.0.0.0"  # a phone reaches the studio over the network
    check_bindable(host, port)  # before the data folder is made or opened
    if https:
        cert, key = ensure_certificate(os.path.join(os.fspath(data_dir), "tls"), host)
        ssl = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    app, url = prepare(data_dir, host, port, demo=demo, token=token, render_quality=render_quality, https=https)
    print(f"lipcoach practice studio: {url}", flush=True)
    if app.state.token:
        print("(bound beyond this machine: the token in that URL is required on every request)", flush=True)
    if https:
        print("(self-signed certificate: the phone's browser asks once to accept it; then the camera opens)", flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    # Server.run, not uvicorn.run (which swallows Ctrl-C): after its clean shutdown the
    # interrupt reaches the command line, which says so and exits 130.
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", **ssl)).run()


#: Ports a studio may listen on (0 is "any free port", which a user could not then find).
MIN_PORT, MAX_PORT = 1, 65535


def check_bindable(host: str, port: int) -> None:
    """Refuse, in one line, a port out of range or an address the studio could not listen on.

    Raises
    ------
    LipcoachError
        The port is not 1-65535, the host is not an address of this machine, or another
        program (another studio?) already listens there.
    """
    import errno
    import socket

    if not MIN_PORT <= port <= MAX_PORT:
        raise LipcoachError(None, f"--port {port} is not a port; choose one from {MIN_PORT} to {MAX_PORT} (default 8765)")
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        raise LipcoachError(None, f"--host {host!r} is not an address or a name this machine knows") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a just-closed studio's port is free
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise LipcoachError(None, f"port {port} on {host} is already in use (another studio?); choose another with --port") from None
            if error.errno == errno.EACCES:
                raise LipcoachError(None, f"port {port} needs administrator rights; choose one from 1024 to {MAX_PORT}") from None
            raise LipcoachError(None, f"cannot listen on {host} port {port}: {error.strerror or error}") from None


def prepare(data_dir: str | os.PathLike, host: str = "127.0.0.1", port: int = 8765, *, demo: bool = False,
            token: Optional[str] = None, render_quality: str = "high", https: bool = False) -> tuple[FastAPI, str]:
    """The app :func:`serve` runs and the URL it prints (with the token when one is needed).

    With ``https`` and every interface bound, the URL names this machine's address on the local
    network (what a phone types).
    """
    if not is_loopback(host) and not token:
        token = secrets.token_urlsafe(24)
    app = create_app(data_dir, token=token, render_quality=render_quality)
    if demo:
        from lipcoach.production.demo import add_demo_number

        add_demo_number(app.state.catalogue)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if https and host in ("0.0.0.0", "::", ""):
        from lipcoach.web.tls import local_addresses

        shown = (local_addresses() or ["127.0.0.1"])[0]
    shown = f"[{shown}]" if ":" in shown else shown
    url = f"{'https' if https else 'http'}://{shown}:{port}/" + (f"?token={token}" if token else "")
    return app, url
