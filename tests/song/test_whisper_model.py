"""Where the Whisper model comes from: the joined base cache and a user's --model folder."""

from __future__ import annotations

import json
import os

import pytest

from lipcoach.fileio import file_sha256

from lipcoach.errors import LipcoachError
from lipcoach.media import whisper_model
from lipcoach.media.whisper_model import BASE_SIZE_B, check_model_dir, joined_base_model, model_dir_for


def test_base_model_is_joined_once_and_rebuilt_when_short_or_altered(tmp_path):
    folder = joined_base_model(tmp_path)
    model = folder / "model.bin"
    assert model.stat().st_size == BASE_SIZE_B
    assert (folder / "config.json").is_file() and (folder / "tokenizer.json").is_file()
    stamp = json.loads((folder / "model.bin.verified.json").read_text())
    assert stamp["sha256"] == whisper_model.BASE_SHA256
    first_mtime = model.stat().st_mtime_ns
    assert joined_base_model(tmp_path) == folder and model.stat().st_mtime_ns == first_mtime  # trusted, not rejoined

    with open(model, "r+b") as handle:  # a short cache (an interrupted copy)
        handle.truncate(1000)
    joined_base_model(tmp_path)
    assert model.stat().st_size == BASE_SIZE_B

    with open(model, "r+b") as handle:  # same size, altered bytes
        handle.seek(5000)
        handle.write(b"\x00" * 64)
    joined_base_model(tmp_path)
    assert file_sha256(model) == whisper_model.BASE_SHA256
    assert not [p for p in folder.iterdir() if p.name.endswith(".part") or p.name.endswith(".tmp")]


def test_a_folder_that_is_not_a_whisper_model_gives_one_clear_line(tmp_path):
    with pytest.raises(LipcoachError, match="not a CTranslate2 Whisper model folder") as info:
        check_model_dir(tmp_path)
    assert "\n" not in str(info.value) and str(tmp_path) in str(info.value)
    (tmp_path / "model.bin").write_bytes(b"x")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(LipcoachError, match="alignment_heads"):
        check_model_dir(tmp_path)
    with pytest.raises(LipcoachError, match="is not a folder"):
        check_model_dir(tmp_path / "missing")


def test_model_choice_order(tmp_path, monkeypatch):
    monkeypatch.delenv(whisper_model.MODEL_ENV, raising=False)
    assert model_dir_for("en") == whisper_model.tiny_en_model()
    monkeypatch.setenv(whisper_model.MODEL_ENV, str(tmp_path))
    with pytest.raises(LipcoachError, match=str(tmp_path)):
        model_dir_for("en")  # the environment variable is honoured (and checked)
    assert model_dir_for("en", whisper_model.tiny_en_model()) == whisper_model.tiny_en_model()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(whisper_model.MODEL_ENV)
    assert model_dir_for("fr") == tmp_path / "cache" / "lipcoach" / "whisper-base"
    assert os.path.getsize(tmp_path / "cache" / "lipcoach" / "whisper-base" / "model.bin") == BASE_SIZE_B
