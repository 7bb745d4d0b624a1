"""The desk's long commands off a terminal: a line per step, and the last lines say where the results are."""

from __future__ import annotations

import re
from pathlib import Path

from lipcoach.song.songmap import SongMap
from tests.test_cli import assert_one_line_error, run_cli


def test_number_build_off_a_terminal_shows_its_steps_and_says_where_the_track_and_map_went(catalogue):
    result = run_cli("number", "build", "paper-boats-medley", "--data", catalogue.root, "--force")  # stderr is a pipe
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    steps = [ln for ln in lines if ln.startswith("[")]
    labels = {re.sub(r"^\[[^\]]*\] Building paper-boats-medley: ", "", ln) for ln in steps}
    assert {"decoding", "section 1: Paper Boats", "section 2: Paper Boats (slow recording)", "storing", "done"} <= labels, steps
    where = dict(re.match(r"^(track|vocals|lyrics|song map):\s+(\S+)$", ln).groups() for ln in lines[-4:])
    assert set(where) == {"track", "vocals", "lyrics", "song map"}, lines[-4:]
    for path in where.values():
        assert Path(path).is_file() and Path(path).is_relative_to(catalogue.root)
    songmap = SongMap.load(where["song map"])
    assert len(songmap.lines) == 4 and songmap.source["path"] == where["track"]
    again = run_cli("--progress", "none", "number", "build", "paper-boats-medley", "--data", catalogue.root)
    assert again.returncode == 0 and not any(ln.startswith("[") for ln in again.stderr.splitlines()), again.stderr
    assert "up to date" in again.stderr and f"song map:  {where['song map']}" in again.stderr


def test_an_unknown_progress_mode_is_one_line():
    assert_one_line_error(run_cli("--progress", "loud", "season", "demo"), "--progress 'loud'", "choose one of auto, bar, plain, none")
