"""The edit's plan: the takes of a number and the take chosen for each line.

Made by :func:`lipcoach.production.edit.choose_takes`, written out by
:mod:`lipcoach.production.edit_lists`; both read these types from here, so neither imports
the other's module. Times are seconds of the song unless a name says otherwise.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Optional


@dataclasses.dataclass
class TakeInfo:
    id: int
    name: str
    path: str
    song_start_s: float  #: song time at take time 0
    duration_s: float
    fps: float
    score: float
    verdict: str
    line_scores: dict[int, float]
    hidden_lines: set[int]
    #: per line, the verdict of the performer who sings it (None: no singer of the line in the take);
    #: a line not listed takes the take's verdict
    line_verdicts: dict[int, Optional[str]] = dataclasses.field(default_factory=dict)
    placement_unsure: bool = False  #: a silent take whose place in the song the mouth was unsure of

    def verdict_for(self, index: int) -> Optional[str]:
        """The verdict that counts for line ``index``: its singer's (see :class:`TakeInfo`)."""
        return self.line_verdicts.get(index, self.verdict)

    @property
    def song_end_s(self) -> float:
        return self.song_start_s + self.duration_s

    def covers(self, start_s: float, end_s: float) -> bool:
        return self.song_start_s <= start_s + 1e-6 and end_s <= self.song_end_s + 1e-6


@dataclasses.dataclass
class LineChoice:
    line_index: int
    text: str
    start_s: float
    end_s: float
    take: Optional[TakeInfo]
    score: float
    pinned: bool
    candidates: list[tuple[TakeInfo, float]]  #: covering takes with their line score, best first
    confirmed: bool = True  #: False: no in-sync take covers the line; the take's sync was not confirmed


@dataclasses.dataclass
class EditPlan:
    number_slug: str
    title: str
    song_path: str
    song_duration_s: float
    takes: list[TakeInfo]
    choices: list[LineChoice]
    notes: list[str]

    @property
    def fps(self) -> float:
        rates = Counter(round(t.fps, 3) for t in self.takes)
        return rates.most_common(1)[0][0] if rates else 25.0
