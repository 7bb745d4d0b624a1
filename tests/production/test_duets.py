"""Duets: in a two-shot take each performer's face is scored on their own lines only."""

from __future__ import annotations

import json

import pytest

from lipcoach.production.dailies import TakeJob, score_one
from lipcoach.take.performers import assign_faces

# The demo duet: line 1 Nellie (Ana Ruiz), line 2 Sam (Ben Okafor), lines 3-4 both.
ANA_LINES, BEN_LINES = (0, 2, 3), (1, 2, 3)


def test_faces_go_to_the_performer_whose_lines_they_mouth():
    scores = {0: {0: 20.0, 1: 90.0, 2: 80.0}, 1: {0: 95.0, 1: 10.0, 2: 85.0}}
    assert assign_faces(scores, {"Ana": [0, 2], "Ben": [1, 2]}) == {"Ana": 1, "Ben": 0}


@pytest.fixture(scope="module")
def duet(built_catalogue, tmp_path_factory):
    from lipcoach.media.decode import load_audio
    from lipcoach.production.catalogue import Song
    from lipcoach.production.demo_season import TakePlan, write_plan_take

    cat, built = built_catalogue
    result = built["hold-your-breath"]
    with cat.session() as s:
        song = s.get(Song, result.song_id)
        version = cat.latest_map(s, song.id)
    song_path = cat.path("files", song.audio_file)
    audio, _ = load_audio(song_path, sr=16000)
    folder = tmp_path_factory.mktemp("duet")
    sm = result.songmap
    start, duration = 1.0, sm.duration - 1.5
    takes = {
        # Ana on the left, Ben on the right, each mouthing their own lines.
        "both.mp4": TakePlan("both.mp4", start, duration, faces=(ANA_LINES, BEN_LINES)),
        # The same with Ben (right) forgetting his solo line.
        "ben_forgets.mp4": TakePlan("ben_forgets.mp4", start, duration, faces=(ANA_LINES, (2, 3))),
        # They swapped places.
        "swapped.mp4": TakePlan("swapped.mp4", start, duration, faces=(BEN_LINES, ANA_LINES)),
    }
    docs = {}
    for name, plan in takes.items():
        write_plan_take(sm, audio, plan, folder / name)
        outcome = score_one(TakeJob(path=str(folder / name), sha256="x", map_path=str(cat.path("maps", version.file)),
                                    song_audio=str(song_path)))
        assert "doc" in outcome, outcome
        docs[name] = outcome["doc"]
    return docs


def _by_performer(doc):
    return {p["performer"]: p for p in doc["performers"]}


def test_report_shows_both_performers_each_on_their_own_lines(duet):
    doc = duet["both.mp4"]
    who = _by_performer(doc)
    assert set(who) == {"Ana Ruiz", "Ben Okafor"}
    assert who["Ana Ruiz"]["lines"] == list(ANA_LINES) and who["Ben Okafor"]["lines"] == list(BEN_LINES)
    assert who["Ana Ruiz"]["face"] != who["Ben Okafor"]["face"]
    assert who["Ana Ruiz"]["score"] >= 75 and who["Ben Okafor"]["score"] >= 75
    assert [ln["performers"] for ln in doc["lines"]] == [["Ana Ruiz"], ["Ben Okafor"], ["Ana Ruiz", "Ben Okafor"],
                                                          ["Ana Ruiz", "Ben Okafor"]]


def test_each_face_is_judged_on_its_own_lines_only(duet):
    both, forgets = _by_performer(duet["both.mp4"]), _by_performer(duet["ben_forgets.mp4"])
    # Ben's forgotten solo line costs Ben, not Ana (whose mouth is shut on line 2 in every take).
    assert forgets["Ben Okafor"]["score"] < both["Ben Okafor"]["score"] - 15
    assert forgets["Ana Ruiz"]["score"] == pytest.approx(both["Ana Ruiz"]["score"], abs=5)
    line2 = [ln for ln in duet["ben_forgets.mp4"]["lines"] if ln["index"] == 1][0]
    assert line2["score"] < 50


def test_performers_are_found_wherever_they_stand(duet):
    both, swapped = _by_performer(duet["both.mp4"]), _by_performer(duet["swapped.mp4"])
    assert swapped["Ana Ruiz"]["face"] == both["Ben Okafor"]["face"]
    assert swapped["Ben Okafor"]["face"] == both["Ana Ruiz"]["face"]


# --- single-face takes of the duet: who is in the take, and whose lines it may cover -------------

@pytest.fixture(scope="module")
def solo_takes(built_catalogue, tmp_path_factory):
    """Two single-face takes of the duet, scored by dailies into a private copy of the catalogue:
    Ana alone (mouth shut on Ben's solo line 2), and Ben alone (shut on Ana's line 1)."""
    import shutil

    from sqlalchemy import delete

    from lipcoach.media.decode import load_audio
    from lipcoach.production.catalogue import Catalogue, Song
    from lipcoach.production.dailies import run_dailies
    from lipcoach.production.demo_season import TakePlan, write_plan_take
    from lipcoach.production.tables import DailyTake, LinePin

    shared, built = built_catalogue
    root = tmp_path_factory.mktemp("solo") / "data"
    shutil.copytree(shared.root, root)
    cat = Catalogue(root)
    with cat.session() as s:
        s.execute(delete(LinePin))
        s.execute(delete(DailyTake))
        s.commit()
    result = built["hold-your-breath"]
    with cat.session() as s:
        song = s.get(Song, result.song_id)
        version = cat.latest_map(s, song.id)
        number_id = song.number_id
    song_path = cat.path("files", song.audio_file)
    audio, _ = load_audio(song_path, sr=16000)
    sm = result.songmap
    folder = tmp_path_factory.mktemp("solo_takes")
    start, duration = 1.0, sm.duration - 1.5
    write_plan_take(sm, audio, TakePlan("ana_alone.mp4", start, duration, faces=(ANA_LINES,), seed=3), folder / "ana_alone.mp4")
    write_plan_take(sm, audio, TakePlan("ben_alone.mp4", start, duration, faces=(BEN_LINES,), seed=4), folder / "ben_alone.mp4")
    summary = run_dailies(cat, folder, "hold-your-breath", workers=1)
    assert summary.scored == 2 and not summary.failed, summary.failed
    docs = {}
    with cat.session() as s:
        for row in s.query(DailyTake).all():
            docs[row.name] = json.loads(cat.path("reports", row.report_file).read_text())
    return {"cat": cat, "docs": docs, "folder": folder, "map": cat.path("maps", version.file), "song": song_path,
            "number_id": number_id}


