"""The studio under real use: concurrent edits, a crash mid-upload, and malformed requests.

Each test states what a user would lose or see if the studio got it wrong.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time

import pytest

from lipcoach.production.catalogue import Catalogue, SongMapVersion, reconcile
from studio_fixtures import LiveServer, free_port

POST = {"X-Lipcoach": "1"}


def _versions(cat: Catalogue, song_id: int) -> list[int]:
    from sqlalchemy import select

    with cat.session() as s:
        return list(s.scalars(select(SongMapVersion.version).where(SongMapVersion.song_id == song_id).order_by(SongMapVersion.version)))


# -- concurrent map edits --------------------------------------------------------------------


def test_twenty_concurrent_edits_each_become_their_own_version(studio, short_song):
    """20 editors save at once against a real server: every accepted save is kept, none is lost."""
    import httpx

    from lipcoach.web.app import create_app

    folder, song_id = studio
    app = create_app(folder, start_jobs=False)
    n = 20
    w = short_song.words[0]
    # Editor k moves the first word to its own start time, so each version says whose edit it holds.
    starts = [round(max(0.0, w.start - 0.2) + 0.005 * k, 4) for k in range(n)]
    answers: list = [None] * n
    barrier = threading.Barrier(n)
    with LiveServer(app, free_port()) as server:
        def edit(k: int) -> None:
            body = {"words": [{"index": 0, "start": starts[k], "end": w.end}]}
            barrier.wait()
            answers[k] = httpx.post(f"{server.url}/api/songs/{song_id}/songmap", json=body, headers=POST, timeout=60)

        threads = [threading.Thread(target=edit, args=(k,)) for k in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [a.status_code for a in answers] == [200] * n, [a.text for a in answers if a.status_code != 200]
        versions = sorted(a.json()["version"] for a in answers)
        assert versions == list(range(2, n + 2))  # each save got its own version
        for k, a in enumerate(answers):
            doc = httpx.get(f"{server.url}/api/songs/{song_id}/songmap?version={a.json()['version']}").json()
            assert doc["words"][0]["start_s"] == pytest.approx(starts[k], abs=1e-4)  # and that version holds that edit
    assert _versions(app.state.catalogue, song_id) == list(range(1, n + 2))


def test_concurrent_edits_of_the_same_version_one_wins_the_rest_are_told(client, short_song):
    """Two tabs opened version 1: the first save wins; the others get a 409 saying to reload, and nothing is buried."""
    sid = client.song_id
    w = short_song.words[0]
    results = []

    def edit(k: int) -> None:
        body = {"base_version": 1, "words": [{"index": 0, "start": round(w.start - 0.01 * (k + 1), 4), "end": w.end}]}
        results.append(client.post(f"/api/songs/{sid}/songmap", json=body, headers=POST))

    threads = [threading.Thread(target=edit, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [409] * 7
    assert all("reload" in r.json()["error"] and "version 2" in r.json()["error"] for r in results if r.status_code == 409)
    assert _versions(client.app.state.catalogue, sid) == [1, 2]


def test_an_analysis_finishing_during_an_edit_does_not_bury_the_edit(client, short_song, monkeypatch):
    """The analysis started on version 1; the actor saved an edit (v2) meanwhile: v2 stays the current map."""
    from lipcoach.song import analyze as analyze_module
    from lipcoach.production.sample_studio import truth_songmap

    sid = client.song_id
    w = short_song.words[0]

    def slow_analysis(*_args, **_kwargs):
        edit = {"base_version": 1, "words": [{"index": 0, "start": round(w.start - 0.05, 4), "end": w.end}]}
        assert client.post(f"/api/songs/{sid}/songmap", json=edit, headers=POST).status_code == 200
        return truth_songmap(short_song)

    monkeypatch.setattr(analyze_module, "analyze_song", slow_analysis)
    job = client.post(f"/api/songs/{sid}/analyze", headers=POST).json()["job"]
    client.app.state.runner.run_pending()
    done = client.get(f"/api/jobs/{job['id']}").json()
    assert done["state"] == "failed" and "edit is kept" in done["error"]
    latest = client.get(f"/api/songs/{sid}/songmap").json()
    assert latest["words"][0]["start_s"] == pytest.approx(w.start - 0.05, abs=1e-4)
    assert client.get(f"/api/songs/{sid}").json()["map_versions"][-1]["origin"] == "edit"


# -- an edit keeps what it did not touch ------------------------------------------------------


def test_an_edit_keeps_untouched_lines_flags_and_uses_the_rhythm_rule(client, short_song):
    cat: Catalogue = client.app.state.catalogue
    sid = client.song_id
    with cat.session() as s:
        smv = cat.latest_map(s, sid)
    m = cat.load_map(smv)
    m.lines[1].aligned = False
    m.lines[1].confidence = 0.2
    with cat.session() as s:
        cat.add_map_version(s, sid, m, origin="import")
        s.commit()
    w0 = short_song.words[0]
    r = client.post(f"/api/songs/{sid}/songmap", json={"base_version": 2, "words": [{"index": 0, "start": w0.start + 0.03, "end": w0.end}]}, headers=POST)
    assert r.status_code == 200, r.text
    doc = client.get(f"/api/songs/{sid}/songmap").json()
    assert doc["lines"][1]["aligned"] is False and doc["lines"][1]["confidence"] == pytest.approx(0.2)  # untouched: flag kept
    assert doc["lines"][0]["aligned"] is True
    from lipcoach.song.rhythm import line_entrances
    from lipcoach.song.songmap import SongMap

    expected = line_entrances(SongMap.from_dict(doc).lines, SongMap.from_dict(doc).words, beats=doc["beats_s"])[0]
    assert doc["lines"][0]["entrance"]["offset_ms"] == pytest.approx(expected.offset_ms)
    assert doc["lines"][0]["entrance"]["beat_time_s"] == pytest.approx(expected.beat_time)


# -- after kill -9 -----------------------------------------------------------------------------


def test_start_up_sets_aside_orphans_and_never_touches_a_referenced_file(studio):
    """A song stored before its stem finished uploading (no row), and a render's .part.wav, after kill -9."""
    from fastapi.testclient import TestClient

    from lipcoach.web.app import create_app

    folder, song_id = studio
    cat = Catalogue(folder)
    referenced = sorted(p.name for p in (folder / "files").iterdir())
    orphan = folder / "files" / ("ab" * 16 + ".wav")
    orphan.write_bytes(b"RIFF" + b"\0" * 100)
    part = folder / "renders" / f".song{song_id}-mix-050-high.x1y2z3.part.wav"
    part.write_bytes(b"\0" * 100)
    fresh = folder / "files" / ("cd" * 16 + ".wav")  # being stored by another process right now
    fresh.write_bytes(b"RIFF")
    old = time.time() - 3600
    for p in [orphan, part, *[folder / "files" / n for n in referenced], *(folder / "maps").iterdir()]:
        os.utime(p, (old, old))
    cat.engine.dispose()
    app = create_app(folder, start_jobs=False)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get(f"/api/songs/{song_id}/practice").status_code == 200  # the number still plays
    assert not orphan.exists() and (folder / "quarantine" / f"files-{orphan.name}").read_bytes().startswith(b"RIFF")
    assert not part.exists()
    assert fresh.exists()  # younger than the grace period: left alone
    assert sorted(p.name for p in (folder / "files").iterdir()) == sorted(referenced + [fresh.name])
    assert len(list((folder / "maps").iterdir())) == 1
    # a second start-up finds nothing more to do
    assert reconcile(Catalogue(folder)) == {"removed": [], "quarantined": []}


