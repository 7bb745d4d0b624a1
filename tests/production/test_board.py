"""The season board: episodes × numbers × performers with each number's state, over the studio's API."""

from __future__ import annotations

from lipcoach.production.dailies import run_dailies
from lipcoach.production.edit import cut_number


def test_board_follows_a_number_from_import_to_cut(catalogue, takes_folder, tmp_path):
    from fastapi.testclient import TestClient

    from lipcoach.web.app import create_app

    cat = catalogue
    app = create_app(cat.root, start_jobs=False)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        page = client.get("/board")
        assert page.status_code == 200 and "board.js" in page.text
        assert client.get("/static/board.js").status_code == 200

        def numbers():
            seasons = client.get("/api/seasons").json()
            assert [s["id"] for s in seasons] == ["demo"]
            assert seasons[0]["performers"] == ["Ana Ruiz", "Ben Okafor"]
            return {n["id"]: n for ep in seasons[0]["episodes"] for n in ep["numbers"]}

        board = numbers()
        assert board["lights-are-up"]["state"] == "imported" and board["lights-are-up"]["song_id"] is None
        assert board["boats-and-breath"]["state"] == "track ready"
        assert board["boats-and-breath"]["performers"] == ["Ana Ruiz", "Ben Okafor"]
        assert board["boats-and-breath"]["kind"] == "mashup"
        # The number opens its practice page, which serves the built track's map.
        song_id = board["boats-and-breath"]["song_id"]
        practice = client.get(f"/api/songs/{song_id}/practice").json()
        assert len(practice["songmap"]["lines"]) == 4

        run_dailies(cat, takes_folder, "boats-and-breath", workers=1)
        board = numbers()
        assert board["boats-and-breath"]["state"] == "shot"
        assert board["boats-and-breath"]["dailies"]["takes"] == 3 and board["boats-and-breath"]["dailies"]["best"] > 50
        cut_number(cat, "boats-and-breath", tmp_path / "cut.otio")
        assert numbers()["boats-and-breath"]["state"] == "cut"

        # The editor pins a take in the studio; the coach gives a line to both characters.
        lines = client.get("/api/season-numbers/boats-and-breath/edit").json()["lines"]
        assert [ln["performers"] for ln in lines] == [["Ana Ruiz"], ["Ana Ruiz"], ["Ben Okafor"], ["Ben Okafor"]]
        line3 = lines[2]
        other = next(c for c in line3["candidates"] if c["take_id"] != line3["chosen"]["take_id"])
        post = {"X-Lipcoach": "1"}
        pinned = client.post("/api/season-numbers/boats-and-breath/pins", json={"line": 2, "take_id": other["take_id"]}, headers=post)
        assert pinned.status_code == 200 and pinned.json()["lines"][2]["chosen"] == dict(other, pinned=True, confirmed=True)
        unpinned = client.post("/api/season-numbers/boats-and-breath/pins", json={"line": 2, "take_id": None}, headers=post).json()
        assert unpinned["lines"][2]["chosen"]["take_id"] == line3["chosen"]["take_id"]
        sung = client.post("/api/season-numbers/boats-and-breath/lines", json={"line": 3, "singers": ["Nellie", "Sam"]}, headers=post)
        assert sung.status_code == 200 and sung.json()["lines"][3]["performers"] == ["Ana Ruiz", "Ben Okafor"]
        practice = client.get(f"/api/songs/{song_id}/practice").json()
        assert practice["songmap"]["source"]["lines"][3]["performers"] == ["Ana Ruiz", "Ben Okafor"]
        refused = client.post("/api/season-numbers/boats-and-breath/lines", json={"line": 3, "singers": ["Bob"]}, headers=post)
        assert refused.status_code == 400 and "Bob" in refused.json()["error"]
        assert client.post("/api/season-numbers/boats-and-breath/lines", json={"line": 3, "singers": ["Sam"]}).status_code == 403
