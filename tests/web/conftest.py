"""Fixtures of the web tests: a studio data folder with a mapped number, a client, a live server."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from lipcoach.production.sample_studio import make_studio  # noqa: E402


@pytest.fixture(scope="session")
def studio_template(short_song, short_song_files, tmp_path_factory) -> tuple[Path, int]:
    """A data folder holding the two-line number (mix, stem, lyrics, truth map v1)."""
    folder = tmp_path_factory.mktemp("studio_template") / "data"
    song_id = make_studio(folder, short_song, short_song_files)
    return folder, song_id


@pytest.fixture
def studio(studio_template, tmp_path) -> tuple[Path, int]:
    """A fresh copy of the template studio for one test."""
    src, song_id = studio_template
    dst = tmp_path / "data"
    shutil.copytree(src, dst)
    return dst, song_id


@pytest.fixture
def client(studio):
    from fastapi.testclient import TestClient

    from lipcoach.web.app import create_app

    folder, song_id = studio
    app = create_app(folder, start_jobs=False)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        c.song_id = song_id
        c.app = app
        yield c
