"""The production desk's tables in the catalogue: seasons, their songs and numbers, dailies, pins.

They live beside the studio's tables (:mod:`lipcoach.production.catalogue`) in the same
SQLite file and only point *into* them (a season number is a catalogue :class:`Number`), so
an old catalogue keeps working: :func:`migrate` adds what is missing and records the desk's
schema version in ``desk_schema``. Lists and mappings are stored as JSON text.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any, Optional

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, inspect, text
from sqlalchemy.orm import Mapped, mapped_column

from lipcoach.production.db import Base, stored_in, utcnow

#: Version of the desk's tables; :func:`migrate` brings an older catalogue up to it.
DESK_SCHEMA_VERSION = 1


class Season(Base):
    """One imported season file (``lipcoach.season/1``)."""

    __tablename__ = "seasons"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)  #: the file's ``id``
    title: Mapped[str] = mapped_column(String(300))
    source_path: Mapped[str] = mapped_column(Text, default="")  #: the season file last imported
    imported_at: Mapped[_dt.datetime] = mapped_column(default=utcnow)


class SeasonSong(Base):
    """A source recording named by a season (a number's sections are cut from these)."""

    __tablename__ = "season_songs"
    __table_args__ = (UniqueConstraint("season_id", "slug"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id"))
    slug: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300), default="")
    artist: Mapped[str] = mapped_column(String(300), default="")
    audio_file: Mapped[str] = mapped_column(String(80), info=stored_in("files"))  #: under files/
    audio_label: Mapped[str] = mapped_column(String(300), default="")
    audio_sha256: Mapped[str] = mapped_column(String(64))
    stem_file: Mapped[Optional[str]] = mapped_column(String(80), info=stored_in("files"))
    stem_sha256: Mapped[Optional[str]] = mapped_column(String(64))
    lyrics_file: Mapped[Optional[str]] = mapped_column(String(80), info=stored_in("files"))
    lyrics_sha256: Mapped[Optional[str]] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16), default="en")
    key: Mapped[Optional[str]] = mapped_column(String(16))  #: e.g. "A", "F#m"
    duration_s: Mapped[float] = mapped_column(default=0.0)
    map_file: Mapped[Optional[str]] = mapped_column(String(120), info=stored_in("maps"))  #: under maps/; None until mapped


class Episode(Base):
    __tablename__ = "episodes"
    __table_args__ = (UniqueConstraint("season_id", "index"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id"))
    index: Mapped[int] = mapped_column()  #: the episode number
    title: Mapped[str] = mapped_column(String(300), default="")
    characters: Mapped[str] = mapped_column(Text, default="{}")  #: JSON {character: performer}


class SeasonNumber(Base):
    """A number of an episode; its rehearsal track is the catalogue number's song once built."""

    __tablename__ = "season_numbers"
    __table_args__ = (UniqueConstraint("season_id", "slug"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id"))
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"))
    slug: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)  #: order within the episode
    number_id: Mapped[int] = mapped_column(ForeignKey("numbers.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  #: solo | duet | group | mashup | medley | original
    spec: Mapped[str] = mapped_column(Text, default="{}")  #: JSON: sections, singers, lines, tempo, key
    built_from: Mapped[str] = mapped_column(String(64), default="")  #: hash of the inputs of the last build
    cut_at: Mapped[Optional[_dt.datetime]] = mapped_column()  #: when an edit was last written (``lipcoach edit``)

    def spec_dict(self) -> dict[str, Any]:
        return json.loads(self.spec or "{}")


class DailyTake(Base):
    """A take of a shoot day, scored by ``lipcoach dailies`` (one row per number and content)."""

    __tablename__ = "daily_takes"
    __table_args__ = (UniqueConstraint("number_id", "sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number_id: Mapped[int] = mapped_column(ForeignKey("numbers.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    source_path: Mapped[str] = mapped_column(Text)  #: where the take was found (the editor's media)
    name: Mapped[str] = mapped_column(String(300))
    songmap_version_id: Mapped[Optional[int]] = mapped_column(ForeignKey("songmap_versions.id"))
    report_file: Mapped[str] = mapped_column(String(120), info=stored_in("reports"))  #: under reports/
    score: Mapped[float] = mapped_column()
    verdict: Mapped[str] = mapped_column(String(20))
    song_start_s: Mapped[float] = mapped_column()  #: song time at take time 0
    duration_s: Mapped[float] = mapped_column()
    fps: Mapped[float] = mapped_column(default=25.0)
    line_scores: Mapped[str] = mapped_column(Text, default="{}")  #: JSON {line index: score}
    scored_at: Mapped[_dt.datetime] = mapped_column(default=utcnow)


class LinePin(Base):
    """The editor's choice of take for one line of a number (overrides the best score)."""

    __tablename__ = "line_pins"
    __table_args__ = (UniqueConstraint("number_id", "line_index"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number_id: Mapped[int] = mapped_column(ForeignKey("numbers.id"))
    line_index: Mapped[int] = mapped_column()
    take_id: Mapped[int] = mapped_column(ForeignKey("daily_takes.id"))


DESK_TABLES = [Season.__table__, SeasonSong.__table__, Episode.__table__, SeasonNumber.__table__,
               DailyTake.__table__, LinePin.__table__]


def migrate(engine) -> int:
    """Bring a catalogue's desk tables up to :data:`DESK_SCHEMA_VERSION`; returns the version found.

    Version 0 is a catalogue from before the desk (no ``desk_schema`` table): the desk's
    tables are created; the studio's own tables and rows are not touched.
    """
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS desk_schema (version INTEGER NOT NULL)"))
        found = conn.execute(text("SELECT MAX(version) FROM desk_schema")).scalar() or 0
        if found > DESK_SCHEMA_VERSION:
            from lipcoach.errors import LipcoachError

            raise LipcoachError(None, f"this catalogue was written by a newer lipcoach (desk schema {found}); upgrade lipcoach")
        existing = set(inspect(conn).get_table_names())
        Base.metadata.create_all(conn, tables=[t for t in DESK_TABLES if t.name not in existing])
        if found < DESK_SCHEMA_VERSION:
            conn.execute(text("DELETE FROM desk_schema"))
            conn.execute(text("INSERT INTO desk_schema (version) VALUES (:v)"), {"v": DESK_SCHEMA_VERSION})
    return found