# -- media stay on the studio's own pages ----------------------------------------------------


def test_media_refuse_other_sites_and_are_not_embeddable(client):
    sid = client.song_id
    ok = client.get(f"/api/songs/{sid}/audio/mix", headers={"Sec-Fetch-Site": "same-origin"})
    assert ok.status_code == 200 and ok.headers["cross-origin-resource-policy"] == "same-origin"
    for site in ("cross-site", "same-site"):  # another local port is "same-site"
        r = client.get(f"/api/songs/{sid}/audio/mix", headers={"Sec-Fetch-Site": site})
        assert r.status_code == 403 and "own pages" in r.json()["error"]
    assert client.get("/api/takes/1/video", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.get(f"/api/songs/{sid}/audio/mix").status_code == 200  # no header: not a browser page
    assert client.get("/").headers["cross-origin-resource-policy"] == "same-origin"


def test_the_api_is_described_for_other_tools(client):
    spec = client.get("/api/openapi.json").json()
    assert "/api/songs/{song_id}/songmap" in spec["paths"]
    assert "MapEdit" in json.dumps(spec["components"])


# -- bad input: one clear line, never a 500, nothing lost -------------------------------------

SONGMAP = "/api/songs/{sid}/songmap"
RENDERS = "/api/songs/{sid}/renders"
BIG = 2**63

BAD_JSON = [
    # (path, body, status, words the message must contain)
    (SONGMAP, {"words": [{"index": BIG, "start": 1, "end": 2}]}, 400, "index"),
    (SONGMAP, {"words": [{"index": 0, "start": float("inf"), "end": 2}]}, 400, "finite"),
    (SONGMAP, {"words": [{"index": 0, "start": [1], "end": 2}]}, 400, "start"),
    (SONGMAP, {"words": [{"index": 0, "start": "soon", "end": 2}]}, 400, "start"),
    (SONGMAP, {"words": [{"index": -1, "start": 0.1, "end": 0.2}]}, 400, "index"),
    (SONGMAP, {"words": [{"index": 999, "start": 0.1, "end": 0.2}]}, 400, "does not exist"),
    (SONGMAP, {"words": []}, 400, "words"),
    (SONGMAP, {"words": "all of them"}, 400, "words"),
    (SONGMAP, {"words": [{"index": 0, "start": 0.1}]}, 400, "end"),
    (SONGMAP, {"base_version": BIG, "words": [{"index": 0, "start": 0.1, "end": 0.2}]}, 400, "base_version"),
    (SONGMAP, {"base_version": 7, "words": [{"index": 0, "start": 0.1, "end": 0.2}]}, 400, "no song map version 7"),
    (SONGMAP, {"words": [{"index": 0, "start": 0.1, "end": 0.2}], "extra": 1}, 400, "extra"),
    (SONGMAP, {"words": [{"index": 0, "start": 0.1, "end": 999.0}]}, 400, "not a span"),
    (SONGMAP, [1, 2, 3], 400, "JSON object"),
    (RENDERS, {"speed_pct": BIG}, 400, "speed_pct"),
    (RENDERS, {"speed_pct": float("inf")}, 400, "speed_pct"),
    (RENDERS, {"speed_pct": [80]}, 400, "speed_pct"),
    (RENDERS, {"speed_pct": 80, "part": "drums"}, 400, "part"),
    (RENDERS, {"speed_pct": 80, "start_s": float("inf"), "end_s": 3}, 400, "start_s"),
    (RENDERS, {"speed_pct": 80, "start_s": 1.0}, 400, "together"),
    (RENDERS, {"speed_pct": 80, "start_s": {"a": 1}, "end_s": 3}, 400, "start_s"),
    (RENDERS, {}, 400, "speed_pct"),
]


@pytest.mark.parametrize("path, body, status, says", BAD_JSON, ids=[f"{p.split('/')[-1]}-{i}" for i, (p, *_rest) in enumerate(BAD_JSON)])
def test_malformed_json_is_one_clear_400(client, path, body, status, says):
    cat: Catalogue = client.app.state.catalogue
    before = _versions(cat, client.song_id)
    raw = json.dumps(body).replace("Infinity", "1e999")  # as a client would send an overflowing number
    r = client.post(path.format(sid=client.song_id), content=raw, headers={**POST, "content-type": "application/json"})
    assert r.status_code == status, r.text
    message = r.json()["error"]
    assert says in message and "\n" not in message and str(cat.root) not in message
    assert _versions(cat, client.song_id) == before  # nothing saved, nothing lost


RAW_BODIES = [
    (SONGMAP, b"{" * 1000 + b"}" * 1000, 400, "JSON"),
    (SONGMAP, b'{"words": [' + b"[" * 1000 + b"]" * 1000 + b"]}", 400, "nested"),
    (SONGMAP, b"not json at all", 400, "not valid JSON"),
    (SONGMAP, b"", 400, "JSON body"),
    (RENDERS, b'{"speed_pct": 80', 400, "not valid JSON"),
]


@pytest.mark.parametrize("path, raw, status, says", RAW_BODIES, ids=["deep-object", "deep-list", "not-json", "empty", "cut-short"])
def test_unreadable_bodies_are_one_clear_400(client, path, raw, status, says):
    r = client.post(path.format(sid=client.song_id), content=raw, headers={**POST, "content-type": "application/json"})
    assert r.status_code == status, r.text
    assert says in r.json()["error"]


@pytest.mark.parametrize("path", [SONGMAP, RENDERS, "/api/songs/{sid}/analyze"])
def test_a_huge_body_is_refused_before_it_is_read(client, path):
    url = path.format(sid=client.song_id)
    declared = client.post(url, content=b"{}", headers={**POST, "content-type": "application/json", "content-length": str(300 * 2**20)})
    assert declared.status_code == 413 and "limit" in declared.json()["error"]
    if path.endswith("analyze"):
        return  # this route never reads a body, so a streamed one costs nothing

    def chunks():  # no Content-Length: counted while it streams
        for _ in range(64):
            yield b" " * 65536

    streamed = client.post(url, content=chunks(), headers={**POST, "content-type": "application/json"})
    assert streamed.status_code == 413 and "limit" in streamed.json()["error"]


def test_a_huge_body_costs_no_memory_against_a_real_server(studio):
    """300 MB posted to /songmap: refused on its Content-Length; the server's memory does not grow by it."""
    import resource
    import socket

    from lipcoach.web.app import create_app

    folder, song_id = studio
    with LiveServer(create_app(folder, start_jobs=False), free_port()) as server:
        before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(f"POST /api/songs/{song_id}/songmap HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Lipcoach: 1\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {300 * 2**20}\r\n\r\n".encode())
            sent = 0
            sock.settimeout(5)
            try:
                while sent < 300 * 2**20:
                    sock.sendall(b" " * 2**20)
                    sent += 2**20
            except OSError:
                pass  # the server answered and closed: good
            answer = sock.recv(4096).decode("latin-1")
        assert answer.startswith("HTTP/1.1 413")
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_kb) / 1024
        assert grown_mb < 50


