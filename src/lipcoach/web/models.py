"""Typed request bodies of the studio's API (FastAPI validates them; a bad value is a 400).

Numbers must be finite (``1e999`` is refused), ids fit a 64-bit row id, and unknown fields
are refused so a misspelt field is reported instead of ignored.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

#: Largest row id SQLite can hold (signed 64 bit).
MAX_ROW_ID = 2**63 - 1
#: Renders are offered from 25 % to 100 % in 1 % steps.
MIN_SPEED_PCT, MAX_SPEED_PCT = 25, 100
#: A map edit moves at most this many words at once.
MAX_EDITED_WORDS = 20000

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="row id")]
VersionQuery = Annotated[Optional[int], Query(ge=1, le=MAX_ROW_ID, description="song map version (the latest when absent)")]
Seconds = Annotated[float, Field(allow_inf_nan=False, ge=0.0, le=24 * 3600.0)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class RenderRequest(_Body):
    """A speed render of the mix, the vocal stem or the band; with start/end only that part (a loop)."""

    speed_pct: int = Field(ge=MIN_SPEED_PCT, le=MAX_SPEED_PCT, description="speed, % of the original")
    part: Literal["mix", "stem", "band"] = "mix"
    start_s: Optional[Seconds] = None
    end_s: Optional[Seconds] = None


class WordTimeIn(_Body):
    """A person's time for one word: ``start_s``/``end_s``, seconds of the song (``start``/``end`` still read)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)
    index: int = Field(ge=0, le=MAX_ROW_ID)
    start_s: Seconds = Field(alias="start")
    end_s: Seconds = Field(alias="end")


class MapEdit(_Body):
    """Corrected word times, saved as the next version of the map opened as ``base_version``."""

    base_version: Optional[int] = Field(default=None, ge=1, le=MAX_ROW_ID)
    words: list[WordTimeIn] = Field(min_length=1, max_length=MAX_EDITED_WORDS)
    note: str = Field(default="", max_length=500)
