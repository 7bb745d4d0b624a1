"""Progress bars for anything a user waits on for more than a second.

Library code reports progress through a plain callback ``report(fraction, label)`` so that
the CLI (rich), the web app (job table) and tests (nothing) can each show it their way.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator, Optional

ProgressCallback = Callable[[float, str], None]


def silent(fraction: float, label: str) -> None:  # noqa: ARG001 - the do-nothing reporter
    """A progress callback that shows nothing."""


def subrange(report: Optional[ProgressCallback], start: float, stop: float) -> ProgressCallback:
    """Map a stage's own 0..1 progress into ``[start, stop]`` of the caller's bar."""
    report = report or silent

    def sub(fraction: float, label: str) -> None:
        report(start + (stop - start) * min(max(fraction, 0.0), 1.0), label)

    return sub


@contextlib.contextmanager
def rich_bar(description: str) -> Iterator[ProgressCallback]:
    """A rich progress bar on stderr, driven by a :data:`ProgressCallback`."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        transient=not sys.stderr.isatty(),
        disable=not sys.stderr.isatty(),
    )
    with progress:
        task = progress.add_task(description, total=1.0, stage="")

        def report(fraction: float, label: str) -> None:
            progress.update(task, completed=fraction, stage=label)

        yield report
        progress.update(task, completed=1.0, stage="done")
