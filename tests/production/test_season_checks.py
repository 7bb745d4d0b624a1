"""`season import` checks the whole file against its songs, and bounds hostile files.

Every refusal: exit code 2, one line ``<season file>:<line>: <problem>`` on stderr, and
nothing stored (no catalogue created; an existing catalogue unchanged, files included).
The commands run in-process (``lipcoach.cli.main``) to keep the suite quick.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from lipcoach.production.catalogue import Catalogue
from lipcoach.production.tables import Episode, Season, SeasonNumber, SeasonSong
from tests.cli_run import run, said_lines


def lipcoach(capsys, *args) -> tuple[int, str]:
    """Run ``lipcoach ARGS`` in this process; (exit code, stderr)."""
    return run(args, capsys)


def assert_refused(code: int, err: str, path: Path, line: int, *fragments: str) -> None:
    lines = said_lines(err)
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"lipcoach: {path}:{line}: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the ``nth`` line of ``text`` equal to ``needle`` (stripped)."""
    hits = [k + 1 for k, ln in enumerate(text.splitlines()) if ln.strip() == needle.strip()]
    return hits[nth - 1]


def edited(season: Path, old: str, new: str, *, name: str = "edited.yaml") -> tuple[Path, str]:
    text = season.read_text()
    assert old in text, old
    out = season.with_name(name)
    out.write_text(text.replace(old, new, 1))
    return out, out.read_text()


def snapshot(root: Path) -> dict:
    cat = Catalogue(root)
    with cat.session() as s:
        counts = {t.__name__: s.scalar(select(func.count()).select_from(t)) for t in (Season, SeasonSong, Episode, SeasonNumber)}
        specs = sorted(s.scalars(select(SeasonNumber.spec)))
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.suffix != ".sqlite-journal")
    return {"counts": counts, "specs": specs, "files": files}


# -- checks against the songs ------------------------------------------------------------
# Each: (old text, new text, the line the error must name, fragments of the message).
AGAINST_SONGS = {
    "section beyond the song's lines": (
        "          - song: paper-boats-slow\n            lines: 3-4", "          - song: paper-boats-slow\n            lines: 3-5",
        "lines: 3-5", ["number 'paper-boats-medley': section 2: lines 3-5, but song 'paper-boats-slow' has 4 lines"]),
    "section starting after the song's end": (
        "          - song: paper-boats-slow\n            lines: 3-4", "          - song: paper-boats-slow\n            lines: 5",
        "lines: 5", ["lines 5, but song 'paper-boats-slow' has 4 lines"]),
    "duet line map beyond the number": (
        "          3-4: [Nellie, Sam]", "          3-6: [Nellie, Sam]",
        "3-6: [Nellie, Sam]", ["number 'hold-your-breath': lines: 3-6 gives line 6 a singer, but the number has 4 lines"]),
    "duet line map, value on the next line": (
        "          3-4: [Nellie, Sam]", "          5:\n            - Nellie",
        "5:", ["lines: 5 gives line 5 a singer, but the number has 4 lines"]),
    "tempo change beyond 25 %": (
        "tempo_bpm: 104", "tempo_bpm: 130",
        "tempo_bpm: 130", ["section 1 (song 'paper-boats')", "96 BPM (from its map), so 130 BPM", "1.35x", "--allow-stretch"]),
    "tempo octave": (
        "tempo_bpm: 104", "tempo_bpm: 50",
        "tempo_bpm: 50", ["0.52x", "96 BPM may be a tempo octave", "give the song tempo_bpm: 48"]),
    "key change beyond 5 semitones": (
        "        key: A\n        singers: [Nellie, Sam]", "        key: D#\n        singers: [Nellie, Sam]",
        "key: D#", ["section 1 (song 'paper-boats')", "-6 semitones", "more than ±5", "--allow-stretch"]),
}


@pytest.mark.parametrize("case", list(AGAINST_SONGS))
def test_a_number_that_does_not_fit_its_songs_is_refused_at_import(case, season_copy, tmp_path, capsys):
    old, new, at, fragments = AGAINST_SONGS[case]
    path, text = edited(season_copy, old, new)
    code, err = lipcoach(capsys, "season", "import", path, "--data", tmp_path / "data")
    assert_refused(code, err, path, line_of(text, at), *fragments)
    assert not (tmp_path / "data").exists()


