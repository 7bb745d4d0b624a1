"""The catalogue of a practice studio: one SQLite file (WAL) plus a folder of stored files.

Layout of a data folder::

    catalogue.sqlite      performers, numbers, songs, song map versions, takes, reports, jobs
    files/<hex>.<ext>     uploads, under generated names (no client path is ever used)
    maps/                 song map versions (JSON, written atomically)
    renders/              Rubber Band renders, one per song, part and speed (a cache)
    reports/              take reports (JSON)
    tmp/                  uploads in flight; emptied at start-up
    quarantine/           files no row owns, set aside at server start-up (see :func:`reconcile`)

What the folder owns is read from the tables' columns marked :func:`stored_in`
(:func:`owned_files`); nothing a row names is ever moved or deleted by the tidy-up.

Times are UTC; durations seconds.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, BinaryIO, Optional, Union

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, create_engine, event, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, sessionmaker

from lipcoach.errors import LipcoachError, StorageError, storage_problem
from lipcoach.production.db import OWNED_AREAS, Base, stored_in, utcnow
from lipcoach.production.tables import migrate as migrate_desk_tables

log = logging.getLogger("lipcoach.catalogue")


class Performer(Base):
    __tablename__ = "performers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[_dt.datetime] = mapped_column(default=utcnow)


class Number(Base):
    """A musical number of a show (what the actor drills); its songs are mixes of it."""

    __tablename__ = "numbers"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    performer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("performers.id"))
    created_at: Mapped[_dt.datetime] = mapped_column(default=utcnow)
    performer: Mapped[Optional[Performer]] = relationship()
    songs: Mapped[list["Song"]] = relationship(back_populates="number", order_by="Song.id")


class Song(Base):
    __tablename__ = "songs"
    id: Mapped[int] = mapped_column(primary_key=True)
    number_id: Mapped[int] = mapped_column(ForeignKey("numbers.id"))
    audio_file: Mapped[str] = mapped_column(String(80), info=stored_in("files"))  #: stored name under files/
    audio_label: Mapped[str] = mapped_column(String(300), default="")  #: the uploader's file name, shown as text only
    stem_file: Mapped[Optional[str]] = mapped_column(String(80), info=stored_in("files"))
    lyrics_file: Mapped[Optional[str]] = mapped_column(String(80), info=stored_in("files"))
    language: Mapped[str] = mapped_column(String(16), default="en")
    duration_s: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[_dt.datetime] = mapped_column(default=utcnow)
    number: Mapped[Number] = relationship(back_populates="songs")
    maps: Mapped[list["SongMapVersion"]] = relationship(back_populates="song", order_by="SongMapVersion.version")


class SongMapVersion(Base):
    __tablename__ = "songmap_versions"
    __table_args__ = (UniqueConstraint("song_id", "version", name="uq_songmap_song_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    song_id: Mapped[int] = mapped_column(ForeignKey("songs.id"))
    version: Mapped[int] = mapped_column()
    file: Mapped[str] = mapped_column(String(120), info=stored_in("maps"))  #: under maps/
    origin: Mapped[str] = mapped_column(String(20))  #: "analysis" | "edit" | "import"
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[_dt.datetime] = mapped_column(default=utcnow)
    song: Mapped[Song] = relationship(back_populates="maps")


class Take(Base):
    __tablename__ = "takes"
    id: Mapped[int] = mapped_column(primary_key=True)
    song_id: Mapped[int] = mapped_column(ForeignKey("songs.id"))
    songmap_version_id: Mapped[int] = mapped_column(ForeignKey("songmap_versions.id"))
    performer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("performers.id"))
    file: Mapped[str] = mapped_column(String(80), info=stored_in("files"))
    speed: Mapped[float] = mapped_column(default=1.0)  #: playback speed while recording
    song_start_s: Mapped[Optional[float]] = mapped_column()  #: song time at take time 0, as the page measured it
    loop_start_s: Mapped[Optional[float]] = mapped_column()
    loop_end_s: Mapped[Optional[float]] = mapped_column()
    created_at: Mapped[_dt.datetime] = mapped_column(default=utcnow)
    report: Mapped[Optional["Report"]] = relationship(back_populates="take", uselist=False)


class Report(Base):
    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    take_id: Mapped[int] = mapped_column(ForeignKey("takes.id"), unique=True)
    file: Mapped[str] = mapped_column(String(120), info=stored_in("reports"))  #: under reports/
    score: Mapped[float] = mapped_column()
    line_scores: Mapped[str] = mapped_column(Text, default="{}")  #: JSON {line index: score}
    created_at: Mapped[_dt.datetime] = mapped_column(default=utcnow)
    take: Mapped[Take] = relationship(back_populates="report")


class Job(Base):
    """Background work (analysis, renders, scoring) with its progress."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(120), default="", index=True)  #: de-duplicates identical requests
    state: Mapped[str] = mapped_column(String(12), default="queued")  #: queued | running | done | failed
    progress: Mapped[float] = mapped_column(default=0.0)
    label: Mapped[str] = mapped_column(String(200), default="")
    params: Mapped[str] = mapped_column(Text, default="{}")
    result: Mapped[str] = mapped_column(Text, default="{}")
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[_dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[_dt.datetime] = mapped_column(default=utcnow)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "progress": round(self.progress, 3),
            "label": self.label,
            "params": json.loads(self.params or "{}"),
            "result": json.loads(self.result or "{}"),
            "error": self.error,
            "attempts": self.attempts,
        }


