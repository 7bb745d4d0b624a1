"""How every command ends when it cannot finish: one line on stderr, a meaningful exit code, nothing left behind.

2: a usage error (bad option value, missing option, unknown command) or bad input (a damaged
or over-long take, a full or read-only data folder); 130: interrupted by Ctrl-C. Never the
"internal error" (3), never a traceback, never a half-made folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lipcoach.cli import main
from tests.cli_run import run, said_lines, snapshot

SRC = str(Path(__file__).resolve().parents[1] / "src")


def one_line(err: str) -> str:
    lines = said_lines(err)
    assert len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert lines[0].startswith("lipcoach: "), err
    return lines[0]


# -- usage errors ----------------------------------------------------------------------------

USAGE_ERRORS = [
    (["dailies", "takes", "--number", "x", "--workers", "abc"], ["--workers", "lipcoach dailies --help"]),
    (["analyze", "song.wav"], ["'-o'", "lipcoach analyze --help"]),
    (["export", "song.json"], ["--format"]),
    (["no-such-command"], ["no-such-command", "lipcoach --help"]),
    (["season", "no-such-command"], ["no-such-command", "lipcoach season --help"]),
    (["serve", "--port", "abc"], ["--port"]),
    (["serve", "--port", "99999"], ["--port", "65535"]),
    (["serve", "--port", "0"], ["--port"]),
    (["score", "take.mp4", "--song", "song.json", "-o", "r.html", "--max-take-minutes", "0"], ["--max-take-minutes"]),
    (["practice-track", "song.wav", "-o", "t.mp3", "--repeat", "two"], ["--repeat"]),
    (["demo", "--no-such-option"], ["--no-such-option"]),
]


@pytest.mark.parametrize("argv, says", USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_usage_errors_exit_2_with_one_line(argv, says, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("the user's file\n")
    before = snapshot(tmp_path)
    code, err = run(argv, capsys)
    assert code == 2, err
    line = one_line(err)
    for fragment in says:
        assert fragment in line, line
    assert snapshot(tmp_path) == before  # no data folder made, nothing written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_help_still_exits_0(capsys):
    capsys.readouterr()
    main(["serve", "--help"])  # returns: exit status 0
    assert "--port" in capsys.readouterr().out


# -- serve: the address before the data folder ----------------------------------------------


def test_serve_on_a_port_in_use_is_one_line_and_makes_no_folder(capsys, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = run(["serve", "--data", tmp_path / "data", "--port", port], capsys)
    assert code == 2
    assert f"port {port}" in one_line(err) and "in use" in err
    assert not (tmp_path / "data").exists()


# -- Ctrl-C ----------------------------------------------------------------------------------


def _interrupt(cmd: list[str], ready, cwd: Path, *, after_s: float = 0.3, timeout_s: float = 240.0):
    """Start ``lipcoach cmd``, wait until ``ready()``, press Ctrl-C (SIGINT); (exit code, stderr)."""
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "lipcoach", *cmd], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + timeout_s
        while not ready():
            if proc.poll() is not None:
                pytest.fail(f"lipcoach ended before it could be interrupted: {proc.stderr.read()}")
            if time.monotonic() > deadline:
                pytest.fail("lipcoach never got to the point to interrupt")
            time.sleep(0.1)
        time.sleep(after_s)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err


def test_ctrl_c_in_demo_exits_130_and_leaves_no_half_made_folder(tmp_path):
    """Interrupted while mapping (its song already generated): exit 130, one line, no `out/` at all."""
    out = tmp_path / "out"
    code, err = _interrupt(["demo", "--out", "out"], lambda: any(out.glob(".lipcoach-demo-*/demo/mix.wav")), tmp_path)
    assert code == 130, err
    assert one_line(err) == "lipcoach: interrupted (Ctrl-C)"
    assert not out.exists(), sorted(str(p) for p in out.rglob("*"))


def test_ctrl_c_in_demo_keeps_an_earlier_demo_as_it_was(tmp_path):
    """A demo folder of the user's (an earlier run, a file of theirs) is left exactly as it was."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("my notes\n")
    before = snapshot(out)
    code, err = _interrupt(["demo", "--out", "out"], lambda: any(out.glob(".lipcoach-demo-*/demo/mix.wav")), tmp_path)
    assert code == 130, err
    assert snapshot(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_ctrl_c_stops_the_studio_with_130(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def listening() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    code, err = _interrupt(["serve", "--data", "data", "--port", str(port)], listening, tmp_path)
    assert code == 130, err
    assert one_line(err) == "lipcoach: interrupted (Ctrl-C)"
    assert (tmp_path / "data" / "catalogue.sqlite").is_file()


# -- damaged and over-long takes -------------------------------------------------------------


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    from lipcoach.testing.broken_media import write_noise_clip

    return write_noise_clip(tmp_path_factory.mktemp("clip") / "take.mp4")


@pytest.fixture
def song_json(tmp_path, short_song) -> Path:
    """A song map of the two-line number (made directly from its truth: no analysis)."""
    from lipcoach.testing.clips import songmap_from_words

    words = [(w.start, w.end, w.text) for w in short_song.words]
    songmap = songmap_from_words(short_song.vocals, sr=short_song.sr, words=words)
    path = tmp_path / "song.json"
    songmap.save(path)
    return path


def test_damaged_mp4s_never_crash_the_probe(clip, tmp_path):
    """60 copies with 2,000 random bytes changed: each is read or refused in one line naming it, never an AttributeError."""
    from lipcoach.errors import LipcoachError
    from lipcoach.media.decode import probe
    from lipcoach.testing.broken_media import damaged_copy

    refused = []
    for seed in range(60):
        bad = damaged_copy(clip, tmp_path / f"bad{seed}.mp4", seed=seed)
        try:
            probe(bad)
        except LipcoachError as exc:
            assert str(exc).startswith(str(bad)) and "\n" not in str(exc)
            refused.append(exc.problem)
    assert any(p.startswith("is damaged") for p in refused), refused  # the case that crashed before
    assert all("object has no attribute" not in p for p in refused), refused


def _first_damaged(clip: Path, folder: Path) -> Path:
    from lipcoach.testing.broken_media import probe_damaged_copy

    return probe_damaged_copy(clip, folder / "take01.mp4")


def test_score_of_a_damaged_take_exits_2_naming_it(clip, song_json, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _first_damaged(clip, tmp_path)
    before = snapshot(tmp_path)
    code, err = run(["score", "take01.mp4", "--song", "song.json", "-o", "report.html"], capsys)
    assert code == 2, err
    assert one_line(err).startswith("lipcoach: take01.mp4: is damaged"), err
    assert snapshot(tmp_path) == before


def test_a_two_hour_take_is_refused_before_any_tracking(song_json, tmp_path, capsys, monkeypatch):
    """By the container's length, in well under the time decoding it would take; --max-take-minutes moves the limit."""
    from lipcoach.testing.broken_media import write_long_clip

    monkeypatch.chdir(tmp_path)
    write_long_clip(tmp_path / "roll.mp4", seconds=2 * 3600)
    before = snapshot(tmp_path)
    t0 = time.monotonic()
    code, err = run(["score", "roll.mp4", "--song", "song.json", "-o", "report.html"], capsys)
    assert code == 2, err
    line = one_line(err)
    assert line.startswith("lipcoach: roll.mp4: the take lasts 120 min; the limit is 30 min") and "--max-take-minutes" in line
    # With the limit raised, the song's own length still refuses it, before tracking too.
    code, err = run(["score", "roll.mp4", "--song", "song.json", "-o", "report.html", "--max-take-minutes", "180"], capsys)
    assert code == 2, err
    assert "is this the right song" in one_line(err)
    assert time.monotonic() - t0 < 30  # seconds, not the minutes tracking 2 hours would take
    assert snapshot(tmp_path) == before


def test_the_tracker_stops_at_the_limit_when_the_container_hides_the_length(tmp_path, monkeypatch):
    """A container that under-states its length: tracking stops once the frames pass the limit."""
    from lipcoach.errors import LipcoachError
    from lipcoach.media import decode
    from lipcoach.take import mouth
    from lipcoach.testing.broken_media import write_long_clip

    clip = write_long_clip(tmp_path / "roll.mp4", seconds=600)
    real_probe = decode.probe
    monkeypatch.setattr(decode, "probe", lambda p: __import__("dataclasses").replace(real_probe(p), duration_s=0.0))
    with pytest.raises(LipcoachError, match="runs past the 5 min limit"):
        mouth.track_mouth(clip, max_faces=1, with_audio=False, max_duration_s=300.0)


# -- a data folder that cannot be written ----------------------------------------------------


def _mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or sys.platform != "linux":
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    return done.returncode == 0


def _unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB file system of its own (root on Linux can mount one); skipped elsewhere."""
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "4m"):
        pytest.skip("mounting a small file system needs root on Linux")
    yield disk
    _unmount(disk)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fill(disk: Path) -> None:
    with open(disk / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * (64 * 1024))
                f.flush()
        except OSError:
            pass


def test_a_read_only_data_folder_is_one_line(small_disk, capsys, short_song_files):
    from lipcoach.production.catalogue import Catalogue

    Catalogue(small_disk / "data").engine.dispose()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    before = snapshot(small_disk)
    for argv in (["serve", "--data", small_disk / "data", "--port", str(_free_port())],
                 ["serve", "--data", small_disk / "new", "--port", str(_free_port())]):
        code, err = run(argv, capsys)
        assert code == 2, err
        line = one_line(err)
        assert str(argv[2]) in line and "read-only" in line, line
    assert snapshot(small_disk) == before


def test_a_full_disk_is_one_line_and_the_catalogue_stays_whole(small_disk):
    import sqlite3

    from lipcoach.production.catalogue import Catalogue

    Catalogue(small_disk / "data").engine.dispose()  # closed: the next open must write its journal files
    _fill(small_disk)
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "lipcoach", "serve", "--data", str(small_disk / "data"), "--port", str(_free_port())],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert one_line(done.stderr) == f"lipcoach: {small_disk / 'data'}: the disk is full"
    (small_disk / "filler").unlink()
    with sqlite3.connect(small_disk / "data" / "catalogue.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_storage_problems_read_as_one_line():
    """SQLite's and the OS's words for a refused write, as SQLAlchemy raises them, become one line each."""
    import errno

    from sqlalchemy.exc import OperationalError

    from lipcoach.errors import storage_problem

    full = OperationalError("INSERT INTO songs ...\n[parameters]", {}, Exception("database or disk is full"))
    assert str(storage_problem(full, "data")) == "data: the disk is full"
    readonly = OperationalError("UPDATE ...", {}, Exception("attempt to write a readonly database"))
    assert str(storage_problem(readonly, "data")) == "data: the catalogue is read-only"
    assert str(storage_problem(OSError(errno.ENOSPC, "No space left on device", "data/maps/x.json"))) == \
        "data/maps/x.json: the disk is full"
    assert storage_problem(OperationalError("SELECT", {}, Exception("no such table: songs"))) is None
    assert storage_problem(ValueError("x")) is None
