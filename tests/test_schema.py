import json
from pathlib import Path

import pytest

from lipcoach import schema
from lipcoach.errors import LipcoachError
from lipcoach.song.songmap import Breath, Entrance, Line, Loudness, Phoneme, SongMap, Word


def tiny_map() -> SongMap:
    return SongMap(
        duration=4.0, tempo_bpm=120.0, beats=[0.5, 1.0, 1.5], downbeats=[0.5],
        words=[Word("mama", 1.0, 1.6, 0, [Phoneme("M", 1.0, 1.1, "closed"), Phoneme("AA", 1.1, 1.3, "open")])],
        lines=[Line("mama", 1.0, 1.6, Entrance.from_times(1.07, 1.0))],
        breaths=[Breath(0.4, 0.8, -22.0, True, "full", 0)],
        loudness=Loudness(50.0, [-30.0] * 200, -20.0),
    )


def test_song_map_round_trips_through_json(tmp_path):
    tiny_map().save(tmp_path / "s.json")
    loaded = SongMap.load(tmp_path / "s.json")
    assert loaded.words[0].phonemes[0].viseme == "closed"
    assert loaded.lines[0].entrance.label == "late" and loaded.lines[0].entrance.offset_ms == pytest.approx(70.0)
    assert json.loads((tmp_path / "s.json").read_text())["schema"] == "lipcoach.songmap/2"


@pytest.mark.parametrize("offset_s,label", [(-0.1, "early"), (0.0, "on"), (0.039, "on"), (0.2, "late")])
def test_entrance_labels_follow_the_tolerance(offset_s, label):
    assert Entrance.from_times(10.0 + offset_s, 10.0).label == label


def test_invalid_map_names_file_and_field(tmp_path):
    doc = tiny_map().to_dict()
    doc["breaths"][0]["kind"] = "yawn"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(LipcoachError) as caught:
        SongMap.load(tmp_path / "bad.json")
    assert str(tmp_path / "bad.json") in str(caught.value) and "breaths/0/kind" in str(caught.value)


def test_newer_and_foreign_documents_are_refused(tmp_path):
    doc = tiny_map().to_dict()
    doc["schema"] = "lipcoach.songmap/9"
    with pytest.raises(LipcoachError, match="newer"):
        schema.validate(doc, "lipcoach.songmap")
    doc["schema"] = "lipcoach.takereport/1"
    with pytest.raises(LipcoachError, match="expected lipcoach.songmap"):
        schema.validate(doc, "lipcoach.songmap")
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(LipcoachError, match="not valid JSON"):
        SongMap.load(tmp_path / "x.json")


def test_old_versions_are_upgraded_on_load(monkeypatch):
    doc = json.loads(V1_MAP.read_text())  # a real v1 map, posing as a v0 without downbeats
    doc["schema"] = "lipcoach.songmap/0"
    doc.pop("downbeats")
    monkeypatch.setitem(schema._UPGRADERS, ("lipcoach.songmap", 0), lambda d: {**d, "downbeats": []})
    assert schema.validate(doc, "lipcoach.songmap")["downbeats_s"] == []  # 0 → 1 (patched) → 2 (real)


def test_failed_save_leaves_the_previous_file(tmp_path):
    path = tmp_path / "s.json"
    tiny_map().save(path)
    before = path.read_text()
    broken = tiny_map()
    broken.breaths[0].kind = "yawn"
    with pytest.raises(LipcoachError):
        broken.save(path)
    assert path.read_text() == before and [p.name for p in tmp_path.iterdir()] == ["s.json"]


def test_written_files_get_ordinary_permissions(tmp_path):
    import os
    import stat

    tiny_map().save(tmp_path / "s.json")
    mode = stat.S_IMODE(os.stat(tmp_path / "s.json").st_mode)
    assert mode & stat.S_IRGRP or os.umask(os.umask(0)) & stat.S_IRGRP


