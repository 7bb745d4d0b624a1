"""Timed annotation tables: ``start<TAB>end<TAB>text`` rows, seconds.

The format of every hand annotation lipcoach reads in benchmarks and tests: word onsets
(``words_timed.tsv``, GRID's ``*.words.tsv``), sung lines (``lines_timed.tsv``) and labelled
breaths (``*.breaths.tsv``). A header row (or any row whose times are not numbers) is skipped,
as are rows with fewer than three columns. Fields are split on tabs only, never quoted: a
lyric word may begin with a quote mark, which must not swallow the rows after it.
"""

from __future__ import annotations

import os
from typing import Iterable

#: GRID's silence and short-pause markers, which are not words.
GRID_SILENCE_LABELS = ("sil", "sp")


def read_timed_tsv(path: str | os.PathLike, *, skip_labels: Iterable[str] = ()) -> list[tuple[float, float, str]]:
    """Rows ``(start_s, end_s, text)`` of a timed annotation table.

    Parameters
    ----------
    path : path
        A UTF-8 tab-separated file.
    skip_labels : iterable of str
        Labels to leave out, compared case-insensitively (e.g. GRID's silence markers
        ``("sil", "sp")``). Rows with empty text are always left out.

    Returns
    -------
    list of (float, float, str)
        Start and end, s, and the stripped text, in file order.
    """
    skip = {label.lower() for label in skip_labels}
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle.read().splitlines():
            parts = line.split("\t")
            if len(parts) < 3:
                continue
            try:
                start_s, end_s = float(parts[0]), float(parts[1])
            except ValueError:  # a header row
                continue
            text = parts[2].strip()
            if not text or text.lower() in skip:
                continue
            rows.append((start_s, end_s, text))
    return rows
