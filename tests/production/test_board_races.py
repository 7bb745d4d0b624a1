"""The season board's writes raced against each other and against the studio's map editor, on a real server.

What a user would lose if it went wrong: an editor's corrected word time buried by the coach's
line assignment, one of two coaches' assignments, or a pin answered with a server error. Every
change answered 200 must be in the catalogue afterwards; a change refused must be refused with
409 (the person is told to reload), never a 500.
"""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from tests.web.studio_fixtures import LiveServer, free_port

POST = {"X-Lipcoach": "1"}
NUMBER = "boats-and-breath"
#: Rounds of each race (the issue's bar: no lost change in at least 20).
ROUNDS = 20
#: Singers of the mashup's episode, and the assignments a round picks from.
CHOICES = (["Nellie"], ["Sam"], ["Nellie", "Sam"])


@pytest.fixture
def server(catalogue):
    from lipcoach.web.app import create_app

    app = create_app(catalogue.root, start_jobs=False)
    with LiveServer(app, free_port()) as live:
        live.cat = catalogue
        yield live


def _race(*calls):
    """Run the calls at the same instant in threads; their answers in order."""
    barrier = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(k: int) -> None:
        barrier.wait()
        answers[k] = calls[k]()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return answers


def _spec_lines(cat) -> dict:
    """The number's spec: who sings each line (1-based keys), as the next build will keep it."""
    from lipcoach.production.season import find_number

    with cat.session() as s:
        return find_number(cat, s, NUMBER).spec_dict().get("lines", {})


def _other_choice(current: list[str], k: int) -> list[str]:
    options = [c for c in CHOICES if c != current]
    return options[k % len(options)]


def test_line_assignments_raced_against_word_time_saves_lose_nothing(server):
    """20 rounds: the editor saves a word time while the coach gives a line; every 200 is in the latest map."""
    url, lost, codes = server.url, [], []
    for r in range(ROUNDS):
        board = httpx.get(f"{url}/api/season-numbers/{NUMBER}/edit").json()
        song_id, version = board["song_id"], board["map_version"]
        songmap = httpx.get(f"{url}/api/songs/{song_id}/songmap").json()
        words = songmap["words"]
        k = 1 + (r * 7) % (len(words) - 2)
        w, before = words[k], words[k - 1]
        delta = 0.004 if r % 2 else -0.004
        new_start = round(min(max(w["start_s"] + delta, before["start_s"] + 0.001), w["end_s"] - 0.01), 4)
        assert new_start != pytest.approx(w["start_s"], abs=1e-4)
        line = r % len(board["lines"])
        singers = _other_choice(board["lines"][line]["singers"], r)
        # Both base versions given, one, the other, or none: every combination a client may send.
        editor_base = version if r % 4 in (0, 1) else None
        board_base = version if r % 4 in (1, 2) else None
        edit = {"words": [{"index": k, "start_s": new_start, "end_s": w["end_s"]}], "note": f"round {r}"}
        if editor_base is not None:
            edit["base_version"] = editor_base
        assign = {"line": line, "singers": singers}
        if board_base is not None:
            assign["base_version"] = board_base
        saved, assigned = _race(
            lambda: httpx.post(f"{url}/api/songs/{song_id}/songmap", json=edit, headers=POST, timeout=60),
            lambda: httpx.post(f"{url}/api/season-numbers/{NUMBER}/lines", json=assign, headers=POST, timeout=60),
        )
        codes.append((saved.status_code, assigned.status_code))
        assert {saved.status_code, assigned.status_code} <= {200, 409}, (saved.text, assigned.text)
        assert 200 in (saved.status_code, assigned.status_code)
        if editor_base is None and board_base is None:
            assert (saved.status_code, assigned.status_code) == (200, 200)  # no base: both apply, in turn
        latest = httpx.get(f"{url}/api/songs/{song_id}/songmap").json()
        if saved.status_code == 200 and latest["words"][k]["start_s"] != pytest.approx(new_start, abs=1e-4):
            lost.append(f"round {r}: the editor's word {k} time")
        if assigned.status_code == 200:
            if latest["source"]["lines"][line]["singers"] != singers:
                lost.append(f"round {r}: line {line + 1}'s singers in the map")
            if _spec_lines(server.cat).get(str(line + 1)) != singers:
                lost.append(f"round {r}: line {line + 1}'s singers in the spec")
        for answer in (saved, assigned):
            if answer.status_code == 409:
                assert "reload" in answer.json()["error"]
    assert lost == [], f"{len(lost)} lost changes in {ROUNDS} rounds: {lost}; answers {codes}"


