"""Decoding any audio or video file FFmpeg reads (through PyAV) into numpy arrays.

Conventions: audio is float32 in [-1, 1]; mono signals have shape ``(n_samples,)``, multi-
channel ones ``(n_channels, n_samples)``; sample rates are in Hz; durations in seconds.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Optional

import numpy as np

from lipcoach.errors import LipcoachError

#: Longest file we analyse, in seconds. A musical number is rarely over 10 minutes; a
#: medley or a whole act up to 30 minutes still fits in memory (16 kHz mono float32 ≈ 115 MB).
MAX_DURATION_S = 30 * 60.0
#: Highest audio sample rate a real file has (DXD is 352.8 kHz); a larger one is a damaged header, Hz.
MAX_SAMPLE_RATE = 768_000


@dataclasses.dataclass(frozen=True)
class MediaInfo:
    """What a media file holds.

    Attributes
    ----------
    duration_s : float
        Container duration in seconds (0.0 when the container does not say).
    has_audio, has_video : bool
        Whether a decodable audio stream / a real video stream (not a cover image) exists.
    audio_rate : int
        Audio sample rate in Hz (0 without audio).
    audio_channels : int
    width, height : int
        Frame size in pixels as stored (before rotation).
    fps : float
        Average frame rate in frames/s (0.0 without video).
    rotation_deg : int
        Display rotation from the container's metadata (0, 90, 180 or 270).
    """

    path: str
    duration_s: float
    has_audio: bool
    has_video: bool
    audio_rate: int = 0
    audio_channels: int = 0
    width: int = 0
    height: int = 0
    fps: float = 0.0
    rotation_deg: int = 0


def _open(path: str | os.PathLike):
    import av

    p = Path(path)
    if not p.exists():
        raise LipcoachError(p, "no such file")
    if p.is_dir():
        raise LipcoachError(p, "is a folder, not a media file")
    if p.stat().st_size == 0:
        raise LipcoachError(p, "file is empty")
    try:
        return av.open(str(p))
    except Exception as exc:  # PyAV raises many kinds; all mean "not a media file we can read"
        raise LipcoachError(p, f"cannot be read as audio or video ({_short(exc)})") from None


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"^\[Errno -?\d+\] ", "", text)  # FFmpeg's error numbers say nothing to a user
    # PyAV repeats the file name in its messages; we already lead with it.
    return text.split(": '")[0][:120]


def is_cover_image(stream) -> bool:
    """True for a video stream that is really an attached picture (mp3/m4a cover art)."""
    disposition = getattr(stream, "disposition", None)
    attached = False
    if disposition is not None:
        try:
            import av

            attached = bool(disposition & av.stream.Disposition.attached_pic)
        except Exception:
            attached = False
    codec = getattr(getattr(stream, "codec_context", None), "name", "") or ""
    return attached or (codec in {"mjpeg", "png", "bmp"} and (stream.frames or 0) <= 1)


def video_stream(container):
    """The first real video stream of an open container, or None."""
    for stream in container.streams.video:
        if not is_cover_image(stream):
            return stream
    return None


def _rotation(stream) -> int:
    try:
        side = stream.side_data  # PyAV ≥ 14 exposes the display matrix here
        for key in ("DISPLAYMATRIX", "display_matrix"):
            if key in side:
                return int(round(-float(side[key]))) % 360
    except Exception:
        pass
    try:
        rotate = stream.metadata.get("rotate")
        if rotate is not None:
            return int(rotate) % 360
    except Exception:
        pass
    return 0


def probe(path: str | os.PathLike) -> MediaInfo:
    """Describe ``path`` from its container, without decoding it.

    The duration is the container's (or a stream's when the container does not say), so a
    caller can refuse an over-long file before any work on it.

    Raises
    ------
    LipcoachError
        Missing, empty, not a media file, or damaged so that its streams cannot be described
        (a stream without codec parameters, a sample rate or a frame size, unreadable metadata).
    """
    p = Path(path)
    with _open(p) as container:
        try:
            return _describe(container, p)
        except LipcoachError:
            raise
        except (AttributeError, TypeError):  # PyAV gives a stream whose header is damaged no codec context
            raise LipcoachError(p, "is damaged: a stream's codec parameters are missing") from None
        except UnicodeDecodeError:
            raise LipcoachError(p, "is damaged: its metadata is not readable text") from None
        except Exception as exc:
            raise LipcoachError(p, f"is damaged: its streams cannot be read ({_short(exc)})") from None


def _describe(container, p: Path) -> MediaInfo:
    duration = float(container.duration or 0) / 1_000_000.0
    if not np.isfinite(duration) or duration < 0:
        raise LipcoachError(p, "is damaged: its container gives no valid duration")
    audio = container.streams.audio[0] if container.streams.audio else None
    video = video_stream(container)
    info = dict(path=os.fspath(p), duration_s=duration, has_audio=audio is not None, has_video=video is not None)
    if audio is not None:
        rate, channels = int(audio.codec_context.sample_rate or audio.rate or 0), int(audio.channels or 0)
        if not 0 < rate <= MAX_SAMPLE_RATE:
            raise LipcoachError(p, f"is damaged: its audio stream gives no valid sample rate ({rate} Hz)")
        info.update(audio_rate=rate, audio_channels=channels)
        if not duration and audio.duration and audio.time_base:
            info["duration_s"] = float(audio.duration * audio.time_base)
    if video is not None:
        fps = float(video.average_rate) if video.average_rate else 0.0
        width = int(video.codec_context.width or video.width or 0)
        height = int(video.codec_context.height or video.height or 0)
        if width <= 0 or height <= 0:
            raise LipcoachError(p, "is damaged: its video stream has no frame size")
        info.update(width=width, height=height, fps=fps, rotation_deg=_rotation(video))
        if not info["duration_s"] and video.duration and video.time_base:
            info["duration_s"] = float(video.duration * video.time_base)
    return MediaInfo(**info)


def check_duration(info: MediaInfo, max_duration_s: Optional[float], *, what: str, raise_with: str = "") -> None:
    """Refuse media longer than ``max_duration_s`` by its container's duration, before any decoding.

    Parameters
    ----------
    info : MediaInfo
        From :func:`probe`.
    max_duration_s : float or None
        The limit, s (None: no limit).
    what : str
        What the file is, for the message ("the take").
    raise_with : str
        How the user may raise the limit, appended to the message (e.g. an option).
    """
    if max_duration_s and info.duration_s > max_duration_s:
        hint = f" ({raise_with})" if raise_with else ""
        raise LipcoachError(info.path, f"{what} lasts {format_length(info.duration_s)}; the limit is {format_length(max_duration_s)}{hint}")


def format_length(seconds: float) -> str:
    """A media length for a message: ``"95 s"``, ``"12.5 min"``, ``"120 min"``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds >= 600 else f"{seconds / 60:.1f} min"


