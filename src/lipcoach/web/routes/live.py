"""Live coaching over a WebSocket: camera frames in, per-word cues out (the rules live in :mod:`lipcoach.take.live`).

``/api/songs/{song_id}/live`` speaks a small protocol:

client → server
    binary: ``<uint32 frame id><float64 song time s>`` (little-endian, 12 bytes) then one JPEG frame;
    text ``{"type": "pass", "speed": 0.75}``: a new pass begins (play, a loop's next pass, a seek);
    text ``{"type": "end"}``: the pass is over, send its summary;
    text ``{"type": "keep", "performer": ""}``: keep the last ended pass as a take and score it in full.
server → client
    ``{"type": "frame", "id", "t_s", "face", "opening", "closed", "cues": [...], "cpu_ms", "server_ms"}`` per frame;
    ``{"type": "summary", ...}`` (:meth:`LivePass.summary`), ``{"type": "kept", "take_id", "job"}``,
    ``{"type": "error", "error": one line}``.

Who may connect is checked as for every other request (loopback or the token) and, since a
browser lets any site open a WebSocket, the ``Origin`` must be this studio's own.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from lipcoach.errors import LipcoachError
from lipcoach.production.catalogue import Take
from lipcoach.web.access import TOKEN_COOKIE, host_name, is_loopback

router = APIRouter(tags=["live"])

_HEADER = struct.Struct("<Id")


def _allowed(ws: WebSocket) -> Optional[str]:
    """None when this WebSocket may open, else why not (one line)."""
    host = ws.headers.get("host") or ""
    token = ws.app.state.token
    if token is None:
        if not is_loopback(host_name(host)):
            return "this studio only answers on 127.0.0.1 / localhost"
    else:
        given = ws.query_params.get("token") or ws.cookies.get(TOKEN_COOKIE) or ""
        if not secrets.compare_digest(given.encode(), token.encode()):
            return "missing or wrong token"
    origin = ws.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1].rstrip("/") != host:
        return "live coaching only opens from this studio's own pages"
    return None


class _Session:
    """One camera session: the song's map, Face Mesh, the pass under way and the last one ended."""

    def __init__(self, studio, song_id: int):
        self.studio = studio
        self.song_id = song_id
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lipcoach-live")
        # A pass's full scoring runs beside the frames of the next pass (a loop goes straight on).
        self.scorer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lipcoach-live-score")
        self.songmap = None
        self.smv_id = None
        self.reader = None
        self.current = None
        self.ended = None
        self.speed = 1.0
        self.signals: dict = {}

    # Everything below runs in the worker thread, one call at a time (Face Mesh is not thread-safe).
    def open(self) -> None:
        from lipcoach.take.live import FaceReader

        cat = self.studio.cat
        with cat.session() as s:
            smv = cat.latest_map(s, self.song_id)
            if smv is None:
                raise LipcoachError(None, "this song has no song map yet; wait for the analysis")
            self.smv_id = smv.id
            self.songmap = cat.load_map(smv)
        self.reader = FaceReader()

    def new_pass(self, speed: float):
        from lipcoach.take.live import LivePass
        from lipcoach.production import storage

        self._drop(self.current)
        self.speed = speed
        cat = self.studio.cat
        video = storage.scratch_path(cat.root, ".mov")
        pass_ = LivePass(self.songmap, speed=speed, reader=self.reader, video_path=video,
                         signals=self.signals.get(speed))
        self.signals[speed] = pass_.sig  # the song side of a speed is worked out once per session
        self.current = pass_
        return pass_

    def frame(self, frame_id: int, song_t: float, jpeg: bytes) -> dict:
        from lipcoach.take.live import new_pass_needed

        cpu0 = time.process_time()
        if new_pass_needed(self.current, song_t):
            self.new_pass(self.speed)
        out = self.current.add_jpeg(song_t, jpeg)
        # CPU the studio process spent on this frame (decode, Face Mesh and its threads, judging), ms: unlike wall time, not
        # inflated by other programs on a shared machine.
        return {"type": "frame", "id": frame_id, **out, "cpu_ms": round(1000 * (time.process_time() - cpu0), 1)}

    def end(self):
        """Close the pass under way; it becomes the one "keep" keeps. None when it had no frame."""
        if self.current is None or not self.current.frames.t_s:
            return None
        pass_, self.current = self.current, None
        pass_.close_video()
        self._drop(self.ended)
        self.ended = pass_
        return pass_

    def keep(self, performer: str) -> dict:
        from lipcoach.production import storage

        pass_ = self.ended
        if pass_ is None or pass_.video_path is None or not pass_.video_path.exists():
            raise LipcoachError(None, "no ended pass to keep: play a pass with the camera on first")
        cat = self.studio.cat
        name = storage.keep_file(pass_.video_path, cat.root, ".mov")
        self.ended = None
        with cat.session() as s:
            take = Take(song_id=self.song_id, songmap_version_id=self.smv_id, file=name, speed=pass_.speed,
                        song_start_s=pass_.song_start_s)
            p = cat.performer(s, performer)
            take.performer_id = p.id if p else None
            s.add(take)
            s.commit()
            take_id = take.id
        job = self.studio.runner.submit("score", {"take_id": take_id}, key=f"score:{take_id}")
        return {"type": "kept", "take_id": take_id, "job": job.to_dict()}

    def _drop(self, pass_) -> None:
        if pass_ is not None:
            pass_.discard()

    def close(self) -> None:
        self._drop(self.current)
        self._drop(self.ended)
        if self.reader is not None:
            self.reader.close()