class StaleMap(LipcoachError):
    """A map edit based on a version that is no longer the latest (the web app answers 409)."""

    def __init__(self, base_version: int, latest_version: int):
        self.base_version, self.latest_version = base_version, latest_version
        super().__init__(None, f"the song map changed since version {base_version} was opened (now version {latest_version}); "
                               "reload to see it, then make the change again")


class Catalogue:
    """A data folder: the SQLite catalogue and the stored files beside it.

    Parameters
    ----------
    data_dir : path
        Created if missing.
    start_up : bool
        True for the studio itself: clear what a crash left behind. False to open the
        catalogue beside a running studio (``lipcoach score --data``), touching no file of it.
    """

    def __init__(self, data_dir: str | os.PathLike, *, start_up: bool = True):
        self.root = Path(data_dir).resolve()
        try:
            self._open(Path(data_dir), start_up)
        except LipcoachError:
            raise
        except Exception as exc:  # a full disk or a read-only folder: one line, not SQLite's multi-line error
            problem = storage_problem(exc, data_dir)
            if problem is None:
                raise
            raise StorageError(data_dir, problem.problem) from None  # named as the user gave it

    def _open(self, data_dir: Path, start_up: bool) -> None:
        from sqlalchemy.exc import DBAPIError

        if self.root.is_dir() and not os.access(self.root, os.W_OK):
            raise StorageError(data_dir, "the data folder is read-only (lipcoach keeps its catalogue there); use a writable folder")
        try:
            for sub in ("files", "maps", "renders", "reports", "tmp"):
                (self.root / sub).mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:  # a file where the folder should be
            raise LipcoachError(data_dir, f"cannot be used as a data folder ({exc.strerror or exc})") from None
        if start_up:
            clear_stale_tmp(self.root / "tmp")
        self.engine = create_engine(
            f"sqlite:///{self.root / 'catalogue.sqlite'}",
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            Base.metadata.create_all(self.engine)
            _add_unique_version_index(self.engine)
            migrate_desk_tables(self.engine)  # the production desk's tables (seasons, dailies)
        except DBAPIError as exc:
            self.engine.dispose()
            if storage_problem(exc, data_dir) is not None:
                raise  # a full disk or a read-only folder: said by __init__
            problem = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            hint = "; not a lipcoach catalogue" if "not a database" in problem else ""
            raise LipcoachError(data_dir / "catalogue.sqlite", f"cannot be opened ({problem}{hint})") from None
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        _release_replaced_files(self)

    def session(self) -> Session:
        return self.sessions()

    def path(self, area: str, name: str) -> Path:
        """Absolute path of a stored name (``area`` in files/maps/renders/reports)."""
        if "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"bad stored name {name!r}")
        return self.root / area / name

    # -- queries used by several callers ---------------------------------------------------
    def performer(self, s: Session, name: Optional[str]) -> Optional[Performer]:
        name = (name or "").strip()
        if not name:
            return None
        found = s.scalar(select(Performer).where(Performer.name == name))
        if found is None:
            found = Performer(name=name[:200])
            s.add(found)
            s.flush()
        return found

    def latest_map(self, s: Session, song_id: int) -> Optional[SongMapVersion]:
        return s.scalar(select(SongMapVersion).where(SongMapVersion.song_id == song_id).order_by(SongMapVersion.version.desc()).limit(1))

    def write_lock(self, s: Session) -> None:
        """Take the catalogue's write lock for this transaction (held until ``s`` commits or rolls back).

        SQLite has one writer at a time: a no-op write makes every later read in the
        transaction see the latest committed state, and makes other writers (threads or
        processes) wait for this commit. Every read-modify-write of a map, a spec or a pin
        takes it *before* reading what it changes, so no change is lost to a concurrent one.
        """
        # Waits up to the connection's busy timeout (30 s) for another writer to commit.
        s.execute(text("UPDATE songs SET id = id WHERE 0"))

    def lock_song(self, s: Session, song_id: int) -> None:
        """The write lock (see :meth:`write_lock`), taken to change song ``song_id``; map versions are numbered under it."""
        self.write_lock(s)

    def add_map_version(self, s: Session, song_id: int, songmap, *, origin: str, note: str = "",
                        base_version: Optional[int] = None) -> SongMapVersion:
        """Save ``songmap`` as the next version of the song's map (under the write lock; the caller commits).

        Parameters
        ----------
        base_version : int, optional
            The version the new map was made from. When another version was added since,
            :class:`StaleMap` is raised and nothing is written: the newer map is never buried.
        """
        self.lock_song(s, song_id)
        latest = self.latest_map(s, song_id)
        latest_version = 0 if latest is None else latest.version
        if base_version is not None and base_version != latest_version:
            raise StaleMap(base_version, latest_version)
        version = latest_version + 1
        name = f"song{song_id}-v{version}.json"  # no row names it yet, and the lock is held
        songmap.save(self.path("maps", name))
        from lipcoach.production.storage import note_stored

        note_stored("maps", name)
        row = SongMapVersion(song_id=song_id, version=version, file=name, origin=origin, note=note[:500])
        s.add(row)
        s.flush()
        return row

    def map_version(self, s: Session, song_id: int, version: Optional[int] = None) -> Optional[SongMapVersion]:
        """The song's map version ``version`` (the latest when None), or None."""
        if version is None:
            return self.latest_map(s, song_id)
        return s.scalar(select(SongMapVersion).where(SongMapVersion.song_id == song_id, SongMapVersion.version == version))

    def load_map(self, smv: SongMapVersion):
        """The :class:`~lipcoach.song.songmap.SongMap` of a version, read through the schema (validated, upgraded)."""
        from lipcoach.song.songmap import SongMap

        return SongMap.load(self.path("maps", smv.file))

    def song_peaks(self, song: Song) -> dict:
        """Waveform peaks of a song's mix (see :mod:`lipcoach.media.peaks`), cached beside the renders."""
        from lipcoach.fileio import write_json_atomic
        from lipcoach.media.peaks import file_peaks

        cached = self.path("renders", f"song{song.id}-peaks.json")
        if cached.exists():
            return json.loads(cached.read_text(encoding="utf-8"))
        data = file_peaks(self.path("files", song.audio_file))
        write_json_atomic(cached, data)
        return data


    def save_report(self, s: Session, take_id: int, doc: dict) -> Report:
        """Store a take's report (``lipcoach.takereport`` JSON) under reports/ and (re)place its row."""
        from lipcoach.fileio import write_json_atomic
        from lipcoach.take.report_json import validate_report

        name = f"take{take_id}.json"
        write_json_atomic(self.path("reports", name), validate_report(doc, source=name))
        line_scores = {str(ln["index"]): ln["score"] for ln in doc.get("lines", []) if ln.get("score") is not None}
        old = s.scalar(select(Report).where(Report.take_id == take_id))
        if old is not None:
            s.delete(old)
            s.flush()
        row = Report(take_id=take_id, file=name, score=float(doc["score"]), line_scores=json.dumps(line_scores))
        s.add(row)
        s.flush()
        return row

    def add_scored_take(self, s: Session, number_id: int, take_path: str | os.PathLike, doc: dict, songmap) -> Take:
        """Add a take scored outside the studio (``lipcoach score``) to a number's history.

        The take's video is copied into files/ and its report into reports/; the take joins
        the number's song whose audio is the song the map was made from (by SHA-256), under
        that song's latest map version, which must have the same lines as ``songmap`` (the
        history compares takes line by line).

        Raises
        ------
        LipcoachError
            No such number, no song of the number matches the map, the studio has no map of
            that song yet, or its lines differ from ``songmap``'s.
        """
        from lipcoach.production.storage import store_media

        song, smv = self.take_target(s, number_id, songmap)
        with open(take_path, "rb") as video:
            stored, _duration_s = store_media(video, self.root, what="the take", need_video=True)
        take = Take(song_id=song.id, songmap_version_id=smv.id, file=stored, speed=1.0,
                    song_start_s=(doc.get("placement") or {}).get("song_start_s"))
        s.add(take)
        s.flush()
        self.save_report(s, take.id, doc)
        return take

    def take_target(self, s: Session, number_id: int, songmap) -> tuple[Song, SongMapVersion]:
        """The song and map version a take scored against ``songmap`` joins in number ``number_id``.

        Cheap (no scoring): the CLI calls it before scoring so a wrong number fails at once.
        See :meth:`add_scored_take` for the rules and the errors raised.
        """
        from lipcoach.errors import LipcoachError
        from lipcoach.fileio import file_sha256

        number = s.get(Number, number_id)
        if number is None:
            known = ", ".join(f"{n.id} ({n.title})" for n in s.scalars(select(Number).order_by(Number.id))) or "none yet"
            raise LipcoachError(None, f"there is no number {number_id} in this studio (numbers: {known})")
        sha = (songmap.source or {}).get("sha256")
        songs = list(number.songs)
        matching = [song for song in songs if sha and file_sha256(self.path("files", song.audio_file)) == sha]
        if not matching and not sha and len(songs) == 1:
            matching = songs  # an old map that does not fingerprint its song: the number's only song
        if not matching:
            raise LipcoachError(None, f"number {number_id} ({number.title}) has no song made from the audio this song map was made from"
                                      f" ({songmap.source.get('name') or 'unknown song'})")
        song = matching[-1]
        smv = self.latest_map(s, song.id)
        if smv is None:
            raise LipcoachError(None, f"number {number_id} ({number.title}) has no song map yet; wait for its analysis")
        studio_lines = self.load_map(smv).lines
        if [ln.text for ln in studio_lines] != [ln.text for ln in songmap.lines]:
            raise LipcoachError(None, f"the song map's lines differ from the studio's map of number {number_id} (version {smv.version}); "
                                      "score the take against the studio's map so its lines can be compared")
        return song, smv

Source = Union[str, os.PathLike, BinaryIO]


def add_song_files(cat: Catalogue, session: Session, *, title: str, performer: str, mix: Source, stem: Optional[Source] = None,
                   lyrics: Optional[Source] = None, lyrics_text: str = "", language: str = "en", audio_label: Optional[str] = None,
                   stem_label: Optional[str] = None, lyrics_label: Optional[str] = None) -> int:
    """Store a song's files (mix, optional stem and lyrics) as a new number; returns the new song id.

    Each file is a path or an open binary file (an upload). Every file is checked before the
    rows are added; when one is refused (:class:`LipcoachError` naming the user's file), the
    files already stored for this song are removed, so nothing half-added stays behind. The
    caller commits ``session``.
    """
    from lipcoach.media.decode import MAX_DURATION_S
    from lipcoach.production import storage

    def opened(src: Source, fn):
        if isinstance(src, (str, os.PathLike)):
            with open(src, "rb") as f:
                return fn(f)
        return fn(src)

    audio_label = audio_label or (Path(mix).name if isinstance(mix, (str, os.PathLike)) else None)
    stored: list[str] = []
    try:
        audio_name, duration_s = opened(mix, lambda f: storage.store_media(f, cat.root, what="the song", label=audio_label,
                                                                        max_duration_s=MAX_DURATION_S))
        stored.append(audio_name)
        stem_name = lyrics_name = None
        if stem is not None:
            stem_label = stem_label or (Path(stem).name if isinstance(stem, (str, os.PathLike)) else None)
            stem_name, _ = opened(stem, lambda f: storage.store_media(f, cat.root, what="the vocal stem", label=stem_label,
                                                                     max_duration_s=MAX_DURATION_S))
            stored.append(stem_name)
        if lyrics is not None:
            lyrics_label = lyrics_label or (Path(lyrics).name if isinstance(lyrics, (str, os.PathLike)) else None)
            lyrics_name = opened(lyrics, lambda f: storage.store_lyrics(f, cat.root, label=lyrics_label))
            stored.append(lyrics_name)
        elif lyrics_text.strip():
            lyrics_name = storage.store_text(lyrics_text, cat.root)
            stored.append(lyrics_name)
        number = Number(title=title, performer=cat.performer(session, performer))
        session.add(number)
        session.flush()
        row = Song(number_id=number.id, audio_file=audio_name, audio_label=(audio_label or "")[:300], stem_file=stem_name,
                   lyrics_file=lyrics_name, language=language, duration_s=duration_s)
        session.add(row)
        session.flush()
        return row.id
    except BaseException:
        for name in stored:
            cat.path("files", name).unlink(missing_ok=True)
        raise


def owned_files(cat: Catalogue) -> dict[str, set[str]]:
    """What the data folder owns: the stored names every row of every table refers to, by area.

    Read from the columns marked with :func:`stored_in` (the studio's songs, takes, map
    versions and reports; the desk's season songs with their audio, stems, lyrics and song
    maps, and its dailies reports), so the start-up tidy-up and the integrity check share one
    list. Returns ``{"files": …, "maps": …, "reports": …}``.
    """
    import lipcoach.production.tables  # noqa: F401  (registers the desk's tables on Base.metadata)

    owned: dict[str, set[str]] = {area: set() for area in OWNED_AREAS}
    with cat.session() as s:
        for column in stored_columns():
            owned[column.info["stored_in"]].update(n for n in s.scalars(select(column).where(column.is_not(None)).distinct()) if n)
    return owned


def stored_columns() -> list:
    """Every table column marked with :func:`stored_in` (SQLAlchemy ``Column`` objects)."""
    import lipcoach.production.tables  # noqa: F401

    return [col for table in Base.metadata.sorted_tables for col in table.columns if "stored_in" in col.info]


def missing_files(cat: Catalogue) -> list[str]:
    """Owned files that are not in the data folder (``area/name``): empty for a sound catalogue."""
    return sorted(f"{area}/{name}" for area, names in owned_files(cat).items() for name in names
                  if not cat.path(area, name).is_file())


def release_files(cat: Catalogue, area: str, names) -> list[str]:
    """Delete stored files of ``area`` that no row owns any longer (a re-import or a rebuild replaced them).

    Called by the writer that replaced them, after its commit; a name some row still owns is
    kept. Returns the names removed.
    """
    names = {n for n in names if n}
    if not names:
        return []
    owned = owned_files(cat)[area]
    removed = []
    for name in sorted(names - owned):
        path = cat.path(area, name)
        if path.is_file():
            path.unlink()
            removed.append(name)
    return removed


def _release_replaced_files(cat: Catalogue) -> None:
    """Every stored name a row stops naming (a new value, or the row deleted) is released once the change commits.

    A re-import that stores a song's new audio, a rebuild that replaces a number's track or a
    rescored take's new report leaves the old file to nobody: it is removed right after the
    commit (:func:`release_files`, which keeps it if another row still names it), so the
    start-up tidy-up never finds it. A rollback releases nothing.
    """
    from sqlalchemy import inspect as sa_inspect

    def marked(obj):
        mapper = sa_inspect(obj).mapper
        for column in mapper.columns:
            area = column.info.get("stored_in")
            if area is not None:
                yield area, mapper.get_property_by_column(column).key

    def before_flush(session, _context, _instances):
        released = session.info.setdefault("released_files", [])
        for obj in session.dirty:
            state = sa_inspect(obj)
            for area, key in marked(obj):
                released.extend((area, old) for old in state.attrs[key].history.deleted if old)
        for obj in session.deleted:
            for area, key in marked(obj):
                value = sa_inspect(obj).attrs[key].loaded_value
                if isinstance(value, str) and value:
                    released.append((area, value))

    def after_commit(session):
        released = session.info.pop("released_files", None)
        for area in {a for a, _ in released or ()}:
            try:
                release_files(cat, area, {n for a, n in released if a == area})
            except Exception:  # never fail a committed change over a file left behind (the tidy-up sets it aside)
                log.warning("could not release replaced files of %s", area, exc_info=True)

    def after_rollback(session):
        session.info.pop("released_files", None)

    event.listen(cat.sessions, "before_flush", before_flush)
    event.listen(cat.sessions, "after_commit", after_commit)
    event.listen(cat.sessions, "after_soft_rollback", lambda session, _previous: after_rollback(session))


@contextlib.contextmanager
def storing(cat: Catalogue):
    """Files stored inside the block (:mod:`lipcoach.production.storage`, or named with
    :func:`lipcoach.production.storage.note_stored`) are removed again when the block fails.

    Only those no committed row names are removed, so a failed import or build leaves no
    orphan copies in files/ and maps/.
    """
    from lipcoach.production import storage

    token = storage._STORED.set([])
    try:
        yield
    except BaseException:
        stored = storage._STORED.get()
        for area in {a for a, _ in stored}:
            try:
                release_files(cat, area, {n for a, n in stored if a == area})
            except Exception:
                log.warning("could not remove the files of a failed store", exc_info=True)
        raise
    finally:
        storage._STORED.reset(token)


def clear_stale_tmp(tmp_dir: Path, *, grace_s: float = 300.0) -> list[str]:
    """Remove what a crash left in ``tmp/``: uploads and build folders untouched for ``grace_s`` seconds.

    An upload in flight when the server died was never acknowledged. Newer entries belong to
    work still running in another process (an upload, ``lipcoach number build``) and are kept.
    """
    import shutil

    now = time.time()
    removed = []
    for entry in tmp_dir.iterdir():
        try:
            newest = max([entry.lstat().st_mtime] + ([p.lstat().st_mtime for p in entry.rglob("*")] if entry.is_dir() else []))
            if now - newest < grace_s:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry.name)
        except FileNotFoundError:  # finished and removed by its owner meanwhile
            continue
    return removed