def test_a_refused_import_leaves_an_existing_catalogue_as_it_was(season_copy, tmp_path, capsys):
    data = tmp_path / "data"
    assert lipcoach(capsys, "season", "import", season_copy, "--data", data)[0] == 0
    before = snapshot(data)
    # A changed song (new lyrics file content) and a bad number in the same file: neither is stored.
    (season_copy.parent / "paper-boats" / "lyrics.txt").write_text("a changed first line\n" * 4)
    path, text = edited(season_copy, "          3-4: [Nellie, Sam]", "          37-45: [Nellie, Sam]", name="season.yaml")
    code, err = lipcoach(capsys, "season", "import", path, "--data", data)
    assert_refused(code, err, path, line_of(text, "37-45: [Nellie, Sam]"), "gives line 45 a singer, but the number has 4 lines")
    assert snapshot(data) == before


def test_allow_stretch_confirms_a_big_tempo_change_and_the_build_honours_it(season_copy, tmp_path, capsys):
    path, _ = edited(season_copy, "tempo_bpm: 104", "tempo_bpm: 130")
    code, err = lipcoach(capsys, "season", "import", path, "--data", tmp_path / "data", "--allow-stretch")
    assert code == 0, err
    assert f"note: {path}:{line_of(path.read_text(), 'tempo_bpm: 130')}: number 'boats-and-breath': section 1 (song 'paper-boats'): " \
           "the song is at 96 BPM (from its map), so 130 BPM would play it at 1.35x speed" in err, err  # said, not silent
    with Catalogue(tmp_path / "data").session() as s:
        specs = {row.slug: json.loads(row.spec) for row in s.scalars(select(SeasonNumber))}
    assert specs["boats-and-breath"]["stretch_confirmed"] is True
    assert "stretch_confirmed" not in specs["paper-boats-medley"]  # only the number that needed it
    # Beyond what Rubber Band can do, even --allow-stretch is refused.
    path, text = edited(season_copy, "tempo_bpm: 104", "tempo_bpm: 250")
    code, err = lipcoach(capsys, "season", "import", path, "--data", tmp_path / "data2", "--allow-stretch")
    assert_refused(code, err, path, line_of(text, "tempo_bpm: 250"), "2.60x speed (outside 0.5x to 2x, refused)")


def test_the_song_tempo_given_in_the_season_settles_a_tempo_octave(season_copy, tmp_path, capsys):
    """A song map that reads double time (192 for a 96 BPM song): refused with the octave hint,
    then imported once the season gives the song's tempo, and the build stretches from it."""
    song_json = season_copy.parent / "paper-boats" / "song.json"
    doc = json.loads(song_json.read_text())
    beats = doc["beats_s"]
    doc["tempo_bpm"], doc["beats_s"] = 192.0, sorted(beats + [(a + b) / 2 for a, b in zip(beats, beats[1:])])  # read at double time
    song_json.write_text(json.dumps(doc))
    text = season_copy.read_text()
    code, err = lipcoach(capsys, "season", "import", season_copy, "--data", tmp_path / "data")
    assert_refused(code, err, season_copy, line_of(text, "tempo_bpm: 104"),
                   "192 BPM (from its map), so 104 BPM would play it at 0.54x", "give the song tempo_bpm: 96")
    path, _ = edited(season_copy, "    key: A\n    map: paper-boats/song.json", "    key: A\n    map: paper-boats/song.json\n    tempo_bpm: 96")
    code, err = lipcoach(capsys, "season", "import", path, "--data", tmp_path / "data")
    assert code == 0, err
    with Catalogue(tmp_path / "data").session() as s:
        spec = json.loads(s.scalar(select(SeasonNumber.spec).where(SeasonNumber.slug == "boats-and-breath")))
    assert spec["song_tempo_bpm"] == {"paper-boats": 96.0}
    from lipcoach.production.build import build_number

    result = build_number(Catalogue(tmp_path / "data"), "boats-and-breath")
    first = result.cuts[0]
    assert first.speed == pytest.approx(104 / 96)  # stretched from the song's real tempo, not 0.54x
    beats = np.asarray([t for t in result.songmap.beats if first.start_s <= t < first.end_s])
    assert np.median(np.diff(beats)) == pytest.approx(60 / 104, rel=0.02)  # its beat grid at the number's tempo


