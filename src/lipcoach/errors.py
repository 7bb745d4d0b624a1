"""One error type for everything a user can get wrong.

The CLI and the web app print ``str(error)``, a single line that names the file and the
problem, and never a traceback.
"""

from __future__ import annotations

import errno
import os


class LipcoachError(Exception):
    """A problem with the user's input, reported as one line: ``"<path>: <problem>"``.

    Parameters
    ----------
    path : str or os.PathLike or None
        The file at fault (``None`` when no file is involved).
    problem : str
        What is wrong, in plain words, without a trailing full stop.
    """

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class NotFound(LipcoachError):
    """Something named by the user (a number, a take) is not in the catalogue (the web app answers 404)."""


class StorageError(LipcoachError):
    """The data folder cannot take a write: disk full, read-only, or no permission (the web app answers 507/503)."""


#: errno values meaning "this folder cannot be written", and how each reads to a user.
_STORAGE_ERRNOS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the folder is on a read-only file system",
    errno.EACCES: "lipcoach may not write there (permission denied)",
    errno.EPERM: "lipcoach may not write there (operation not permitted)",
    errno.EFBIG: "the file would grow past the size this system allows",
}
#: SQLite's own words for the same conditions (its error codes arrive as text through SQLAlchemy).
_SQLITE_STORAGE = {
    "database or disk is full": "the disk is full",
    "attempt to write a readonly database": "the catalogue is read-only",
    "unable to open database file": "the catalogue cannot be opened for writing (read-only folder, or no permission)",
    "disk i/o error": "the disk failed a write (full, removed, or failing)",
    "database is locked": "another lipcoach has held the catalogue's write lock for over 30 s; try again when it is done",
}


def storage_problem(error: BaseException, data_dir: str | os.PathLike | None = None) -> "StorageError | None":
    """``error`` as one clear :class:`StorageError` line when it says the disk or folder refused a write, else None.

    Understands :class:`OSError` (``ENOSPC``, ``EROFS``, ``EACCES`` …) and SQLite's operational
    errors as SQLAlchemy raises them (whose own text spans several lines with the SQL).
    """
    if isinstance(error, StorageError):
        return error
    found = _storage_problem(error, data_dir)
    if found is not None and data_dir is not None and found.problem != _STORAGE_ERRNOS[errno.ENOSPC] and _nearly_full(data_dir):
        return StorageError(data_dir, "the disk is full")  # SQLite reports a failed write on a full disk as an I/O error
    return found


def _nearly_full(folder: str | os.PathLike) -> bool:
    import shutil

    path = os.fspath(folder)
    while path and not os.path.exists(path):
        path = os.path.dirname(path)
    try:
        return shutil.disk_usage(path or ".").free < 1 << 20
    except OSError:
        return False


def _storage_problem(error: BaseException, data_dir) -> "StorageError | None":
    seen: set[int] = set()
    while error is not None and id(error) not in seen:  # SQLAlchemy wraps the driver's error; follow the chain
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in _STORAGE_ERRNOS:
            where = error.filename if error.filename is not None else data_dir
            return StorageError(where, _STORAGE_ERRNOS[error.errno])
        text = str(getattr(error, "orig", None) or (error if type(error).__name__ == "OperationalError" else "")).lower()
        for words, problem in _SQLITE_STORAGE.items():
            if words in text:
                return StorageError(data_dir, problem)
        error = error.__cause__ or error.__context__
    return None