def test_two_coaches_assigning_at_once_lose_nothing(server):
    """20 rounds: two lines given at once (serialised, both kept) or from the same version (one 409)."""
    url, lost = server.url, []
    for r in range(ROUNDS):
        board = httpx.get(f"{url}/api/season-numbers/{NUMBER}/edit").json()
        n_lines = len(board["lines"])
        lines = (r % n_lines, (r + 1 + r // n_lines) % n_lines)
        if lines[0] == lines[1]:
            lines = (lines[0], (lines[0] + 1) % n_lines)
        bodies = [{"line": ln, "singers": _other_choice(board["lines"][ln]["singers"], r + j)} for j, ln in enumerate(lines)]
        same_base = r % 2 == 1
        if same_base:
            for body in bodies:
                body["base_version"] = board["map_version"]
        answers = _race(*[
            (lambda body=body: httpx.post(f"{url}/api/season-numbers/{NUMBER}/lines", json=body, headers=POST, timeout=60))
            for body in bodies])
        statuses = sorted(a.status_code for a in answers)
        assert statuses == ([200, 409] if same_base else [200, 200]), [a.text for a in answers]
        after = httpx.get(f"{url}/api/season-numbers/{NUMBER}/edit").json()
        assert after["map_version"] == board["map_version"] + statuses.count(200)
        spec = _spec_lines(server.cat)
        for body, answer in zip(bodies, answers):
            if answer.status_code == 200 and (after["lines"][body["line"]]["singers"] != body["singers"]
                                              or spec.get(str(body["line"] + 1)) != body["singers"]):
                lost.append(f"round {r}: line {body['line'] + 1}")
    assert lost == [], f"{len(lost)} lost assignments in {ROUNDS} rounds: {lost}"


@pytest.fixture
def scored_server(catalogue):
    """The live board over a catalogue whose mashup has three scored takes, each covering every line.

    The rows are written directly (scoring real takes is tested in test_dailies): the race is in
    the pins, not in the scoring.
    """
    from sqlalchemy import select

    from lipcoach.production.catalogue import Song
    from lipcoach.production.season import find_number
    from lipcoach.production.tables import DailyTake
    from lipcoach.web.app import create_app

    cat = catalogue
    with cat.session() as s:
        number_id = find_number(cat, s, NUMBER).number_id
        song = s.scalar(select(Song).where(Song.number_id == number_id).order_by(Song.id.desc()).limit(1))
        version = cat.latest_map(s, song.id)
        n_lines = len(cat.load_map(version).lines)
        duration_s = cat.load_map(version).duration
        for k in range(3):
            report = f"race-take{k}.json"
            doc = {"schema": "lipcoach.takereport/2", "take": {"path": f"take0{k}.mp4", "duration_s": duration_s},
                   "placement": {"song_start_s": 0.0, "confidence": 1.0, "method": "given"},
                   "sync": {"offset_ms": 0.0, "confidence": 1.0}, "verdict": "in_sync", "score": 70.0 + k,
                   "lines": [], "words": [], "fixes": []}
            (cat.path("reports", report)).write_text(json.dumps(doc), encoding="utf-8")
            s.add(DailyTake(number_id=number_id, sha256=f"{k:064d}", source_path=f"/shoot/take0{k}.mp4", name=f"take0{k}.mp4",
                            songmap_version_id=version.id, report_file=report, score=70.0 + k, verdict="in_sync",
                            song_start_s=0.0, duration_s=duration_s, fps=25.0,
                            line_scores=json.dumps({str(i): 60.0 + 5 * k + i for i in range(n_lines)})))
        s.commit()
    app = create_app(cat.root, start_jobs=False)
    with LiveServer(app, free_port()) as live:
        live.cat = cat
        yield live


def test_pins_under_load_are_serialised_never_a_server_error(scored_server):
    """20 rounds of 5 editors pinning the same unpinned line at once: every answer 200, one pin row, the board agrees."""
    from sqlalchemy import select

    from lipcoach.production.tables import LinePin

    url, cat = scored_server.url, scored_server.cat
    board = httpx.get(f"{url}/api/season-numbers/{NUMBER}/edit").json()
    covered = [ln for ln in board["lines"] if ln["candidates"]]
    assert covered, "the generated dailies cover no line"
    for r in range(ROUNDS):
        line = covered[r % len(covered)]
        unpinned = httpx.post(f"{url}/api/season-numbers/{NUMBER}/pins", json={"line": line["index"], "take_id": None}, headers=POST)
        assert unpinned.status_code == 200, unpinned.text
        takes = [line["candidates"][j % len(line["candidates"])]["take_id"] for j in range(5)]
        answers = _race(*[
            (lambda t=t: httpx.post(f"{url}/api/season-numbers/{NUMBER}/pins", json={"line": line["index"], "take_id": t},
                                    headers=POST, timeout=60))
            for t in takes])
        assert [a.status_code for a in answers] == [200] * len(takes), [a.text for a in answers if a.status_code != 200]
        with cat.session() as s:
            rows = list(s.scalars(select(LinePin).where(LinePin.line_index == line["index"])))
        assert len(rows) == 1 and rows[0].take_id in takes
        chosen = httpx.get(f"{url}/api/season-numbers/{NUMBER}/edit").json()["lines"][line["index"]]["chosen"]
        assert chosen["pinned"] and chosen["take_id"] == rows[0].take_id


def test_a_number_two_seasons_share_is_addressed_as_season_slash_id(catalogue, season_file, tmp_path):
    """Two seasons with a number of the same id: the bare id is refused with the names to use, and those names work."""
    from fastapi.testclient import TestClient

    from lipcoach.production.season import import_season
    from lipcoach.web.app import create_app

    folder = tmp_path / "season2"
    import shutil

    shutil.copytree(season_file.parent, folder)
    text = (folder / "season.yaml").read_text(encoding="utf-8")
    first_id = next(ln for ln in text.splitlines() if ln.startswith("id:"))
    (folder / "season.yaml").write_text(text.replace(first_id, "id: reprise", 1), encoding="utf-8")
    import_season(catalogue, folder / "season.yaml")
    with TestClient(create_app(catalogue.root, start_jobs=False), base_url="http://127.0.0.1") as client:
        seasons = client.get("/api/seasons").json()
        refs = sorted(n["ref"] for season in seasons for ep in season["episodes"] for n in ep["numbers"] if n["id"] == NUMBER)
        assert refs == [f"demo/{NUMBER}", f"reprise/{NUMBER}"]
        bare = client.get(f"/api/season-numbers/{NUMBER}/edit")
        assert bare.status_code == 400 and f"demo/{NUMBER}" in bare.json()["error"] and f"reprise/{NUMBER}" in bare.json()["error"]
        # The built one answers by its qualified name, sent as is or encoded as the board sends it.
        for path in (f"demo/{NUMBER}", f"demo%2F{NUMBER}"):
            answer = client.get(f"/api/season-numbers/{path}/edit")
            assert answer.status_code == 200, answer.text
            assert answer.json()["ref"] == f"demo/{NUMBER}" and len(answer.json()["lines"]) == 4
        assigned = client.post(f"/api/season-numbers/demo%2F{NUMBER}/lines", json={"line": 0, "singers": ["Sam"]}, headers=POST)
        assert assigned.status_code == 200 and assigned.json()["lines"][0]["singers"] == ["Sam"]
        # The other season's copy has no track yet, and says so by its own name.
        unbuilt = client.get(f"/api/season-numbers/reprise%2F{NUMBER}/edit")
        assert unbuilt.status_code == 400 and "number build" in unbuilt.json()["error"]


@pytest.mark.parametrize("method, path, body, status, says", [
    ("get", f"/api/season-numbers/{2**64 + 5}/edit", None, 404, "no number"),
    ("get", f"/api/season-numbers/{'9' * 40}/edit", None, 404, "no number"),
    ("get", "/api/season-numbers/%C2%B2/edit", None, 404, "no number"),  # '²' is a digit to str.isdigit
    ("get", "/api/season-numbers/nope/edit", None, 404, "no number 'nope'"),
    ("post", f"/api/season-numbers/{2**64}/lines", {"line": 0, "singers": ["Sam"]}, 404, "no number"),
    ("post", f"/api/season-numbers/{NUMBER}/lines", {"line": 2**64, "singers": ["Sam"]}, 400, "line"),
    ("post", f"/api/season-numbers/{NUMBER}/lines", {"line": 9999, "singers": ["Sam"]}, 400, "has no line 10000"),
    ("post", f"/api/season-numbers/{NUMBER}/lines", {"line": 0, "singers": ["Sam"], "base_version": 2**64}, 400, "base_version"),
    ("post", f"/api/season-numbers/{NUMBER}/lines", {"line": 0, "singers": ["Sam"], "base_version": 999}, 400, "no song map version 999"),
    ("post", f"/api/season-numbers/{NUMBER}/pins", {"line": 0, "take_id": 2**64}, 400, "take_id"),
    ("post", f"/api/season-numbers/{NUMBER}/pins", {"line": 2**70, "take_id": None}, 400, "line"),
    ("post", f"/api/season-numbers/{NUMBER}/pins", {"line": 0, "take_id": 2**63 - 1}, 400, "no scored take"),
    ("post", f"/api/season-numbers/{2**64}/pins", {"line": 0, "take_id": 1}, 404, "no number"),
])
def test_board_ids_beyond_64_bits_are_clear_answers(catalogue, method, path, body, status, says):
    """Ids too large for the catalogue answer 404 or 400 with one line, never a 500; nothing is written."""
    from fastapi.testclient import TestClient

    from lipcoach.web.app import create_app

    before = sorted(p.name for p in (catalogue.root / "maps").iterdir())
    with TestClient(create_app(catalogue.root, start_jobs=False), base_url="http://127.0.0.1") as client:
        answer = client.request(method, path, json=body, headers=POST if method == "post" else None)
    assert answer.status_code == status, answer.text
    message = answer.json()["error"]
    assert says in message and "\n" not in message and "Traceback" not in message
    assert sorted(p.name for p in (catalogue.root / "maps").iterdir()) == before
