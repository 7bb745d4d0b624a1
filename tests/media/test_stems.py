"""A song's vocal stem is separated once, kept by content hash, and shared by every caller."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from lipcoach.media import spleeter_net, stems
from lipcoach.media.decode import write_wav
from lipcoach.testing.spleeter_reference import REFERENCE_DIR


@pytest.fixture()
def song(tmp_path):
    import soundfile as sf

    mix, sr = sf.read(REFERENCE_DIR / "mix.flac", dtype="float32", always_2d=True)
    path = tmp_path / "number.wav"
    write_wav(path, mix[: 5 * sr].T, sr)
    return path


def test_stem_is_made_once_and_found_again_under_another_name(song, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    assert stems.cached_stem(song, cache) is None
    progress = []
    path = stems.vocal_stem(song, cache=cache, report=lambda f, label: progress.append(f))
    assert path.is_file() and path.parent == cache / "stems" and progress[-1] == 1.0
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp file left

    def no_second_separation(*args, **kwargs):
        raise AssertionError("separated twice")

    monkeypatch.setattr(spleeter_net, "separate_vocals", no_second_separation)
    renamed = tmp_path / "same song, other name.wav"
    shutil.copyfile(song, renamed)
    assert stems.vocal_stem(renamed, cache=cache) == path
    assert stems.cached_stem(renamed, cache) == path


def test_stem_audio_matches_the_stem_file_and_the_song(song, tmp_path):
    from lipcoach.media.decode import load_audio

    cache = tmp_path / "cache"
    fresh = stems.vocal_stem_audio(song, sr=16000, cache=cache)
    again = stems.vocal_stem_audio(song, sr=16000, cache=cache, length=len(fresh) + 10)
    assert len(again) == len(fresh) + 10 and np.all(again[-10:] == 0)
    # The cached 16-bit file gives the same stem as the fresh separation (to its rounding).
    assert np.max(np.abs(again[: len(fresh)] - fresh)) < 1e-3
    mix, _ = load_audio(song, sr=16000)
    n = min(len(mix), len(fresh))
    assert abs(len(mix) - len(fresh)) < 20
    # A vocal stem: quieter than the mix, but not silence.
    assert 0.05 < float(np.sqrt(np.mean(fresh[:n] ** 2)) / np.sqrt(np.mean(mix[:n] ** 2))) < 1.0


def test_stereo_stem_read_back_at_another_rate(song, tmp_path):
    path = stems.vocal_stem(song, cache=tmp_path)
    stereo = stems.load_stem(path, sr=22050, mono=False, length=22050 * 5)
    assert stereo.shape == (2, 22050 * 5) and stereo.dtype == np.float32
