"""The studio's catalogue: safe uploads, song map versions, jobs that survive a restart."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from lipcoach.errors import LipcoachError
from lipcoach.production import jobs as J
from lipcoach.production import storage
from lipcoach.production.catalogue import Catalogue, Job, Number, Song
from lipcoach.production.sample_studio import make_studio, truth_songmap


def _files(cat: Catalogue) -> list[Path]:
    return sorted((cat.root / "files").iterdir())


def test_media_is_stored_under_a_generated_name_with_the_extension_of_its_content(tmp_path, short_song, short_song_files):
    cat = Catalogue(tmp_path / "data")
    with open(short_song_files["mix.wav"], "rb") as f:
        name, duration_s = storage.store_media(f, cat.root, what="the song")
    assert name.endswith(".wav") and "mix" not in name and len(name) == 32 + 4
    assert duration_s == pytest.approx(short_song.duration, abs=0.01)
    assert list((cat.root / "tmp").iterdir()) == []


def test_text_dressed_as_audio_is_refused_and_nothing_is_kept(tmp_path):
    cat = Catalogue(tmp_path / "data")
    with pytest.raises(LipcoachError, match="not a media file"):
        storage.store_media(io.BytesIO(b"<html>definitely not an mp3</html>" * 100), cat.root, what="the song")
    assert _files(cat) == [] and list((cat.root / "tmp").iterdir()) == []


def test_oversize_upload_is_cut_off_at_the_limit(tmp_path, short_song_files):
    cat = Catalogue(tmp_path / "data")
    with open(short_song_files["mix.wav"], "rb") as f:
        with pytest.raises(LipcoachError, match="larger than"):
            storage.store_media(f, cat.root, what="the song", limit=10_000)
    assert _files(cat) == [] and list((cat.root / "tmp").iterdir()) == []


def test_audio_without_video_is_not_a_take(tmp_path, short_song_files):
    cat = Catalogue(tmp_path / "data")
    with open(short_song_files["mix.wav"], "rb") as f:
        with pytest.raises(LipcoachError, match="has no video"):
            storage.store_media(f, cat.root, what="the take", need_video=True)


def test_lyrics_must_be_utf8_text_and_keep_their_format(tmp_path):
    cat = Catalogue(tmp_path / "data")
    assert storage.store_text("[00:01.00] paper boats\n[00:03.50] upon the river\n", cat.root).endswith(".lrc")
    assert storage.store_text("paper boats upon the river\n", cat.root).endswith(".txt")
    assert storage.store_text("WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n", cat.root).endswith(".vtt")
    with pytest.raises(LipcoachError, match="not UTF-8"):
        storage.store_lyrics(io.BytesIO("caf\xe9".encode("latin-1")), cat.root)
    with pytest.raises(LipcoachError, match="NUL"):
        storage.store_lyrics(io.BytesIO(b"abc\x00def"), cat.root)


def test_an_upload_in_flight_when_the_server_died_is_dropped_at_start(tmp_path):
    import os
    import time

    Catalogue(tmp_path / "data")
    tmp = tmp_path / "data" / "tmp"
    (tmp / "half.part").write_bytes(b"x" * 100)
    (tmp / "build-dir").mkdir()
    (tmp / "build-dir" / "mix.wav").write_bytes(b"x" * 100)
    (tmp / "arriving.part").write_bytes(b"x" * 100)  # another process is writing it right now
    long_ago = time.time() - 3600
    for p in (tmp / "half.part", tmp / "build-dir" / "mix.wav", tmp / "build-dir"):
        os.utime(p, (long_ago, long_ago))
    Catalogue(tmp_path / "data")
    assert [p.name for p in tmp.iterdir()] == ["arriving.part"]


def test_the_catalogue_uses_wal(tmp_path):
    cat = Catalogue(tmp_path / "data")
    with cat.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_song_map_versions_count_up(tmp_path, short_song, short_song_files):
    song_id = make_studio(tmp_path / "data", short_song, short_song_files)
    cat = Catalogue(tmp_path / "data")
    with cat.session() as s:
        m = truth_songmap(short_song)
        m.words[0].start += 0.05
        row = cat.add_map_version(s, song_id, m, origin="edit")
        s.commit()
        assert row.version == 2
        assert cat.latest_map(s, song_id).version == 2
    doc = json.loads(cat.path("maps", row.file).read_text())
    assert doc["words"][0]["start_s"] == pytest.approx(short_song.words[0].start + 0.05, abs=1e-4)


def _mark_running(cat: Catalogue, job_id: int, attempts: int) -> None:
    with cat.session() as s:
        job = s.get(Job, job_id)
        job.state, job.attempts = "running", attempts
        s.commit()


def test_a_job_cut_off_by_a_restart_is_resumed_then_given_up(tmp_path):
    cat = Catalogue(tmp_path / "data")
    a = J.submit(cat, "noop", {})
    b = J.submit(cat, "noop", {})
    _mark_running(cat, a.id, attempts=1)
    _mark_running(cat, b.id, attempts=J.MAX_ATTEMPTS)
    # "restart": a new catalogue and runner over the same folder
    cat2 = Catalogue(tmp_path / "data")
    seen = []
    runner = J.JobRunner(cat2, {"noop": lambda c, p, report: seen.append(1) or {"ok": True}})
    assert sorted(J.recover(cat2)) == [a.id, b.id]
    assert runner.run_pending() == 1
    with cat2.session() as s:
        ja, jb = s.get(Job, a.id), s.get(Job, b.id)
        assert (ja.state, json.loads(ja.result)) == ("done", {"ok": True})
        assert jb.state == "failed" and "restart" in jb.error
        assert s.query(Job).filter(Job.state == "running").count() == 0


def test_runner_thread_records_progress_and_one_line_errors(tmp_path):
    cat = Catalogue(tmp_path / "data")

    def slow(c, params, report):
        for k in range(3):
            report(k / 3, f"step {k}")
        return {"n": params["n"]}

    def bad(c, params, report):
        raise LipcoachError("song.wav", "has no audio stream")

    runner = J.JobRunner(cat, {"slow": slow, "bad": bad})
    runner.start()
    try:
        ok, ko = runner.submit("slow", {"n": 3}), runner.submit("bad", {})
        import time

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with cat.session() as s:
                if all(s.get(Job, j.id).state in ("done", "failed") for j in (ok, ko)):
                    break
            time.sleep(0.05)
    finally:
        runner.stop()
    with cat.session() as s:
        assert s.get(Job, ok.id).to_dict()["result"] == {"n": 3}
        assert s.get(Job, ok.id).progress == 1.0
        failed = s.get(Job, ko.id)
        assert failed.state == "failed" and failed.error == "song.wav: has no audio stream"


def test_same_render_request_is_not_queued_twice(tmp_path):
    cat = Catalogue(tmp_path / "data")
    a = J.submit(cat, "render", {"speed_pct": 75}, key="render:1:mix:75")
    b = J.submit(cat, "render", {"speed_pct": 75}, key="render:1:mix:75")
    assert a.id == b.id


def test_time_scaled_map_follows_the_slowed_track(short_song):
    m = truth_songmap(short_song)
    from lipcoach.song.edit import time_scaled

    slow = time_scaled(m, 0.5)
    assert slow.words[3].start == pytest.approx(2 * m.words[3].start)
    assert slow.breaths[0].end == pytest.approx(2 * m.breaths[0].end)
    assert slow.loudness.rate == pytest.approx(m.loudness.rate / 2)
    assert slow.duration == pytest.approx(2 * m.duration)
    assert m.words[3].start == pytest.approx(short_song.words[3].start)  # the original is untouched


@pytest.mark.slow
def test_analysis_job_maps_an_uploaded_song(tmp_path, short_song_files):
    cat = Catalogue(tmp_path / "data")
    with open(short_song_files["mix.wav"], "rb") as f:
        audio, dur = storage.store_media(f, cat.root, what="song")
    with open(short_song_files["vocals.wav"], "rb") as f:
        stem, _ = storage.store_media(f, cat.root, what="stem")
    lyrics = storage.store_text(Path(short_song_files["lyrics.txt"]).read_text(), cat.root)
    with cat.session() as s:
        n = Number(title="t")
        s.add(n)
        s.flush()
        song = Song(number_id=n.id, audio_file=audio, stem_file=stem, lyrics_file=lyrics, duration_s=dur)
        s.add(song)
        s.commit()
        song_id = song.id
    runner = J.JobRunner(cat)
    job = runner.submit("analyze", {"song_id": song_id})
    runner.run_pending()
    with cat.session() as s:
        assert s.get(Job, job.id).state == "done", s.get(Job, job.id).error
        smv = cat.latest_map(s, song_id)
        doc = json.loads(cat.path("maps", smv.file).read_text())
    assert smv.version == 1 and len(doc["words"]) == 12


def test_scores_jump_the_queue_and_stale_renders_are_dropped(tmp_path):
    cat = Catalogue(tmp_path / "data")
    order = []
    handlers = {k: (lambda kind: lambda c, p, report: order.append(kind) or {})(k) for k in ("render", "score", "analyze")}
    runner = J.JobRunner(cat, handlers)
    r70 = runner.submit("render", {}, key="render:1:mix:70:high", supersedes="render:1:mix:")
    r80 = runner.submit("render", {}, key="render:1:mix:80:high", supersedes="render:1:mix:")
    stem = runner.submit("render", {}, key="render:1:stem:80:high", supersedes="render:1:stem:")
    runner.submit("analyze", {}, key="analyze:2")
    runner.submit("score", {}, key="score:1")
    runner.run_pending()
    assert order == ["score", "analyze", "render", "render"]
    with cat.session() as s:
        assert s.get(Job, r70.id).state == "failed" and s.get(Job, r70.id).label == "superseded"
        assert s.get(Job, r80.id).state == "done" and s.get(Job, stem.id).state == "done"
