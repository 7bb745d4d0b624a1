"""Live coaching's rules are the take report's: a drawn performer's frames fed to a LivePass (always runs).

The performer is generated (:mod:`lipcoach.testing.faces`), so every expected number is exact.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from lipcoach.errors import LipcoachError
from lipcoach.take.live import LivePass, new_pass_needed, timing_label
from lipcoach.testing import faces as F

FPS = 25


def jpeg(rgb) -> bytes:
    import cv2

    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def performer_frames(songmap, *, speed: float, late_ms_played: float, from_s: float, to_s: float):
    """(song time stamp, JPEG) of a performer mouthing the song played at ``speed``, late by ``late_ms_played`` as heard."""
    mouth = F.lip_sync_mouth(songmap)
    out = []
    played0 = from_s / speed
    for k in range(int((to_s - from_s) / speed * FPS)):
        played = played0 + k / FPS
        shown = (played - late_ms_played / 1000.0) * speed  # the song time the mouth is at
        out.append((played * speed, jpeg(F.face_frame(mouth(shown), size=(320, 240), face_scale=0.42))))
    return out


@pytest.fixture(scope="module")
def songmap(short_song):
    from lipcoach.production.sample_studio import truth_songmap

    return truth_songmap(short_song, source_path="song.wav")


@pytest.fixture(scope="module")
def slowed_pass(songmap, tmp_path_factory):
    """A pass at 75 % speed, the performer 200 ms late as heard (150 ms of the song), frames written as a take."""
    video = tmp_path_factory.mktemp("live") / "pass.mov"
    lp = LivePass(songmap, speed=0.75, video_path=video)
    for t, data in performer_frames(songmap, speed=0.75, late_ms_played=200.0, from_s=4.0, to_s=16.0):
        lp.add_jpeg(t, data)
    lp.close_video()
    return lp, video


def test_cues_are_in_song_time_when_practising_slowed(slowed_pass, songmap):
    lp, _ = slowed_pass
    words = [c for c in lp.cues if c["kind"] == "word"]
    assert sorted(c["word"] for c in words) == list(range(len(songmap.words)))
    for c in words:
        assert c["timing"] == "late"
        assert abs(c["ms_played"] - 200.0) <= 40.0, c
        assert c["ms_song"] == pytest.approx(c["ms_played"] * 0.75, abs=0.11)
    breaths = [c for c in lp.cues if c["kind"] == "breath"]
    # the breath before each line gets its cue, judged as the report judges it
    assert {c["line"] for c in breaths} == {0, 1} and all(c["shown"] in (True, False) for c in breaths)


def test_a_kept_pass_scores_as_its_live_cues_said_within_a_frame(slowed_pass, short_song, short_song_files, tmp_path):
    """One rule set: the studio's score job on the kept video gives each word the live cue's timing, within a frame."""
    lp, video = slowed_pass
    summary = lp.summary()
    rep = summary["report"]
    assert rep["verdict"] == "in_sync" and rep["placement"]["method"] == "given"
    live = {c["word"]: c for c in lp.cues if c["kind"] == "word"}
    for w in rep["words"]:
        assert abs(w["timing_error_ms"] - live[w["index"]]["ms_played"]) <= 40.0, (w, live[w["index"]])
    # The frames kept as a take and scored afterwards by the studio's job (the video decoded again).
    import shutil

    from lipcoach.production.catalogue import Catalogue, Report, Take
    from lipcoach.production.jobs import score_job
    from lipcoach.production.sample_studio import make_studio

    song_id = make_studio(tmp_path / "data", short_song, short_song_files)
    cat = Catalogue(tmp_path / "data")
    shutil.copy(video, cat.path("files", "pass.mov"))
    with cat.session() as s:
        take = Take(song_id=song_id, songmap_version_id=cat.latest_map(s, song_id).id, file="pass.mov", speed=lp.speed,
                    song_start_s=lp.song_start_s)
        s.add(take)
        s.commit()
        take_id = take.id
    result = score_job(cat, {"take_id": take_id}, lambda *_: None)
    with cat.session() as s:
        rep2 = json.loads(cat.path("reports", s.query(Report).filter_by(take_id=take_id).one().file).read_text())
    assert rep2["verdict"] == rep["verdict"]
    assert abs(result["score"] - rep["score"]) <= 3.0
    assert abs(rep2["sync"]["offset_ms"] - rep["sync"]["offset_ms"]) <= 40.0
    later = {w["index"]: w for w in rep2["words"]}
    for i, c in live.items():
        assert abs(later[i]["timing_error_ms"] - c["ms_played"]) <= 40.0, (later[i], c)


def test_an_on_time_performer_is_on_and_a_closed_mouth_is_told_so(songmap):
    lp = LivePass(songmap, speed=1.0)
    mouth = F.lip_sync_mouth(songmap)
    line1 = songmap.lines[1]
    for k in range(int(12.0 * FPS)):
        t = 4.0 + k / FPS
        shape = (0.0, 0.0) if line1.start - 0.05 <= t <= line1.end + 0.1 else mouth(t)  # forgets line 2
        lp.add_jpeg(t, jpeg(F.face_frame(shape, size=(320, 240), face_scale=0.42)))
    words = {c["word"]: c for c in lp.cues if c["kind"] == "word"}
    line0 = [c for c in words.values() if c["line"] == 0]
    assert line0 and all(c["hit"] and c["timing"] == "on" for c in line0)
    line1_cues = [c for c in words.values() if c["line"] == 1]
    assert line1_cues and sum(not c["hit"] for c in line1_cues) >= len(line1_cues) - 1
    counts = lp.counts()
    assert counts["on"] == len(line0) and counts["missed"] >= len(line1_cues) - 1


def test_passes_and_bad_frames():
    assert timing_label(35.0) == "on" and timing_label(-60.0) == "early" and timing_label(90.0) == "late"
    assert timing_label(None) is None
    assert new_pass_needed(None, 3.0)


def test_a_frame_that_is_not_a_jpeg_is_one_clear_line(songmap):
    lp = LivePass(songmap, speed=1.0)
    with pytest.raises(LipcoachError, match="not a JPEG"):
        lp.add_jpeg(5.0, b"not a picture")
    with pytest.raises(LipcoachError, match="speed"):
        LivePass(songmap, speed=3.0)
