"""The best take per line to the edit: choice, pins, hidden lines, and every export read back."""

from __future__ import annotations

import json

import opentimelineio as otio
import pytest
from sqlalchemy import select

from lipcoach.production.dailies import run_dailies
from lipcoach.production.edit import FORMATS, choose_takes, pin_take, write_edit
from lipcoach.production.tables import DailyTake, LinePin
from tests.production.conftest import TAKE_PLANS
from tests.test_cli import assert_one_line_error, run_cli

HANDLES_S = 0.5


@pytest.fixture(scope="module")
def scored(built_catalogue, takes_folder):
    cat, _ = built_catalogue
    summary = run_dailies(cat, takes_folder, "boats-and-breath", workers=1)
    assert summary.scored + summary.skipped == 3 and not summary.failed
    return cat


@pytest.fixture
def no_pins(scored):
    yield scored
    with scored.session() as s:
        for pin in s.scalars(select(LinePin)):
            s.delete(pin)
        s.commit()


def _by_name(plan):
    return {c.line_index: (c.take.name if c.take else None) for c in plan.choices}


def test_each_line_gets_the_best_take_that_covers_it(no_pins):
    plan = choose_takes(no_pins, "boats-and-breath")
    chosen = _by_name(plan)
    assert chosen[0] == "take01.mp4"  # the only take that covers line 1
    assert chosen[1] == "take01.mp4"  # take02 forgot line 2
    assert chosen[3] == "take03.mp4"  # the only take that covers line 4
    for c in plan.choices:
        assert c.take.covers(c.start_s, c.end_s)
        assert c.score == max(score for _, score in c.candidates)
    take02 = next(t for t in plan.takes if t.name == "take02.mp4")
    assert take02.line_scores[1] < take02.line_scores[2]  # the forgotten line scores low


def test_a_pinned_take_wins_while_it_covers_the_line(no_pins):
    plan = choose_takes(no_pins, "boats-and-breath")
    line3 = plan.choices[2]
    other = next(t for t, _ in line3.candidates if t.id != line3.take.id)
    pin_take(no_pins, "boats-and-breath", 2, other.name)
    pin_take(no_pins, "boats-and-breath", 0, "take03.mp4")  # does not cover line 1
    plan = choose_takes(no_pins, "boats-and-breath")
    assert plan.choices[2].take.id == other.id and plan.choices[2].pinned
    assert plan.choices[0].take.name == "take01.mp4" and not plan.choices[0].pinned
    assert any("line 1" in n for n in plan.notes)


def test_a_take_with_the_line_hidden_does_not_cover_it(no_pins, tmp_path):
    cat = no_pins
    with cat.session() as s:
        row = s.scalar(select(DailyTake).where(DailyTake.name == "take01.mp4"))
        report_path = cat.path("reports", row.report_file)
    original = report_path.read_text()
    doc = json.loads(original)
    for line in doc["lines"]:
        if line["index"] == 0:
            line["hidden"] = True  # as a take report marks a head turned away
    report_path.write_text(json.dumps(doc))
    try:
        plan = choose_takes(cat, "boats-and-breath")
        assert plan.choices[0].take is None  # no other take covers line 1
        assert plan.choices[1].take.name == "take01.mp4"
    finally:
        report_path.write_text(original)


def _copy_with_verdicts(cat, dest, verdicts: dict[str, str], *, version: int = 2):
    """A copy of the catalogue in ``dest`` whose takes (by file name) carry other verdicts, in the row and in
    the report as the scorer writes it (``version`` 1: as takereport/1 did, every line of a take not in sync
    ``coverable: false`` and no line verdicts); the shared one is untouched."""
    import shutil
    import sqlite3

    from lipcoach.production.catalogue import Catalogue

    shutil.copytree(cat.root, dest)
    copy = Catalogue(dest)
    with sqlite3.connect(dest / "catalogue.sqlite") as db:
        db.executemany("UPDATE daily_takes SET verdict = ? WHERE name = ?", [(v, n) for n, v in verdicts.items()])
        files = dict(db.execute("SELECT name, report_file FROM daily_takes").fetchall())
    for name, verdict in verdicts.items():
        path = copy.path("reports", files[name])
        doc = json.loads(path.read_text())
        doc["verdict"] = verdict
        for line in doc["lines"]:
            if version == 1:
                line.pop("verdict", None)
                line["coverable"] = line["coverable"] and verdict == "in_sync"
            elif line.get("verdict") is not None:
                line["verdict"] = verdict
                line["coverable"] = line["coverable"] and verdict != "not_lip_syncing"
        if version == 1:
            doc["schema"] = "lipcoach.takereport/1"
            for key in ("unsure", "unsure_bar"):
                doc["placement"].pop(key, None)
        path.write_text(json.dumps(doc))
    return copy


