"""A song's vocal stem, separated once and kept: the map, the practice page and practice-track share it.

:func:`vocal_stem` separates a song with Spleeter's 2-stem network
(:mod:`lipcoach.media.spleeter_net`) at 44.1 kHz stereo and keeps the result in the user's
cache folder under the song file's SHA-256 (``<cache>/stems/<sha256>.<model>.flac``, 16-bit
FLAC, written to a temporary file and renamed), so the same song added to the studio, mapped
from the command line or rendered for the phone is separated only once, whatever its file is
called. The band is the mix minus the vocal stem, so the two always add back up to the mix
(Spleeter's own accompaniment stem drops everything above 11 kHz).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Optional

import numpy as np

from lipcoach.errors import LipcoachError
from lipcoach.fileio import file_sha256
from lipcoach.progress import ProgressCallback, silent, subrange

#: Names the model and the way stems are made, part of every cached stem's file name.
STEM_MODEL = "spleeter2-v1"


@functools.lru_cache(maxsize=4096)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:  # noqa: ARG001 - size and mtime key the cache
    return file_sha256(path)


def song_sha256(song_path: str | os.PathLike) -> str:
    """SHA-256 of a song file, remembered per path, size and modification time for the process's life
    (the studio asks for the same stored songs' stems over and over)."""
    st = os.stat(song_path)
    return _sha256_of(str(Path(song_path).resolve()), st.st_size, st.st_mtime_ns)


def stems_dir(cache: Optional[Path] = None) -> Path:
    """Folder of the cached stems (``<cache>/stems``)."""
    from lipcoach.media.pinned import cache_dir

    return (cache or cache_dir()) / "stems"


def cached_stem_path(song_sha256: str, cache: Optional[Path] = None) -> Path:
    """Where the vocal stem of the song with this content hash is (or will be) kept."""
    return stems_dir(cache) / f"{song_sha256}.{STEM_MODEL}.flac"


def cached_band_path(song_sha256: str, cache: Optional[Path] = None) -> Path:
    """Where the band (the mix minus the vocal stem) of the song with this hash is kept."""
    return stems_dir(cache) / f"{song_sha256}.{STEM_MODEL}.band.flac"


def band_stem(
    song_path: str | os.PathLike,
    *,
    cache: Optional[Path] = None,
    report: Optional[ProgressCallback] = None,
) -> Path:
    """The song's band file (the mix minus its vocal stem, stereo FLAC at 44.1 kHz), made once.

    The page plays it beside the vocal stem: both at full level give back the mix exactly.
    """
    from lipcoach.media import spleeter_net

    report = report or silent
    sha = song_sha256(song_path)
    target = cached_band_path(sha, cache)
    if target.is_file():
        return target
    mix = _decode_for_model(song_path, report)
    if mix.shape[0] == 1:
        mix = np.vstack([mix, mix])
    vocal_path = cached_stem_path(sha, cache)
    if vocal_path.is_file():
        vocals = load_stem(vocal_path, sr=spleeter_net.SAMPLE_RATE, mono=False, length=mix.shape[1])
    else:
        vocals = _separate_and_store(mix, vocal_path, subrange(report, 0.0, 0.9))
    report(0.9, "saving the band")
    _write_flac(target, mix - vocals)
    report(1.0, "band")
    return target


def _write_flac(target: Path, audio: np.ndarray) -> None:
    """16-bit stereo FLAC at 44.1 kHz, written to a temporary file and renamed."""
    import soundfile as sf

    from lipcoach.media import spleeter_net

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        sf.write(str(partial), np.clip(audio.T, -1.0, 1.0), spleeter_net.SAMPLE_RATE, subtype="PCM_16", format="FLAC")
        os.replace(partial, target)
    finally:
        if partial.exists():
            partial.unlink()


def cached_stem(song_path: str | os.PathLike, cache: Optional[Path] = None, *, sha256: Optional[str] = None) -> Optional[Path]:
    """The cached vocal stem of a song, or None when it has not been separated yet."""
    path = cached_stem_path(sha256 or song_sha256(song_path), cache)
    return path if path.is_file() else None


def vocal_stem(
    song_path: str | os.PathLike,
    *,
    cache: Optional[Path] = None,
    sha256: Optional[str] = None,
    report: Optional[ProgressCallback] = None,
) -> Path:
    """The song's vocal stem file (stereo FLAC at 44.1 kHz), separated now if not cached.

    Parameters
    ----------
    song_path : path
        Any audio or video file FFmpeg decodes.
    cache : Path, optional
        Cache root; default the user's lipcoach cache folder.
    sha256 : str, optional
        The file's SHA-256 when the caller already has it.
    report : callable, optional
        Progress callback.

    Returns
    -------
    Path
        The cached FLAC, same length as the decoded song.

    Raises
    ------
    LipcoachError
        An undecodable song, or the packaged model missing.
    """
    report = report or silent
    target = cached_stem_path(sha256 or song_sha256(song_path), cache)
    if target.is_file():
        report(1.0, "vocal stem (cached)")
        return target
    _separate_and_store(_decode_for_model(song_path, report), target, report)
    return target


def vocal_stem_audio(
    song_path: str | os.PathLike,
    *,
    sr: int,
    length: Optional[int] = None,
    mix: Optional[np.ndarray] = None,
    cache: Optional[Path] = None,
    sha256: Optional[str] = None,
    report: Optional[ProgressCallback] = None,
) -> np.ndarray:
    """The song's vocal stem as mono audio at ``sr`` Hz, from the cache or separated (and cached) now.

    Parameters
    ----------
    mix : np.ndarray, optional
        The song already decoded at 44.1 kHz, ``(2, n)`` or ``(1, n)``, saving a second decode.
    length : int, optional
        Pad or cut the result to this many samples.
    Other parameters as :func:`vocal_stem`.

    Returns
    -------
    np.ndarray, float32, shape ``(n,)``
    """
    import soxr

    from lipcoach.media import spleeter_net

    report = report or silent
    target = cached_stem_path(sha256 or song_sha256(song_path), cache)
    if target.is_file():
        report(1.0, "vocal stem (cached)")
        return load_stem(target, sr=sr, mono=True, length=length)
    stereo = _decode_for_model(song_path, report) if mix is None else mix
    vocals = _separate_and_store(stereo, target, report).mean(axis=0)
    if sr != spleeter_net.SAMPLE_RATE:
        vocals = soxr.resample(vocals, spleeter_net.SAMPLE_RATE, sr, quality="HQ").astype(np.float32, copy=False)
    return _fit(vocals, length)


def _decode_for_model(song_path: str | os.PathLike, report: ProgressCallback) -> np.ndarray:
    from lipcoach.media import spleeter_net
    from lipcoach.media.decode import load_audio

    report(0.0, "decoding for separation")
    stereo, _ = load_audio(song_path, sr=spleeter_net.SAMPLE_RATE, mono=False)
    return stereo


def _separate_and_store(stereo: np.ndarray, target: Path, report: ProgressCallback) -> np.ndarray:
    """Separate a 44.1 kHz mix, write the stem to ``target`` (temp file, then rename); return it ``(2, n)``."""
    from lipcoach.media import spleeter_net

    if stereo.shape[0] == 1:
        stereo = np.vstack([stereo, stereo])
    vocals = spleeter_net.separate_vocals(stereo, report=subrange(report, 0.05, 0.95))
    report(0.95, "saving the vocal stem")
    _write_flac(target, vocals)
    report(1.0, "vocal stem")
    return vocals


def _fit(audio: np.ndarray, length: Optional[int]) -> np.ndarray:
    """Pad with silence or cut the last axis to ``length`` samples (None: unchanged)."""
    if length is None:
        return audio
    n = audio.shape[-1]
    if n >= length:
        return audio[..., :length]
    return np.pad(audio, [(0, 0)] * (audio.ndim - 1) + [(0, length - n)])


def load_stem(path: str | os.PathLike, *, sr: int, mono: bool = True, length: Optional[int] = None) -> np.ndarray:
    """Read a cached stem at ``sr`` Hz (float32; ``(n,)`` mono or ``(2, n)``), padded or cut to ``length``."""
    import soundfile as sf
    import soxr

    data, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    audio = data.mean(axis=1) if mono else data
    if file_sr != sr:
        audio = soxr.resample(audio, file_sr, sr, quality="HQ").astype(np.float32, copy=False)
    audio = audio if mono else np.ascontiguousarray(audio.T)
    return _fit(audio, length)


#: ``vocal_level`` runs from 0 (singer muted: the band alone) through 1 (the song as recorded)
#: to 2 (the guide vocal alone: band muted), the practice page's balance slider in one number.
VOCAL_LEVEL_RANGE = (0.0, 2.0)


def balance_gains(vocal_level: float) -> tuple[float, float]:
    """Gains (vocal, band) for a ``vocal_level`` in :data:`VOCAL_LEVEL_RANGE`.

    Below 1 the voice fades out under a full band; above 1 the band fades out under a full
    voice; at 1 both are whole, which gives back the mix exactly.
    """
    low, high = VOCAL_LEVEL_RANGE
    if not low <= vocal_level <= high:
        raise LipcoachError(None, f"vocal level must be between {low:g} (singer muted) and {high:g} (vocal only), not {vocal_level:g}")
    return min(1.0, vocal_level), min(1.0, 2.0 - vocal_level)


def balanced_mix(
    song_path: str | os.PathLike,
    mix: np.ndarray,
    *,
    sr: int,
    vocal_level: float,
    cache: Optional[Path] = None,
    report: Optional[ProgressCallback] = None,
) -> np.ndarray:
    """The song with its vocal turned down or up against the band.

    Parameters
    ----------
    song_path : path
        The song ``mix`` was decoded from (its stem is separated once and cached).
    mix : np.ndarray, float32, ``(channels, n)``
        The decoded song at ``sr`` Hz.
    vocal_level : float
        See :func:`balance_gains`.

    Returns
    -------
    np.ndarray, float32, same shape as ``mix``: ``vocal·g_v + (mix − vocal)·g_b``.
    """
    vocal_gain, band_gain = balance_gains(vocal_level)
    if vocal_gain == 1.0 and band_gain == 1.0:
        return mix
    stem = load_stem(vocal_stem(song_path, cache=cache, report=report), sr=sr, mono=False, length=mix.shape[-1])
    if mix.shape[0] == 1:
        stem = stem.mean(axis=0, keepdims=True)
    return (band_gain * mix + (vocal_gain - band_gain) * stem).astype(np.float32, copy=False)
