"""Pre-flight checks of the commands: everything that can be known wrong before the long work.

Each function takes a command's arguments as the user gave them and raises
:class:`~lipcoach.errors.LipcoachError` (one line naming the user's file) before anything
is decoded, analysed or written. The rules on outputs are those of :mod:`lipcoach.fileio`:
inputs are never replaced, files lipcoach did not write only with ``force``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from lipcoach.errors import LipcoachError
from lipcoach.fileio import check_outputs

#: Suffixes of the song map and of the take report's JSON.
JSON_SUFFIXES = (".json",)
#: Suffixes of the take report page.
HTML_SUFFIXES = (".html", ".htm")


def songmap_sources(songmap, map_path: str | os.PathLike) -> list[Path]:
    """The files a song map was made from (song, vocal stem, lyrics), where they are now.

    Relative names are looked up beside the map and in the current folder; all of them are
    inputs of any command that reads the map, so none of them is ever overwritten.
    """
    found: list[Path] = []
    folder = Path(map_path).parent
    for key in ("path", "vocals", "lyrics"):
        value = (songmap.source or {}).get(key)
        if not isinstance(value, str) or not value:
            continue
        p = Path(value)
        for candidate in ([p] if p.is_absolute() else [folder / p, p]):
            if candidate.exists():
                found.append(candidate)
    return found


def check_analyze(song: Path, *, output: Path, plot: Optional[Path], lyrics: Optional[Path], vocals: Optional[Path],
                  force: bool = False) -> None:
    """``lipcoach analyze``: the map and plot can be written and replace none of the inputs."""
    from lipcoach.figures.songmap_plot import PLOT_SUFFIXES

    check_outputs([(output, None, "song map"), (plot, PLOT_SUFFIXES, "plot")], inputs=[song, lyrics, vocals], force=force)


def default_export_path(songmap_path: str | os.PathLike, fmt: str) -> Path:
    """Where ``lipcoach export`` writes without ``-o``: beside the map, named after it.

    ``song.json`` → ``song.lrc``, ``song.ass``, ``song.vtt``, ``song.ultrastar.txt``
    (:data:`lipcoach.formats.karaoke.SUFFIXES`).
    """
    from lipcoach.formats.karaoke import SUFFIXES

    p = Path(songmap_path)
    stem = p.stem if p.suffix.lower() == ".json" else p.name
    return p.with_name(stem + SUFFIXES[fmt])


def check_export(songmap_path: Path, songmap, fmt: str, output: Optional[Path], *, force: bool = False) -> Path:
    """``lipcoach export``: the output path (default :func:`default_export_path`), checked."""
    output = output if output is not None else default_export_path(songmap_path, fmt)
    check_outputs([(output, None, f"{fmt} export")], inputs=[songmap_path, *songmap_sources(songmap, songmap_path)], force=force)
    return output


def check_score(take: Path, songmap_path: Path, songmap, *, output: Path, json_path: Optional[Path],
                song_audio: Optional[Path], force: bool = False, max_take_s: Optional[float] = None) -> None:
    """``lipcoach score``: the take is a readable video within the length limit; the report and JSON can be written."""
    from lipcoach.take.mouth import MAX_TAKE_DURATION_S
    from lipcoach.take.score import check_take

    check_take(take, songmap, max_take_s=MAX_TAKE_DURATION_S if max_take_s is None else max_take_s)
    if song_audio is not None and not Path(song_audio).exists():
        raise LipcoachError(song_audio, "no such file")
    check_outputs([(output, HTML_SUFFIXES, "report"), (json_path, JSON_SUFFIXES, "JSON report")],
                  inputs=[take, songmap_path, song_audio, *songmap_sources(songmap, songmap_path)], force=force)


def check_studio(data_dir: Optional[Path], number: Optional[int], songmap):
    """``lipcoach score --data DIR --number N``: the studio and the number the take will join.

    Returns the :class:`~lipcoach.production.catalogue.Catalogue` (None without ``--data``),
    opened beside a possibly running studio without touching its files.

    Raises
    ------
    LipcoachError
        Only one of the two options, DIR not a studio folder, or number N unable to take
        this take (no such number, another song, no map yet, other lines), naming DIR.
    """
    if (data_dir is None) != (number is None):
        raise LipcoachError(None, "--data and --number go together: the studio folder and the number the take joins")
    if data_dir is None:
        return None
    if not (Path(data_dir) / "catalogue.sqlite").is_file():
        raise LipcoachError(data_dir, "is not a studio folder (no catalogue.sqlite); start one with `lipcoach serve --data FOLDER`")
    from lipcoach.production.catalogue import Catalogue

    catalogue = Catalogue(data_dir, start_up=False)
    try:
        with catalogue.session() as s:
            catalogue.take_target(s, number, songmap)
    except LipcoachError as exc:
        raise LipcoachError(data_dir, exc.problem) from None
    return catalogue


def check_practice_track(song_or_songmap: Path, *, output: Path, force: bool = False) -> None:
    """``lipcoach practice-track``: the track can be written and replaces neither the song nor its map."""
    from lipcoach.practice import OUTPUT_SUFFIXES, resolve_inputs

    song_path, _songmap = resolve_inputs(song_or_songmap)
    check_outputs([(output, OUTPUT_SUFFIXES, "practice track")], inputs=[song_or_songmap, song_path], force=force)
