"""Progress for anything a user waits on for more than a second: one mechanism for every command.

Library code reports progress through a plain callback ``report(fraction, label)`` so that
the CLI, the web app (job table) and tests (nothing) can each show it their way. The CLI's
commands all show it with :func:`progress_bar`, in one of the :data:`MODES`:

- ``bar``: a rich progress bar on stderr (the default on a terminal);
- ``plain``: one line per step on stderr, ``[ 40%   0:12] Building x: section 2: Paper Boats``
  (the default off a terminal: logs, CI, ``2> build.log``), plus a line every
  :data:`PLAIN_EVERY_S` seconds while a long step runs on;
- ``none``: nothing.

The mode is chosen by ``lipcoach --progress MODE`` or the ``LIPCOACH_PROGRESS`` environment
variable; ``auto`` (the default) picks ``bar`` on a terminal and ``plain`` otherwise.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from typing import Callable, Iterator, Optional, TextIO

ProgressCallback = Callable[[float, str], None]

#: The ways the CLI can show progress (see the module docstring).
MODES = ("auto", "bar", "plain", "none")
#: In ``plain`` mode a step that runs on gets a line at least this often, s.
PLAIN_EVERY_S = 10.0
#: What a ``plain`` progress line looks like (``[ 40%   0:12] ...``): logs and tests can tell them from messages.
PLAIN_LINE = re.compile(r"^\[\s*\d{1,3}%\s+\d+:\d\d\] ")
_mode = "auto"


def silent(fraction: float, label: str) -> None:  # noqa: ARG001 - the do-nothing reporter
    """A progress callback that shows nothing."""


def subrange(report: Optional[ProgressCallback], start: float, stop: float) -> ProgressCallback:
    """Map a stage's own 0..1 progress into ``[start, stop]`` of the caller's bar."""
    report = report or silent

    def sub(fraction: float, label: str) -> None:
        report(start + (stop - start) * min(max(fraction, 0.0), 1.0), label)

    return sub


def set_mode(mode: Optional[str]) -> None:
    """Choose how :func:`progress_bar` shows progress for the rest of the process (``None``: auto)."""
    global _mode
    mode = (mode or "auto").strip().lower()
    if mode not in MODES:
        from lipcoach.errors import LipcoachError

        raise LipcoachError(None, f"--progress {mode!r}: choose one of {', '.join(MODES)}")
    _mode = mode


def resolved_mode(stream: Optional[TextIO] = None) -> str:
    """The mode in force: ``bar``, ``plain`` or ``none`` (``auto`` resolved on ``stream``, default stderr)."""
    mode = _mode
    if mode == "auto":
        mode = (os.environ.get("LIPCOACH_PROGRESS") or "auto").strip().lower()
        if mode not in MODES:
            mode = "auto"
    if mode == "auto":
        stream = stream or sys.stderr
        mode = "bar" if getattr(stream, "isatty", lambda: False)() else "plain"
    return mode


class PlainLines:
    """A :data:`ProgressCallback` writing one line per step (a new label) to ``stream``.

    Within a step a line is written again only after :data:`PLAIN_EVERY_S` seconds, so a log
    shows that a long step is alive without filling up; fractions never go back.
    """

    def __init__(self, description: str, stream: Optional[TextIO] = None, *, every_s: float = PLAIN_EVERY_S,
                 clock: Callable[[], float] = time.monotonic):
        self.description, self.stream, self.every_s, self.clock = description, stream, every_s, clock
        self.started = clock()
        self.label: Optional[str] = None
        self.last_line_at = -1e9
        self.fraction = 0.0

    def _write(self, fraction: float, label: str) -> None:
        elapsed = int(self.clock() - self.started)
        text = f"[{fraction * 100:3.0f}% {elapsed // 60:3d}:{elapsed % 60:02d}] {self.description}" + (f": {label}" if label else "")
        stream = self.stream or sys.stderr
        stream.write(text + "\n")
        stream.flush()
        self.last_line_at = self.clock()

    def __call__(self, fraction: float, label: str) -> None:
        self.fraction = max(self.fraction, min(max(float(fraction), 0.0), 1.0))
        if label != self.label or self.clock() - self.last_line_at >= self.every_s:
            self.label = label
            self._write(self.fraction, label)

    def finish(self) -> None:
        """The closing line (100 %), unless the last step already said "done"."""
        if self.label != "done" or self.fraction < 1.0:
            self.fraction = 1.0
            self.label = "done"
            self._write(1.0, "done")


@contextlib.contextmanager
def progress_bar(description: str, *, mode: Optional[str] = None, stream: Optional[TextIO] = None) -> Iterator[ProgressCallback]:
    """Show a command's progress (see the module docstring) while the block runs; yields the callback.

    Parameters
    ----------
    description : str
        What is being done, e.g. ``"Building boats-and-breath"``.
    mode : str, optional
        One of :data:`MODES`; default the process's (:func:`set_mode`, ``LIPCOACH_PROGRESS``).
    stream : file, optional
        Where to write (default stderr).
    """
    if mode is not None and mode not in MODES:
        raise ValueError(mode)
    chosen = resolved_mode(stream) if mode in (None, "auto") else mode
    if chosen == "none":
        yield silent
        return
    if chosen == "plain":
        lines = PlainLines(description, stream)
        yield lines
        lines.finish()  # only on success: a failed step's line stays the last one
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=Console(file=stream or sys.stderr),
    )
    with progress:
        task = progress.add_task(description, total=1.0, stage="")

        def report(fraction: float, label: str) -> None:
            progress.update(task, completed=fraction, stage=label)

        yield report
        progress.update(task, completed=1.0, stage="done")
