"""The catalogue's SQLAlchemy base: one declarative ``Base`` and the clock its rows use.

Both the studio's tables (:mod:`lipcoach.production.catalogue`) and the production desk's
(:mod:`lipcoach.production.tables`) derive from this ``Base``, so they share one metadata
and one SQLite file without importing each other. Times are naive UTC.
"""

from __future__ import annotations

import datetime as _dt

from sqlalchemy.orm import DeclarativeBase


def utcnow() -> _dt.datetime:
    """The current time, UTC, without a zone (as SQLite stores it)."""
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass
