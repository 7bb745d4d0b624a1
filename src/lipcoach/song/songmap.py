"""The song map (``lipcoach.songmap/2``): typed objects over the documented JSON contract.

All times are seconds from the start of the song file; levels are dB. See docs/songmap.md.
The JSON keys say their unit (``start_s``); the attributes here keep their short names
(``start``) this round: :mod:`lipcoach.song.songmap_json` renames at the boundary.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Optional

from lipcoach import schema
from lipcoach.song import songmap_json
from lipcoach.fileio import write_json_atomic

NAME = "lipcoach.songmap"

#: |offset| at or under this many ms is "on" the beat; beyond, "early" (negative) or "late".
ENTRANCE_ON_TOLERANCE_MS = 40.0


@dataclass
class Phoneme:
    symbol: str  #: ARPAbet symbol without stress digit (e.g. "M", "AA")
    start: float  #: s
    end: float  #: s
    viseme: str  #: see lipcoach.song.visemes


@dataclass
class Word:
    text: str
    start: float  #: s
    end: float  #: s
    line: int  #: index into SongMap.lines
    phonemes: list[Phoneme] = field(default_factory=list)
    confidence: float = 1.0  #: 0..1, how sure the alignment is
    pitch_midi: Optional[float] = None  #: median sung pitch, MIDI note number


def entrance_label(offset_ms: float, tolerance_ms: float = ENTRANCE_ON_TOLERANCE_MS) -> str:
    """"on" when ``|offset_ms| <= tolerance_ms``, else "early" (negative) or "late" (positive).

    The one rule every entrance label comes from (the map, the studio's edits, the metrics).
    """
    if abs(offset_ms) <= tolerance_ms:
        return "on"
    return "early" if offset_ms < 0 else "late"


@dataclass
class Entrance:
    """Where a line comes in, in musical terms, and how far the singer pushes or lays back.

    ``slot_time`` is the grid point the line is written on: a beat, or an eighth, sixteenth or
    triplet between beats (``subdivision``: the grid the song's entrances use), named by
    ``slot`` ("1", "and of 4", "e of 2", "a of 3", "trip of 2", "let of 2") in ``bar``.
    ``offset_ms`` is the sung onset minus ``slot_time``; ``label`` says early/on/late against
    the slot. Maps written before the slot fields measured against the nearest beat only:
    there ``slot_time`` is absent and ``beat_time`` is the reference.
    """

    beat_time: float  #: s, the beat the slot belongs to (the slot itself when it is a beat)
    offset_ms: float  #: first word onset minus the slot, ms; negative = early (pushed), positive = late (laid back)
    label: str  #: "early" | "on" | "late", against the slot
    slot_time: Optional[float] = None  #: s, the grid point the line is written on
    slot: Optional[str] = None  #: the slot's name in the bar: "1", "and of 4", "e of 2", "trip of 3", ...
    bar: Optional[int] = None  #: bar number, 1 = the bar of the first downbeat; 0 = a pick-up before it
    subdivision: Optional[str] = None  #: the song's entrance grid: "beat" | "eighth" | "sixteenth" | "triplet"

    @property
    def reference_time(self) -> float:
        """The grid point ``offset_ms`` is measured from, s."""
        return self.beat_time if self.slot_time is None else self.slot_time

    def describe(self) -> str:
        """The entrance as a music director says it: "on the and of 4", "beat 1, 60 ms late"."""
        if self.slot is None:
            on_where, where = "on the beat", "the beat"
        elif self.slot.isdigit():
            on_where, where = f"on {self.slot}", f"beat {self.slot}"
        else:
            on_where = where = f"the {self.slot}"
            on_where = f"on {where}"
        if self.label == "on":
            return on_where + (f" ({self.offset_ms:+.0f} ms)" if abs(self.offset_ms) >= 1 else "")
        return f"{where}, {abs(self.offset_ms):.0f} ms {self.label}"

    @staticmethod
    def from_times(onset_s: float, beat_s: float, tolerance_ms: float = ENTRANCE_ON_TOLERANCE_MS) -> "Entrance":
        """An entrance measured against one beat (no slot information)."""
        offset_ms = (onset_s - beat_s) * 1000.0
        return Entrance(beat_time=round(beat_s, 4), offset_ms=round(offset_ms, 1), label=entrance_label(offset_ms, tolerance_ms))


@dataclass
class Line:
    text: str
    start: float  #: s
    end: float  #: s
    entrance: Optional[Entrance] = None
    section: int = 0
    confidence: float = 1.0  #: 0..1; low when the line could not be aligned well
    aligned: bool = True  #: False when the times were interpolated, not aligned
    flagged: bool = False  #: True when the map is unsure of this line (check it); see song/confidence.py


@dataclass
class Breath:
    start: float  #: s
    end: float  #: s
    level_db: float  #: median level relative to the vocal's median sung level, dB
    audible: bool  #: loud enough to be heard over the accompaniment / to be shown on camera
    kind: str  #: "catch" (quick, < 0.35 s) | "full"
    before_line: Optional[int] = None  #: the line this breath prepares, if any

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Loudness:
    rate: float  #: frames per second
    values: list[float]  #: vocal level per frame, dBFS
    reference_db: float = 0.0  #: median level of sung frames, dBFS


@dataclass
class Section:
    start: float
    end: float
    label: str


@dataclass
class SongMap:
    duration: float  #: s
    tempo_bpm: float
    beats: list[float]  #: s
    downbeats: list[float]  #: s
    words: list[Word]
    lines: list[Line]
    breaths: list[Breath]
    loudness: Loudness
    onsets: list[float] = field(default_factory=list)  #: vocal onsets, s
    vocal_activity: list[list[float]] = field(default_factory=list)  #: [start_s, end_s] spans
    sections: list[Section] = field(default_factory=list)
    language: str = "en"
    source: dict[str, Any] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)  #: other tools' data, kept as it is

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict:
        doc = {"schema": schema.tag(NAME)}
        doc.update(songmap_json.to_json(dataclasses.asdict(self)))
        return {**_rounded(doc), "extensions": dict(self.extensions)}  # other tools' data, not ours to round

    @classmethod
    def from_dict(cls, doc: dict, *, source: str | os.PathLike | None = None) -> "SongMap":
        doc = songmap_json.from_json(schema.validate(dict(doc), NAME, source=source))
        words = [Word(**{**w, "phonemes": [Phoneme(**p) for p in w.get("phonemes", [])]}) for w in doc["words"]]
        lines = [Line(**{**ln, "entrance": Entrance(**ln["entrance"]) if ln.get("entrance") else None}) for ln in doc["lines"]]
        return cls(
            duration=doc["duration"],
            tempo_bpm=doc["tempo_bpm"],
            beats=list(doc["beats"]),
            downbeats=list(doc["downbeats"]),
            words=words,
            lines=lines,
            breaths=[Breath(**b) for b in doc["breaths"]],
            loudness=Loudness(**doc["loudness"]),
            onsets=list(doc.get("onsets", [])),
            vocal_activity=[list(s) for s in doc.get("vocal_activity", [])],
            sections=[Section(**s) for s in doc.get("sections", [])],
            language=doc.get("language", "en"),
            source=dict(doc.get("source", {})),
            extensions=dict(doc.get("extensions", {})),
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SongMap":
        """Read and validate a song map file; raises LipcoachError naming the file."""
        return cls.from_dict(schema.load_document(path, NAME), source=path)

    def save(self, path: str | os.PathLike) -> None:
        """Write the song map as JSON, atomically (validated first)."""
        doc = self.to_dict()
        schema.validate(doc, NAME, source=path)
        write_json_atomic(path, doc)

    # -- convenience ---------------------------------------------------------------------
    def words_of_line(self, index: int) -> list[Word]:
        return [w for w in self.words if w.line == index]


def _rounded(obj: Any, digits: int = 4) -> Any:
    """Round floats to 0.1 ms so the JSON stays readable and diffable."""
    if isinstance(obj, float):
        return round(obj, digits)
    if isinstance(obj, dict):
        return {k: _rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rounded(v, digits) for v in obj]
    return obj