@pytest.mark.parametrize("version", [2, 1])
def test_a_number_whose_takes_are_all_unconfirmed_is_still_cut_every_line_marked(no_pins, tmp_path, version):
    """The issue's mashup: every take cant_confirm gave 0 clips for every line. Reports written by
    takereport/1 (every line coverable: false) are upgraded when read and cut the same way."""
    names = [t["name"] for t in TAKE_PLANS]
    cat = _copy_with_verdicts(no_pins, tmp_path / "data", {n: "cant_confirm" for n in names}, version=version)
    plan = choose_takes(cat, "boats-and-breath")
    assert all(c.take is not None and not c.confirmed for c in plan.choices)
    assert _by_name(plan)[0] == "take01.mp4" and _by_name(plan)[3] == "take03.mp4"
    assert sum("used unconfirmed" in n for n in plan.notes) == len(plan.choices)


def test_an_unconfirmed_take_fills_a_line_no_confirmed_take_covers_and_is_marked(no_pins, tmp_path):
    cat = _copy_with_verdicts(no_pins, tmp_path / "data", {"take01.mp4": "cant_confirm", "take02.mp4": "not_lip_syncing"})
    plan = choose_takes(cat, "boats-and-breath")
    line1 = plan.choices[0]
    assert line1.take.name == "take01.mp4" and not line1.confirmed  # the only take covering line 1
    assert any(n.startswith("line 1: no take is confirmed in sync; take01.mp4") for n in plan.notes)
    assert all(c.take is None or c.take.name != "take02.mp4" for c in plan.choices)  # never a take out of sync
    assert plan.choices[3].take.name == "take03.mp4" and plan.choices[3].confirmed
    for fmt in FORMATS:  # every export carries the marker without failing
        write_edit(plan, tmp_path / f"cut.{fmt}", fmt=fmt, handles_s=HANDLES_S)
    timeline = otio.adapters.read_from_file(str(tmp_path / "cut.otio"))
    clips = list(timeline.video_tracks()[0].find_clips())
    marked = {c.metadata["lipcoach"]["line"] for c in clips if c.markers}
    unconfirmed = {c.metadata["lipcoach"]["line"] for c in clips if not c.metadata["lipcoach"]["confirmed"]}
    assert 0 in marked and marked == unconfirmed == set(timeline.metadata["lipcoach"]["lines_unconfirmed"])
    assert all(m.color == otio.schema.MarkerColor.RED for c in clips for m in c.markers)
    said = run_cli("edit", "boats-and-breath", "--data", cat.root, "-o", tmp_path / "cli.otio",
                   "--contact-sheet", tmp_path / "sheet.html")
    assert said.returncode == 0, said.stderr
    page = (tmp_path / "sheet.html").read_text()
    assert page.count("class='chosen'") == 4 and page.count("sync not confirmed") >= 2  # take01 on lines 1 and 2
    assert "take01.mp4" in said.stderr and "sync not confirmed" in said.stderr
    assert "note: line 1: no take is confirmed in sync; take01.mp4 is used unconfirmed" in said.stderr


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_export_reads_back_with_one_clip_per_line_at_the_takes_placement(no_pins, tmp_path, fmt):
    plan = choose_takes(no_pins, "boats-and-breath")
    out = write_edit(plan, tmp_path / f"cut{FORMATS[fmt][1]}", fmt=fmt, handles_s=HANDLES_S)
    timeline = otio.adapters.read_from_file(str(out), **({"rate": plan.fps} if fmt == "edl" else {}))
    frame_s = 1.0 / plan.fps
    video = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video]
    assert len(video) == 1
    clips = list(video[0].find_clips())
    assert len(clips) == len(plan.choices)
    takes = {t.path: t for t in plan.takes}
    for clip, choice in zip(clips, plan.choices):
        path = clip.media_reference.target_url.removeprefix("file://")
        assert path == choice.take.path
        take = takes[path]
        src_start = clip.source_range.start_time.to_seconds()
        src_end = src_start + clip.source_range.duration.to_seconds()
        # The clip holds its whole line (in take time) and at most the handles around it.
        assert src_start <= choice.start_s - take.song_start_s + frame_s
        assert src_end >= choice.end_s - take.song_start_s - frame_s
        assert src_start >= choice.start_s - take.song_start_s - HANDLES_S - frame_s
        assert src_end <= choice.end_s - take.song_start_s + HANDLES_S + frame_s
        assert 0 <= src_start and src_end <= take.duration_s + frame_s
        if fmt != "edl":  # an EDL read back starts its record at the first event
            record_s = clip.range_in_parent().start_time.to_seconds()
            assert record_s == pytest.approx(take.song_start_s + src_start, abs=1.01 * frame_s)
    if fmt != "edl":
        audio = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Audio]
        assert len(audio) == 1
        song = list(audio[0].find_clips())[0]
        assert song.media_reference.target_url.removeprefix("file://") == plan.song_path
        assert song.source_range.duration.to_seconds() == pytest.approx(plan.song_duration_s, abs=frame_s)


