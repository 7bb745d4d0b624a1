"""Fixtures every test may use: generated media files and the synthetic singer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lipcoach.media.encode import mux_audio

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip the test when it is absent."""
    if not SHARED_DATA.exists():
        pytest.skip(f"real test material not found at {SHARED_DATA}")
    return SHARED_DATA


def encode_media(path: Path, audio: np.ndarray | None, sr: int, *, video_frames: int = 0, fps: int = 25, size=(64, 48), audio_codec="aac", cover_image=False) -> Path:
    """Write ``audio`` (mono float32) and/or a simple moving picture to ``path`` with PyAV."""
    import av

    with av.open(str(path), "w") as container:
        vstream = astream = None
        if video_frames:
            vstream = container.add_stream("mjpeg" if cover_image else "mpeg4", rate=fps)
            vstream.width, vstream.height = size
            vstream.pix_fmt = "yuvj420p" if cover_image else "yuv420p"
        if audio is not None:
            astream = container.add_stream(audio_codec, rate=sr)
            astream.layout = "mono"
        if vstream is not None:
            for i in range(video_frames):
                img = np.full((size[1], size[0], 3), (i * 7) % 255, np.uint8)
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                for packet in vstream.encode(frame):
                    container.mux(packet)
            for packet in vstream.encode():
                container.mux(packet)
        if astream is not None:
            mux_audio(container, astream, audio, sr=sr, block=1152 if audio_codec == "libmp3lame" else 1024)
    return path


def tone(seconds: float = 2.0, sr: int = 16000, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="session")
def short_song():
    """A two-line synthetic number (exact truth), generated once per test session."""
    from lipcoach.testing.synthetic_song import make_song

    return make_song(n_lines=2, seed=3, entrance_offsets_ms=[-80.0, 60.0])


@pytest.fixture(scope="session")
def short_song_files(short_song, tmp_path_factory):
    """The two-line number written as mix.wav, vocals.wav, lyrics.txt and truth.json."""
    return short_song.write(tmp_path_factory.mktemp("short_song"))
