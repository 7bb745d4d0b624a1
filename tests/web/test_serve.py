"""Starting the studio: the printed URL, the token rule and the built-in demo number."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from fastapi.testclient import TestClient

from lipcoach.production.catalogue import Job, Number
from lipcoach.web.app import prepare


def test_loopback_needs_no_token(tmp_path):
    app, url = prepare(tmp_path / "data", "127.0.0.1", 8765)
    assert url == "http://127.0.0.1:8765/" and app.state.token is None


def test_any_other_host_gets_a_token_that_every_request_needs(tmp_path):
    app, url = prepare(tmp_path / "data", "0.0.0.0", 9000)
    token = parse_qs(urlparse(url).query)["token"][0]
    assert len(token) >= 24 and app.state.token == token
    with TestClient(app, base_url="http://10.0.0.5:9000") as c:
        assert c.get("/api/numbers").status_code == 401
        assert c.get(f"/api/numbers?token={token}").status_code == 200


def test_demo_number_is_added_once_with_stem_lyrics_and_queued_analysis(tmp_path):
    app, _ = prepare(tmp_path / "data", demo=True)
    cat = app.state.catalogue
    with cat.session() as s:
        numbers = s.query(Number).all()
        assert [n.title for n in numbers] == ["Paper Boats (demo number)"]
        song = numbers[0].songs[0]
        assert song.stem_file and song.lyrics_file and song.duration_s > 30
        jobs = s.query(Job).all()
        assert [(j.kind, j.state) for j in jobs] == [("analyze", "queued")]
    app2, _ = prepare(tmp_path / "data", demo=True)
    with app2.state.catalogue.session() as s:
        assert s.query(Number).count() == 1 and s.query(Job).count() == 1
