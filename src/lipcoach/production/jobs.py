"""Background jobs with progress: vocal stems, song analysis, Rubber Band renders, take scoring.

Jobs live in the catalogue's ``jobs`` table, so their state survives a restart. One worker
thread runs them in order (the machine has few cores and each job uses them fully). At
start-up a job found "running" was cut off by the restart: it is queued again (every job
writes its output atomically and is safe to redo) until it has been tried
:data:`MAX_ATTEMPTS` times, then marked failed. No job is ever left "running".
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
import traceback
from typing import Callable, Optional

from sqlalchemy import case, select

from lipcoach.errors import LipcoachError
from lipcoach.production.catalogue import Catalogue, Job, Song, SongMapVersion, StaleMap, Take, utcnow

log = logging.getLogger("lipcoach.jobs")

#: A job cut off by this many restarts is given up.
MAX_ATTEMPTS = 2
#: Progress is written at most this often, seconds (the page polls it).
_PROGRESS_EVERY_S = 0.3

Handler = Callable[[Catalogue, dict, Callable[[float, str], None]], dict]


def recover(cat: Catalogue) -> list[int]:
    """Requeue or fail the jobs a restart cut off; returns the ids that were running."""
    with cat.session() as s:
        stuck = list(s.scalars(select(Job).where(Job.state == "running")))
        for job in stuck:
            if job.attempts >= MAX_ATTEMPTS:
                job.state, job.error = "failed", f"interrupted by a restart {job.attempts} times; giving up"
                job.label = "failed"
            else:
                job.state, job.label, job.progress = "queued", "resumed after a restart", 0.0
            job.updated_at = utcnow()
        s.commit()
        return [j.id for j in stuck]


def submit(cat: Catalogue, kind: str, params: dict, *, key: str = "", supersedes: str = "") -> Job:
    """Queue a job, or return the queued/running/done one with the same ``key``.

    Queued jobs whose key starts with ``supersedes`` (and is not ``key``) are dropped: the
    actor moved the speed slider on before their render began.
    """
    with cat.session() as s:
        if key:
            same = s.scalar(select(Job).where(Job.key == key, Job.state.in_(("queued", "running", "done"))).order_by(Job.id.desc()).limit(1))
            if same is not None:
                return same
        if supersedes:
            for old in s.scalars(select(Job).where(Job.state == "queued", Job.key.startswith(supersedes), Job.key != key)):
                old.state, old.label, old.error, old.updated_at = "failed", "superseded", "superseded by a newer request", utcnow()
        job = Job(kind=kind, key=key, params=json.dumps(params))
        s.add(job)
        s.commit()
        return job


class JobRunner:
    """Runs queued jobs in one daemon thread.

    Parameters
    ----------
    cat : Catalogue
    handlers : dict kind -> handler(cat, params, report) -> result dict
    """

    def __init__(self, cat: Catalogue, handlers: Optional[dict[str, Handler]] = None):
        self.cat = cat
        self.handlers = dict(HANDLERS if handlers is None else handlers)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        recover(self.cat)
        self._thread = threading.Thread(target=self._loop, name="lipcoach-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def poke(self) -> None:
        """Wake the worker (a job was just queued)."""
        self._wake.set()

    def submit(self, kind: str, params: dict, *, key: str = "", supersedes: str = "") -> Job:
        job = submit(self.cat, kind, params, key=key, supersedes=supersedes)
        self.poke()
        return job

    def run_pending(self) -> int:
        """Run queued jobs in this thread until none is left (tests); returns how many ran."""
        n = 0
        while self._run_one():
            n += 1
        return n

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self._run_one()
            except Exception:  # a bug in the runner itself must not kill the thread
                log.exception("job runner")
                ran = False
            if not ran:
                self._wake.wait(1.0)
                self._wake.clear()

    def _run_one(self) -> bool:
        with self.cat.session() as s:
            # An actor waiting for a take's score comes first, then a loop's render (seconds), then
            # song maps, then whole-song renders.
            # A song's stem job is queued just before its analysis, which then reuses the stem.
            priority = case((Job.kind == "score", 0), (Job.key.startswith("renderpart:"), 1), (Job.kind.in_(("analyze", "stem")), 2), else_=3)
            job = s.scalar(select(Job).where(Job.state == "queued").order_by(priority, Job.id).limit(1))
            if job is None:
                return False
            job.state, job.attempts, job.progress, job.updated_at = "running", job.attempts + 1, 0.0, utcnow()
            s.commit()
            job_id, kind, params = job.id, job.kind, json.loads(job.params or "{}")
        last = [0.0]

        def report(fraction: float, label: str) -> None:
            now = time.monotonic()
            if now - last[0] < _PROGRESS_EVERY_S and fraction < 1.0:
                return
            last[0] = now
            with self.cat.session() as s2:
                j = s2.get(Job, job_id)
                j.progress, j.label, j.updated_at = float(min(max(fraction, 0.0), 1.0)), label[:200], utcnow()
                s2.commit()

        state, result, error = "done", {}, ""
        try:
            handler = self.handlers.get(kind)
            if handler is None:
                raise LipcoachError(None, f"unknown job kind {kind!r}")
            result = handler(self.cat, params, report) or {}
        except LipcoachError as exc:
            state, error = "failed", user_message(self.cat, str(exc))
        except Exception as exc:  # shown to the user as one line; the traceback goes to the log
            log.error("job %s (%s) failed:\n%s", job_id, kind, traceback.format_exc())
            state, error = "failed", user_message(self.cat, f"{type(exc).__name__}: {exc}")[:500]
        with self.cat.session() as s:
            j = s.get(Job, job_id)
            j.state, j.result, j.error, j.updated_at = state, json.dumps(result), error, utcnow()
            j.progress, j.label = (1.0, "done") if state == "done" else (j.progress, "failed")
            s.commit()
        return True


def user_message(cat: Catalogue, text: str) -> str:
    """``text`` with every stored file's server path replaced by the name the user knows it by.

    A song is named by the file name it was uploaded as, a take as "the take", anything else
    by its area ("a song map"); no server path or generated name reaches the page.
    """
    import re

    def name(match: re.Match) -> str:
        area, stored = match.group(1), match.group(2)
        with cat.session() as s:
            song = s.scalar(select(Song).where((Song.audio_file == stored) | (Song.stem_file == stored) | (Song.lyrics_file == stored)))
            if song is not None:
                if stored == song.audio_file and song.audio_label:
                    return song.audio_label
                return {song.stem_file: "the vocal stem", song.lyrics_file: "the lyrics"}.get(stored, "the song")
            if s.scalar(select(Take.id).where(Take.file == stored)) is not None:
                return "the take"
        return {"maps": "a song map", "reports": "a take report", "renders": "a render"}.get(area, "a stored file")

    return re.sub(re.escape(str(cat.root)) + r"/(\w+)/([^\s:'\"]+)", name, text).replace(str(cat.root), "the studio folder")


# -- job kinds -------------------------------------------------------------------------------


def _song_of(s, params: dict) -> Song:
    """The stored song a job is for (``params["song_id"]``); one line when it was deleted since."""
    song = s.get(Song, int(params["song_id"]))
    if song is None:
        raise LipcoachError(None, f"song {params['song_id']} no longer exists")
    return song


def analyze_job(cat: Catalogue, params: dict, report) -> dict:
    """Map a stored song (with its lyrics and stem) into a new song map version."""
    from lipcoach.song.analyze import analyze_song

    with cat.session() as s:
        song = _song_of(s, params)
        audio = cat.path("files", song.audio_file)
        lyrics = cat.path("files", song.lyrics_file) if song.lyrics_file else None
        stem = cat.path("files", song.stem_file) if song.stem_file else None
        language = song.language
        latest = cat.latest_map(s, song.id)
        base_version = 0 if latest is None else latest.version
    songmap = analyze_song(audio, lyrics_path=lyrics, vocals_path=stem, language=language, report=report)
    with cat.session() as s:
        try:
            # A person's edit saved while the analysis ran stays the current map.
            row = cat.add_map_version(s, int(params["song_id"]), songmap, origin="analysis", base_version=base_version)
        except StaleMap as exc:
            raise LipcoachError(None, f"the song map was edited while this analysis ran (now version {exc.latest_version}); "
                                      "the edit is kept: analyse again to replace it") from None
        s.commit()
        return {"songmap_version_id": row.id, "version": row.version}


def song_part_path(cat: Catalogue, song: Song, part: str):
    """The file of a song's part, or None when it does not exist (yet).

    ``"mix"``: the song; ``"stem"``: the vocal stem the user gave, else the one separated by
    the song's stem job; ``"band"``: the mix minus the separated vocal stem (the practice
    page's balance plays it beside the stem). Separated parts live in the user's cache by the
    song's content hash (:mod:`lipcoach.media.stems`).
    """
    from lipcoach.media import stems

    if part == "mix":
        return cat.path("files", song.audio_file)
    if part == "stem" and song.stem_file:
        return cat.path("files", song.stem_file)
    if part not in ("stem", "band"):
        return None
    audio = cat.path("files", song.audio_file)
    try:
        sha = stems.song_sha256(audio)
    except OSError:
        return None
    path = stems.cached_stem_path(sha) if part == "stem" else stems.cached_band_path(sha)
    return path if path.is_file() else None


def stem_status(cat: Catalogue, session, song: Song) -> dict:
    """Where the song's separated stem stands: ``{"state": "ready"|"queued"|"running"|"failed"|"none", ...}``.

    "ready" when both the vocal stem and the band are there; otherwise the latest stem job's
    state, progress and label (and its id, for the page to follow).
    """
    if song_part_path(cat, song, "band") is not None and song_part_path(cat, song, "stem") is not None:
        return {"state": "ready"}
    job = session.scalar(select(Job).where(Job.kind == "stem", Job.key.like(f"stem:{song.id}:%")).order_by(Job.id.desc()).limit(1))
    if job is None or job.state == "done":  # never asked, or its files were removed since
        return {"state": "none"}
    return {"state": job.state, "progress": job.progress, "label": job.label, "error": job.error, "job": job.to_dict()}


def request_stem(cat: Catalogue, song_id: int, *, submit_job: Optional[Callable[..., Job]] = None) -> Job:
    """Queue the song's stem job (or return the queued or running one)."""
    submit_job = submit_job or functools.partial(submit, cat)
    with cat.session() as s:
        pending = s.scalar(select(Job).where(Job.kind == "stem", Job.key.like(f"stem:{song_id}:%"),
                                             Job.state.in_(("queued", "running"))).order_by(Job.id.desc()).limit(1))
        if pending is not None:
            return pending
    return submit_job("stem", {"song_id": song_id}, key=f"stem:{song_id}:{time.time_ns()}")


