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


#: The data folder's areas whose files belong to rows (renders/ is a cache, tmp/ is work in flight).
OWNED_AREAS = ("files", "maps", "reports")


def stored_in(area: str) -> dict[str, str]:
    """Column ``info`` marking a column that holds a stored name under ``area``
    (see :func:`lipcoach.production.catalogue.owned_files`).

    Every table that keeps a file in the data folder marks its column with this, so the one
    list of what the folder owns is read from the tables themselves and a new table cannot be
    forgotten by the start-up tidy-up.
    """
    if area not in OWNED_AREAS:
        raise ValueError(f"unknown area {area!r}")
    return {"stored_in": area}
