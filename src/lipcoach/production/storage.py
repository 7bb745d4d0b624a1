"""Storing uploads safely: size-limited, checked by content, renamed into place, generated names.

An upload is streamed into ``tmp/`` (refused as soon as it passes its limit), flushed to disk,
probed with FFmpeg (media) or decoded as UTF-8 (lyrics), and only then renamed into ``files/``
under a random name whose extension comes from what the content is. The client's file name
is kept only as a label shown as text.
"""

from __future__ import annotations

import contextvars
import os
import re
import secrets
from pathlib import Path
from typing import BinaryIO, Optional

from lipcoach.errors import LipcoachError
from lipcoach.formats import lyrics as _lyrics

#: Size limits, bytes.
MAX_AUDIO_BYTES = 200 * 1024 * 1024
MAX_TAKE_BYTES = 500 * 1024 * 1024
MAX_LYRICS_BYTES = _lyrics.MAX_LYRICS_BYTES  # one limit for the CLI and the studio

#: FFmpeg container names → (stored extension, MIME type).
_FORMATS = {
    "wav": (".wav", "audio/wav"),
    "mp3": (".mp3", "audio/mpeg"),
    "ogg": (".ogg", "audio/ogg"),
    "flac": (".flac", "audio/flac"),
    "mov,mp4,m4a,3gp,3g2,mj2": (".m4a", "audio/mp4"),
    "matroska,webm": (".webm", "video/webm"),
    "aiff": (".aiff", "audio/aiff"),
    "aac": (".aac", "audio/aac"),
}
MIME_BY_SUFFIX = ({ext: mime for ext, mime in _FORMATS.values()} | {".mp4": "video/mp4", ".json": "application/json"}
                  | {suffix: "text/plain; charset=utf-8" for suffix in _lyrics.LYRICS_SUFFIXES.values()})

_CHUNK = 1 << 20

#: Names stored inside :func:`lipcoach.production.catalogue.storing` (area, name), removed if it fails.
_STORED: contextvars.ContextVar[Optional[list]] = contextvars.ContextVar("lipcoach_stored", default=None)


def note_stored(area: str, name: str) -> None:
    """Record a file written into the data folder's ``area`` by hand (a song map) for :func:`~lipcoach.production.catalogue.storing`."""
    stored = _STORED.get()
    if stored is not None:
        stored.append((area, name))


class TooLarge(LipcoachError):
    """An upload over its size limit (the web app answers 413)."""


def _new_name(suffix: str) -> str:
    return secrets.token_hex(16) + suffix


def _receive(src: BinaryIO, tmp_dir: Path, *, limit: int, what: str) -> Path:
    """Copy ``src`` into a new file in ``tmp_dir``, refusing more than ``limit`` bytes."""
    tmp = tmp_dir / (_new_name(".part"))
    total = 0
    try:
        with open(tmp, "wb") as out:
            while True:
                chunk = src.read(_CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    raise TooLarge(None, f"{what} is larger than the {_size(limit)} limit")
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if total == 0:
            raise LipcoachError(None, f"{what} is empty")
        return tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _size(n_bytes: int) -> str:
    return f"{n_bytes / (1 << 20):.0f} MB" if n_bytes >= 1 << 20 else f"{n_bytes / 1024:.0f} KB"


def _commit(tmp: Path, files_dir: Path, suffix: str) -> str:
    name = _new_name(suffix)
    os.replace(tmp, files_dir / name)
    note_stored("files", name)
    # The rename is durable only once the directory entry is on disk.
    fd = os.open(files_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return name


def scratch_path(root: Path, suffix: str) -> Path:
    """A new file name in the catalogue's tmp/ area (for a file written piece by piece, then :func:`keep_file`)."""
    return root / "tmp" / _new_name(suffix)


def keep_file(tmp: Path, root: Path, suffix: str) -> str:
    """Move a finished file from tmp/ into files/ under a new name (durably); returns the stored name."""
    return _commit(tmp, root / "files", suffix)


def media_kind(path: Path) -> tuple[str, bool, bool, float]:
    """``(suffix, has_audio, has_video, duration_s)`` of a media file, judged by its content."""
    import av

    from lipcoach.media.decode import probe

    info = probe(path)  # raises LipcoachError when FFmpeg cannot read it
    with av.open(str(path)) as c:
        fmt = c.format.name
    suffix, _mime = _FORMATS.get(fmt, (None, None))
    if suffix is None:
        raise LipcoachError(None, f"unsupported container {fmt!r}")
    if suffix == ".m4a" and info.has_video:
        suffix = ".mp4"
    return suffix, info.has_audio, info.has_video, info.duration_s


def store_media(src: BinaryIO, root: Path, *, what: str, need_video: bool = False, limit: Optional[int] = None,
                label: Optional[str] = None, max_duration_s: Optional[float] = None) -> tuple[str, float]:
    """Store an uploaded audio (or, with ``need_video``, video) file.

    Parameters
    ----------
    src : binary file
    root : Path
        The catalogue folder.
    what : str
        What the file is, for messages ("the song").
    need_video : bool
    limit : int, optional
        Size limit, bytes.
    label : str, optional
        The user's name for the file: messages lead with it (never with a server path).
    max_duration_s : float, optional
        Longer media is refused here, before any work is queued on it.

    Returns
    -------
    (stored_name, duration_s)
    """
    limit = limit or (MAX_TAKE_BYTES if need_video else MAX_AUDIO_BYTES)
    label = user_label(label)
    try:
        tmp = _receive(src, root / "tmp", limit=limit, what=what)
    except LipcoachError as exc:
        raise type(exc)(label, exc.problem) from None
    try:
        try:
            suffix, has_audio, has_video, duration_s = media_kind(tmp)
        except LipcoachError as exc:
            raise LipcoachError(label, f"{what} is not a media file we can read ({exc.problem})") from None
        if need_video and not has_video:
            raise LipcoachError(label, f"{what} has no video")
        if not need_video and not has_audio:
            raise LipcoachError(label, f"{what} has no audio")
        if max_duration_s is not None and duration_s > max_duration_s:
            from lipcoach.media.decode import format_length

            raise LipcoachError(label, f"{what} lasts {format_length(duration_s)}; the limit here is {format_length(max_duration_s)}")
        return _commit(tmp, root / "files", suffix), duration_s
    finally:
        tmp.unlink(missing_ok=True)


def user_label(name: Optional[str]) -> Optional[str]:
    """The last part of a client's file name (a browser may send a path), or None."""
    if not name:
        return None
    base = re.split(r"[\\/]", str(name))[-1].strip()
    return base[:200] or None


def store_lyrics(src: BinaryIO, root: Path, *, label: Optional[str] = None) -> str:
    """Store uploaded lyrics after checking they are UTF-8 text; returns the stored name."""
    label = user_label(label)
    try:
        tmp = _receive(src, root / "tmp", limit=MAX_LYRICS_BYTES, what="lyrics")
    except LipcoachError as exc:
        raise type(exc)(label, exc.problem) from None
    try:
        raw = tmp.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise LipcoachError(label, "lyrics are not UTF-8 text") from None
        if "\x00" in text:
            raise LipcoachError(label, "lyrics are not text (NUL bytes)")
        if not text.strip():
            raise LipcoachError(label, "lyrics are empty")
        return _commit(tmp, root / "files", _lyrics.LYRICS_SUFFIXES[_lyrics.detect_format(text)])
    finally:
        tmp.unlink(missing_ok=True)


def store_text(text: str, root: Path) -> str:
    """Store lyrics typed into the page (same checks as an upload)."""
    import io

    return store_lyrics(io.BytesIO(text.encode("utf-8")), root)