def stem_job(cat: Catalogue, params: dict, report) -> dict:
    """Separate a stored song's vocal stem and band once (Spleeter's network; cached by content hash)."""
    from lipcoach.media import stems

    with cat.session() as s:
        song = _song_of(s, params)
        audio = cat.path("files", song.audio_file)
    stems.vocal_stem(audio, report=lambda f, label: report(0.9 * f, label))
    stems.band_stem(audio, report=lambda f, label: report(0.9 + 0.1 * f, label))
    return {"stem": "ready"}


def request_render(cat: Catalogue, *, song_id: int, part: str, speed_pct: int, quality: str,
                   region_ms: Optional[tuple[int, int]] = None, submit_job: Optional[Callable[..., Job]] = None) -> tuple[str, Optional[Job]]:
    """Queue (or find) the render of a song part at a speed; returns ``(state, job)``.

    The protocol the page relies on: an identical request is never queued twice (the job
    key names song, part, speed, quality and region); a newer request of the same song and
    part drops the queued ones it supersedes (the actor moved the slider on), loop renders
    and whole-song renders separately; a render whose cached file was removed by hand is
    made again. ``state`` is "done" when the file is already there (``job`` is then None).

    Parameters
    ----------
    submit_job : callable, optional
        :meth:`JobRunner.submit` (wakes the worker); :func:`submit` on ``cat`` when None.
    """
    submit_job = submit_job or functools.partial(submit, cat)
    name = render_name(song_id, part, speed_pct, quality, region_ms)
    if cat.path("renders", name).exists():
        return "done", None
    params = {"song_id": song_id, "part": part, "speed_pct": speed_pct, "quality": quality}
    if region_ms:
        params.update(start_ms=region_ms[0], end_ms=region_ms[1])
        key = f"renderpart:{song_id}:{part}:{speed_pct}:{quality}:{region_ms[0]}-{region_ms[1]}"
        supersedes = f"renderpart:{song_id}:{part}:"
    else:
        key, supersedes = f"render:{song_id}:{part}:{speed_pct}:{quality}", f"render:{song_id}:{part}:"
    job = submit_job("render", params, key=key, supersedes=supersedes)
    if job.state == "done" and not cat.path("renders", name).exists():  # cache file removed by hand: redo
        job = submit_job("render", params, key=f"{key}:{time.time_ns()}")
    return job.state, job