def test_entrance_slot_round_trips_and_older_maps_still_load(tmp_path):
    from lipcoach.song.rhythm import place_entrance

    m = tiny_map()
    m.lines[0].entrance = place_entrance(1.27, beats_s=m.beats, downbeats_s=m.downbeats, subdivision="eighth")
    m.save(tmp_path / "s.json")
    e = SongMap.load(tmp_path / "s.json").lines[0].entrance
    assert (e.slot, e.bar, e.subdivision, e.slot_time, e.beat_time) == ("and of 2", 1, "eighth", 1.25, 1.0)
    assert e.offset_ms == pytest.approx(20.0) and e.label == "on"
    # A map written before slots existed: the entrance has only beat_time, offset_ms, label.
    doc = tiny_map().to_dict()
    doc["lines"][0]["entrance"] = {"beat_time_s": 1.0, "offset_ms": 70.0, "label": "late"}
    (tmp_path / "old.json").write_text(json.dumps(doc))
    old = SongMap.load(tmp_path / "old.json").lines[0].entrance
    assert old.slot is None and old.reference_time == 1.0 and old.describe() == "the beat, 70 ms late"
    doc["lines"][0]["entrance"]["subdivision"] = "quintuplet"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(LipcoachError, match="subdivision"):
        SongMap.load(tmp_path / "bad.json")


# -- lipcoach.songmap/2 ------------------------------------------------------------------------

V1_MAP = Path(__file__).parent / "song" / "data" / "songmap_v1.json"  # written by `lipcoach analyze` before v2


def test_a_real_v1_map_loads_as_v2_with_every_time_kept():
    raw = json.loads(V1_MAP.read_text())
    assert raw["schema"] == "lipcoach.songmap/1" and "start" in raw["words"][0]
    song = SongMap.load(V1_MAP)
    doc = song.to_dict()
    assert doc["schema"] == "lipcoach.songmap/2"
    assert doc["duration_s"] == raw["duration"] and doc["beats_s"] == raw["beats"] and doc["downbeats_s"] == raw["downbeats"]
    assert doc["onsets_s"] == raw["onsets"] and doc["vocal_activity_s"] == raw["vocal_activity"]
    assert [(w["start_s"], w["end_s"]) for w in doc["words"]] == [(w["start"], w["end"]) for w in raw["words"]]
    assert [[(p["start_s"], p["end_s"]) for p in w["phonemes"]] for w in doc["words"]] == \
        [[(p["start"], p["end"]) for p in w["phonemes"]] for w in raw["words"]]
    assert [(ln["start_s"], ln["end_s"], ln["entrance"]["beat_time_s"], ln["entrance"]["offset_ms"]) for ln in doc["lines"]] == \
        [(ln["start"], ln["end"], ln["entrance"]["beat_time"], ln["entrance"]["offset_ms"]) for ln in raw["lines"]]
    assert [(b["start_s"], b["end_s"], b["level_db"]) for b in doc["breaths"]] == [(b["start"], b["end"], b["level_db"]) for b in raw["breaths"]]
    assert doc["loudness"]["rate_hz"] == raw["loudness"]["rate"] and doc["loudness"]["values_db"] == raw["loudness"]["values"]
    assert [(s["start_s"], s["end_s"]) for s in doc["sections"]] == [(s["start"], s["end"]) for s in raw["sections"]]
    assert doc["extensions"] == {} and doc["source"] == raw["source"]
    # No v1 key is left anywhere a time lives.
    assert not {"start", "end", "duration", "beats", "beat_time"} & (set(doc) | set(doc["words"][0]) | set(doc["lines"][0]) | set(doc["lines"][0]["entrance"]))


def test_unknown_top_level_keys_are_refused_in_v2_and_kept_under_extensions_from_v1(tmp_path):
    doc = tiny_map().to_dict()
    doc["my_notes"] = "bar 12 is hard"
    with pytest.raises(LipcoachError, match="my_notes"):
        schema.validate(doc, "lipcoach.songmap")
    v1 = json.loads(V1_MAP.read_text())
    v1["my_notes"] = "bar 12 is hard"
    (tmp_path / "old.json").write_text(json.dumps(v1))
    song = SongMap.load(tmp_path / "old.json")
    assert song.extensions == {"my_notes": "bar 12 is hard"}
    song.extensions["tool"] = {"gain": 0.123456789}
    song.save(tmp_path / "new.json")
    assert SongMap.load(tmp_path / "new.json").extensions == {"my_notes": "bar 12 is hard", "tool": {"gain": 0.123456789}}


def test_entrance_slot_fields_and_flags_round_trip_under_their_json_names():
    doc = tiny_map().to_dict()
    doc["lines"][0]["entrance"].update(slot_time_s=1.0, slot="and of 4", bar=1, subdivision="eighth")
    doc["lines"][0]["flagged"] = True
    assert schema.validate(json.loads(json.dumps(doc)), "lipcoach.songmap")["lines"][0]["entrance"]["slot_time_s"] == 1.0
    doc["lines"][0]["entrance"]["subdivision"] = "quintuplet"
    with pytest.raises(LipcoachError, match="subdivision"):
        schema.validate(doc, "lipcoach.songmap")
