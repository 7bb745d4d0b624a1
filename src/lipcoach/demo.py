"""The built-in demo number: a synthetic song the project generates itself, mapped end to end."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from lipcoach.progress import ProgressCallback, silent, subrange


def run_demo(out_dir: str | os.PathLike, *, report: Optional[ProgressCallback] = None) -> dict[str, Path]:
    """Generate the demo number into ``out_dir``, map it, draw it and export karaoke files.

    Returns the paths written, by name ("mix.wav", "lyrics.txt", "song.json", "song.png",
    "song.lrc", "song.ass", "song.vtt", "song.txt").
    """
    from lipcoach.song.analyze import analyze_song
    from lipcoach.song.export import write_export
    from lipcoach.song.plot import plot_songmap
    from lipcoach.song.synthetic import make_song

    report = report or silent
    out = Path(out_dir)
    report(0.0, "generating the demo number")
    song = make_song(seed=7)
    paths = song.write(out / "demo")
    songmap = analyze_song(paths["mix.wav"], lyrics_path=paths["lyrics.txt"], vocals_path=paths["vocals.wav"], report=subrange(report, 0.1, 0.9))
    paths["song.json"] = out / "song.json"
    songmap.save(paths["song.json"])
    report(0.9, "plot and exports")
    paths["song.png"] = out / "song.png"
    plot_songmap(songmap, paths["song.png"], audio=song.mix, sr=song.sr)
    for fmt, suffix in (("lrc", ".lrc"), ("ass", ".ass"), ("vtt", ".vtt"), ("ultrastar", ".txt")):
        paths[f"song{suffix}"] = out / f"song{suffix}"
        write_export(songmap, fmt, paths[f"song{suffix}"])
    report(1.0, "done")
    return paths