def test_a_single_face_is_told_by_whose_lines_it_mouths(solo_takes):
    ana, ben = (_by_performer(solo_takes["docs"][n]) for n in ("ana_alone.mp4", "ben_alone.mp4"))
    assert ana["Ana Ruiz"]["in_take"] and not ana["Ben Okafor"]["in_take"]
    assert ben["Ben Okafor"]["in_take"] and not ben["Ana Ruiz"]["in_take"]
    lines = {ln["index"]: ln for ln in solo_takes["docs"]["ana_alone.mp4"]["lines"]}
    # Ben's solo line: Ana is not its singer, so her take has no verdict there and never covers it.
    assert lines[1]["verdict"] is None and lines[1]["coverable"] is False
    assert lines[0]["verdict"] == ana["Ana Ruiz"]["verdict"] and lines[0]["coverable"] is True


def test_the_edit_never_gives_a_performers_lines_to_a_take_of_the_other(solo_takes, tmp_path):
    """The issue's case: a take of one performer, in sync, mouth shut on the other's lines, must not
    win those lines over the other performer's own take, even when that one is only unconfirmed."""
    from lipcoach.production.edit import choose_takes

    cat = _copy_with_verdict(solo_takes["cat"], tmp_path / "data", "ben_alone.mp4", "cant_confirm")
    plan = choose_takes(cat, "hold-your-breath")
    chosen = {c.line_index: c for c in plan.choices}
    assert chosen[0].take.name == "ana_alone.mp4" and chosen[0].confirmed
    assert chosen[1].take.name == "ben_alone.mp4" and not chosen[1].confirmed  # Ben's line: Ben's take, unconfirmed
    assert all(t.name != "ana_alone.mp4" for t, _ in chosen[1].candidates)


def _copy_with_verdict(cat, dest, name: str, verdict: str):
    """A catalogue copy in which take ``name`` and each of its performers' lines carry ``verdict``."""
    import shutil
    import sqlite3

    from lipcoach.production.catalogue import Catalogue

    shutil.copytree(cat.root, dest)
    copy = Catalogue(dest)
    with sqlite3.connect(dest / "catalogue.sqlite") as db:
        db.execute("UPDATE daily_takes SET verdict = ? WHERE name = ?", (verdict, name))
        report_file = db.execute("SELECT report_file FROM daily_takes WHERE name = ?", (name,)).fetchone()[0]
    path = copy.path("reports", report_file)
    doc = json.loads(path.read_text())
    doc["verdict"] = verdict
    for line in doc["lines"]:
        if line.get("verdict") is not None:
            line["verdict"] = verdict
    path.write_text(json.dumps(doc))
    return copy


def test_cli_studio_and_dailies_give_the_same_verdicts(solo_takes, tmp_path):
    from lipcoach.production.catalogue import Performer, Take
    from lipcoach.production.jobs import score_job
    from lipcoach.production.storage import store_media
    from lipcoach.song.songmap import SongMap
    from tests.test_cli import run_cli

    take = solo_takes["folder"] / "ben_alone.mp4"
    daily = solo_takes["docs"]["ben_alone.mp4"]
    said = run_cli("score", take, "--song", solo_takes["map"], "--song-audio", solo_takes["song"], "-o", tmp_path / "r.html",
                   "--json", tmp_path / "r.json", "--performer", "Ben Okafor")
    assert said.returncode == 0, said.stderr
    cli = json.loads((tmp_path / "r.json").read_text())
    assert "Ben Okafor (face" in said.stderr and "Ana Ruiz: not in this take" in said.stderr
    cat = solo_takes["cat"]
    songmap = SongMap.load(solo_takes["map"])
    with cat.session() as s:
        song, smv = cat.take_target(s, solo_takes["number_id"], songmap)
        with open(take, "rb") as video:
            stored, _ = store_media(video, cat.root, what="the take", need_video=True)
        row = Take(song_id=song.id, songmap_version_id=smv.id, file=stored, speed=1.0, song_start_s=None,
                   performer_id=cat.performer(s, "Ben Okafor").id)
        s.add(row)
        s.commit()
        take_id = row.id
    score_job(cat, {"take_id": take_id}, lambda *_: None)
    studio = json.loads(cat.path("reports", f"take{take_id}.json").read_text())

    def verdicts(doc):
        return (doc["verdict"], [(ln["index"], ln["verdict"], ln["coverable"]) for ln in doc["lines"]],
                [(p["performer"], p["in_take"], p["verdict"]) for p in doc["performers"]])

    assert verdicts(cli) == verdicts(studio) == verdicts(daily)
    assert dict((p, v) for p, _, v in verdicts(daily)[2])["Ana Ruiz"] is None
