"""Season files: import is idempotent, bad files get one line naming file, line and problem."""

from __future__ import annotations

import json
import sqlite3

import pytest
from sqlalchemy import func, select

from lipcoach.errors import LipcoachError
from lipcoach.production.catalogue import Catalogue, Number
from lipcoach.production.season import import_season, read_season, semitones_between
from lipcoach.production.tables import Episode, Season, SeasonNumber, SeasonSong
from tests.test_cli import assert_one_line_error, run_cli


def _counts(cat):
    with cat.session() as s:
        return {t.__name__: s.scalar(select(func.count()).select_from(t)) for t in (Season, SeasonSong, Episode, SeasonNumber, Number)}


def test_one_number_of_each_kind_imports(season_file, tmp_path):
    spec = read_season(season_file)
    kinds = {n.kind for ep in spec.episodes for n in ep.numbers}
    assert {"solo", "duet", "mashup", "medley", "original"} <= kinds
    cat = Catalogue(tmp_path / "data")
    summary = import_season(cat, season_file)
    assert (summary.songs_added, summary.numbers_added, summary.episodes) == (4, 5, 2)
    with cat.session() as s:
        duet = s.scalar(select(SeasonNumber).where(SeasonNumber.slug == "hold-your-breath"))
        lines = json.loads(duet.spec)["lines"]
        assert lines == {"1": ["Nellie"], "2": ["Sam"], "3": ["Nellie", "Sam"], "4": ["Nellie", "Sam"]}
        number = s.get(Number, duet.number_id)
        assert number.title == "Hold Your Breath" and number.performer.name == "Ana Ruiz"
        mashup = json.loads(s.scalar(select(SeasonNumber.spec).where(SeasonNumber.slug == "boats-and-breath")))
        assert [(x["song"], x["first_line"], x["last_line"], x["singers"]) for x in mashup["sections"]] == [
            ("paper-boats", 1, 2, ["Nellie"]), ("hold-your-breath", 1, 2, ["Sam"])]


def test_importing_again_updates_and_never_duplicates(season_copy, tmp_path):
    cat = Catalogue(tmp_path / "data")
    import_season(cat, season_copy)
    before = _counts(cat)
    files_before = sorted(p.name for p in (cat.root / "files").iterdir())
    again = import_season(cat, season_copy)
    assert _counts(cat) == before
    assert (again.songs_added, again.songs_updated, again.numbers_added, again.numbers_updated) == (0, 0, 0, 0)
    assert sorted(p.name for p in (cat.root / "files").iterdir()) == files_before  # nothing stored twice

    with cat.session() as s:
        number_id = s.scalar(select(SeasonNumber.number_id).where(SeasonNumber.slug == "paper-boats"))
    text = season_copy.read_text().replace("title: Paper Boats\n        kind: solo", "title: Paper Boats (reprise)\n        kind: solo")
    text = text.replace("key: G", "key: Bb")
    season_copy.write_text(text)
    third = import_season(cat, season_copy)
    assert _counts(cat) == before
    assert third.numbers_updated == 1 and third.songs_updated == 1
    with cat.session() as s:
        assert s.get(Number, number_id).title == "Paper Boats (reprise)"
        assert s.scalar(select(SeasonSong.key).where(SeasonSong.slug == "hold-your-breath")) == "Bb"


BAD = [
    ("schema: lipcoach.season/1\nsongs: {a: {audio: x.wav\n", 3, "while parsing a flow mapping on line 2"),
    ("schema: lipcoach.season/1\nsongs:\n  a: b: c\n", 3, "not valid YAML (mapping values are not allowed here"),
    ("schema: lipcoach.season/9\nsongs: {}\nepisodes: []\n", 1, "newer than this lipcoach reads"),
    ("schema: lipcoach.season/1\nsongs:\n  a:\n    audio: missing.wav\n    lyrics: l.txt\nepisodes: []\n", 4, "audio file 'missing.wav' not found"),
    ("schema: lipcoach.season/1\nsongs:\n  a:\n    audio: a.wav\n    lyrics: l.txt\n    tempo: 3\nepisodes: []\n", 6, "unknown field 'tempo'"),
    ("schema: lipcoach.season/1\nsongs:\n  a:\n    audio: a.wav\n    lyrics: l.txt\nepisodes:\n  - number: 1\n"
     "    characters:\n      - {name: Nellie, performer: Ana}\n    numbers:\n      - id: m\n        kind: mashup\n"
     "        singers: Nellie\n        sections:\n          - {song: a, lines: 1-2}\n          - {song: a, lines: 3}\n", 15,
     "a mashup takes sections from two or more songs"),
    ("schema: lipcoach.season/1\nsongs:\n  a:\n    audio: a.wav\n    lyrics: l.txt\nepisodes:\n  - number: 1\n"
     "    characters:\n      - {name: Nellie, performer: Ana}\n    numbers:\n      - id: s\n        kind: solo\n"
     "        singers: Nellie\n        song: b\n", 14, "song 'b' is not in the season's songs"),
    ("schema: lipcoach.season/1\nsongs:\n  a:\n    audio: a.wav\n    lyrics: l.txt\nepisodes:\n  - number: 1\n"
     "    characters:\n      - {name: Nellie, performer: Ana}\n    numbers:\n      - id: d\n        kind: duet\n"
     "        singers: [Nellie, Sam]\n        song: a\n", 13, "'Sam' is not a character of this episode"),
]