BAD_PATHS = [
    ("get", f"/api/songs/{BIG}", 400, "song_id"),
    ("get", "/api/songs/99", 404, "no such song"),
    ("get", "/api/songs/1/songmap?version=99", 404, "version 99"),
    ("get", f"/api/songs/1/songmap?version={BIG}", 400, "version"),
    ("get", "/api/songs/1/practice?version=-1", 400, "version"),
    ("get", f"/api/takes/{BIG}", 400, "take_id"),
    ("get", f"/api/jobs/{BIG}", 400, "job_id"),
    ("get", "/api/renders/1/mix/80?start_ms=1e999&end_ms=2", 400, "start_ms"),
    ("get", "/api/renders/1/drums/80", 400, "part"),
    ("get", "/api/songs/1/count-in?start_s=1e999", 400, "start_s"),
    ("post", f"/api/songs/{BIG}/analyze", 400, "song_id"),
    ("post", "/api/songs/99/renders", 404, "no such song"),
]


@pytest.mark.parametrize("method, url, status, says", BAD_PATHS, ids=[u for _m, u, *_r in BAD_PATHS])
def test_bad_ids_and_query_values_are_clear(client, method, url, status, says):
    kwargs = {"headers": POST, "json": {"speed_pct": 80}} if method == "post" else {}
    r = getattr(client, method)(url, **kwargs)
    assert r.status_code == status, r.text
    assert says in r.json()["error"]


