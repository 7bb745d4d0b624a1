"""Dailies: every take of a shoot day scored against its number, on all cores or on a Dask cluster.

A take is known by the SHA-256 of its content, so a take already scored against the
number's current song map is skipped when the folder is run again (renamed or copied files
included). The scoring itself (:func:`score_one`) is a pure function of the take file, the
map file and the song audio: it runs in worker processes (``concurrent.futures``) or on Dask
workers and returns the report; only this process writes to the catalogue, one row per take
as its result arrives, inside a unique ``(number, content)`` key, so a take whose worker died
and was retried is stored once and never lost:

- processes: a worker that dies breaks the pool; the takes still pending are given to a new
  pool (each take at most :data:`MAX_ATTEMPTS` times);
- Dask: the scheduler re-runs a task whose worker died on another worker (Dask's own
  ``allowed-failures``), and each task also has ``retries``.

A take still being copied into the folder (:func:`arriving_takes`) is left for the next run;
a file scored again with other content updates its row (:func:`store_result`), never adds a
second one. Worker processes end when this process dies, even by ``kill -9``
(:func:`die_with_parent`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Callable, Optional

from lipcoach.errors import LipcoachError
from lipcoach.fileio import file_sha256
from lipcoach.progress import ProgressCallback, silent

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".m4v", ".mxf"}
#: A take is tried at most this many times when its worker process dies under it.
MAX_ATTEMPTS = 3
#: A take changed less than this long ago is looked at again after this long: a copy still
#: running changes its size or time meanwhile, and is left for the next run, s.
SETTLE_S = 2.0
#: A take whose container cannot be read and that changed less than this long ago is taken
#: to be still arriving (a copy, a camera card being offloaded), not broken, s.
ARRIVING_S = 120.0


@dataclasses.dataclass
class DailiesSummary:
    scored: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)  #: (file name, problem)
    arriving: list[tuple[str, str]] = dataclasses.field(default_factory=list)  #: (file name, why): still being copied, not scored
    rows: list[dict] = dataclasses.field(default_factory=list)  #: every take of the folder now in the catalogue
    attempts: dict[str, int] = dataclasses.field(default_factory=dict)  #: file name → times handed to a worker


@dataclasses.dataclass(frozen=True)
class TakeJob:
    path: str
    sha256: str
    map_path: str
    song_audio: str


def find_takes(folder: str | os.PathLike) -> list[Path]:
    """The video files directly in ``folder``, by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LipcoachError(folder, "no such folder")
    takes = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith("."))
    if not takes:
        raise LipcoachError(folder, f"holds no takes ({', '.join(sorted(VIDEO_SUFFIXES))})")
    return takes