def render_name(song_id: int, part: str, speed_pct: int, quality: str = "high", region_ms: Optional[tuple[int, int]] = None) -> str:
    """File name of a render; ``region_ms`` = (start, end) in ms of the song for a loop's render."""
    region = f"-{region_ms[0]}-{region_ms[1]}" if region_ms else ""
    return f"song{song_id}-{part}-{speed_pct:03d}-{quality}{region}.wav"


def render_job(cat: Catalogue, params: dict, report) -> dict:
    """Rubber Band render of a song (``part`` "mix"), its vocal stem ("stem") or its band ("band") at a speed.

    With ``start_ms``/``end_ms`` only that part of the song is rendered: a loop's render is
    ready in a few seconds, long before the whole song's.
    """
    from lipcoach.media.decode import load_audio, playback_sr, probe
    from lipcoach.media.stretch import time_stretch
    from lipcoach.practice import write_audio

    song_id, part, pct = int(params["song_id"]), params.get("part", "mix"), int(params["speed_pct"])
    quality = params.get("quality", "high")
    with cat.session() as s:
        song = s.get(Song, song_id)
        if song is None:
            raise LipcoachError(None, f"song {song_id} no longer exists")
        src = song_part_path(cat, song, part)
    if src is None:
        raise LipcoachError(None, f"song {song_id} has no {part} yet")
    sr = playback_sr(probe(src).audio_rate)
    report(0.02, "decoding")
    audio, sr = load_audio(src, sr=sr, mono=False)
    region = (int(params["start_ms"]), int(params["end_ms"])) if params.get("end_ms") else None
    if region:
        audio = audio[:, int(region[0] * sr / 1000) : int(region[1] * sr / 1000)]
    out = time_stretch(audio, sr=sr, speed=pct / 100.0, quality=quality, report=lambda f, _label: report(0.05 + 0.85 * f, "rendering"))
    report(0.92, "writing")
    name = render_name(song_id, part, pct, quality, region)
    write_audio(cat.path("renders", name), out, sr=sr)
    return {"file": name}


