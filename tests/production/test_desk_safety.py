"""The production desk under the studio's rules: nothing it stores is ever set aside, no half-made demo,
no take scored while it is still being copied, no worker left running for nobody.

Each bad-input case checks the exit code, one line naming the file, the files left unchanged and
the catalogue's integrity (every file a row names is in the data folder).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

import lipcoach
from lipcoach.errors import LipcoachError
from lipcoach.production.catalogue import Base, Catalogue, missing_files, owned_files, reconcile, stored_columns
from lipcoach.production.tables import DailyTake, LinePin, Season, SeasonSong

SRC = str(Path(lipcoach.__file__).resolve().parents[1])
HOUR_AGO_S = 3600.0


def run_cli(*args, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC}  # the lipcoach under test
    return subprocess.run([sys.executable, "-m", "lipcoach", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout)


def one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def age(folder: Path, seconds: float = HOUR_AGO_S) -> None:
    """Make every file and folder under ``folder`` look ``seconds`` old (as after a day off)."""
    then = time.time() - seconds
    for p in [folder, *folder.rglob("*")]:
        os.utime(p, (then, then), follow_symlinks=False)


def stored(cat: Catalogue) -> dict[str, list[str]]:
    return {area: sorted(p.name for p in (cat.root / area).iterdir()) for area in ("files", "maps", "reports")}


# -- one catalogue of what the data folder owns --------------------------------------------------


def test_every_column_that_names_a_stored_file_is_in_the_catalogue_of_owned_files():
    import lipcoach.production.tables  # noqa: F401

    marked = {(c.table.name, c.name) for c in stored_columns()}
    named_like_files = {(t.name, c.name) for t in Base.metadata.sorted_tables for c in t.columns
                        if c.name == "file" or c.name.endswith("_file")}
    assert named_like_files <= marked
    assert {("season_songs", "audio_file"), ("season_songs", "stem_file"), ("season_songs", "lyrics_file"),
            ("season_songs", "map_file"), ("daily_takes", "report_file"), ("songs", "audio_file"),
            ("songmap_versions", "file"), ("reports", "file"), ("takes", "file")} <= marked


@pytest.fixture(scope="module")
def full_demo(tmp_path_factory) -> Path:
    """``lipcoach season demo --out D --full``, as a user runs it."""
    out = tmp_path_factory.mktemp("full") / "demo"
    result = run_cli("season", "demo", "--out", out, "--full", timeout=900)
    assert result.returncode == 0, result.stderr
    return out


def _open_studio(data: Path) -> None:
    from fastapi.testclient import TestClient

    from lipcoach.web.app import create_app

    app = create_app(data, start_jobs=False)
    with TestClient(app, base_url="http://127.0.0.1") as client:  # runs the start-up tidy-up
        assert client.get("/api/numbers").status_code == 200


def test_opening_the_studio_on_a_full_demo_sets_nothing_aside_and_the_desk_keeps_working(full_demo, tmp_path):
    demo = tmp_path / "demo"
    shutil.copytree(full_demo, demo, symlinks=True)
    data = demo / "data"
    cat = Catalogue(data, start_up=False)
    before = stored(cat)
    owned = owned_files(cat)
    assert before["maps"] and before["reports"] and len(before["files"]) >= 20
    assert {area: sorted(names) for area, names in owned.items()} == before  # the folder owns all it holds
    with cat.session() as s:
        n_takes = s.scalar(select(func.count()).select_from(DailyTake))
        assert s.scalar(select(func.count()).select_from(SeasonSong)) == 4 and n_takes == 5
    cat.engine.dispose()
    age(data)

    _open_studio(data)
    assert not (data / "quarantine").exists()
    assert stored(cat) == before and missing_files(cat) == []

    cut = tmp_path / "again.otio"
    result = run_cli("edit", "boats-and-breath", "--data", data, "-o", cut)
    assert result.returncode == 0, result.stderr
    assert cut.stat().st_size > 0
    result = run_cli("number", "build", "boats-and-breath", "--data", data, "--force")
    assert result.returncode == 0, result.stderr
    takes = demo / "takes" / "boats-and-breath"
    result = run_cli("dailies", takes, "--number", "boats-and-breath", "--data", data, "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert "3 scored, 0 already scored, 0 failed" in result.stderr  # the new build's map: every take again
    with cat.session() as s:
        rows = list(s.scalars(select(DailyTake)))
        assert len(rows) == n_takes  # rescored in place, never a second row
        assert len({(r.number_id, r.source_path) for r in rows}) == n_takes
    assert missing_files(cat) == []
    # The rebuild released the track it replaced, so a second start-up finds nothing to set aside either.
    age(data)
    _open_studio(data)
    assert not (data / "quarantine").exists() and missing_files(cat) == []
    result = run_cli("edit", "boats-and-breath", "--data", data, "-o", tmp_path / "after-rebuild.otio")
    assert result.returncode == 0, result.stderr


def test_a_file_no_row_names_is_still_set_aside(catalogue):
    """The tidy-up still does its job: a copy stored by a process that died before its row was committed."""
    stray = catalogue.path("files", "ab" * 16 + ".wav")
    stray.write_bytes(b"RIFF" + bytes(100))
    before = stored(catalogue)
    age(catalogue.root)
    assert reconcile(catalogue)["quarantined"] == [f"files/{stray.name}"]
    assert stored(catalogue)["files"] == [n for n in before["files"] if n != stray.name]
    assert missing_files(catalogue) == []


def test_nothing_is_set_aside_while_another_command_is_in_the_middle_of_a_write(catalogue):
    """A season import storing its songs holds the write lock until it commits: its new copies are not strays."""
    import sqlite3

    stray = catalogue.path("files", "ab" * 16 + ".wav")
    stray.write_bytes(b"RIFF" + bytes(100))
    age(catalogue.root)
    importing = sqlite3.connect(str(catalogue.root / "catalogue.sqlite"), isolation_level=None)
    importing.execute("BEGIN IMMEDIATE")
    try:
        assert reconcile(catalogue, lock_wait_s=0.2)["quarantined"] == []
        assert stray.exists()
    finally:
        importing.execute("ROLLBACK")
        importing.close()
    assert reconcile(catalogue, lock_wait_s=0.2)["quarantined"] == [f"files/{stray.name}"]


def test_a_take_whose_report_is_gone_is_scored_again(catalogue, takes_folder, tmp_path):
    from lipcoach.production.dailies import run_dailies

    folder = tmp_path / "day1"
    folder.mkdir()
    shutil.copy(takes_folder / "take01.mp4", folder / "take01.mp4")
    age(folder)
    run_dailies(catalogue, folder, "boats-and-breath", workers=1)
    (row,) = _rows(catalogue)
    catalogue.path("reports", row.report_file).unlink()  # removed by hand, or set aside by an older studio
    summary = run_dailies(catalogue, folder, "boats-and-breath", workers=1)
    assert (summary.scored, summary.skipped) == (1, 0)
    assert [r.id for r in _rows(catalogue)] == [row.id] and missing_files(catalogue) == []


# -- failed imports leave no copies ----------------------------------------------------------------


def test_a_failed_import_leaves_no_copies_and_no_rows(season_copy, tmp_path):
    cat = Catalogue(tmp_path / "data")
    before = stored(cat)
    lyrics = season_copy.parent / "lights-are-up" / "lyrics.txt"  # the last song: the others are stored by then
    lyrics.write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(LipcoachError) as err:
        from lipcoach.production.season import import_season

        import_season(cat, season_copy)
    assert "lyrics" in str(err.value) and "\n" not in str(err.value)
    assert stored(cat) == before
    with cat.session() as s:
        assert s.scalar(select(func.count()).select_from(Season)) == 0


def test_a_disk_error_mid_import_leaves_no_copies(season_copy, tmp_path, monkeypatch):
    from lipcoach.production import storage
    from lipcoach.production.season import import_season

    cat = Catalogue(tmp_path / "data")
    before = stored(cat)
    real = storage._commit
    calls = []

    def fail_on_fifth(tmp, files_dir, suffix):
        calls.append(suffix)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        return real(tmp, files_dir, suffix)

    monkeypatch.setattr(storage, "_commit", fail_on_fifth)
    with pytest.raises(OSError):
        import_season(cat, season_copy)
    assert len(calls) == 5 and stored(cat) == before and not list((cat.root / "tmp").iterdir())


def test_importing_a_changed_song_again_replaces_its_copy_without_leaving_the_old_one(season_copy, tmp_path):
    from lipcoach.production.season import import_season

    cat = Catalogue(tmp_path / "data")
    import_season(cat, season_copy)
    first = stored(cat)
    lyrics = season_copy.parent / "paper-boats" / "lyrics.txt"
    lyrics.write_text(lyrics.read_text(encoding="utf-8").replace("river", "River"), encoding="utf-8")
    import_season(cat, season_copy)
    second = stored(cat)
    assert len(second["files"]) == len(first["files"]) and second["files"] != first["files"]
    assert missing_files(cat) == []
    age(cat.root)
    assert reconcile(cat)["quarantined"] == []


# -- season demo never replaces a user's file, never leaves a half-made folder -------------------


@pytest.mark.parametrize("mine", ["season.yaml", "paper-boats/lyrics.txt", "lights-are-up/mix.wav"])
def test_season_demo_refuses_to_replace_a_users_file(tmp_path, mine):
    out = tmp_path / "show"
    (out / mine).parent.mkdir(parents=True, exist_ok=True)
    (out / mine).write_text("my own words\n")
    (out / "notes.txt").write_text("rehearsal notes\n")
    before = snapshot(out)
    result = run_cli("season", "demo", "--out", out)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert str(out / mine) in line and "--force" in line
    assert snapshot(out) == before


def test_season_demo_full_refuses_an_existing_catalogue_or_edit(tmp_path):
    for mine in ("data/catalogue.sqlite", "cut.otio", "takes/boats-and-breath/take02.mp4", "season/season.yaml"):
        out = tmp_path / mine.replace("/", "-")
        (out / mine).parent.mkdir(parents=True, exist_ok=True)
        (out / mine).write_bytes(b"the user's own\n")
        before = snapshot(out)
        result = run_cli("season", "demo", "--out", out, "--full")
        assert result.returncode == 2, result.stderr
        assert str(out / mine) in one_line(result.stderr)
        assert snapshot(out) == before


def test_season_demo_refuses_a_file_as_its_folder(tmp_path):
    (tmp_path / "show").write_text("not a folder")
    result = run_cli("season", "demo", "--out", tmp_path / "show")
    assert result.returncode == 2 and str(tmp_path / "show") in one_line(result.stderr)
    assert (tmp_path / "show").read_text() == "not a folder"


def test_season_demo_force_replaces_the_demos_files_and_keeps_the_rest(tmp_path):
    from lipcoach.production.demo_season import write_demo_season

    (tmp_path / "paper-boats").mkdir()
    (tmp_path / "paper-boats" / "lyrics.txt").write_text("old words\n")
    (tmp_path / "notes.txt").write_text("rehearsal notes\n")
    with pytest.raises(LipcoachError, match="already exists"):
        write_demo_season(tmp_path, n_lines=1)
    season = write_demo_season(tmp_path, n_lines=1, force=True)
    assert season.read_text().startswith("schema: lipcoach.season/1")
    assert (tmp_path / "paper-boats" / "lyrics.txt").read_text() == "paper boats upon the river\n"
    assert (tmp_path / "notes.txt").read_text() == "rehearsal notes\n"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_season_demo_leaves_the_folder_as_it_was(tmp_path, sig):
    for existed in (False, True):
        out = tmp_path / f"{sig.name}-{existed}"
        if existed:
            out.mkdir()
            (out / "notes.txt").write_text("rehearsal notes\n")
        before = snapshot(out) if existed else None
        # As from a terminal: Ctrl-C reaches it even when this test runs in a background job (which ignores SIGINT).
        proc = subprocess.Popen([sys.executable, "-m", "lipcoach", "season", "demo", "--out", str(out)],
                                env={**os.environ, "PYTHONPATH": SRC}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.time() + 120
        while not (out / "paper-boats" / "song.json").exists():  # the first song is written: interrupt mid-way
            assert proc.poll() is None and time.time() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode != 0 or not (out / "season.yaml").exists(), stderr
        assert "Traceback" not in stderr
        if existed:
            assert snapshot(out) == before
        else:
            assert not out.exists()


# -- dailies: takes still being copied, rescored paths, failures, workers ------------------------


def _rows(cat) -> list[DailyTake]:
    with cat.session() as s:
        return list(s.scalars(select(DailyTake).order_by(DailyTake.id)))


def test_a_take_still_being_copied_is_left_for_the_next_run_then_scored_once(catalogue, takes_folder, tmp_path):
    from lipcoach.production.dailies import run_dailies

    folder = tmp_path / "day1"
    folder.mkdir()
    whole = (takes_folder / "take01.mp4").read_bytes()
    (folder / "take01.mp4").write_bytes(whole[: len(whole) // 2])  # the copy is half-way
    summary = run_dailies(catalogue, folder, "boats-and-breath", workers=1)
    assert summary.scored == 0 and summary.failed == [] and [n for n, _ in summary.arriving] == ["take01.mp4"]
    assert "still being copied" in summary.arriving[0][1]
    assert _rows(catalogue) == []
    (folder / "take01.mp4").write_bytes(whole)  # the copy finished
    summary = run_dailies(catalogue, folder, "boats-and-breath", workers=1)
    assert (summary.scored, summary.arriving, summary.failed) == (1, [], [])
    assert len(_rows(catalogue)) == 1 and missing_files(catalogue) == []


def test_a_take_growing_while_dailies_looks_is_not_scored(catalogue, takes_folder, tmp_path):
    import threading

    from lipcoach.production.dailies import run_dailies

    folder = tmp_path / "day1"
    folder.mkdir()
    shutil.copy(takes_folder / "take02.mp4", folder / "take02.mp4")
    age(folder)
    whole = (takes_folder / "take01.mp4").read_bytes()
    stop = threading.Event()

    def copying():  # a slow copy (a card reader, a network share): a chunk every 0.2 s
        with open(folder / "take01.mp4", "wb") as out:
            for k in range(0, len(whole), 4096):
                if stop.is_set():
                    return
                out.write(whole[k:k + 4096])
                out.flush()
                time.sleep(0.2)

    writer = threading.Thread(target=copying)
    writer.start()
    try:
        time.sleep(0.5)
        summary = run_dailies(catalogue, folder, "boats-and-breath", workers=1)
    finally:
        stop.set()
        writer.join()
    assert [n for n, _ in summary.arriving] == ["take01.mp4"] and summary.scored == 1
    assert [r.name for r in _rows(catalogue)] == ["take02.mp4"]


def test_a_rescored_path_updates_its_row_and_its_pin_never_adds_a_second(catalogue, takes_folder, tmp_path):
    from lipcoach.production.dailies import run_dailies

    folder = tmp_path / "day1"
    folder.mkdir()
    shot = folder / "shot.mp4"
    shutil.copy(takes_folder / "take01.mp4", shot)
    age(folder)
    run_dailies(catalogue, folder, "boats-and-breath", workers=1)
    (first,) = _rows(catalogue)
    with catalogue.session() as s:
        s.add(LinePin(number_id=first.number_id, line_index=0, take_id=first.id))
        s.commit()
    shutil.copy(takes_folder / "take03.mp4", shot)  # the same name, another take (a re-copy, a re-shoot)
    age(folder)
    summary = run_dailies(catalogue, folder, "boats-and-breath", workers=1)
    assert summary.scored == 1
    (row,) = _rows(catalogue)
    assert row.id == first.id and row.sha256 != first.sha256 and row.name == "shot.mp4"
    assert row.song_start_s == pytest.approx(12.0, abs=0.3)  # take03's placement, not take01's
    assert stored(catalogue)["reports"] == [row.report_file]  # the old report went with the old content
    with catalogue.session() as s:
        assert [p.take_id for p in s.scalars(select(LinePin))] == [row.id]


def test_a_renamed_take_keeps_its_row_and_a_new_take_under_its_old_name_is_a_new_row(catalogue, takes_folder, tmp_path):
    from lipcoach.production.dailies import run_dailies

    folder = tmp_path / "day1"
    folder.mkdir()
    shutil.copy(takes_folder / "take01.mp4", folder / "shot.mp4")
    age(folder)
    run_dailies(catalogue, folder, "boats-and-breath", workers=1)
    os.rename(folder / "shot.mp4", folder / "shot-a.mp4")
    shutil.copy(takes_folder / "take03.mp4", folder / "shot.mp4")
    age(folder)
    summary = run_dailies(catalogue, folder, "boats-and-breath", workers=1)
    assert (summary.scored, summary.skipped) == (1, 1)
    assert sorted(r.name for r in _rows(catalogue)) == ["shot-a.mp4", "shot.mp4"]


def test_dailies_exits_non_zero_naming_a_take_that_failed(catalogue, takes_folder, tmp_path):
    folder = tmp_path / "day1"
    folder.mkdir()
    shutil.copy(takes_folder / "take01.mp4", folder / "take01.mp4")
    (folder / "broken.mp4").write_bytes(os.urandom(4096))
    age(folder)
    before = snapshot(folder)
    catalogue.engine.dispose()
    result = run_cli("dailies", folder, "--number", "boats-and-breath", "--data", catalogue.root, "--workers", "1")
    assert result.returncode == 1, result.stderr
    assert "1 scored, 0 already scored, 1 failed" in result.stderr
    assert any(ln.strip().startswith("failed: broken.mp4:") for ln in result.stderr.splitlines())
    assert "Traceback" not in result.stderr
    assert snapshot(folder) == before
    assert [r.name for r in _rows(catalogue)] == ["take01.mp4"] and missing_files(catalogue) == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead (its parent is gone; init reaps it)
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="checks processes through /proc")
def test_kill_9_of_dailies_takes_its_workers_with_it(catalogue, takes_folder, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    catalogue.engine.dispose()
    script = (
        "import functools, sys\n"
        "from lipcoach.production.catalogue import Catalogue\n"
        "from lipcoach.production.dailies import run_dailies\n"
        "from tests.production.slow_scoring import record_pid_and_wait\n"
        f"run_dailies(Catalogue({str(catalogue.root)!r}), {str(takes_folder)!r}, 'boats-and-breath', workers=2,\n"
        f"            score_fn=functools.partial(record_pid_and_wait, {str(markers)!r}))\n"
    )
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=repo, env={**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{repo}"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while len(list(markers.glob("*.pid"))) < 2:
        assert proc.poll() is None, proc.stderr.read()
        assert time.time() < deadline
        time.sleep(0.1)
    workers = [int(p.read_text()) for p in markers.glob("*.pid")]
    assert all(_alive(pid) for pid in workers)
    proc.kill()
    proc.wait()
    deadline = time.time() + 10
    while any(_alive(pid) for pid in workers) and time.time() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []


# -- a data folder that cannot be used ------------------------------------------------------------


def test_a_data_folder_that_is_not_a_catalogue_is_one_line(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "catalogue.sqlite").write_bytes(b"these are my notes, not a database\n" * 10)
    before = snapshot(data)
    result = run_cli("number", "build", "boats-and-breath", "--data", data)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert str(data / "catalogue.sqlite") in line and "not a lipcoach catalogue" in line
    assert {k: v for k, v in snapshot(data).items() if k == "catalogue.sqlite"} == {"catalogue.sqlite": before["catalogue.sqlite"]}


def test_a_data_folder_where_a_file_is_is_one_line(tmp_path):
    (tmp_path / "data").write_text("not a folder")
    result = run_cli("dailies", tmp_path, "--number", "x", "--data", tmp_path / "data")
    assert result.returncode == 2 and str(tmp_path / "data") in one_line(result.stderr)
    assert (tmp_path / "data").read_text() == "not a folder"