def _signature(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def arriving_takes(paths: list[Path], *, settle_s: float = SETTLE_S, arriving_s: float = ARRIVING_S,
                   sleep: Optional[Callable[[float], None]] = None) -> dict[Path, str]:
    """The takes of ``paths`` that look still being copied, each with why (one line); complete takes are left out.

    A take whose size or modification time changes within ``settle_s`` seconds is still being
    written (one wait covers the whole folder, and only when a take changed that recently);
    so is one whose container cannot be read yet (an MP4's index is written last) when it
    changed within ``arriving_s`` seconds. An older unreadable take is broken, not arriving:
    it fails when scored, naming the problem.
    """
    import time

    from lipcoach.media.decode import probe

    sleep = sleep or time.sleep
    before = {p: _signature(p) for p in paths}
    youngest_s = min((time.time() - sig[1] / 1e9 for sig in before.values()), default=settle_s)
    if youngest_s < settle_s:
        sleep(settle_s - max(0.0, youngest_s))
    arriving: dict[Path, str] = {}
    for p in paths:
        if _signature(p) != before[p]:
            arriving[p] = "still being copied (its size is changing); run dailies again when the copy has finished"
            continue
        try:
            probe(p)
        except Exception as exc:  # LipcoachError, or whatever a truncated container makes the reader raise
            if time.time() - before[p][1] / 1e9 < arriving_s:
                problem = getattr(exc, "problem", None) or type(exc).__name__
                arriving[p] = (f"still being copied (its container cannot be read yet: {problem}); "
                               "run dailies again when the copy has finished")
    return arriving


def score_one(job: TakeJob) -> dict:
    """Score one take (in a worker): ``{"doc": report}`` or ``{"error": one line}``.

    :func:`lipcoach.take.score.score`, as ``lipcoach score`` and the studio: a duet or group
    number (several performers in its map) is judged performer by performer, each on their
    own lines (:mod:`lipcoach.take.performers`).
    """
    from lipcoach.song.songmap import SongMap
    from lipcoach.take.score import score

    try:
        songmap = SongMap.load(job.map_path)
        return {"doc": score(job.path, songmap, song_audio=job.song_audio).doc}
    except LipcoachError as exc:
        return {"error": exc.problem if exc.path == job.path else str(exc)}


def _number_song(cat, ref: str):
    """(number_id, song map version row, map path, song audio path) of a built number."""
    from sqlalchemy import select

    from lipcoach.production.catalogue import Song
    from lipcoach.production.season import find_number

    with cat.session() as s:
        row = find_number(cat, s, ref)
        song = s.scalar(select(Song).where(Song.number_id == row.number_id).order_by(Song.id.desc()).limit(1))
        version = cat.latest_map(s, song.id) if song is not None else None
        if version is None:
            raise LipcoachError(None, f"number {row.slug!r} has no track yet; run `lipcoach number build {row.slug}` first")
        return row.number_id, version, cat.path("maps", version.file), cat.path("files", song.audio_file)


def store_result(cat, number_id: int, version_id: int, job: TakeJob, doc: dict) -> Optional[int]:
    """Store a take's report (file, then row); returns the row id, or None when it was stored already."""
    from sqlalchemy import select

    from lipcoach.fileio import write_json_atomic
    from lipcoach.production.catalogue import storing
    from lipcoach.production.storage import note_stored
    from lipcoach.production.tables import DailyTake
    from lipcoach.take.report_json import validate_report

    with storing(cat), cat.session() as s:
        row = s.scalar(select(DailyTake).where(DailyTake.number_id == number_id, DailyTake.sha256 == job.sha256))
        if row is not None and row.songmap_version_id == version_id and cat.path("reports", row.report_file).is_file():
            return None  # a retried take that finished twice: counted once
        name = f"daily-n{number_id}-v{version_id}-{job.sha256[:16]}.json"
        validate_report(doc, source=job.path)
        write_json_atomic(cat.path("reports", name), doc)
        note_stored("reports", name)
        # The same file scored before with other content (scored while it was still being copied,
        # or replaced by a new take of that name): its row is this take's, updated, never a second row.
        same_path = list(s.scalars(select(DailyTake).where(DailyTake.number_id == number_id, DailyTake.source_path == job.path,
                                                           DailyTake.sha256 != job.sha256).order_by(DailyTake.id)))
        if row is None and same_path:
            row = same_path.pop(0)
            row.sha256 = job.sha256
        if row is None:
            row = DailyTake(number_id=number_id, sha256=job.sha256)
            s.add(row)
        line_scores = {str(ln["index"]): ln["score"] for ln in doc.get("lines", []) if ln.get("score") is not None}
        row.source_path, row.name, row.songmap_version_id, row.report_file = job.path, Path(job.path).name, version_id, name
        row.score, row.verdict = float(doc["score"]), doc["verdict"]
        row.song_start_s, row.duration_s = float(doc["placement"]["song_start_s"]), float(doc["take"]["duration_s"])
        row.fps, row.line_scores = float(doc["take"].get("fps") or 25.0), json.dumps(line_scores)
        s.flush()
        for stale in same_path:
            _merge_into(s, stale, row)
        s.commit()
        return row.id


def _merge_into(s, stale, row) -> None:
    """Remove ``stale`` (a take row whose file now holds ``row``'s content); the editor's pins follow to ``row``."""
    from sqlalchemy import update

    from lipcoach.production.tables import LinePin

    s.execute(update(LinePin).where(LinePin.take_id == stale.id).values(take_id=row.id))
    s.delete(stale)


def _follow_moved_takes(cat, number_id: int, current: dict[str, str]) -> None:
    """Rows of takes found under another name than the one recorded (renamed, moved) take the new name.

    ``current`` maps each take path of the folder to its content's SHA-256. A row whose
    recorded path no longer holds its content (another take of this folder is there now, or
    the file is gone) is pointed at a path that does, so a new take written under the old
    name is a new take, not a rescore of the moved one. A take recorded in another folder
    that is still there keeps its path.
    """
    from sqlalchemy import select

    from lipcoach.production.tables import DailyTake

    by_sha: dict[str, str] = {}
    for path, sha in current.items():
        by_sha.setdefault(sha, path)
    with cat.session() as s:
        for row in s.scalars(select(DailyTake).where(DailyTake.number_id == number_id, DailyTake.sha256.in_(list(by_sha)))):
            recorded = current.get(row.source_path)
            if (recorded is not None and recorded != row.sha256) or (recorded is None and not Path(row.source_path).exists()):
                row.source_path, row.name = by_sha[row.sha256], Path(by_sha[row.sha256]).name
        s.commit()


def run_dailies(cat, folder: str | os.PathLike, ref: str, *, workers: Optional[int] = None, dask_address: Optional[str] = None,
                report: Optional[ProgressCallback] = None, score_fn: Callable[[TakeJob], dict] = score_one) -> DailiesSummary:
    """Score every take in ``folder`` against number ``ref`` and store the reports (see module docstring).

    Parameters
    ----------
    workers : int, optional
        Processes (default: all cores); 1 scores in this process. Ignored with ``dask_address``.
    dask_address : str, optional
        A Dask scheduler such as ``tcp://127.0.0.1:8786``.
    score_fn : callable
        The per-take work (tests pass a version that kills its worker once).
    """
    from sqlalchemy import select

    from lipcoach.production.tables import DailyTake

    report = report or silent
    number_id, version, map_path, song_audio = _number_song(cat, ref)
    takes = find_takes(folder)
    summary = DailiesSummary()
    jobs: list[TakeJob] = []
    report(0.0, "hashing takes")
    with cat.session() as s:
        # A row whose report file is gone (removed by hand, or set aside by an older studio) is scored again.
        done = {(r.sha256, r.songmap_version_id) for r in s.scalars(select(DailyTake).where(DailyTake.number_id == number_id))
                if cat.path("reports", r.report_file).is_file()}
    seen: set[str] = set()
    current: dict[str, str] = {}
    arriving = arriving_takes(takes)
    for path in takes:
        why = arriving.get(path)
        before = _signature(path)
        sha = file_sha256(path)
        if why is None and _signature(path) != before:
            why = "still being copied (it changed while it was read); run dailies again when the copy has finished"
        if why is not None:
            summary.arriving.append((path.name, why))
            continue
        current[str(path.resolve())] = sha
        if (sha, version.id) in done or sha in seen:
            summary.skipped += 1
        else:
            jobs.append(TakeJob(path=str(path.resolve()), sha256=sha, map_path=str(map_path), song_audio=str(song_audio)))
        seen.add(sha)
    _follow_moved_takes(cat, number_id, current)

    def finished(job: TakeJob, outcome: dict) -> None:
        if "error" in outcome:
            summary.failed.append((Path(job.path).name, outcome["error"]))
        elif store_result(cat, number_id, version.id, job, outcome["doc"]) is not None:
            summary.scored += 1
        n_done = summary.scored + len(summary.failed)
        report(n_done / max(1, len(jobs)), f"{n_done}/{len(jobs)} takes")

    if jobs:
        if dask_address:
            _run_dask(jobs, dask_address, score_fn, finished, summary)
        else:
            n_workers = max(1, workers or os.cpu_count() or 1)
            if n_workers == 1:
                for job in jobs:
                    summary.attempts[Path(job.path).name] = 1
                    try:
                        outcome = score_fn(job)
                    except Exception as exc:  # a bug in scoring: report it on this take, keep the rest going
                        outcome = {"error": f"internal error: {type(exc).__name__}: {exc}"}
                    finished(job, outcome)
            else:
                _run_processes(jobs, n_workers, score_fn, finished, summary)
    with cat.session() as s:
        for row in s.scalars(select(DailyTake).where(DailyTake.number_id == number_id, DailyTake.sha256.in_(seen))
                             .order_by(DailyTake.score.desc())):
            summary.rows.append({"id": row.id, "name": row.name, "score": row.score, "verdict": row.verdict,
                                 "song_start_s": row.song_start_s})
    report(1.0, "done")
    return summary


def _run_processes(jobs, n_workers, score_fn, finished, summary) -> None:
    import concurrent.futures as cf
    import multiprocessing

    pending = list(jobs)
    while pending:
        # spawn: MediaPipe and BLAS threads do not survive fork() safely.
        with cf.ProcessPoolExecutor(max_workers=min(n_workers, len(pending)), mp_context=multiprocessing.get_context("spawn"),
                                    initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
            futures = {}
            for job in pending:
                name = Path(job.path).name
                summary.attempts[name] = summary.attempts.get(name, 0) + 1
                futures[pool.submit(score_fn, job)] = job
            retry = []
            for future in cf.as_completed(futures):
                job = futures[future]
                try:
                    outcome = future.result()
                except cf.process.BrokenProcessPool:
                    # A worker died (killed, out of memory): every take it may have held goes again.
                    if summary.attempts[Path(job.path).name] >= MAX_ATTEMPTS:
                        outcome = {"error": f"its worker process died {MAX_ATTEMPTS} times"}
                    else:
                        retry.append(job)
                        continue
                except Exception as exc:  # a bug in scoring: report it on this take, keep the rest going
                    outcome = {"error": f"internal error: {type(exc).__name__}: {exc}"}
                finished(job, outcome)
        pending = retry


def _run_dask(jobs, address, score_fn, finished, summary) -> None:
    from distributed import Client, as_completed

    try:
        client = Client(address, timeout="10s")
    except OSError as exc:
        raise LipcoachError(None, f"cannot reach the Dask scheduler at {address} ({exc})") from None
    try:
        futures = {}
        for job in jobs:
            summary.attempts[Path(job.path).name] = 1
            futures[client.submit(score_fn, job, key=f"lipcoach-take-{job.sha256[:16]}-{os.getpid()}", pure=False, retries=2)] = job
        for future in as_completed(futures):
            job = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # KilledWorker after Dask's own retries, or a bug
                outcome = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
            finished(job, outcome)
    finally:
        client.close()


def die_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this process when the dailies process that started it dies (even by ``kill -9``).

    On Linux the kernel sends SIGKILL to the worker when its parent goes
    (``prctl(PR_SET_PDEATHSIG)``); everywhere a daemon thread also watches the parent's pid
    and leaves once it is gone, so no take keeps scoring in the background for nobody.
    """
    import signal
    import sys
    import threading
    import time

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            PR_SET_PDEATHSIG = 1
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the line above ran
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="lipcoach-parent-watch", daemon=True).start()