def reconcile(cat: Catalogue, *, grace_s: float = 300.0, lock_wait_s: float = 30.0) -> dict[str, list[str]]:
    """Tidy a data folder after a crash (``kill -9``, power cut); run at server start-up.

    - Half-written files (``*.part*``, left by an atomic write that never finished) are removed
      from maps/, reports/ and renders/ (renders are a cache; their jobs are requeued).
    - Files in files/, maps/ and reports/ that the folder does not own (:func:`owned_files`:
      stored before a process died, before their row was committed) are moved to
      quarantine/, never deleted: a file a row refers to is never touched.
    - Files younger than ``grace_s`` seconds are left alone: another process (a CLI command
      adding to the catalogue) may be about to commit their row.
    - Files are set aside only while this process holds the catalogue's write lock (waiting
      up to ``lock_wait_s`` seconds for it): a command in the middle of a long transaction
      (a season import storing its songs) holds that lock, so the files it stored and has not
      committed yet are never taken from it. When the lock cannot be had, nothing is set aside.

    Returns
    -------
    dict
        ``{"removed": [...], "quarantined": [...]}``, as ``area/name``.
    """
    now = time.time()
    removed: list[str] = []
    quarantined: list[str] = []
    owned = owned_files(cat)
    strays: list[tuple[str, Path]] = []
    for area in ("files", "maps", "reports", "renders"):
        for path in sorted((cat.root / area).iterdir()):
            if not path.is_file() or now - path.stat().st_mtime < grace_s:
                continue
            if ".part" in path.name and path.name.startswith("."):
                path.unlink(missing_ok=True)
                removed.append(f"{area}/{path.name}")
            elif area != "renders" and path.name not in owned[area]:
                strays.append((area, path))
    if strays:
        with _write_lock(cat, wait_s=lock_wait_s) as locked:
            if not locked:
                log.warning("start-up tidy: another lipcoach command is writing to the catalogue; nothing set aside")
                strays = []
            owned = owned_files(cat) if strays else owned  # read again: rows committed meanwhile
            quarantine = cat.root / "quarantine"
            for area, path in strays:
                if path.name in owned[area]:
                    continue
                quarantine.mkdir(exist_ok=True)
                os.replace(path, quarantine / f"{area}-{path.name}")
                quarantined.append(f"{area}/{path.name}")
    if removed or quarantined:
        log.warning("start-up tidy: removed %d half-written files, quarantined %d unreferenced files", len(removed), len(quarantined))
    return {"removed": removed, "quarantined": quarantined}


