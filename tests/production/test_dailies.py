"""Dailies: a folder of takes scored on processes or a Dask cluster, stored once, skipped when seen."""

from __future__ import annotations

import functools
import shutil

import pytest
from sqlalchemy import delete, func, select

from lipcoach.errors import LipcoachError
from lipcoach.production.catalogue import Catalogue
from lipcoach.production.dailies import run_dailies
from lipcoach.production.tables import DailyTake

from .crashy import VICTIM, die_once


def _scores(cat):
    with cat.session() as s:
        return {r.name: (round(r.score, 6), round(r.song_start_s, 4), r.line_scores) for r in s.scalars(select(DailyTake))}


def _count(cat):
    with cat.session() as s:
        return s.scalar(select(func.count()).select_from(DailyTake))


@pytest.fixture(scope="module")
def reference_scores(built_catalogue, takes_folder, tmp_path_factory):
    """The folder scored in this process: what every other way of running must give."""
    cat, _ = built_catalogue
    root = tmp_path_factory.mktemp("ref") / "data"
    shutil.copytree(cat.root, root)
    ref = Catalogue(root)
    with ref.session() as s:
        s.execute(delete(DailyTake))
        s.commit()
    run_dailies(ref, takes_folder, "boats-and-breath", workers=1)
    return _scores(ref)


def test_two_processes_score_the_folder_and_a_second_run_skips_every_take(catalogue, takes_folder, reference_scores, tmp_path):
    seen = []
    summary = run_dailies(catalogue, takes_folder, "boats-and-breath", workers=2, report=lambda f, label: seen.append(f))
    assert (summary.scored, summary.skipped, summary.failed) == (3, 0, [])
    assert _scores(catalogue) == reference_scores
    assert seen[-1] == 1.0 and len(seen) >= 4  # the bar moved with each take
    # Again, with one take copied under a new name: the same content is not scored twice.
    shutil.copy(takes_folder / "take01.mp4", tmp_path / "take01-copy.mp4")
    for p in takes_folder.iterdir():
        shutil.copy(p, tmp_path / p.name)
    again = run_dailies(catalogue, tmp_path, "boats-and-breath", workers=2)
    assert (again.scored, again.skipped) == (0, 4) and _count(catalogue) == 3


def test_a_worker_killed_mid_take_gets_its_take_retried_once_and_stored_once(catalogue, takes_folder, reference_scores, tmp_path):
    summary = run_dailies(catalogue, takes_folder, "boats-and-breath", workers=2,
                          score_fn=functools.partial(die_once, str(tmp_path)))
    assert (tmp_path / f"{VICTIM}.died").exists()  # the worker really died
    assert summary.attempts[VICTIM] == 2
    assert (summary.scored, summary.failed) == (3, []) and _count(catalogue) == 3
    assert _scores(catalogue) == reference_scores


@pytest.fixture(scope="module")
def dask_cluster():
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=40)
    yield cluster
    cluster.close()


def test_a_dask_cluster_gives_the_same_results_and_survives_a_killed_worker(catalogue, takes_folder, reference_scores,
                                                                           dask_cluster, tmp_path):
    assert dask_cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    summary = run_dailies(catalogue, takes_folder, "boats-and-breath", dask_address=dask_cluster.scheduler_address,
                          score_fn=functools.partial(die_once, str(tmp_path)))
    assert (tmp_path / f"{VICTIM}.died").exists()  # a worker died mid-take; Dask ran the take again elsewhere
    assert (summary.scored, summary.failed) == (3, []) and _count(catalogue) == 3
    assert _scores(catalogue) == reference_scores
    again = run_dailies(catalogue, takes_folder, "boats-and-breath", dask_address=dask_cluster.scheduler_address)
    assert (again.scored, again.skipped) == (0, 3)


def test_an_unbuilt_number_or_an_empty_folder_is_one_clear_line(catalogue, tmp_path):
    with pytest.raises(LipcoachError, match="run `lipcoach number build lights-are-up` first"):
        run_dailies(catalogue, tmp_path, "lights-are-up")
    with pytest.raises(LipcoachError, match="holds no takes"):
        run_dailies(catalogue, tmp_path, "boats-and-breath")
