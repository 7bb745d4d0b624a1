"""The command line as a user meets it: one-line errors, exit codes, nothing half-written."""

import struct
import subprocess
import sys

import numpy as np

from lipcoach.media.decode import write_wav
from tests.conftest import encode_media, tone
from tests.cli_run import said_lines


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lipcoach", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    lines = said_lines(result.stderr)
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def three_hour_wav(path):
    """A real 3-hour 16 kHz mono WAV, written as a sparse file (345 MB that take no disk)."""
    sr, n = 16000, 3 * 3600 * 16000
    header = b"RIFF" + struct.pack("<I", 36 + 2 * n) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, sr, 2 * sr, 2, 16)
    header += b"data" + struct.pack("<I", 2 * n)
    with open(path, "wb") as handle:
        handle.write(header + (np.random.default_rng(0).standard_normal(sr) * 3000).astype("<i2").tobytes())
        handle.truncate(len(header) + 2 * n)


def test_missing_song(tmp_path):
    assert_one_line_error(run_cli("analyze", tmp_path / "nope.mp3", "-o", tmp_path / "s.json"), "nope.mp3", "no such file")


def test_video_without_sound(tmp_path):
    video = encode_media(tmp_path / "v.mp4", None, 16000, video_frames=10)
    assert_one_line_error(run_cli("analyze", video, "-o", tmp_path / "s.json"), "v.mp4", "no audio stream")


def test_silence_is_refused_and_nothing_is_written(tmp_path):
    write_wav(tmp_path / "quiet.wav", np.zeros(16000 * 3, np.float32), 16000)
    previous = '{"schema": "lipcoach.songmap/1", "note": "an earlier map, which lipcoach may replace"}'
    (tmp_path / "s.json").write_text(previous)
    assert_one_line_error(run_cli("analyze", tmp_path / "quiet.wav", "-o", tmp_path / "s.json"), "quiet.wav", "silent")
    assert (tmp_path / "s.json").read_text() == previous


def test_unknown_language(tmp_path):
    write_wav(tmp_path / "t.wav", tone(2.0), 16000)
    (tmp_path / "l.txt").write_text("la la la\n")
    assert_one_line_error(run_cli("analyze", tmp_path / "t.wav", "--lyrics", tmp_path / "l.txt", "--language", "zz", "-o", tmp_path / "s.json"), "zz")


def test_three_hour_file_is_refused_with_the_limit(tmp_path):
    three_hour_wav(tmp_path / "long.wav")
    assert_one_line_error(run_cli("analyze", tmp_path / "long.wav", "-o", tmp_path / "s.json"), "long.wav", "limit")


def test_export_of_an_invalid_map(tmp_path):
    (tmp_path / "s.json").write_text('{"schema": "lipcoach.songmap/1"}')
    assert_one_line_error(run_cli("export", tmp_path / "s.json", "--format", "lrc"), "s.json", "invalid")


def test_unknown_export_format(tmp_path):
    (tmp_path / "s.json").write_text("{}")
    assert_one_line_error(run_cli("export", tmp_path / "s.json", "--format", "midi"), "midi")


def test_a_model_folder_that_is_not_whisper(tmp_path):
    write_wav(tmp_path / "t.wav", tone(2.0), 16000)
    (tmp_path / "l.txt").write_text("la la la\n")
    (tmp_path / "notamodel").mkdir()
    (tmp_path / "notamodel" / "weights.onnx").write_bytes(b"\0")
    result = run_cli("analyze", tmp_path / "t.wav", "--lyrics", tmp_path / "l.txt", "--model", tmp_path / "notamodel", "-o", tmp_path / "s.json")
    assert_one_line_error(result, "notamodel", "not a CTranslate2 Whisper model folder")
    assert not (tmp_path / "s.json").exists()