@contextlib.contextmanager
def _write_lock(cat: Catalogue, *, wait_s: float):
    """Hold the catalogue's write lock for the block (yields False when another process kept it ``wait_s`` seconds)."""
    import sqlite3

    con = sqlite3.connect(str(cat.root / "catalogue.sqlite"), timeout=max(0.0, wait_s), isolation_level=None)
    try:
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # "database is locked"
            yield False
            return
        try:
            yield True
        finally:
            con.execute("ROLLBACK")
    finally:
        con.close()


def _add_unique_version_index(engine) -> None:
    """One row per (song, version), also in catalogues made before the constraint existed."""
    with engine.begin() as conn:
        duplicated = conn.execute(text("SELECT 1 FROM songmap_versions GROUP BY song_id, version HAVING COUNT(*) > 1 LIMIT 1")).first()
        if duplicated is not None:
            # Left by the race this index prevents; the rows stay (takes refer to them), unguarded.
            log.warning("catalogue has duplicate song map versions; not adding the unique index")
            return
        conn.execute(text("CREATE UNIQUE INDEX IF NOT EXISTS uq_songmap_song_version ON songmap_versions (song_id, version)"))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    # WAL: readers (the page polling job progress) never wait for the writer (the job).
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def open_for_take(data_dir: Optional[Path], number: Optional[int], songmap) -> Optional["Catalogue"]:
    """Pre-flight of ``lipcoach score --data DIR --number N``: the studio and the number the take will join.

    Returns the :class:`Catalogue` (None without ``--data``), opened beside a possibly running
    studio without touching its files.

    Raises
    ------
    LipcoachError
        Only one of the two options, DIR not a studio folder, or number N unable to take
        this take (no such number, another song, no map yet, other lines), naming DIR.
    """
    if (data_dir is None) != (number is None):
        raise LipcoachError(None, "--data and --number go together: the studio folder and the number the take joins")
    if data_dir is None:
        return None
    if not (Path(data_dir) / "catalogue.sqlite").is_file():
        raise LipcoachError(data_dir, "is not a studio folder (no catalogue.sqlite); start one with `lipcoach serve --data FOLDER`")
    catalogue = Catalogue(data_dir, start_up=False)
    try:
        with catalogue.session() as s:
            catalogue.take_target(s, number, songmap)
    except LipcoachError as exc:
        raise LipcoachError(data_dir, exc.problem) from None
    return catalogue
