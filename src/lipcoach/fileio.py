"""Writing results safely: never a half-written file, never a file lipcoach did not write.

Rules every command follows (docs/safety.md):

- **Inputs are never replaced**, not even with ``--force``: an output that is the same file
  as one of the command's inputs (also through a link) is refused.
- **A file lipcoach did not write is never replaced without ``--force``.** lipcoach
  recognises its own files by their content (:func:`written_by_lipcoach`): every file it
  writes carries a mark near its start or end (the schema tag of its JSON documents, a
  header line in its exports and reports, a metadata tag in its audio and pictures).
- **Outputs are checked before any long work** (:func:`check_outputs`): a folder, a path
  under a regular file, a read-only folder or an unsupported suffix ends the command in one
  line before anything is decoded or analysed.
- **An existing output is kept unless the command succeeds**: results are written to a
  temporary file beside the target and renamed over it only at the end
  (:func:`atomic_path`, :func:`staged_outputs` for several outputs at once).
"""

from __future__ import annotations

import contextlib
import errno
import json
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

#: Text of the metadata tag lipcoach puts in the audio and pictures it writes (a comment,
#: "Software" or "Creator" field), so it can tell its own files from a user's.
WRITTEN_BY = "written by lipcoach"

#: Marks of a file lipcoach wrote, searched in its first and last :data:`MARK_WINDOW_BYTES`.
#: One per kind of file: JSON documents (schema tag or generator, always the first key),
#: enhanced LRC (``[re:lipcoach]``), ASS (``; Written by lipcoach``), WebVTT (the header
#: line), UltraStar (``#CREATOR:lipcoach``), the HTML take report (its generator meta tag)
#: and the metadata tag of audio (WAV INFO, ID3, Vorbis comment, MP4 atom) and plots
#: (PNG text chunk, SVG/PDF metadata).
OUR_MARKS = (
    re.compile(rb'\A\s*\{\s*"(?:schema|generator)":\s*"lipcoach[./ ]'),
    re.compile(rb"^\[re:lipcoach\]", re.M),
    re.compile(rb"^; Written by lipcoach", re.M),
    re.compile(rb"\A(?:\xef\xbb\xbf)?WEBVTT - lipcoach"),
    re.compile(rb"^#CREATOR:lipcoach", re.M),
    re.compile(rb"<meta name=[\"']generator[\"'] content=[\"']lipcoach"),
    re.compile(re.escape(WRITTEN_BY.encode())),
)
#: How much of the start and of the end of a file is searched for a mark, bytes.
MARK_WINDOW_BYTES = 64 * 1024


def written_by_lipcoach(path: str | os.PathLike) -> bool:
    """True when ``path`` is a regular file that carries one of lipcoach's marks (:data:`OUR_MARKS`).

    Only the first and last :data:`MARK_WINDOW_BYTES` are read, so this is cheap for a
    large practice track. A lipcoach file a user edited by hand still carries the mark and
    counts as lipcoach's.
    """
    p = Path(path)
    try:
        if not p.is_file():
            return False
        size = p.stat().st_size
        with open(p, "rb") as handle:
            head = handle.read(MARK_WINDOW_BYTES)
            tail = b""
            if size > MARK_WINDOW_BYTES:
                handle.seek(max(MARK_WINDOW_BYTES, size - MARK_WINDOW_BYTES))
                tail = handle.read()
    except OSError:
        return False
    return any(mark.search(head) or (tail and mark.search(tail)) for mark in OUR_MARKS)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file (links and ``..`` included)."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return Path(os.path.abspath(a)) == Path(os.path.abspath(b))


def _nearest_existing(folder: Path) -> Path:
    while not folder.exists() and not folder.is_symlink() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_output(
    path: str | os.PathLike,
    *,
    inputs: Iterable[str | os.PathLike | None] = (),
    force: bool = False,
    suffixes: Optional[Sequence[str]] = None,
    what: str = "output",
    ours: Optional[Callable[[Path], bool]] = None,
) -> Path:
    """Check, before any work, that ``path`` can be written as an output; return it as a Path.

    Parameters
    ----------
    path : path
        The output as the user gave it (messages name it so).
    inputs : iterable of path
        The command's inputs: an output may never be one of them, even with ``force``.
    force : bool
        Allow replacing an existing file that lipcoach did not write.
    suffixes : sequence of str, optional
        Accepted file suffixes (lower case, with the dot), e.g. ``(".png", ".svg", ".pdf")``.
    what : str
        What the output is, for messages ("plot", "song map").
    ours : callable, optional
        Extra test that an existing file is lipcoach's (for files that cannot carry a mark).

    Raises
    ------
    LipcoachError
        One line naming ``path``: unsupported suffix, an input, a folder, not a regular
        file, a file lipcoach did not write (without ``force``), a parent that is a file,
        or a folder that cannot be written.
    """
    from lipcoach.errors import LipcoachError

    p = Path(path)
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise LipcoachError(p, f"unsupported {what} format {p.suffix or '(no suffix)'!r}; use {', '.join(suffixes)}")
    for source in inputs:
        if source is not None and same_file(p, source):
            raise LipcoachError(p, f"is an input of this command; lipcoach never overwrites its inputs, not even with --force (choose another {what} name)")
    if p.is_dir():
        raise LipcoachError(p, f"is a folder; give a file name for the {what}")
    if p.exists() or p.is_symlink():
        if not p.is_file():
            raise LipcoachError(p, "exists and is not a regular file; choose another name")
        if not force and not written_by_lipcoach(p) and not (ours is not None and ours(p)):
            raise LipcoachError(p, "exists and was not written by lipcoach; it is kept (choose another name, or add --force to replace it)")
    folder = _nearest_existing(p.parent if str(p.parent) else Path("."))
    if not folder.is_dir():
        raise LipcoachError(p, f"cannot be created: {folder} is a file, not a folder")
    problem = _unwritable(folder)
    if problem:
        raise LipcoachError(p, f"cannot be written: folder {folder} {problem}")
    return p


