"""Spleeter's 2-stem network without TensorFlow gives the original Spleeter's stems."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lipcoach.errors import LipcoachError
from lipcoach.media import spleeter_net
from lipcoach.media.tf_checkpoint import read_checkpoint
from lipcoach.testing.spleeter_reference import REFERENCE_DIR


def _snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / max(np.sum((estimate - reference) ** 2), 1e-30)))


@pytest.fixture(scope="module")
def reference():
    import soundfile as sf

    mix, sr = sf.read(REFERENCE_DIR / "mix.flac", dtype="float32", always_2d=True)
    vocals, _ = sf.read(REFERENCE_DIR / "vocals.flac", dtype="float32", always_2d=True)
    assert sr == spleeter_net.SAMPLE_RATE
    return mix.T, vocals.T


def test_checkpoint_reader_reads_every_tensor_of_the_packaged_model():
    weights = read_checkpoint(spleeter_net.checkpoint_prefix())
    floats = {k: v for k, v in weights.items() if v.dtype == np.float32}
    assert len(floats) == 148
    assert sum(v.size for v in floats.values()) == 19_653_518
    assert weights["conv2d/kernel"].shape == (5, 5, 2, 16)
    assert weights["conv2d_transpose_1/kernel"].shape == (5, 5, 128, 512)
    assert weights["conv2d_13/kernel"].shape == (4, 4, 1, 2)
    # Trained values, not zeros or garbage: a kernel's weights are small and varied.
    kernel = weights["conv2d_3/kernel"]
    assert 0.01 < float(np.abs(kernel).mean()) < 1.0 and float(kernel.std()) > 0.01


def test_onnx_port_gives_the_original_spleeters_vocal_stem(reference):
    mix, expected = reference
    vocals = spleeter_net.separate_vocals(mix)
    assert vocals.shape == mix.shape and vocals.dtype == np.float32
    # Same stem as TensorFlow to ~-90 dB (float rounding), across the 512-frame segment boundary
    # at 11.9 s too.
    assert _snr_db(expected, vocals) > 60.0
    boundary = int(spleeter_net.SEGMENT_FRAMES * spleeter_net.FRAME_STEP) - spleeter_net.FRAME_LENGTH
    around = slice(boundary - 44100, boundary + 44100)
    assert _snr_db(expected[:, around], vocals[:, around]) > 60.0
    # And it really separates: the stem is not the mix.
    assert _snr_db(mix, vocals) < 10.0


def test_masks_are_ratio_masks_between_zero_and_one(reference):
    mix, _ = reference
    vocals, masks = spleeter_net.separate_vocals(mix[:, :44100 * 3], return_masks=True)
    assert masks.shape == (spleeter_net.n_frames(44100 * 3), 2, spleeter_net.MODEL_BINS)
    assert float(masks.min()) >= 0.0 and float(masks.max()) <= 1.0
    assert 0.05 < float(masks.mean()) < 0.95


def test_built_model_is_cached_and_an_altered_file_is_rebuilt(tmp_path):
    path = spleeter_net.onnx_model_path(tmp_path)
    assert path.parent.parent == tmp_path
    stamp = json.loads(path.with_name("model.onnx.verified.json").read_text())
    assert stamp["sha256"] == spleeter_net.ONNX_SHA256
    mtime = path.stat().st_mtime_ns
    assert spleeter_net.onnx_model_path(tmp_path) == path and path.stat().st_mtime_ns == mtime  # reused
    with open(path, "r+b") as f:  # damage it
        f.seek(1000)
        f.write(b"\0" * 16)
    assert spleeter_net.onnx_model_path(tmp_path) == path
    from lipcoach.fileio import file_sha256

    assert file_sha256(path) == spleeter_net.ONNX_SHA256


def test_bad_input_is_one_clear_error():
    with pytest.raises(LipcoachError, match="stereo"):
        spleeter_net.separate_vocals(np.zeros((3, 100), np.float32))


def test_a_damaged_checkpoint_is_one_clear_error(tmp_path):
    (tmp_path / "model.index").write_bytes(b"not a table" * 10)
    with pytest.raises(LipcoachError, match="not a readable TensorFlow checkpoint index"):
        read_checkpoint(tmp_path / "model")
    with pytest.raises(LipcoachError, match="not a readable"):
        read_checkpoint(tmp_path / "missing")