def _wav_of_seconds(seconds: float, sr: int = 8000) -> bytes:
    import numpy as np
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.zeros(int(seconds * sr), np.float32), sr, format="WAV")
    return buf.getvalue()


UPLOADS = [
    # (form files, form data, status, words the message must contain)
    ({"song": ("my song.mp3", b"MZ\x90\x00" * 2000, "audio/mpeg")}, {}, 400, "my song.mp3: the song is not a media file"),
    ({"song": ("C:\\Users\\ann\\take one.wav", b"", "audio/wav")}, {}, 400, "take one.wav: the song is empty"),
    ({"song": ("mix.wav", "WAV", "audio/wav"), "stem": ("vox.wav", b"not audio" * 100, "audio/wav")}, {}, 400, "vox.wav: the vocal stem is not a media file"),
    ({"song": ("mix.wav", "WAV", "audio/wav"), "lyrics": ("words.txt", b"\xff\xfe\x00bad", "text/plain")}, {}, 400, "words.txt: lyrics are not UTF-8"),
    ({"song": ("mix.wav", "WAV", "audio/wav"), "lyrics": ("words.txt", b"   \n", "text/plain")}, {}, 400, "words.txt: lyrics are empty"),
    ({"song": ("mix.wav", "WAV", "audio/wav")}, {"title": "x" * 301}, 400, "title"),
    ({}, {"title": "no song"}, 400, "song"),
    ({"song": ("long.wav", "LONG", "audio/wav")}, {}, 400, "long.wav: the song lasts"),
    ({"song": ("mix.wav", "WAV", "audio/wav")}, {f"field{k}": "x" for k in range(20)}, 400, "Too many fields"),
]


