import numpy as np
import pytest

from lipcoach.errors import LipcoachError
from lipcoach.media.decode import load_audio, probe, write_wav
from tests.conftest import encode_media, tone


def test_wav_round_trip_keeps_length_and_rate(tmp_path):
    audio = tone(1.5, 44100)
    write_wav(tmp_path / "a.wav", audio, 44100)
    decoded, sr = load_audio(tmp_path / "a.wav", sr=16000)
    assert sr == 16000
    assert abs(len(decoded) - 1.5 * 16000) < 50
    assert 0.15 < np.sqrt(np.mean(decoded**2)) < 0.25  # 0.3 amplitude sine: RMS 0.21


@pytest.mark.parametrize("name,codec", [("song.mp3", "libmp3lame"), ("song.m4a", "aac"), ("song.flac", "flac")])
def test_compressed_audio_formats_decode(tmp_path, name, codec):
    path = encode_media(tmp_path / name, tone(2.0, 44100), 44100, audio_codec=codec)
    decoded, _ = load_audio(path, sr=16000)
    assert abs(len(decoded) / 16000 - 2.0) < 0.1


def test_video_file_audio_is_found_and_described(tmp_path):
    path = encode_media(tmp_path / "take.mp4", tone(2.0, 44100), 44100, video_frames=50)
    info = probe(path)
    assert info.has_audio and info.has_video and info.fps == pytest.approx(25.0)
    decoded, _ = load_audio(path)
    assert abs(len(decoded) / 16000 - 2.0) < 0.1


def test_cover_image_is_not_taken_for_video(tmp_path):
    path = encode_media(tmp_path / "cover.mkv", tone(1.0, 44100), 44100, video_frames=1, cover_image=True)
    assert not probe(path).has_video


def test_stereo_is_kept_when_asked(tmp_path):
    stereo = np.stack([tone(1.0, 16000), np.zeros(16000, np.float32)])
    write_wav(tmp_path / "s.wav", stereo, 16000)
    decoded, _ = load_audio(tmp_path / "s.wav", mono=False)
    assert decoded.shape[0] == 2
    assert np.abs(decoded[0]).max() > 0.25 and np.abs(decoded[1]).max() < 1e-3


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(b"this is not audio at all" * 100), "cannot be read"),
        (lambda p: None, "no such file"),
    ],
)
def test_bad_files_give_one_line_naming_the_file(tmp_path, make, message):
    path = tmp_path / "bad.mp3"
    make(path)
    with pytest.raises(LipcoachError) as caught:
        load_audio(path)
    text = str(caught.value)
    assert text.startswith(str(path)) and message in text and "\n" not in text


def test_video_without_audio_is_refused(tmp_path):
    path = encode_media(tmp_path / "silent.mp4", None, 16000, video_frames=10)
    with pytest.raises(LipcoachError, match="no audio stream"):
        load_audio(path)


def test_truncated_file_keeps_what_decodes(tmp_path):
    path = encode_media(tmp_path / "full.mp3", tone(4.0, 44100), 44100, audio_codec="libmp3lame")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    decoded, _ = load_audio(cut)
    assert 1.0 < len(decoded) / 16000 < 3.0


def test_too_long_files_are_refused_before_decoding_everything(tmp_path):
    write_wav(tmp_path / "long.wav", tone(5.0, 16000), 16000)
    with pytest.raises(LipcoachError, match="limit"):
        load_audio(tmp_path / "long.wav", max_duration_s=2.0)
