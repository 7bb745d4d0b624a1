"""The demo season (generated material only), imported and built once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def season_file(tmp_path_factory) -> Path:
    """The demo season's songs, maps and season.yaml (four lines a song)."""
    from lipcoach.production.demo_season import write_demo_season

    return write_demo_season(tmp_path_factory.mktemp("season"), n_lines=4)


@pytest.fixture(scope="session")
def built_catalogue(season_file, tmp_path_factory):
    """A catalogue with the demo season imported and its mashup, medley and duet built."""
    from lipcoach.production.build import build_number
    from lipcoach.production.catalogue import Catalogue
    from lipcoach.production.season import import_season

    cat = Catalogue(tmp_path_factory.mktemp("data"))
    import_season(cat, season_file)
    built = {slug: build_number(cat, slug) for slug in ("boats-and-breath", "paper-boats-medley", "hold-your-breath")}
    return cat, built


@pytest.fixture
def catalogue(built_catalogue, tmp_path):
    """A private copy of the built catalogue, without any scored take or pinned line."""
    from sqlalchemy import delete, update

    from lipcoach.production.catalogue import Catalogue
    from lipcoach.production.tables import DailyTake, LinePin, SeasonNumber

    cat, _ = built_catalogue
    shutil.copytree(cat.root, tmp_path / "data")
    copy = Catalogue(tmp_path / "data")
    with copy.session() as s:
        s.execute(delete(LinePin))
        s.execute(delete(DailyTake))
        s.execute(update(SeasonNumber).values(cut_at=None))  # an edit written by an earlier test (test_edit) is not this one's
        s.commit()
    return copy


@pytest.fixture
def season_copy(season_file, tmp_path) -> Path:
    """A private copy of the demo season folder, for tests that edit the season file."""
    folder = tmp_path / "season"
    shutil.copytree(season_file.parent, folder)
    return folder / "season.yaml"


#: Generated takes of the mashup (lines at ≈ 2.4–6.1, 9.2–13.8, 18.5–23.4, 25.4–29.8 s of the number).
TAKE_PLANS = [
    dict(name="take01.mp4", song_start_s=1.0, duration_s=16.0),  # lines 1-2, clean
    dict(name="take02.mp4", song_start_s=4.0, duration_s=25.0, forget_lines=(1,)),  # lines 2-3, forgets line 2
    dict(name="take03.mp4", song_start_s=12.0, duration_s=18.0, late_ms=150.0),  # lines 3-4, 150 ms late
]


@pytest.fixture(scope="session")
def takes_folder(built_catalogue, tmp_path_factory) -> Path:
    """Three drawn-face takes of the mashup, with its playback as scratch sound."""
    from lipcoach.media.decode import load_audio
    from lipcoach.production.catalogue import Song
    from lipcoach.production.demo_season import TakePlan, write_plan_take

    cat, built = built_catalogue
    result = built["boats-and-breath"]
    with cat.session() as s:
        song = s.get(Song, result.song_id)
    audio, _ = load_audio(cat.path("files", song.audio_file), sr=16000)
    folder = tmp_path_factory.mktemp("takes")
    for k, plan in enumerate(TAKE_PLANS):
        write_plan_take(result.songmap, audio, TakePlan(**plan, seed=k), folder / plan["name"])
    return folder