def score_job(cat: Catalogue, params: dict, report) -> dict:
    """Score a stored take against the song map version it was recorded with."""
    from lipcoach.song.edit import time_scaled
    from lipcoach.song.songmap import SongMap
    from lipcoach.production.catalogue import Performer
    from lipcoach.take.performers import line_performers
    from lipcoach.take.score import score

    take_id = int(params["take_id"])
    with cat.session() as s:
        take = s.get(Take, take_id)
        if take is None:
            raise LipcoachError(None, f"take {take_id} no longer exists")
        smv = s.get(SongMapVersion, take.songmap_version_id)
        take_path = cat.path("files", take.file)
        map_path = cat.path("maps", smv.file)
        speed, song_start_s = take.speed, take.song_start_s
        found = s.get(Performer, take.performer_id) if take.performer_id is not None else None
        performer = found.name if found is not None else None
    songmap = time_scaled(SongMap.load(map_path), speed)
    named = {p for names in (line_performers(songmap) or []) for p in names}
    if named and performer not in named:
        performer = None  # a name the number's lines do not use: the faces say who it is
    start = None if song_start_s is None else song_start_s / speed
    # The studio knows who recorded the take: in a number with several performers, it says whose lines it covers.
    result = score(take_path, songmap, song_start_s=start, report=report, performers=[performer] if performer else None)
    doc = result.to_dict()
    with cat.session() as s:
        cat.save_report(s, take_id, doc)
        s.commit()
    return {"take_id": take_id, "score": doc["score"], "verdict": doc.get("verdict")}


HANDLERS: dict[str, Handler] = {"analyze": analyze_job, "render": render_job, "score": score_job, "stem": stem_job}
