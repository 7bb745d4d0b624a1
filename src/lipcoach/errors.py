"""One error type for everything a user can get wrong.

The CLI and the web app print ``str(error)``, a single line that names the file and the
problem, and never a traceback.
"""

from __future__ import annotations

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
