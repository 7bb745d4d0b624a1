"""Song map versions in a catalogue: a person's edits saved as new versions, never lost.

An edit is applied by :mod:`lipcoach.song.edit` to the version the person opened and saved
as the next version under the catalogue's write lock, so concurrent saves are serialised:
each accepted edit becomes its own version. An edit made on a version that is no longer the
latest is refused with :class:`~lipcoach.production.catalogue.StaleMap` (the web app answers
409), so a newer map (another person's edit, a finished analysis) is never buried.
"""

from __future__ import annotations

from typing import Optional, Sequence

from lipcoach.errors import LipcoachError
from lipcoach.production.catalogue import Catalogue, Song, StaleMap
from lipcoach.song.edit import WordTime, retime_words

__all__ = ["save_word_times", "StaleMap"]


def save_word_times(cat: Catalogue, song_id: int, words: Sequence[WordTime], *, base_version: Optional[int] = None,
                    note: str = "") -> tuple[int, int]:
    """Save a person's word times as the next version of a song's map.

    Parameters
    ----------
    cat : Catalogue
    song_id : int
    words : sequence of WordTime
        The moved words, times in seconds of the song.
    base_version : int, optional
        The version the person edited. None: the latest, whatever it is when the lock is taken.
    note : str
        Kept with the version (first 500 characters).

    Returns
    -------
    (version, songmap_version_id)

    Raises
    ------
    StaleMap
        ``base_version`` is no longer the latest.
    LipcoachError
        No such song, no map yet, or an edit that cannot apply (see :func:`retime_words`).
    """
    with cat.session() as s:
        if s.get(Song, song_id) is None:
            raise LipcoachError(None, f"no song {song_id}")
        cat.lock_song(s, song_id)  # from here on no other version can be added until commit
        latest = cat.latest_map(s, song_id)
        if latest is None:
            raise LipcoachError(None, "this song has no song map to edit")
        if base_version is not None and base_version != latest.version:
            if cat.map_version(s, song_id, base_version) is None:
                raise LipcoachError(None, f"there is no song map version {base_version}")
            raise StaleMap(base_version, latest.version)
        edited = retime_words(cat.load_map(latest), words)
        edited.source = {**edited.source, "edited_from_version": latest.version}
        row = cat.add_map_version(s, song_id, edited, origin="edit", note=note, base_version=latest.version)
        s.commit()
        return row.version, row.id
