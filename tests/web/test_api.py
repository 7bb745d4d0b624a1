"""The studio's HTTP API, as the page (and an attacker) uses it."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from lipcoach.production.catalogue import Catalogue

POST = {"X-Lipcoach": "1"}


def test_practice_payload_has_song_map_peaks_and_icons(client):
    r = client.get(f"/api/songs/{client.song_id}/practice")
    assert r.status_code == 200
    body = r.json()
    assert body["song"]["title"] == "Paper Boats" and body["song"]["has_stem"]
    assert [w["text"] for w in body["songmap"]["words"]][:3] == ["paper", "boats", "upon"]
    assert body["icons"]["closed"] == "closed" and body["icons"]["teeth"] is None
    assert body["peaks"]["rate"] == 100 and max(body["peaks"]["values"]) == 1.0
    assert body["songmap_version"] == 1


def test_pages_and_assets_are_served_locally(client):
    for path in ("/", "/practice?song=1", "/report?take=1", "/editor?song=1"):
        r = client.get(path)
        assert r.status_code == 200 and "text/html" in r.headers["content-type"]
        # No CDN, no web fonts: every script and stylesheet comes from this server.
        assert "http://" not in r.text and "https://" not in r.text
    assert client.get("/static/practice.js").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
    assert "script-src 'self'" in client.get("/").headers["content-security-policy"]


def test_other_host_names_are_refused_without_a_token(client):
    assert client.get("/api/numbers", headers={"host": "evil.example:8765"}).status_code == 403
    assert client.get("/api/numbers", headers={"host": "localhost:8765"}).status_code == 200


def test_posts_need_the_studio_header(client):
    r = client.post(f"/api/songs/{client.song_id}/renders", json={"speed_pct": 80})
    assert r.status_code == 403


def test_token_is_required_on_every_request_when_set(studio):
    from fastapi.testclient import TestClient

    from lipcoach.web.app import create_app

    folder, _ = studio
    app = create_app(folder, token="s3cret", start_jobs=False)
    with TestClient(app, base_url="http://192.168.1.20:8765") as c:
        assert c.get("/").status_code == 401
        assert c.get("/static/app.css").status_code == 401
        assert c.get("/api/numbers", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/numbers", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        first = c.get("/?token=s3cret")
        assert first.status_code == 200 and "lipcoach_token" in first.headers["set-cookie"]
        assert c.get("/api/numbers").status_code == 200  # the cookie now carries the token


def test_render_is_made_once_and_lasts_original_over_speed(client, short_song):
    r = client.post(f"/api/songs/{client.song_id}/renders", json={"speed_pct": 80}, headers=POST).json()
    assert r["state"] == "queued"
    assert client.get(r["url"]).status_code == 404  # not yet
    client.app.state.runner.run_pending()
    job = client.get(f"/api/jobs/{r['job']['id']}").json()
    assert job["state"] == "done" and job["progress"] == 1.0
    wav = client.get(r["url"])
    assert wav.status_code == 200
    import soundfile as sf

    audio, sr = sf.read(io.BytesIO(wav.content))
    assert len(audio) / sr == pytest.approx(short_song.duration / 0.8, abs=0.01)
    again = client.post(f"/api/songs/{client.song_id}/renders", json={"speed_pct": 80}, headers=POST).json()
    assert again["state"] == "done" and again["url"] == r["url"]


@pytest.mark.parametrize("pct", [24, 101, "fast"])
def test_render_speed_outside_25_to_100_is_refused(client, pct):
    r = client.post(f"/api/songs/{client.song_id}/renders", json={"speed_pct": pct}, headers=POST)
    assert r.status_code == 400 and "speed" in r.json()["error"]


def test_editing_word_times_saves_a_new_version(client, short_song):
    sid = client.song_id
    w0 = short_song.words[0]
    r = client.post(f"/api/songs/{sid}/songmap", json={"base_version": 1, "words": [{"index": 0, "start": w0.start - 0.1, "end": w0.end}]}, headers=POST)
    assert r.status_code == 200 and r.json()["version"] == 2
    v2 = client.get(f"/api/songs/{sid}/songmap").json()
    v1 = client.get(f"/api/songs/{sid}/songmap?version=1").json()
    assert v2["words"][0]["start_s"] == pytest.approx(w0.start - 0.1, abs=1e-4)
    assert v2["lines"][0]["start_s"] == pytest.approx(w0.start - 0.1, abs=1e-4)
    assert v1["words"][0]["start_s"] == pytest.approx(w0.start, abs=1e-4)
    # phonemes move with their word
    assert v2["words"][0]["phonemes"][0]["start_s"] == pytest.approx(w0.start - 0.1, abs=1e-3)


def test_bad_word_edits_are_one_clear_error(client, short_song):
    sid = client.song_id
    w1 = short_song.words[1]
    out_of_order = client.post(f"/api/songs/{sid}/songmap", json={"words": [{"index": 1, "start": 0.1, "end": 0.3}]}, headers=POST)
    assert out_of_order.status_code == 400 and "in order" in out_of_order.json()["error"]
    reversed_span = client.post(f"/api/songs/{sid}/songmap", json={"words": [{"index": 1, "start": w1.end, "end": w1.start}]}, headers=POST)
    assert reversed_span.status_code == 400 and "not a span" in reversed_span.json()["error"]
    assert client.get(f"/api/songs/{sid}").json()["map_version"] == 1


def test_upload_song_with_typed_lyrics_queues_analysis(client, short_song_files):
    with open(short_song_files["mix.wav"], "rb") as f:
        r = client.post("/api/songs", data={"title": "<b>Number Two</b>", "performer": "Ann", "lyrics_text": "paper boats\nupon the river"},
                        files={"song": ("../../etc/passwd.wav", f, "audio/wav")}, headers=POST)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["job"]["kind"] == "analyze" and body["job"]["state"] == "queued"
    info = client.get(f"/api/songs/{body['song_id']}").json()
    assert info["title"] == "<b>Number Two</b>"  # kept as text; the page shows it with textContent
    assert info["has_lyrics"] and not info["has_stem"]
    assert "passwd" not in info["audio_file"] and "/" not in info["audio_file"]
    cat: Catalogue = client.app.state.catalogue
    assert cat.path("files", info["audio_file"]).is_file()


def test_upload_that_is_not_audio_is_refused(client):
    r = client.post("/api/songs", data={"title": "x"}, files={"song": ("song.mp3", io.BytesIO(b"MZ\x90\x00" * 2000), "audio/mpeg")}, headers=POST)
    assert r.status_code == 400 and "not a media file" in r.json()["error"]
    assert len(client.get("/api/numbers").json()) == 1


def test_upload_larger_than_the_limit_is_refused(client, monkeypatch):
    from lipcoach.production import storage

    monkeypatch.setattr(storage, "MAX_AUDIO_BYTES", 1000)
    r = client.post("/api/songs", data={"title": "x"}, files={"song": ("a.wav", io.BytesIO(b"0" * 5000), "audio/wav")}, headers=POST)
    assert r.status_code == 413 and "larger than" in r.json()["error"]
    cat: Catalogue = client.app.state.catalogue
    assert len(list((cat.root / "files").iterdir())) == 3  # the studio's own song, stem and lyrics only
    # A body declared larger than any upload is refused before it is read.
    big = client.post("/api/songs", content=b"x", headers={**POST, "content-length": str(10**10), "content-type": "multipart/form-data; boundary=x"})
    assert big.status_code == 413


def _video_without_face(path, seconds=2.0):
    import av

    with av.open(str(path), "w") as c:
        v = c.add_stream("mpeg4", rate=25)
        v.width, v.height, v.pix_fmt = 160, 120, "yuv420p"
        for i in range(int(seconds * 25)):
            img = np.full((120, 160, 3), 40 + i % 50, np.uint8)
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    return path


def test_take_without_a_face_fails_with_a_clear_message(client, tmp_path):
    video = _video_without_face(tmp_path / "take.mp4")
    with open(video, "rb") as f:
        r = client.post(f"/api/songs/{client.song_id}/takes", data={"speed": "1.0", "song_start_s": "3.0"},
                        files={"video": ("take.mp4", f, "video/mp4")}, headers=POST)
    assert r.status_code == 200, r.text
    client.app.state.runner.run_pending()
    take = client.get(f"/api/takes/{r.json()['take_id']}").json()
    assert take["score"] is None
    assert take["job"]["state"] == "failed" and "face" in take["job"]["error"]
    assert "\n" not in take["job"]["error"]


def test_take_that_is_only_audio_is_refused(client, short_song_files):
    with open(short_song_files["mix.wav"], "rb") as f:
        r = client.post(f"/api/songs/{client.song_id}/takes", files={"video": ("take.webm", f, "video/webm")}, headers=POST)
    assert r.status_code == 400 and "no video" in r.json()["error"]


def test_scored_takes_build_the_line_history(client, shared_data):
    face = shared_data / "faces" / "hdtf" / "WDA_BobMenendez_000.mp4"
    ids = []
    for start, speed in ((4.0, "1.0"), (2.0, "0.5")):
        with open(face, "rb") as f:
            r = client.post(f"/api/songs/{client.song_id}/takes", data={"speed": speed, "song_start_s": str(start)},
                            files={"video": ("take.mp4", f, "video/mp4")}, headers=POST)
        assert r.status_code == 200, r.text
        ids.append(r.json()["take_id"])
    client.app.state.runner.run_pending()
    for tid in ids:
        take = client.get(f"/api/takes/{tid}").json()
        assert take["job"]["state"] == "done", take["job"]["error"]
        report = client.get(f"/api/takes/{tid}/report").json()
        assert report["schema"] == "lipcoach.takereport/2" and report["placement"]["method"] == "given"
    # the half-speed take is scored on the slowed timeline: song time 2.0 s -> take time 0 at 4.0 s of the slowed track
    slow = client.get(f"/api/takes/{ids[1]}/report").json()
    assert slow["placement"]["song_start_s"] == pytest.approx(4.0, abs=1e-3)  # given, so exact: 2.0 s of song at half speed
    hist = client.get(f"/api/songs/{client.song_id}/history").json()
    assert [a["take_id"] for a in hist["attempts"]] == ids
    assert [ln["text"] for ln in hist["lines"]] == ["paper boats upon the river", "carry all the words I never said"]
    assert all(a["line_scores"] and set(a["line_scores"]) <= {"0", "1"} for a in hist["attempts"])
    assert json.dumps(hist)  # plain JSON


def test_one_bad_file_refuses_the_whole_upload(client, short_song_files):
    cat: Catalogue = client.app.state.catalogue
    before = sorted(p.name for p in (cat.root / "files").iterdir())
    with open(short_song_files["mix.wav"], "rb") as f:
        r = client.post("/api/songs", data={"title": "x"}, headers=POST,
                        files={"song": ("mix.wav", f, "audio/wav"), "stem": ("stem.wav", io.BytesIO(b"not audio" * 100), "audio/wav")})
    assert r.status_code == 400 and "vocal stem" in r.json()["error"]
    assert sorted(p.name for p in (cat.root / "files").iterdir()) == before
    assert len(client.get("/api/numbers").json()) == 1


def test_a_loop_render_covers_just_the_loop(client):
    body = {"speed_pct": 50, "start_s": 3.04, "end_s": 7.01}
    r = client.post(f"/api/songs/{client.song_id}/renders", json=body, headers=POST).json()
    assert (r["start_s"], r["end_s"]) == (3.0, 7.1)  # snapped outwards to 100 ms
    full = client.post(f"/api/songs/{client.song_id}/renders", json={"speed_pct": 50}, headers=POST).json()
    assert full["state"] == "queued"  # a loop render does not stand for the whole song's
    ran = []
    runner = client.app.state.runner
    original = runner.handlers["render"]
    runner.handlers["render"] = lambda cat, params, report: ran.append("start_ms" in params) or original(cat, params, report)
    runner.run_pending()
    assert ran == [True, False]  # the loop's render (seconds of work) runs first
    import soundfile as sf

    audio, sr = sf.read(io.BytesIO(client.get(r["url"]).content))
    assert len(audio) / sr == pytest.approx(4.1 / 0.5, abs=0.01)
    bad = client.post(f"/api/songs/{client.song_id}/renders", json={"speed_pct": 50, "start_s": 5, "end_s": 5.2}, headers=POST)
    assert bad.status_code == 400 and "0.5 s" in bad.json()["error"]


def test_added_song_gets_its_stem_in_the_background_and_the_balance_parts(client, short_song_files, tmp_path, monkeypatch):
    """A song added without a stem is separated by a job queued before its analysis; the page
    then gets the band and the vocal stem, which add back up to the mix, and renders of them."""
    import soundfile as sf

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with open(short_song_files["mix.wav"], "rb") as f:
        body = client.post("/api/songs", data={"title": "Stems", "lyrics_text": "paper boats"},
                           files={"song": ("stems.wav", f, "audio/wav")}, headers=POST).json()
    sid = body["song_id"]
    info = client.get(f"/api/songs/{sid}").json()
    assert info["separation"]["state"] == "queued" and info["band_url"] is None and info["stem_url"] is None
    practice = client.get(f"/api/songs/{sid}/practice").json()  # the page opens without waiting
    assert practice["song"]["separation"]["job"]["kind"] == "stem"
    assert client.get(f"/api/songs/{sid}/audio/band").status_code == 404
    stem_job = info["separation"]["job"]["id"]
    assert stem_job < body["job"]["id"]  # made before the map, which reuses it
    assert client.app.state.runner._run_one()  # the next job is the stem (the map's would take long here)
    assert client.get(f"/api/jobs/{stem_job}").json()["state"] == "done"
    info = client.get(f"/api/songs/{sid}").json()
    assert info["separation"] == {"state": "ready"}
    band, sr = sf.read(io.BytesIO(client.get(info["band_url"]).content), always_2d=True)
    vocal, _ = sf.read(io.BytesIO(client.get(info["stem_url"]).content), always_2d=True)
    mix, mix_sr = sf.read(short_song_files["mix.wav"], always_2d=True)
    assert sr == 44100 and band.shape == vocal.shape and abs(len(band) - len(mix) * sr / mix_sr) < 0.01 * sr
    import soxr

    mix44 = soxr.resample(mix.mean(axis=1), mix_sr, sr)[: len(band)]
    together = (band + vocal).mean(axis=1)[: len(mix44)]
    assert np.corrcoef(together, mix44)[0, 1] > 0.99  # band + vocal = the mix
    assert np.sqrt(np.mean(vocal**2)) > 0.1 * np.sqrt(np.mean(band**2))  # a real voice came out
    r = client.post(f"/api/songs/{sid}/renders", json={"speed_pct": 80, "part": "band", "start_s": 0.0, "end_s": 1.0}, headers=POST).json()
    assert client.app.state.runner._run_one()  # a loop's render comes before the map
    assert client.get(r["url"]).status_code == 200
