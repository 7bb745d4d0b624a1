"""`season import` given a damaged or over-long song: one line naming the season file's line and the file, exit 2."""

from __future__ import annotations

from pathlib import Path


from tests.cli_run import run as _run, snapshot as _snapshot


def _damaged_mp4(tmp_path: Path) -> bytes:
    from lipcoach.testing.broken_media import probe_damaged_copy, write_noise_clip

    return probe_damaged_copy(write_noise_clip(tmp_path / "clean.mp4"), tmp_path / "bad.mp4").read_bytes()


def test_a_damaged_song_stops_season_import_in_one_line(season_copy, tmp_path, capsys):
    song = season_copy.parent / "paper-boats" / "mix.wav"
    song.write_bytes(_damaged_mp4(tmp_path))
    before = _snapshot(season_copy.parent)
    code, err = _run(["season", "import", season_copy, "--data", tmp_path / "data"], capsys)
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith(f"lipcoach: {season_copy}:") and "mix.wav: is damaged" in lines[0], lines[0]
    assert "internal error" not in err and "attribute" not in err
    assert _snapshot(season_copy.parent) == before
    assert not (tmp_path / "data").exists()  # refused before the catalogue is made


def test_a_song_longer_than_the_limit_is_refused_by_its_container(season_copy, tmp_path, capsys):
    from lipcoach.testing.broken_media import write_long_clip

    write_long_clip(season_copy.parent / "paper-boats" / "mix.wav", seconds=2 * 3600)  # an mp4 by content
    code, err = _run(["season", "import", season_copy, "--data", tmp_path / "data"], capsys)
    assert code == 2, err
    assert "mix.wav" in err and "lasts 120 min; the limit is 30 min" in err, err
    assert not (tmp_path / "data").exists()
