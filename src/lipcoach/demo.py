"""The built-in demo number: a synthetic song the project generates itself, mapped end to end."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from lipcoach.progress import ProgressCallback, silent, subrange

#: Seed of the demo number (the same song every time).
DEMO_SEED = 7


def demo_paths(out_dir: str | os.PathLike) -> dict[str, Path]:
    """Every file the demo writes into ``out_dir``, by name.

    The generated number goes into ``demo/`` (mix.wav, vocals.wav, lyrics.txt, truth.json);
    its map, plot and exports sit beside it (song.json, song.png, song.lrc, song.ass,
    song.vtt, song.ultrastar.txt).
    """
    from lipcoach.formats.karaoke import SUFFIXES

    out = Path(out_dir)
    paths = {name: out / "demo" / name for name in ("mix.wav", "vocals.wav", "lyrics.txt", "truth.json")}
    paths |= {"song.json": out / "song.json", "song.png": out / "song.png"}
    paths |= {f"song{suffix}": out / f"song{suffix}" for suffix in SUFFIXES.values()}
    return paths


def run_demo(out_dir: str | os.PathLike, *, force: bool = False, report: Optional[ProgressCallback] = None) -> dict[str, Path]:
    """Generate the demo number into ``out_dir``, map it, draw it and export karaoke files.

    Existing files are replaced only when an earlier demo (or another lipcoach command)
    wrote them, or with ``force`` (:func:`lipcoach.fileio.check_output`); all are checked
    before anything is written. Returns the paths written, by name (:func:`demo_paths`).
    """
    from lipcoach.fileio import check_output
    from lipcoach.song.analyze import analyze_song
    from lipcoach.formats.karaoke import SUFFIXES, write_export
    from lipcoach.figures.songmap_plot import plot_songmap
    from lipcoach.testing.synthetic_song import make_song

    report = report or silent
    planned = demo_paths(out_dir)
    report(0.0, "generating the demo number")
    song = make_song(seed=DEMO_SEED)
    demo_lyrics = song.lyrics_text + "\n"

    def same_lyrics(path: Path) -> bool:  # plain lyrics carry no mark: ours if they are the demo's own
        try:
            return path.read_text(encoding="utf-8") == demo_lyrics
        except (OSError, UnicodeDecodeError):
            return False

    for name, path in planned.items():
        check_output(path, force=force, what=name, ours=same_lyrics if name == "lyrics.txt" else None)
    paths = song.write(planned["mix.wav"].parent)
    songmap = analyze_song(paths["mix.wav"], lyrics_path=paths["lyrics.txt"], vocals_path=paths["vocals.wav"], report=subrange(report, 0.1, 0.9))
    paths["song.json"] = planned["song.json"]
    songmap.save(paths["song.json"])
    report(0.9, "plot and exports")
    paths["song.png"] = planned["song.png"]
    plot_songmap(songmap, paths["song.png"], audio=song.mix, sr=song.sr)
    for fmt, suffix in SUFFIXES.items():
        paths[f"song{suffix}"] = planned[f"song{suffix}"]
        write_export(songmap, fmt, paths[f"song{suffix}"])
    report(1.0, "done")
    return paths