@router.websocket("/api/songs/{song_id}/live")
async def live(ws: WebSocket, song_id: int) -> None:
    why = _allowed(ws)
    if why is not None:
        await ws.close(code=1008, reason=why)
        return
    await ws.accept()
    session = _Session(ws.app.state.studio, song_id)
    loop = asyncio.get_running_loop()

    def run(fn, *args):
        return loop.run_in_executor(session.worker, fn, *args)

    sending = asyncio.Lock()

    async def send(doc: dict) -> None:
        async with sending:
            await ws.send_json(doc)

    async def summarise(pass_) -> None:
        try:
            doc = await loop.run_in_executor(session.scorer, pass_.summary)
            await send({"type": "summary", **doc})
        except Exception:  # the socket closed meanwhile
            pass

    scoring: set = set()

    try:
        try:
            await run(session.open)
        except LipcoachError as exc:
            await ws.send_json({"type": "error", "error": exc.problem})
            await ws.close()
            return
        await ws.send_json({"type": "ready"})
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                break
            try:
                if msg.get("bytes") is not None:
                    data = msg["bytes"]
                    if len(data) <= _HEADER.size:
                        raise LipcoachError(None, "a camera frame message is too short")
                    frame_id, song_t = _HEADER.unpack_from(data)
                    t0 = loop.time()
                    out = await run(session.frame, frame_id, song_t, data[_HEADER.size:])
                    out["server_ms"] = round(1000 * (loop.time() - t0), 1)
                    await send(out)
                    continue
                try:
                    cmd = json.loads(msg.get("text") or "")
                except ValueError:
                    raise LipcoachError(None, "a live message is not JSON") from None
                kind = cmd.get("type") if isinstance(cmd, dict) else None
                if kind == "pass":
                    speed = cmd.get("speed", 1.0)
                    if not isinstance(speed, (int, float)) or not 0.25 <= speed <= 1.0:
                        raise LipcoachError(None, "speed must be a number from 0.25 to 1")
                    await run(session.new_pass, float(speed))
                elif kind == "end":
                    ended = await run(session.end)
                    if ended is None:
                        await send({"type": "summary", "frames": 0, "error": "no camera frames in this pass", "report": None})
                    else:
                        task = asyncio.create_task(summarise(ended))
                        scoring.add(task)
                        task.add_done_callback(scoring.discard)
                elif kind == "keep":
                    performer = cmd.get("performer") or ""
                    await send(await run(session.keep, str(performer)[:200]))
                else:
                    raise LipcoachError(None, f"unknown live message type {kind!r}")
            except LipcoachError as exc:
                await send({"type": "error", "error": exc.problem})
    except WebSocketDisconnect:
        pass
    finally:
        for task in list(scoring):
            await asyncio.wait([task], timeout=30)
        await run(session.close)
        session.worker.shutdown(wait=False)
        session.scorer.shutdown(wait=False)
