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


@dataclasses.dataclass
class DailiesSummary:
    scored: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)  #: (file name, problem)
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

    from lipcoach.production.tables import DailyTake
    from lipcoach.take.score import NAME
    from lipcoach import schema
    from lipcoach.fileio import write_json_atomic

    with cat.session() as s:
        row = s.scalar(select(DailyTake).where(DailyTake.number_id == number_id, DailyTake.sha256 == job.sha256))
        if row is not None and row.songmap_version_id == version_id:
            return None  # a retried take that finished twice: counted once
        name = f"daily-n{number_id}-v{version_id}-{job.sha256[:16]}.json"
        schema.validate(doc, NAME, source=job.path)
        write_json_atomic(cat.path("reports", name), doc)
        if row is None:
            row = DailyTake(number_id=number_id, sha256=job.sha256)
            s.add(row)
        line_scores = {str(ln["index"]): ln["score"] for ln in doc.get("lines", []) if ln.get("score") is not None}
        row.source_path, row.name, row.songmap_version_id, row.report_file = job.path, Path(job.path).name, version_id, name
        row.score, row.verdict = float(doc["score"]), doc["verdict"]
        row.song_start_s, row.duration_s = float(doc["placement"]["song_start_s"]), float(doc["take"]["duration_s"])
        row.fps, row.line_scores = float(doc["take"].get("fps") or 25.0), json.dumps(line_scores)
        s.commit()
        return row.id


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
        done = {(r.sha256, r.songmap_version_id) for r in s.scalars(select(DailyTake).where(DailyTake.number_id == number_id))}
    seen: set[str] = set()
    for path in takes:
        sha = file_sha256(path)
        if (sha, version.id) in done or sha in seen:
            summary.skipped += 1
        else:
            jobs.append(TakeJob(path=str(path.resolve()), sha256=sha, map_path=str(map_path), song_audio=str(song_audio)))
        seen.add(sha)

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
                    finished(job, score_fn(job))
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
        with cf.ProcessPoolExecutor(max_workers=min(n_workers, len(pending)), mp_context=multiprocessing.get_context("spawn")) as pool:
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