def test_songs_without_a_map_are_checked_on_their_lyrics_and_audio(season_copy, tmp_path, capsys):
    """Without a song map the lines are counted in the lyrics and the tempo is read from the audio."""
    text = re.sub(r"\n    map: [^\n]*", "", season_copy.read_text()).replace("tempo_bpm: 104", "tempo_bpm: 140")
    path = season_copy.with_name("nomaps.yaml")
    path.write_text(text)
    code, err = lipcoach(capsys, "season", "import", path, "--data", tmp_path / "data")
    assert_refused(code, err, path, line_of(text, "tempo_bpm: 140"), "(from its audio), so 140 BPM")
    assert re.search(r"the song is at (9[4-8]) BPM", err), err  # the generated song is at 96 BPM
    path.write_text(text.replace("tempo_bpm: 140", "tempo_bpm: 104").replace(
        "- song: paper-boats-slow\n            lines: 3-4", "- song: paper-boats-slow\n            lines: 4-6"))
    code, err = lipcoach(capsys, "season", "import", path, "--data", tmp_path / "data")
    assert_refused(code, err, path, line_of(path.read_text(), "lines: 4-6"),
                   "song 'paper-boats-slow' has 4 lines (its lyrics lyrics.txt)")


def test_a_non_ascii_song_id_is_reported_on_its_own_line(season_copy, tmp_path, capsys):
    path, text = edited(season_copy, "  hold-your-breath:\n    title", "  homard-épicé:\n    title")
    code, err = lipcoach(capsys, "season", "import", path, "--data", tmp_path / "data")
    assert_refused(code, err, path, line_of(text, "homard-épicé:"), "song id 'homard-épicé'", "ASCII")
    assert not (tmp_path / "data").exists()


# -- hostile files -----------------------------------------------------------------------
def _bomb(levels: int = 9) -> str:
    rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for k in range(1, levels):
        rows.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 9) + "]")
    return "schema: lipcoach.season/1\n" + "\n".join(rows) + "\n"


