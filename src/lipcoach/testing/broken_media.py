"""Media files that go wrong the ways real ones do: damaged bytes, a container that says it runs for hours.

Made by the tests themselves (no shared material), small and deterministic.
"""

from __future__ import annotations

import fractions
import os
import random
from pathlib import Path

import numpy as np


def write_noise_clip(path: str | os.PathLike, *, seconds: float = 4.0, fps: int = 25, size_px: int = 160,
                     sr: int = 44100) -> Path:
    """An mp4 (MPEG-4 video of noise frames, AAC tone) of about 600 KB for 4 s: big enough that
    2,000 changed bytes damage it the way a bad copy does, not beyond recognition."""
    import av

    from lipcoach.media.encode import mux_audio

    rng = np.random.default_rng(0)
    path = Path(path)
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("mpeg4", rate=fps)
        video.width = video.height = size_px
        video.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=sr)
        for _ in range(int(seconds * fps)):
            img = rng.integers(0, 255, (size_px, size_px, 3), dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        t_s = np.arange(int(seconds * sr)) / sr
        mux_audio(container, audio, (0.3 * np.sin(2 * np.pi * 440.0 * t_s)).astype(np.float32), sr=sr)
    return path


def damaged_copy(src: str | os.PathLike, dst: str | os.PathLike, *, n_bytes: int = 2000, seed: int = 0) -> Path:
    """``src`` with ``n_bytes`` bytes at random places set to random values (``seed`` picks them)."""
    data = bytearray(Path(src).read_bytes())
    rnd = random.Random(seed)
    for i in rnd.sample(range(len(data)), min(n_bytes, len(data))):
        data[i] = rnd.randrange(256)
    Path(dst).write_bytes(bytes(data))
    return Path(dst)


def probe_damaged_copy(src: str | os.PathLike, dst: str | os.PathLike, *, tries: int = 60) -> Path:
    """The first :func:`damaged_copy` of ``src`` (seeds 0, 1, …) whose container the probe
    reports as damaged, written to ``dst`` (2,000 random bytes often hit only the picture, which
    the probe cannot see). Raises RuntimeError when no seed under ``tries`` gives one."""
    from lipcoach.errors import LipcoachError
    from lipcoach.media.decode import probe

    for seed in range(tries):
        bad = damaged_copy(src, dst, seed=seed)
        try:
            probe(bad)
        except LipcoachError as exc:
            if exc.problem.startswith("is damaged"):
                return bad
    raise RuntimeError(f"no copy of {src} damaged in its stream headers in {tries} tries")


def write_long_clip(path: str | os.PathLike, *, seconds: float, size_px: int = 32) -> Path:
    """An mp4 whose container says it lasts ``seconds`` (a first frame and one at the end; a few KB).

    Stands for a recording left running: anything that decodes it frame by frame before
    looking at its length would wait as long as it plays.
    """
    import av

    path = Path(path)
    base = fractions.Fraction(1, 1)
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("mpeg4", rate=1)
        video.width = video.height = size_px
        video.pix_fmt = "yuv420p"
        video.codec_context.time_base = base
        for pts in (0, int(seconds)):
            frame = av.VideoFrame.from_ndarray(np.zeros((size_px, size_px, 3), np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, base
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
    return path
