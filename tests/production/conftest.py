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
def season_copy(season_file, tmp_path) -> Path:
    """A private copy of the demo season folder, for tests that edit the season file."""
    folder = tmp_path / "season"
    shutil.copytree(season_file.parent, folder)
    return folder / "season.yaml"