@pytest.mark.parametrize("text,line,problem", BAD)
def test_a_bad_season_file_gets_one_line_with_file_line_and_problem(tmp_path, short_song_files, text, line, problem):
    (tmp_path / "a.wav").write_bytes(short_song_files["mix.wav"].read_bytes())
    (tmp_path / "l.txt").write_text("la la\n")
    path = tmp_path / "season.yaml"
    path.write_text(text)
    with pytest.raises(LipcoachError) as info:
        read_season(path)
    assert str(info.value).startswith(f"{path}:{line}: "), str(info.value)
    assert problem in str(info.value)


def test_cli_refuses_a_bad_file_in_one_line_and_creates_no_catalogue(tmp_path):
    path = tmp_path / "season.yaml"
    path.write_text("schema: lipcoach.season/1\nsongs: []\nepisodes: []\n")
    result = run_cli("season", "import", path, "--data", tmp_path / "data")
    assert_one_line_error(result, f"{path}:2:", "songs must be a mapping")
    assert not (tmp_path / "data").exists()


def test_a_catalogue_from_before_the_desk_opens_and_keeps_its_rows(tmp_path, short_song_files):
    from lipcoach.production.catalogue import Base
    from lipcoach.production.tables import DESK_TABLES, migrate
    from sqlalchemy import create_engine

    root = tmp_path / "data"
    root.mkdir()
    engine = create_engine(f"sqlite:///{root / 'catalogue.sqlite'}")
    Base.metadata.create_all(engine, tables=[t for t in Base.metadata.sorted_tables if t not in DESK_TABLES])
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO numbers (title, created_at) VALUES ('Old number', '2026-01-01 00:00:00')")
    engine.dispose()
    cat = Catalogue(root)
    with cat.session() as s:
        assert s.scalar(select(Number.title)) == "Old number"
        assert s.scalar(select(func.count()).select_from(SeasonNumber)) == 0
    db = sqlite3.connect(root / "catalogue.sqlite")
    assert db.execute("SELECT version FROM desk_schema").fetchall() == [(1,)]
    assert migrate(cat.engine) == 1  # already current


def test_key_distance_is_the_shortest_shift():
    assert semitones_between("G", "A") == 2.0
    assert semitones_between("A", "G") == -2.0
    assert semitones_between("C", "Bb") == -2.0
    assert semitones_between("F#m", "C") == 6.0 or semitones_between("F#m", "C") == -6.0
    assert semitones_between(None, "C") == 0.0


def test_the_documented_example_is_the_demo_season(season_file):
    import re
    from pathlib import Path

    import yaml

    doc = (Path(__file__).resolve().parents[2] / "docs" / "season.md").read_text()
    example = re.search(r"```yaml\n(.*?)```", doc, flags=re.S).group(1)
    assert yaml.safe_load(example) == yaml.safe_load(season_file.read_text())


def test_a_song_file_that_is_not_audio_names_its_line_before_anything_is_stored(tmp_path):
    (tmp_path / "a.wav").write_text("<html>not a song</html>" * 50)
    (tmp_path / "l.txt").write_text("la la\n")
    path = tmp_path / "season.yaml"
    path.write_text("schema: lipcoach.season/1\nsongs:\n  a:\n    lyrics: l.txt\n    audio: a.wav\nepisodes: []\n")
    result = run_cli("season", "import", path, "--data", tmp_path / "data")
    assert_one_line_error(result, f"{path}:5:", "song 'a': audio a.wav")
    assert not (tmp_path / "data").exists()
