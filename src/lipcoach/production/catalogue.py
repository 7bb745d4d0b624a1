"""The catalogue of a practice studio: one SQLite file (WAL) plus a folder of stored files.

Layout of a data folder::

    catalogue.sqlite      performers, numbers, songs, song map versions, takes, reports, jobs
    files/<hex>.<ext>     uploads, under generated names (no client path is ever used)
    maps/                 song map versions (JSON, written atomically)
    renders/              Rubber Band renders, one per song, part and speed (a cache)
    reports/              take reports (JSON)
    tmp/                  uploads in flight; emptied at start-up

Times are UTC; durations seconds.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any, Optional

from sqlalchemy import ForeignKey, String, Text, create_engine, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


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
    audio_file: Mapped[str] = mapped_column(String(80))  #: stored name under files/
    audio_label: Mapped[str] = mapped_column(String(300), default="")  #: the uploader's file name, shown as text only
    stem_file: Mapped[Optional[str]] = mapped_column(String(80))
    lyrics_file: Mapped[Optional[str]] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(16), default="en")
    duration_s: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[_dt.datetime] = mapped_column(default=utcnow)
    number: Mapped[Number] = relationship(back_populates="songs")
    maps: Mapped[list["SongMapVersion"]] = relationship(back_populates="song", order_by="SongMapVersion.version")


class SongMapVersion(Base):
    __tablename__ = "songmap_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    song_id: Mapped[int] = mapped_column(ForeignKey("songs.id"))
    version: Mapped[int] = mapped_column()
    file: Mapped[str] = mapped_column(String(120))  #: under maps/
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
    file: Mapped[str] = mapped_column(String(80))
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
    file: Mapped[str] = mapped_column(String(120))  #: under reports/
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


class Catalogue:
    """A data folder: the SQLite catalogue and the stored files beside it.

    Parameters
    ----------
    data_dir : path
        Created if missing.
    """

    def __init__(self, data_dir: str | os.PathLike):
        self.root = Path(data_dir).resolve()
        for sub in ("files", "maps", "renders", "reports", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        # An upload in flight when the server died was never acknowledged: drop it.
        for stale in (self.root / "tmp").iterdir():
            if stale.is_file():
                stale.unlink()
        self.engine = create_engine(
            f"sqlite:///{self.root / 'catalogue.sqlite'}",
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        from lipcoach.production.tables import migrate  # the production desk's tables (seasons, dailies)

        migrate(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

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

    def add_map_version(self, s: Session, song_id: int, songmap, *, origin: str, note: str = "") -> SongMapVersion:
        """Save ``songmap`` as the next version of the song's map (file first, then the row)."""
        latest = self.latest_map(s, song_id)
        version = 1 if latest is None else latest.version + 1
        name = f"song{song_id}-v{version}.json"
        songmap.save(self.path("maps", name))
        row = SongMapVersion(song_id=song_id, version=version, file=name, origin=origin, note=note[:500])
        s.add(row)
        s.flush()
        return row


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    # WAL: readers (the page polling job progress) never wait for the writer (the job).
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