@pytest.mark.parametrize("files, data, status, says", UPLOADS, ids=["not-audio", "empty", "bad-stem", "lyrics-not-utf8", "lyrics-empty",
                                                                    "title-too-long", "no-song", "too-long", "too-many-fields"])
def test_bad_uploads_name_the_users_file_and_keep_nothing(client, short_song_files, monkeypatch, files, data, status, says):
    from lipcoach.media import decode

    cat: Catalogue = client.app.state.catalogue
    before = sorted(p.name for p in (cat.root / "files").iterdir())
    mix = short_song_files["mix.wav"].read_bytes()
    if any(f[1] == "LONG" for f in files.values()):
        monkeypatch.setattr(decode, "MAX_DURATION_S", 60.0)
    sent = {k: (name, mix if body == "WAV" else _wav_of_seconds(61.0) if body == "LONG" else body, mime) for k, (name, body, mime) in files.items()}
    r = client.post("/api/songs", data=data, files=sent or {"lyrics": ("", b"", "text/plain")}, headers=POST)
    assert r.status_code == status, r.text
    message = r.json()["error"]
    assert says in message, message
    assert str(cat.root) not in message and ".part" not in message and "/tmp" not in message
    assert sorted(p.name for p in (cat.root / "files").iterdir()) == before  # nothing half-added
    assert len(client.get("/api/numbers").json()) == 1


TAKES = [
    ({"video": ("set-take-3.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 500, "image/png")}, {}, 400, "set-take-3.png: the take is not a media file"),
    ({"video": ("audio-only.wav", "WAV", "audio/wav")}, {}, 400, "audio-only.wav: the take has no video"),
    ({"video": ("t.mp4", b"x" * 100, "video/mp4")}, {"speed": "nan"}, 400, "speed"),
    ({"video": ("t.mp4", b"x" * 100, "video/mp4")}, {"speed": "3"}, 400, "speed"),
    ({"video": ("t.mp4", b"x" * 100, "video/mp4")}, {"song_start_s": "1e999"}, 400, "song_start_s"),
]


@pytest.mark.parametrize("files, data, status, says", TAKES, ids=["image", "audio-only", "speed-nan", "speed-3x", "start-inf"])
def test_bad_takes_name_the_users_file(client, short_song_files, files, data, status, says):
    cat: Catalogue = client.app.state.catalogue
    before = sorted(p.name for p in (cat.root / "files").iterdir())
    mix = short_song_files["mix.wav"].read_bytes()
    sent = {k: (name, mix if body == "WAV" else body, mime) for k, (name, body, mime) in files.items()}
    r = client.post(f"/api/songs/{client.song_id}/takes", data=data, files=sent, headers=POST)
    assert r.status_code == status, r.text
    assert says in r.json()["error"] and str(cat.root) not in r.json()["error"]
    assert sorted(p.name for p in (cat.root / "files").iterdir()) == before


def test_a_failed_job_names_the_users_file_not_a_server_path(client, monkeypatch):
    """An analysis that fails on the stored song says so by the name the song was uploaded as."""
    from lipcoach.errors import LipcoachError
    from lipcoach.song import analyze as analyze_module

    def refuse(audio_path, **_kwargs):
        raise LipcoachError(audio_path, "has no sung vocal we could find")

    monkeypatch.setattr(analyze_module, "analyze_song", refuse)
    job = client.post(f"/api/songs/{client.song_id}/analyze", headers=POST).json()["job"]
    client.app.state.runner.run_pending()
    error = client.get(f"/api/jobs/{job['id']}").json()["error"]
    cat: Catalogue = client.app.state.catalogue
    assert error == "mix.wav: has no sung vocal we could find"
    assert str(cat.root) not in error
