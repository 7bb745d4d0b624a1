"""Duets: in a two-shot take each performer's face is scored on their own lines only."""

from __future__ import annotations

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
