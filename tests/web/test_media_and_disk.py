"""The studio given a damaged or over-long take, and a data folder whose disk fills up while it runs.

A user would see a 500 and lose the take's name, wait for hours of black video to be tracked,
or get SQLite's multi-line error; each case here is one line instead, and nothing is stored.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from lipcoach.production.catalogue import Job, SongMapVersion, Take

POST = {"X-Lipcoach": "1"}


def _stored(client) -> tuple[list[str], int, int]:
    """Stored files, take rows and queued jobs: none may change on a refused upload."""
    cat = client.app.state.catalogue
    with cat.session() as s:
        takes, jobs = s.scalar(select(func.count(Take.id))), s.scalar(select(func.count(Job.id)))
    return sorted(p.name for p in (cat.root / "files").iterdir()), takes, jobs


def _damaged_take(tmp_path):
    from lipcoach.testing.broken_media import probe_damaged_copy, write_noise_clip

    return probe_damaged_copy(write_noise_clip(tmp_path / "clean.mp4"), tmp_path / "take07.mp4")


def test_a_damaged_take_upload_is_a_400_naming_it(client, tmp_path):
    bad = _damaged_take(tmp_path)
    before = _stored(client)
    r = client.post(f"/api/songs/{client.song_id}/takes", files={"video": ("take07.mp4", bad.read_bytes(), "video/mp4")}, headers=POST)
    assert r.status_code == 400, r.text
    message = r.json()["error"]
    assert message.startswith("take07.mp4: the take is not a media file we can read (is damaged"), message
    assert "\n" not in message and "/tmp" not in message and "attribute" not in message
    assert _stored(client) == before
    assert list((client.app.state.catalogue.root / "tmp").iterdir()) == []


def test_a_take_far_longer_than_the_song_is_refused_at_upload(client, tmp_path):
    """A 2-hour recording is refused by its container's length: not stored, no scoring job queued."""
    from lipcoach.testing.broken_media import write_long_clip

    roll = write_long_clip(tmp_path / "roll.mp4", seconds=2 * 3600)
    before = _stored(client)
    r = client.post(f"/api/songs/{client.song_id}/takes", files={"video": ("roll.mp4", roll.read_bytes(), "video/mp4")}, headers=POST)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith("roll.mp4: the take lasts 120 min; the limit here is"), r.json()
    assert _stored(client) == before  # not stored, no scoring job queued


def test_a_slowed_take_may_be_as_long_as_the_song_at_its_speed():
    from lipcoach.take.score import TAKE_OVERRUN_S, longest_take_s

    assert longest_take_s(120.0, 0.5) > 240.0 + TAKE_OVERRUN_S  # a half-speed take of a 2-minute song
    assert longest_take_s(120.0, 1.0) < 130.0
    assert longest_take_s(0.0) == 30 * 60.0  # song length unknown: the general limit


# -- the disk fills while the studio runs ----------------------------------------------------


@pytest.fixture
def studio_on_small_disk(studio, tmp_path):
    """The studio's data folder on a file system of its own, a little larger than it (root on Linux)."""
    import shutil

    src, song_id = studio
    disk = tmp_path / "disk"
    disk.mkdir()
    size_kb = sum(p.stat().st_size for p in src.rglob("*") if p.is_file()) // 1024 + 2048
    if os.geteuid() != 0 or sys.platform != "linux":
        pytest.skip("mounting a small file system needs root on Linux")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a small file system here")
    try:
        shutil.copytree(src, disk / "data")
        yield disk, song_id
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_full_disk_is_a_503_in_one_line_and_nothing_is_half_saved(studio_on_small_disk, short_song):
    from fastapi.testclient import TestClient

    from lipcoach.web.app import create_app

    disk, song_id = studio_on_small_disk
    app = create_app(disk / "data", start_jobs=False)
    cat = app.state.catalogue
    w = short_song.words[0]
    edit = {"base_version": 1, "words": [{"index": 0, "start_s": round(w.start - 0.05, 3), "end_s": w.end}]}
    with TestClient(app, base_url="http://127.0.0.1") as client:
        maps_before = sorted(p.name for p in (disk / "data" / "maps").iterdir())
        with open(disk / "filler", "wb") as filler:
            try:
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
            except OSError:
                pass
        r = client.post(f"/api/songs/{song_id}/songmap", json=edit, headers=POST)
        assert r.status_code == 503, r.text
        message = r.json()["error"]
        assert message == "the studio's data folder cannot be written: the disk is full", message
        assert sorted(p.name for p in (disk / "data" / "maps").iterdir()) == maps_before  # no half-written version
        with cat.session() as s:
            assert s.scalar(select(func.count(SongMapVersion.id)).where(SongMapVersion.song_id == song_id)) == 1
        assert client.get(f"/api/songs/{song_id}/songmap").status_code == 200  # reading still works
        (disk / "filler").unlink()
        again = client.post(f"/api/songs/{song_id}/songmap", json=edit, headers=POST)
        assert again.status_code == 200 and again.json()["version"] == 2, again.text
