"""Every phone has a documented mouth shape."""

from __future__ import annotations

import json
from pathlib import Path

from lipcoach.song.g2p import ARPABET
from lipcoach.song.visemes import PHONE_TO_VISEME, VISEMES, practice_icon, viseme_of

SCHEMA = Path(__file__).resolve().parents[2] / "src" / "lipcoach" / "schemas" / "songmap.schema.json"


def test_classes_are_the_schema_enum():
    enum = json.loads(SCHEMA.read_text())["$defs"]["viseme"]["enum"]
    assert set(VISEMES) == set(enum)
    assert set(PHONE_TO_VISEME.values()) <= set(enum)


def test_every_en_us_phone_has_a_viseme():
    assert all(p in PHONE_TO_VISEME for p in ARPABET)


def test_shapes_an_actor_must_hit():
    assert {viseme_of(p) for p in ("M", "B", "P")} == {"closed"}
    assert {viseme_of(p) for p in ("F", "V")} == {"lip_teeth"}
    assert {viseme_of(p) for p in ("W", "UW", "OW", "R")} == {"rounded"}
    assert viseme_of("AA1") == "open" and viseme_of("iy") == "spread" and viseme_of("TH") == "tongue_teeth"
    assert viseme_of("SIL") == "rest" and viseme_of("+NSN+") == "rest" and viseme_of("??") == "rest"


def test_practice_icons():
    assert practice_icon("closed") == "closed" and practice_icon("lip_teeth") == "f-v"
    assert practice_icon("rounded") == "rounded" and practice_icon("mid") == "open"
    assert practice_icon("teeth") is None