def _unwritable(folder: Path) -> Optional[str]:
    """Why no file can be created in ``folder`` (None when one can): tried, not guessed."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        if exc.errno == errno.EROFS:
            return "is on a read-only file system"
        if exc.errno in (errno.EACCES, errno.EPERM):
            return "is not writable (permission denied)"
        if exc.errno == errno.ENOSPC:
            return "is on a full disk"
        return f"is not writable ({exc.strerror or exc})"
    return None


def check_outputs(
    outputs: Sequence[tuple[str | os.PathLike | None, Optional[Sequence[str]], str]],
    *,
    inputs: Iterable[str | os.PathLike | None] = (),
    force: bool = False,
) -> list[Optional[Path]]:
    """:func:`check_output` for several outputs ``(path or None, suffixes, what)``, which must differ."""
    from lipcoach.errors import LipcoachError

    inputs = [i for i in inputs if i is not None]
    checked: list[Optional[Path]] = []
    for path, suffixes, what in outputs:
        if path is None:
            checked.append(None)
            continue
        p = check_output(path, inputs=inputs, force=force, suffixes=suffixes, what=what)
        for other in checked:
            if other is not None and same_file(p, other):
                raise LipcoachError(p, f"is given for two outputs; give the {what} its own name")
        checked.append(p)
    return checked


def _temp_beside(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=target.parent)
    os.close(fd)
    return Path(tmp)


def _publish(tmp: Path, target: Path) -> None:
    # mkstemp makes files private (0600); give the result the permissions a plain open() would.
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, target)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    The temporary file keeps the target's suffix, so writers that choose a format by
    extension (matplotlib, PyAV) behave as for the real name. On any exception the
    temporary file is removed and ``path`` is left as it was.
    """
    with staged_outputs(path) as (tmp,):
        yield tmp


@contextlib.contextmanager
def staged_outputs(*paths: str | os.PathLike) -> Iterator[list[Path]]:
    """Temporary paths for several outputs, renamed into place together when the block succeeds.

    If anything fails inside the block, every temporary file is removed and every existing
    output is left as it was: a command never leaves one new output beside one old one
    because its second writer failed.
    """
    targets = [Path(p) for p in paths]
    temps: list[Path] = []
    try:
        for target in targets:
            temps.append(_temp_beside(target))
        yield list(temps)
        for tmp, target in zip(temps, targets):
            _publish(tmp, target)
    finally:
        for tmp in temps:
            if tmp.exists():
                tmp.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_whole(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path``, flush it to the disk and check the file holds all of it.

    ``path`` is a temporary file of :func:`atomic_path` or :func:`staged_outputs` (the edit
    lists' writers stage there), never the user's file: this makes the temp file whole, the
    rename publishes it.

    Some writers (OpenTimelineIO's JSON writer among them) do not raise when the disk fills
    up and leave a short file; writing the bytes here, with ``fsync`` and a size check,
    turns a short write into an :class:`OSError` (``ENOSPC``) before anything is renamed.
    """
    with open(path, "wb") as handle:
        written = handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    size = os.stat(path).st_size
    if written != len(data) or size != len(data):
        raise OSError(errno.ENOSPC, f"short write: {size} of {len(data)} bytes reached the disk")


def os_error_line(exc: OSError) -> str:
    """One line for a failed write (after the file's name): what happened, and that the old file is kept."""
    kept = "nothing was replaced"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"not written: the disk is full ({exc.strerror or exc}); {kept}"
    if exc.errno == errno.EROFS:
        return f"not written: the folder is on a read-only file system; {kept}"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"not written: permission denied; {kept}"
    return f"not written ({exc.strerror or type(exc).__name__}); {kept}"


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def file_sha256(path: str | os.PathLike, *, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes (identifies the exact song a map belongs to, a take already scored, a verified model file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def source_files(source: dict, beside: str | os.PathLike) -> list[Path]:
    """The files a document says it was made from (``source`` keys ``path``, ``vocals``,
    ``lyrics``, as a song map has them), where they are now.

    Relative names are looked up beside the document (``beside`` is its path) and in the
    current folder. They are inputs of any command that reads the document, so a check of
    its outputs (:func:`check_outputs`) never lets one of them be overwritten.
    """
    found: list[Path] = []
    folder = Path(beside).parent
    for key in ("path", "vocals", "lyrics"):
        value = (source or {}).get(key)
        if not isinstance(value, str) or not value:
            continue
        p = Path(value)
        for candidate in ([p] if p.is_absolute() else [folder / p, p]):
            if candidate.exists():
                found.append(candidate)
    return found
