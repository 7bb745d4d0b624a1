"""Bad input on the command line, as a new user meets it: one clear line, early, nothing lost.

Every case of :data:`CASES` runs one command in a workspace of real files (a mapped song,
its lyrics, a user's own notes, random bytes, a picture, an empty file, a folder...) and
asserts that lipcoach

- exits with code 2 and prints exactly one line, with no traceback,
- names the user's file as given (the names are relative, so no absolute path appears),
- loses nothing: every file of the workspace is byte-identical afterwards, and no file
  (not even a temporary one) is left behind.

The commands run in-process (``lipcoach.cli.main``), so the table stays fast; the checks
happen before any long work, which is the point. A subprocess test at the end makes sure
MediaPipe's native log lines never reach the terminal.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lipcoach.cli import main
from lipcoach.media.decode import write_wav
from tests.cli_run import run, said_lines, snapshot
from tests.conftest import encode_media, tone


# -- running the CLI ------------------------------------------------------------------------


def assert_one_clear_line(code: int, err: str, fragments, workspace: Path) -> str:
    lines = said_lines(err)
    assert code == 2, err
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    assert lines[0].startswith("lipcoach: "), err
    assert "internal error" not in lines[0], err
    assert str(workspace) not in lines[0], f"absolute path in the message: {lines[0]}"
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


# -- the workspace ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mapped_song(short_song_files, tmp_path_factory, capsys_session=None) -> Path:
    """The two-line synthetic number, mapped once by ``lipcoach analyze`` (song.json beside mix.wav, song.txt)."""
    folder = tmp_path_factory.mktemp("mapped")
    shutil.copy(short_song_files["mix.wav"], folder / "mix.wav")
    shutil.copy(short_song_files["lyrics.txt"], folder / "song.txt")  # the user's lyrics, named as users do
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        main(["analyze", "mix.wav", "--lyrics", "song.txt", "-o", "song.json", "--separation", "none"])
    finally:
        os.chdir(cwd)
    assert (folder / "song.json").is_file()
    return folder


@pytest.fixture
def workspace(mapped_song, tmp_path, monkeypatch) -> Path:
    """A folder of the kinds of files users hand lipcoach, and the current folder of the test."""
    ws = tmp_path / "ws"
    shutil.copytree(mapped_song, ws)
    rng = np.random.default_rng(8)
    write_wav(ws / "tone.wav", tone(2.0), 16000)
    write_wav(ws / "silent.wav", np.zeros(16000 * 2, np.float32), 16000)
    for name in ("empty.wav", "empty.txt", "empty.mp4"):
        (ws / name).write_bytes(b"")
    for name in ("random.mp3", "random.wav", "random.mp4", "random.json"):
        (ws / name).write_bytes(rng.integers(0, 256, 20000, dtype=np.uint8).tobytes())
    (ws / "random.txt").write_bytes(bytes(rng.integers(0, 256, 4000, dtype=np.uint8)))
    import cv2

    cv2.imwrite(str(ws / "picture.png"), rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    encode_media(ws / "clip.mp4", None, 16000, video_frames=10)
    (ws / "notes.txt").write_text("my own notes: breathe before 'home'\n")  # a user's file lipcoach never wrote
    (ws / "notes.json").write_text('{"mine": true}\n')
    (ws / "notes.mp3").write_bytes(rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
    (ws / "song.lrc").write_text("[00:01.00]my own hand-timed lyrics\n")  # where `export --format lrc` would go
    (ws / "adir").mkdir()
    (ws / "folder.mp3").mkdir()
    (ws / "big.txt").write_text("la " * 100_000)  # 300 kB of "lyrics"
    (ws / "many.txt").write_text("la la la la la\n" * 100)  # 500 words on a 22 s song
    (ws / "other.json").write_text(json.dumps({"schema": "lipcoach.takereport/1"}))
    (ws / "bad.json").write_text(json.dumps({"schema": "lipcoach.songmap/1", "duration": "long"}))
    doc = json.loads((ws / "song.json").read_text())
    (ws / "nowords.json").write_text(json.dumps({**doc, "words": [], "lines": []}))
    (ws / "lost.json").write_text(json.dumps({**doc, "source": {**doc["source"], "path": "gone.wav", "name": "gone.wav"}}))
    (ws / "nostudio").mkdir()
    monkeypatch.chdir(ws)
    return ws


def _read_only_folder(monkeypatch):
    """The folder of the output is on a read-only file system (as a mounted card or share)."""
    import lipcoach.fileio as fileio

    def refuse(*_args, **_kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(fileio.tempfile, "TemporaryFile", refuse)


# (id, argv, fragments the one line must hold, optional setup(monkeypatch))
CASES = [
    # -- analyze: the song ---------------------------------------------------------------
    ("analyze-missing-song", ["analyze", "nope.mp3", "-o", "s.json"], ["nope.mp3", "no such file"], None),
    ("analyze-empty-song", ["analyze", "empty.wav", "-o", "s.json"], ["empty.wav", "empty"], None),
    ("analyze-random-bytes", ["analyze", "random.mp3", "-o", "s.json"], ["random.mp3", "cannot be read"], None),
    ("analyze-picture", ["analyze", "picture.png", "-o", "s.json"], ["picture.png", "no audio"], None),
    ("analyze-video-without-sound", ["analyze", "clip.mp4", "-o", "s.json"], ["clip.mp4", "no audio"], None),
    ("analyze-silent", ["analyze", "silent.wav", "-o", "s.json"], ["silent.wav", "silent"], None),
    ("analyze-stem-random-bytes", ["analyze", "mix.wav", "--vocals", "random.wav", "-o", "s.json"], ["random.wav", "cannot be read"], None),
    # -- analyze: the lyrics -------------------------------------------------------------
    ("analyze-missing-lyrics", ["analyze", "mix.wav", "--lyrics", "nope.txt", "-o", "s.json"], ["nope.txt", "no such file"], None),
    ("analyze-empty-lyrics", ["analyze", "mix.wav", "--lyrics", "empty.txt", "-o", "s.json"], ["empty.txt", "empty"], None),
    ("analyze-binary-lyrics", ["analyze", "mix.wav", "--lyrics", "random.txt", "-o", "s.json"], ["random.txt", "binary"], None),
    ("analyze-huge-lyrics", ["analyze", "mix.wav", "--lyrics", "big.txt", "-o", "s.json"], ["big.txt", "limit 256 KiB"], None),
    ("analyze-lyrics-longer-than-the-song", ["analyze", "mix.wav", "--lyrics", "many.txt", "-o", "s.json"],
     ["many.txt", "500 words", "10 words a second"], None),
    ("analyze-lyrics-folder", ["analyze", "mix.wav", "--lyrics", "adir", "-o", "s.json"], ["adir", "folder"], None),
    # -- analyze: the outputs ------------------------------------------------------------
    ("analyze-output-is-a-folder", ["analyze", "mix.wav", "-o", "adir"], ["adir", "is a folder"], None),
    ("analyze-output-under-a-file", ["analyze", "mix.wav", "-o", "notes.txt/s.json"], ["notes.txt/s.json", "notes.txt is a file"], None),
    ("analyze-output-read-only", ["analyze", "mix.wav", "-o", "s.json"], ["s.json", "read-only"], _read_only_folder),
    ("analyze-output-is-the-song", ["analyze", "mix.wav", "-o", "mix.wav"], ["mix.wav", "input"], None),
    ("analyze-output-is-the-lyrics", ["analyze", "mix.wav", "--lyrics", "song.txt", "-o", "song.txt"], ["song.txt", "input"], None),
    ("analyze-output-is-the-lyrics-forced", ["analyze", "mix.wav", "--lyrics", "song.txt", "-o", "song.txt", "--force"],
     ["song.txt", "not even with --force"], None),
    ("analyze-output-is-a-users-file", ["analyze", "mix.wav", "-o", "notes.json"], ["notes.json", "not written by lipcoach"], None),
    ("analyze-plot-unsupported", ["analyze", "mix.wav", "-o", "song.json", "--plot", "x.xyz"], ["x.xyz", "unsupported plot format"], None),
    ("analyze-plot-is-a-users-picture", ["analyze", "mix.wav", "-o", "s.json", "--plot", "picture.png"],
     ["picture.png", "not written by lipcoach"], None),
    ("analyze-plot-and-map-same-file", ["analyze", "mix.wav", "-o", "s.png", "--plot", "s.png"], ["s.png", "two outputs"], None),
    # -- export --------------------------------------------------------------------------
    ("export-missing-map", ["export", "nope.json", "--format", "lrc"], ["nope.json", "no such file"], None),
    ("export-map-random-bytes", ["export", "random.json", "--format", "lrc"], ["random.json", "not valid JSON"], None),
    ("export-map-of-another-kind", ["export", "other.json", "--format", "lrc"], ["other.json", "expected lipcoach.songmap"], None),
    ("export-map-invalid", ["export", "bad.json", "--format", "vtt"], ["bad.json", "invalid"], None),
    ("export-map-without-words", ["export", "nowords.json", "--format", "ass", "-o", "k.ass"], ["no words"], None),
    ("export-default-name-is-a-users-file", ["export", "song.json", "--format", "lrc"], ["song.lrc", "not written by lipcoach"], None),
    ("export-over-a-users-file", ["export", "song.json", "--format", "ultrastar", "-o", "notes.txt"],
     ["notes.txt", "not written by lipcoach"], None),
    ("export-over-the-map", ["export", "song.json", "--format", "lrc", "-o", "song.json", "--force"], ["song.json", "input"], None),
    ("export-over-the-maps-lyrics", ["export", "song.json", "--format", "ultrastar", "-o", "song.txt", "--force"], ["song.txt", "input"], None),
    ("export-over-the-maps-song", ["export", "song.json", "--format", "vtt", "-o", "mix.wav", "--force"], ["mix.wav", "input"], None),
    ("export-into-a-folder", ["export", "song.json", "--format", "lrc", "-o", "adir"], ["adir", "is a folder"], None),
    ("export-under-a-file", ["export", "song.json", "--format", "lrc", "-o", "notes.txt/k.lrc"], ["notes.txt/k.lrc", "is a file"], None),
    ("export-read-only", ["export", "song.json", "--format", "lrc", "-o", "k.lrc"], ["k.lrc", "read-only"], _read_only_folder),
    # -- score ---------------------------------------------------------------------------
    ("score-missing-take", ["score", "nope.mp4", "--song", "song.json", "-o", "r.html"], ["nope.mp4", "no such file"], None),
    ("score-random-bytes", ["score", "random.mp4", "--song", "song.json", "-o", "r.html"], ["random.mp4", "is not a video"], None),
    ("score-picture", ["score", "picture.png", "--song", "song.json", "-o", "r.html"], ["picture.png", "still image, not a video"], None),
    ("score-audio-file", ["score", "tone.wav", "--song", "song.json", "-o", "r.html"], ["tone.wav", "audio file, not a video"], None),
    ("score-empty-take", ["score", "empty.mp4", "--song", "song.json", "-o", "r.html"], ["empty.mp4", "empty"], None),
    ("score-map-missing", ["score", "clip.mp4", "--song", "nope.json", "-o", "r.html"], ["nope.json", "no such file"], None),
    ("score-map-random-bytes", ["score", "clip.mp4", "--song", "random.json", "-o", "r.html"], ["random.json", "not valid JSON"], None),
    ("score-report-is-a-folder", ["score", "clip.mp4", "--song", "song.json", "-o", "adir"], ["adir", "unsupported report format"], None),
    ("score-report-not-html", ["score", "clip.mp4", "--song", "song.json", "-o", "notes.txt"], ["notes.txt", "unsupported report format"], None),
    ("score-json-under-a-file", ["score", "clip.mp4", "--song", "song.json", "-o", "r.html", "--json", "notes.txt/r.json"],
     ["notes.txt/r.json", "is a file"], None),
    ("score-json-is-a-users-file", ["score", "clip.mp4", "--song", "song.json", "-o", "r.html", "--json", "notes.json"],
     ["notes.json", "not written by lipcoach"], None),
    ("score-json-is-the-map", ["score", "clip.mp4", "--song", "song.json", "-o", "r.html", "--json", "song.json"], ["song.json", "input"], None),
    ("score-read-only", ["score", "clip.mp4", "--song", "song.json", "-o", "r.html"], ["r.html", "read-only"], _read_only_folder),
    ("score-data-not-a-studio", ["score", "clip.mp4", "--song", "song.json", "-o", "r.html", "--data", "nostudio", "--number", "1"],
     ["nostudio", "not a studio folder"], None),
    ("score-data-without-number", ["score", "clip.mp4", "--song", "song.json", "-o", "r.html", "--data", "nostudio"],
     ["--data and --number go together"], None),
    ("score-no-face", ["score", "clip.mp4", "--song", "song.json", "-o", "r.html"], ["clip.mp4", "no face"], None),
    # -- practice-track ------------------------------------------------------------------
    ("practice-missing-song", ["practice-track", "nope.wav", "-o", "d.mp3"], ["nope.wav", "no such file"], None),
    ("practice-random-bytes", ["practice-track", "random.wav", "-o", "d.mp3"], ["random.wav", "cannot be read"], None),
    ("practice-map-whose-song-is-gone", ["practice-track", "lost.json", "-o", "d.mp3"], ["lost.json", "not found"], None),
    ("practice-unsupported-format", ["practice-track", "mix.wav", "-o", "d.xyz"], ["d.xyz", "unsupported practice track format"], None),
    ("practice-over-the-song", ["practice-track", "mix.wav", "-o", "mix.wav", "--force"], ["mix.wav", "input"], None),
    ("practice-over-the-map-song", ["practice-track", "song.json", "-o", "mix.wav", "--force"], ["mix.wav", "input"], None),
    ("practice-over-a-users-file", ["practice-track", "mix.wav", "-o", "notes.mp3"], ["notes.mp3", "not written by lipcoach"], None),
    ("practice-into-a-folder", ["practice-track", "mix.wav", "-o", "folder.mp3"], ["folder.mp3", "is a folder"], None),
    ("practice-under-a-file", ["practice-track", "mix.wav", "-o", "notes.txt/d.mp3"], ["notes.txt/d.mp3", "is a file"], None),
    ("practice-read-only", ["practice-track", "mix.wav", "-o", "d.mp3"], ["d.mp3", "read-only"], _read_only_folder),
    ("practice-speed-and-ramp", ["practice-track", "mix.wav", "-o", "d.mp3", "--speed", "0.75", "--ramp", "0.7:1.0"],
     ["--speed or --ramp, not both"], None),
    ("practice-loop-outside-the-song", ["practice-track", "mix.wav", "-o", "d.mp3", "--loop", "5:00-5:10"], ["mix.wav", "outside the song"], None),
    ("practice-breath-cues-without-map", ["practice-track", "tone.wav", "-o", "d.mp3", "--breath-cues"], ["tone.wav", "need a song map"], None),
    ("practice-vocal-level-out-of-range", ["practice-track", "mix.wav", "-o", "d.mp3", "--vocal-level", "3"], ["vocal level", "between 0"], None),
]


@pytest.mark.parametrize("argv, fragments, setup", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gets_one_clear_line_and_loses_nothing(workspace, capsys, monkeypatch, argv, fragments, setup):
    before = snapshot(workspace)
    if setup is not None:
        setup(monkeypatch)
    code, err = run(argv, capsys)
    assert_one_clear_line(code, err, fragments, workspace)
    assert snapshot(workspace) == before  # inputs and other files byte-identical, nothing left behind


# -- data loss: each of these lost a user's file before ---------------------------------------


def test_default_ultrastar_export_keeps_the_lyrics_the_map_was_made_from(workspace, capsys):
    lyrics = (workspace / "song.txt").read_bytes()
    code, err = run(["export", "song.json", "--format", "ultrastar"], capsys)
    assert code == 0, err
    assert (workspace / "song.txt").read_bytes() == lyrics
    assert (workspace / "song.ultrastar.txt").read_text().startswith("#TITLE:")


def test_default_export_names_never_collide(workspace, capsys):
    (workspace / "song.lrc").unlink()
    for fmt, name in (("lrc", "song.lrc"), ("ass", "song.ass"), ("vtt", "song.vtt"), ("ultrastar", "song.ultrastar.txt")):
        code, err = run(["export", "song.json", "--format", fmt], capsys)
        assert code == 0 and f"{fmt}: {name}" in err, err
    assert {p.name for p in workspace.glob("song.*")} == {"song.json", "song.txt", "song.lrc", "song.ass", "song.vtt", "song.ultrastar.txt"}
    # A second export replaces lipcoach's own earlier file without --force.
    (workspace / "song.vtt").write_text("WEBVTT - lipcoach karaoke\n\nstale\n")
    code, err = run(["export", "song.json", "--format", "vtt"], capsys)
    assert code == 0, err
    assert "stale" not in (workspace / "song.vtt").read_text()


def test_force_replaces_a_users_file_but_never_an_input(workspace, capsys):
    code, err = run(["export", "song.json", "--format", "lrc", "-o", "notes.txt", "--force"], capsys)
    assert code == 0, err
    assert (workspace / "notes.txt").read_text().startswith("[ti:")


def test_a_failed_plot_keeps_the_previous_map(workspace, capsys):
    old_map = (workspace / "song.json").read_bytes()
    code, err = run(["analyze", "mix.wav", "--lyrics", "song.txt", "-o", "song.json", "--plot", "map.xyz"], capsys)
    assert code == 2 and "map.xyz" in err
    assert (workspace / "song.json").read_bytes() == old_map


def test_a_failed_json_report_keeps_the_previous_report(workspace, capsys):
    (workspace / "r.html").write_text('<!doctype html><html><head><meta name="generator" content="lipcoach"></head>old</html>')
    before = (workspace / "r.html").read_bytes()
    code, err = run(["score", "clip.mp4", "--song", "song.json", "-o", "r.html", "--json", "adir"], capsys)
    assert code == 2 and "adir" in err
    assert (workspace / "r.html").read_bytes() == before


def test_demo_keeps_a_users_files_in_its_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "song.json").write_text('{"my": "own file"}\n')
    code, err = run(["demo", "--out", "out"], capsys)
    assert code == 2 and "out/song.json" in err and "not written by lipcoach" in err, err
    assert (tmp_path / "out" / "song.json").read_text() == '{"my": "own file"}\n'
    assert not (tmp_path / "out" / "demo").exists()  # refused before anything was written


def test_files_lipcoach_writes_carry_its_mark(workspace, capsys, tmp_path):
    from lipcoach.fileio import written_by_lipcoach
    from lipcoach.practice import write_audio

    assert run(["analyze", "mix.wav", "--lyrics", "song.txt", "-o", "again.json", "--plot", "again.svg", "--separation", "none"], capsys)[0] == 0
    for fmt in ("lrc", "ass", "vtt", "ultrastar"):
        assert run(["export", "again.json", "--format", fmt], capsys)[0] == 0
    ours = ["song.json", "again.json", "again.svg", "again.lrc", "again.ass", "again.vtt", "again.ultrastar.txt", "tone.wav"]
    for suffix in (".mp3", ".m4a", ".ogg", ".flac", ".wav"):
        write_audio(workspace / f"drill{suffix}", tone(1.0), sr=16000)
        ours.append(f"drill{suffix}")
    assert all(written_by_lipcoach(workspace / name) for name in ours), [n for n in ours if not written_by_lipcoach(workspace / n)]
    import soundfile as sf

    sf.write(workspace / "recorded.wav", tone(1.0), 16000)  # a song from elsewhere (the demo's mix.wav is lipcoach's own)
    theirs = ["recorded.wav", "song.txt", "notes.txt", "notes.json", "picture.png", "random.mp3", "clip.mp4", "song.lrc", "big.txt"]
    assert not any(written_by_lipcoach(workspace / name) for name in theirs), [n for n in theirs if written_by_lipcoach(workspace / n)]


# -- help text ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["practice-track"], ["export"], ["score"]])
def test_flags_show_as_flags_in_help(command, capsys):
    code = 0
    capsys.readouterr()
    try:
        main([*command, "--help"])
    except SystemExit as stop:
        code = stop.code
    out = capsys.readouterr().out
    assert code == 0 and "--help" in out
    assert "<bool>" not in out, out


# -- takes with a face: MediaPipe stays quiet, face ids are listed, takes join the studio -----------


@pytest.fixture(scope="session")
def face_take(tmp_path_factory) -> Path:
    from lipcoach.testing.faces import write_take

    path = tmp_path_factory.mktemp("face") / "face.mp4"
    write_take(path, duration_s=2.0, mouths=[lambda t: 0.5 + 0.5 * np.sin(7.0 * t)], size=(320, 320))
    return path


def test_unknown_face_lists_the_faces_and_mediapipe_stays_quiet(workspace, face_take):
    shutil.copy(face_take, workspace / "face.mp4")
    import lipcoach

    env = {**os.environ, "PYTHONPATH": str(Path(lipcoach.__file__).resolve().parents[1])}  # the lipcoach under test
    env.pop("LIPCOACH_DEBUG", None)
    result = subprocess.run([sys.executable, "-m", "lipcoach", "score", "face.mp4", "--song", "song.json", "-o", "r.html", "--face", "99"],
                            capture_output=True, text=True, cwd=workspace, env=env, timeout=300)
    assert result.returncode == 2
    said = said_lines(result.stderr)
    assert said == ["lipcoach: face.mp4: no face 99 in this take (faces found: 0)"], result.stderr


def test_a_scored_take_joins_the_numbers_history(workspace, face_take, capsys):
    from sqlalchemy import select

    from lipcoach.production.catalogue import Catalogue, Number, Report, Song, Take
    from lipcoach.production.storage import store_media
    from lipcoach.song.songmap import SongMap

    shutil.copy(face_take, workspace / "face.mp4")
    cat = Catalogue(workspace / "studio")
    with cat.session() as s, open(workspace / "mix.wav", "rb") as audio:
        number = Number(title="Home")
        s.add(number)
        s.flush()
        stored, duration_s = store_media(audio, cat.root, what="the song")
        song = Song(number_id=number.id, audio_file=stored, duration_s=duration_s)
        s.add(song)
        s.flush()
        cat.add_map_version(s, song.id, SongMap.load(workspace / "song.json"), origin="analysis")
        s.commit()
        number_id = number.id
    code, err = run(["score", "face.mp4", "--song", "song.json", "-o", "r.html", "--data", "studio", "--number", number_id + 1], capsys)
    assert_one_clear_line(code, err, ["studio", f"no number {number_id + 1}", "Home"], workspace)
    code, err = run(["score", "face.mp4", "--song", "song.json", "-o", "r.html", "--data", "studio", "--number", number_id], capsys)
    assert code == 0, err
    assert f"added to the history of number {number_id}" in err
    from lipcoach.fileio import written_by_lipcoach

    assert written_by_lipcoach(workspace / "r.html")  # the next score may replace it without --force
    with cat.session() as s:
        take = s.scalar(select(Take))
        report = s.scalar(select(Report).where(Report.take_id == take.id))
        assert report is not None and cat.path("reports", report.file).is_file()
        assert cat.path("files", take.file).read_bytes() == (workspace / "face.mp4").read_bytes()
        saved = json.loads(cat.path("reports", report.file).read_text())
        assert saved["score"] == report.score and saved["schema"] == "lipcoach.takereport/2"


# -- the limits, stated once ------------------------------------------------------------------


def test_one_lyrics_size_limit_for_the_cli_and_the_studio():
    from lipcoach.production import storage
    from lipcoach.formats import lyrics

    assert storage.MAX_LYRICS_BYTES == lyrics.MAX_LYRICS_BYTES == 256 * 1024


def test_lyrics_fit_the_song_at_ten_words_a_second():
    from lipcoach.errors import LipcoachError
    from lipcoach.formats.lyrics import check_lyrics_fit

    check_lyrics_fit(200, 20.0, source="song.txt")  # exactly the limit: accepted
    with pytest.raises(LipcoachError, match="201 words.*20.0 s.*limit 200 words"):
        check_lyrics_fit(201, 20.0, source="song.txt")
