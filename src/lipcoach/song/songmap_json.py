"""The song map's JSON form, ``lipcoach.songmap/2``: one table of renames, and the upgrade from 1.

Version 2 names every time field by its unit (``start_s``, ``beat_time_s``, ``beats_s``,
``loudness.rate_hz``...), as the take report does. The Python objects of
:mod:`lipcoach.song.songmap` keep their attribute names this round (``Word.start``,
``Entrance.beat_time``...): the rename happens here, at the serialisation boundary, from one
table (:data:`RENAMES`) used both ways and by the upgrader. A field a later version adds to a
dataclass passes through unrenamed unless it is listed here.

Unknown top-level keys are not allowed in version 2; a tool that wants to keep its own data
in a map puts it under ``extensions`` (an object lipcoach keeps as it is). Version 1 allowed
any top-level key: the upgrader moves unknown ones under ``extensions``.
"""

from __future__ import annotations

from typing import Any

from lipcoach import schema

NAME = "lipcoach.songmap"

#: Attribute name → JSON key, per object of the map, addressed by its path from the top
#: ("" the map itself, "words.phonemes" each word's phonemes). Attributes not listed keep
#: their name: they already say their unit (``offset_ms``, ``level_db``, ``tempo_bpm``) or
#: have none (``text``, ``label``, ``slot``, ``bar``).
RENAMES: dict[str, dict[str, str]] = {
    "": {"duration": "duration_s", "beats": "beats_s", "downbeats": "downbeats_s", "onsets": "onsets_s",
         "vocal_activity": "vocal_activity_s"},
    "words": {"start": "start_s", "end": "end_s"},
    "words.phonemes": {"start": "start_s", "end": "end_s"},
    "lines": {"start": "start_s", "end": "end_s"},
    "lines.entrance": {"beat_time": "beat_time_s", "slot_time": "slot_time_s"},
    "breaths": {"start": "start_s", "end": "end_s"},
    "loudness": {"rate": "rate_hz", "values": "values_db"},
    "sections": {"start": "start_s", "end": "end_s"},
}
_REVERSED = {path: {new: old for old, new in table.items()} for path, table in RENAMES.items()}

#: Top-level keys of a version-1 map (anything else moves under ``extensions`` on upgrade).
V1_TOP_LEVEL = ("schema", "duration", "language", "source", "tempo_bpm", "beats", "downbeats", "onsets",
                "vocal_activity", "words", "lines", "breaths", "loudness", "sections")


def _rename(obj: Any, path: str, tables: dict[str, dict[str, str]]) -> Any:
    """``obj`` (the object at ``path``, or a list of them) with its keys renamed by ``tables``."""
    if isinstance(obj, list):
        return [_rename(item, path, tables) for item in obj]
    if not isinstance(obj, dict):
        return obj  # a null entrance
    names = tables.get(path, {})
    out = {}
    for key, value in obj.items():
        child = f"{path}.{key}" if path else key
        if child in tables:  # a nested object of the map (words, lines[].entrance...), never source/extensions
            value = _rename(value, child, tables)
        out[names.get(key, key)] = value
    return out


def to_json(fields: dict) -> dict:
    """Attribute-named map fields (``dataclasses.asdict``) → version-2 JSON keys."""
    return _rename(fields, "", RENAMES)


def from_json(doc: dict) -> dict:
    """Version-2 JSON keys → attribute-named fields (the inverse of :func:`to_json`)."""
    return _rename(doc, "", _REVERSED)


@schema.register_upgrade(NAME, 1)
def upgrade_v1(doc: dict) -> dict:
    """``lipcoach.songmap/1`` → ``/2``: unit-named time fields; unknown top-level keys under ``extensions``.

    Version 1's keys are the attribute names, so the upgrade is :func:`to_json`; nothing
    else changed in meaning.
    """
    known = {key: value for key, value in doc.items() if key in V1_TOP_LEVEL}
    extra = {key: value for key, value in doc.items() if key not in V1_TOP_LEVEL}
    upgraded = to_json(known)
    upgraded["extensions"] = extra
    return upgraded
