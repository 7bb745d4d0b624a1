"""Model files are checked against their pinned SHA-256 before first use (lipcoach.media.pinned)."""

import hashlib
import os

import pytest

from lipcoach.errors import LipcoachError
from lipcoach.media import pinned


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _model(folder, files: dict[str, bytes]) -> dict[str, str]:
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def test_intact_files_pass_and_a_changed_byte_is_refused_with_one_line(tmp_path):
    folder = tmp_path / "model"
    digests = _model(folder, {"model.bin": b"\x00" * 4096, "config.json": b'{"alignment_heads": []}'})
    assert pinned.verify_files(folder, digests, what="the test weights", reinstall="reinstall") == folder
    data = bytearray((folder / "model.bin").read_bytes())
    data[100] ^= 0xFF
    (folder / "model.bin").write_bytes(bytes(data))  # same size, new mtime: the stamp no longer matches
    with pytest.raises(LipcoachError) as err:
        pinned.verify_files(folder, digests, what="the test weights", reinstall="reinstall")
    assert "model.bin was changed" in str(err.value) and "\n" not in str(err.value)


def test_a_missing_file_is_named(tmp_path):
    folder = tmp_path / "model"
    digests = _model(folder, {"model.bin": b"x", "vocabulary.txt": b"y"})
    (folder / "vocabulary.txt").unlink()
    with pytest.raises(LipcoachError, match="vocabulary.txt is missing"):
        pinned.verify_files(folder, digests, what="the test weights", reinstall="reinstall")


def test_a_verified_model_is_not_hashed_again(tmp_path, monkeypatch):
    folder = tmp_path / "model"
    digests = _model(folder, {"model.bin": b"z" * 100})
    pinned.verify_files(folder, digests, what="w", reinstall="r")
    calls = []
    monkeypatch.setattr(pinned, "file_sha256", lambda p: calls.append(p) or "0" * 64)
    pinned.verify_files(folder, digests, what="w", reinstall="r")  # the stamp matches: no hash
    assert calls == []
    os.utime(folder / "model.bin", ns=(1, 1))  # touched since: hashed again, and the fake digest fails
    with pytest.raises(LipcoachError):
        pinned.verify_files(folder, digests, what="w", reinstall="r")
    assert len(calls) == 1


def test_the_packaged_tiny_en_weights_match_their_pins():
    from lipcoach.media.whisper_model import TINY_EN_SHA256, tiny_en_model

    folder = tiny_en_model()
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == sorted(TINY_EN_SHA256)
