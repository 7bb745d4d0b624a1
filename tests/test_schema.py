import json

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
    assert json.loads((tmp_path / "s.json").read_text())["schema"] == "lipcoach.songmap/1"


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
    doc = tiny_map().to_dict()
    doc["schema"] = "lipcoach.songmap/0"
    doc.pop("downbeats")
    monkeypatch.setitem(schema._UPGRADERS, ("lipcoach.songmap", 0), lambda d: {**d, "downbeats": []})
    assert schema.validate(doc, "lipcoach.songmap")["downbeats"] == []


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
    doc["lines"][0]["entrance"] = {"beat_time": 1.0, "offset_ms": 70.0, "label": "late"}
    (tmp_path / "old.json").write_text(json.dumps(doc))
    old = SongMap.load(tmp_path / "old.json").lines[0].entrance
    assert old.slot is None and old.reference_time == 1.0 and old.describe() == "the beat, 70 ms late"
    doc["lines"][0]["entrance"]["subdivision"] = "quintuplet"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(LipcoachError, match="subdivision"):
        SongMap.load(tmp_path / "bad.json")