def test_cli_edit_writes_the_timeline_and_the_contact_sheet(no_pins, tmp_path):
    cat = no_pins
    out, sheet = tmp_path / "cut.otio", tmp_path / "sheet.html"
    result = run_cli("edit", "boats-and-breath", "--data", cat.root, "-o", out, "--contact-sheet", sheet)
    assert result.returncode == 0, result.stderr
    timeline = otio.adapters.read_from_file(str(out))
    assert len(list(timeline.find_clips())) == 4 + 1
    page = sheet.read_text()
    assert page.count("<tr>") == 1 + 4 and page.count("class='chosen'") == 4
    assert page.count("data:image/jpeg;base64,") >= 6  # a still for every take on every line it covers
    assert "does not cover this line" in page
    bad = run_cli("edit", "boats-and-breath", "--data", cat.root, "-o", tmp_path / "cut.mov")
    assert_one_line_error(bad, "cut.mov", "unknown timeline suffix")
    assert not (tmp_path / "cut.mov").exists()


def test_cli_dailies_again_skips_every_take(scored, takes_folder):
    result = run_cli("dailies", takes_folder, "--number", "boats-and-breath", "--data", scored.root, "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert "0 scored, 3 already scored, 0 failed" in result.stderr
    assert "take01.mp4" in result.stderr


def _pins(cat):
    with cat.session() as s:
        return {(p.line_index, p.take_id) for p in s.scalars(select(LinePin))}


def test_edit_never_writes_over_an_input_or_a_users_file(no_pins, season_file, takes_folder, tmp_path):
    from lipcoach.errors import LipcoachError

    cat = no_pins
    notes = tmp_path / "notes.otio"
    notes.write_text('{"OTIO_SCHEMA": "Timeline.1", "name": "my own notes"}')
    page = tmp_path / "notes.html"
    page.write_text("<html><body>my notes on the takes</body></html>")
    take = takes_folder / "take01.mp4"
    kept = {p: p.read_bytes() for p in (notes, page, season_file, take)}
    with cat.session() as s:
        takes_before = len(list(s.scalars(select(DailyTake))))
    cases = [
        (["-o", notes], "notes.otio", "not written by lipcoach"),
        (["-o", tmp_path / "cut.otio", "--contact-sheet", season_file], "season.yaml", "unsupported contact sheet"),
        (["-o", tmp_path / "cut.otio", "--contact-sheet", page], "notes.html", "not written by lipcoach"),
        (["-o", season_file, "--format", "otio", "--force"], "season.yaml", "is an input"),
        (["-o", take, "--format", "edl", "--force"], "take01.mp4", "is an input"),
        (["-o", cat.root / "catalogue.sqlite", "--format", "otio", "--force"], "catalogue.sqlite", "inside the catalogue"),
        (["-o", tmp_path / "cut.html", "--format", "otio", "--contact-sheet", tmp_path / "cut.html"], "cut.html",
         "two outputs"),
    ]
    for args, named, problem in cases:
        said = run_cli("edit", "boats-and-breath", "--data", cat.root, *args)
        assert_one_line_error(said, named, problem)
    assert {p: p.read_bytes() for p in kept} == kept
    assert not (tmp_path / "cut.otio").exists() and not (tmp_path / "cut.html").exists()
    import sqlite3

    with sqlite3.connect(cat.root / "catalogue.sqlite") as db:  # still the catalogue, whole
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM daily_takes").fetchone() == (takes_before,)
    # lipcoach's own lists are replaced freely; a user's file only with --force.
    from lipcoach.production.edit import check_edit_outputs

    plan = choose_takes(cat, "boats-and-breath")
    for fmt, (_, suffix) in FORMATS.items():
        written = write_edit(plan, tmp_path / f"cut{suffix}", fmt=fmt)
        assert check_edit_outputs(cat, written)[0] == written, fmt
        with pytest.raises(LipcoachError, match="not written by lipcoach"):
            check_edit_outputs(cat, notes, fmt=fmt)
    said = run_cli("edit", "boats-and-breath", "--data", cat.root, "-o", notes, "--force")
    assert said.returncode == 0, said.stderr
    assert len(list(otio.adapters.read_from_file(str(notes)).find_clips())) == 4 + 1


@pytest.mark.parametrize("args, problem", [
    (["--pin", "99=take01.mp4"], "has 4 lines"),
    (["--pin", "2=take09.mp4"], "no scored take 'take09.mp4'"),
    (["--pin", "0=take01.mp4"], "LINE from 1"),
    (["--handles", "nan"], "--handles nan"),
    (["--handles", "inf"], "--handles inf"),
    (["--handles", "-5"], "--handles -5"),
])
def test_edit_refuses_bad_pins_and_handles_before_any_work(no_pins, tmp_path, args, problem):
    before = _pins(no_pins)
    said = run_cli("edit", "boats-and-breath", "--data", no_pins.root, "-o", tmp_path / "cut.otio", *args)
    assert_one_line_error(said, problem)
    assert _pins(no_pins) == before and not (tmp_path / "cut.otio").exists()


def test_pins_are_kept_only_when_the_edit_is_written(no_pins, tmp_path, monkeypatch):
    from lipcoach.errors import LipcoachError
    from lipcoach.production import edit, edit_lists

    notes = tmp_path / "notes.otio"
    notes.write_text("my notes")
    said = run_cli("edit", "boats-and-breath", "--data", no_pins.root, "-o", notes, "--pin", "3=take02.mp4")
    assert_one_line_error(said, "notes.otio")
    assert _pins(no_pins) == set()

    def broken(*args, **kwargs):
        raise LipcoachError(tmp_path / "cut.otio", "the otio list written does not read back")

    monkeypatch.setattr(edit_lists, "_check_written", broken)
    with pytest.raises(LipcoachError):
        edit.cut_number(no_pins, "boats-and-breath", tmp_path / "cut.otio", pins={2: "take02.mp4"})
    assert _pins(no_pins) == set() and not (tmp_path / "cut.otio").exists()
    monkeypatch.undo()
    plan, _ = edit.cut_number(no_pins, "boats-and-breath", tmp_path / "cut.otio", pins={2: "take02.mp4"})
    assert plan.choices[2].pinned and plan.choices[2].take.name == "take02.mp4"
    assert len(_pins(no_pins)) == 1
def test_per_line_verdicts_and_unsure_placements_decide_what_is_confirmed():
    """Unit test of the choice: a line goes by its singer's verdict, and a take whose place in the song
    is unsure is only used unconfirmed."""
    from lipcoach.production.edit import TakeInfo, pick_best

    def take(i, name, verdict, lines, scores, *, unsure=False):
        return TakeInfo(id=i, name=name, path=name, song_start_s=0.0, duration_s=30.0, fps=25.0, score=80.0,
                        verdict=verdict, line_scores=scores, hidden_lines={li for li, v in lines.items() if v is None},
                        line_verdicts=lines, placement_unsure=unsure)

    lines = [(0, "one", 1.0, 3.0), (1, "two", 5.0, 7.0)]
    # Juno in sync on her line 0, absent from Teo's line 1; Teo unconfirmed on his line 1.
    juno = take(1, "juno.mp4", "in_sync", {0: "in_sync", 1: None}, {0: 90.0, 1: 95.0})
    teo = take(2, "teo.mp4", "cant_confirm", {0: None, 1: "cant_confirm"}, {0: 10.0, 1: 62.0})
    silent = take(3, "silent.mp4", "in_sync", {0: "in_sync", 1: "in_sync"}, {0: 99.0, 1: 99.0}, unsure=True)
    chosen = pick_best(lines, [juno, teo], {})
    assert [(c.take.name, c.confirmed) for c in chosen] == [("juno.mp4", True), ("teo.mp4", False)]
    chosen = pick_best(lines, [juno, teo, silent], {})
    assert [(c.take.name, c.confirmed) for c in chosen] == [("juno.mp4", True), ("silent.mp4", False)]
    # Even without the hidden-lines guard, a line whose singer is absent (verdict None) is never a candidate.
    juno.hidden_lines = set()
    assert all(t.name != "juno.mp4" for t, _ in pick_best(lines, [juno, teo], {})[1].candidates)