HOSTILE = {
    "alias bomb": (_bomb(), 2, "expands to more than 100,000 values"),
    "recursive alias": ("schema: lipcoach.season/1\nsongs: &s\n  a: *s\nepisodes: []\n", 2, "recursive alias"),
    "recursive alias in a list": ("schema: lipcoach.season/1\nsongs: {}\nepisodes: &e\n  - *e\n", 3, "recursive alias"),
    "python tag": ("schema: lipcoach.season/1\nsongs: !!python/object/apply:os.system [\"touch pwned\"]\nepisodes: []\n", 2,
                   "tag '!!python/object/apply:os.system' is not allowed"),
    "unknown local tag": ("schema: lipcoach.season/1\nsongs: {}\nepisodes: !episodes []\n", 3, "tag '!episodes' is not allowed"),
    "merge key": ("schema: lipcoach.season/1\nbase: &b {audio: a.wav}\nsongs:\n  a:\n    <<: *b\nepisodes: []\n", 5,
                  "merge keys ('<<') are not supported"),
    "too many aliases": ("schema: lipcoach.season/1\nx: &x 1\nl: [" + ", ".join(["*x"] * 101) + "]\n", 3, "more than 100 aliases"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_season_file_gets_one_line_quickly(case, tmp_path, capsys):
    text, line, fragment = HOSTILE[case]
    path = tmp_path / "season.yaml"
    path.write_text(text)
    started = time.monotonic()
    code, err = lipcoach(capsys, "season", "import", path, "--data", tmp_path / "data")
    assert time.monotonic() - started < 10
    assert_refused(code, err, path, line, fragment)
    assert not (tmp_path / "data").exists() and not (tmp_path / "pwned").exists()


def test_a_billion_line_duet_map_is_refused_without_expanding_it(season_copy, tmp_path, capsys):
    path, text = edited(season_copy, "          3-4: [Nellie, Sam]", "          3-999999999: [Nellie, Sam]")
    started = time.monotonic()
    code, err = lipcoach(capsys, "season", "import", path, "--data", tmp_path / "data")
    assert time.monotonic() - started < 10
    assert_refused(code, err, path, line_of(text, "3-999999999: [Nellie, Sam]"), "beyond line 10000")


NESTED = {
    "2 MiB": ("schema: lipcoach.season/1\n" + "# padding\n" * 200_000, None, "a season file is at most 1024 KiB"),
    "15,000 brackets": ("schema: lipcoach.season/1\nsongs: " + "[" * 15_000 + "]" * 15_000 + "\n", 2, "nest more than 24 deep"),
    "stray closers first": ("schema: lipcoach.season/1\ntitle: ']]]]]]]]]]'\nsongs: " + "[" * 15_000 + "]" * 15_000 + "\n", 3,
                            "nest more than 24 deep"),
    "200,000 dashes": ("schema: lipcoach.season/1\nsongs:\n  - " + "- " * 200_000 + "x\n", 3, "indented more than 120 columns"),
}


@pytest.mark.parametrize("case", list(NESTED))
def test_an_oversized_or_deeply_nested_file_is_refused_before_parsing(case, tmp_path, capsys):
    text, line, fragment = NESTED[case]
    path = tmp_path / "season.yaml"
    path.write_text(text)
    started = time.monotonic()
    code, err = lipcoach(capsys, "season", "import", path, "--data", tmp_path / "data")
    assert time.monotonic() - started < 10
    assert code == 2 and len([ln for ln in err.splitlines() if ln.strip()]) == 1 and "Traceback" not in err, err
    assert err.startswith(f"lipcoach: {path}" + (f":{line}: " if line else ": ")), err
    assert fragment in err, err
    assert not (tmp_path / "data").exists()


# -- paths confined to the season's folder ------------------------------------------------
def _outside_cases(season: Path, tmp_path: Path):
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("paper boats upon the river\n")
    link = season.parent / "paper-boats" / "innocent.txt"
    link.symlink_to("/etc/passwd")
    dotdot = "../" * 12 + "etc/passwd"
    return {"absolute": "/etc/passwd", "home": "~/.bashrc", "parent": dotdot, "outside file": str(outside),
            "symlink": "paper-boats/innocent.txt"}


@pytest.mark.parametrize("case", ["absolute", "home", "parent", "outside file", "symlink"])
def test_a_song_file_outside_the_season_folder_is_refused(case, season_copy, tmp_path, capsys):
    value = _outside_cases(season_copy, tmp_path)[case]
    path, text = edited(season_copy, "lyrics: paper-boats/lyrics.txt", f"lyrics: {value}")
    code, err = lipcoach(capsys, "season", "import", path, "--data", tmp_path / "data")
    assert_refused(code, err, path, line_of(text, f"lyrics: {value}"),
                   "song 'paper-boats': lyrics file", "is outside the season's folder", "--allow-outside")
    assert not (tmp_path / "data").exists()


def test_allow_outside_accepts_a_file_beside_the_season_folder(season_copy, tmp_path, capsys):
    shared = tmp_path / "shared-lyrics.txt"
    shared.write_text((season_copy.parent / "paper-boats" / "lyrics.txt").read_text())
    path, text = edited(season_copy, "lyrics: paper-boats/lyrics.txt", f"lyrics: {shared}")
    code, err = lipcoach(capsys, "season", "import", path, "--data", tmp_path / "data")
    assert_refused(code, err, path, line_of(text, f"lyrics: {shared}"), "outside the season's folder")
    code, err = lipcoach(capsys, "season", "import", path, "--data", tmp_path / "data", "--allow-outside")
    assert code == 0, err
    # A symlink inside the folder to a file inside it is fine.
    (season_copy.parent / "lyrics-link.txt").symlink_to(season_copy.parent / "paper-boats" / "lyrics.txt")
    path, _ = edited(season_copy, "lyrics: paper-boats/lyrics.txt", "lyrics: lyrics-link.txt", name="linked.yaml")
    code, err = lipcoach(capsys, "season", "import", path, "--data", tmp_path / "data3")
    assert code == 0, err