#: Sample rates a practice render keeps as they are, Hz; anything else is resampled to
#: :data:`FALLBACK_PLAYBACK_SR` (an 8 kHz phone recording stays as it is, a 96 kHz master
#: would only cost time).
PLAYBACK_SR_RANGE = (8000, 48000)
FALLBACK_PLAYBACK_SR = 44100


def playback_sr(file_sr: int) -> int:
    """The rate to decode a song at for listening: its own rate when in :data:`PLAYBACK_SR_RANGE`, else 44.1 kHz."""
    low, high = PLAYBACK_SR_RANGE
    return int(file_sr) if low <= file_sr <= high else FALLBACK_PLAYBACK_SR


def load_audio(
    path: str | os.PathLike,
    *,
    sr: int = 16000,
    mono: bool = True,
    max_duration_s: Optional[float] = MAX_DURATION_S,
) -> tuple[np.ndarray, int]:
    """Decode the first audio stream of any media file, resampled to ``sr``.

    Parameters
    ----------
    path : str or PathLike
        Audio or video file (mp3, m4a, wav, flac, ogg, mp4, mov, mkv, webm...). Cover-art
        "video" streams are ignored; the audio stream is picked explicitly.
    sr : int
        Output sample rate in Hz.
    mono : bool
        Mix down to one channel (shape ``(n,)``); otherwise keep two (shape ``(2, n)``).
    max_duration_s : float or None
        Refuse files longer than this many seconds (checked before and while decoding, so a
        container that under-reports its length cannot exhaust memory).

    Returns
    -------
    audio : np.ndarray, float32
    sr : int
    """
    import av

    p = Path(path)
    with _open(p) as container:
        if not container.streams.audio:
            raise LipcoachError(p, "has no audio stream")
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        declared = float(container.duration or 0) / 1_000_000.0
        if max_duration_s and declared > max_duration_s:
            raise LipcoachError(p, f"is {declared / 60:.0f} min long; the limit is {max_duration_s / 60:.0f} min")
        layout = "mono" if mono else "stereo"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=sr)
        chunks: list[np.ndarray] = []
        n_total = 0
        limit = None if not max_duration_s else int(max_duration_s * sr)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    block = out.to_ndarray()
                    chunks.append(block)
                    n_total += block.shape[-1]
                if limit is not None and n_total > limit:
                    raise LipcoachError(p, f"is longer than the {max_duration_s / 60:.0f} min limit")
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except LipcoachError:
            raise
        except Exception as exc:
            if not chunks:
                raise LipcoachError(p, f"audio cannot be decoded ({_short(exc)})") from None
            # A truncated file: keep what decoded, as players do.
    if not chunks:
        raise LipcoachError(p, "audio stream holds no samples")
    audio = np.concatenate(chunks, axis=-1).astype(np.float32, copy=False)
    if audio.shape[-1] == 0:
        raise LipcoachError(p, "audio stream holds no samples")
    return (audio[0] if mono else audio), sr


def write_wav(path: str | os.PathLike, audio: np.ndarray, sr: int) -> None:
    """Write float audio (``(n,)`` or ``(channels, n)``) as 16-bit PCM WAV, atomically."""
    import soundfile as sf

    from lipcoach.fileio import WRITTEN_BY, atomic_path

    data = np.asarray(audio, dtype=np.float32)
    data = data.T if data.ndim == 2 else data
    with atomic_path(path) as tmp:
        with sf.SoundFile(str(tmp), "w", samplerate=sr, channels=1 if data.ndim == 1 else data.shape[1],
                          subtype="PCM_16", format="WAV") as handle:
            handle.comment = WRITTEN_BY  # lets lipcoach recognise its own file (lipcoach.fileio)
            handle.write(np.clip(data, -1.0, 1.0))
