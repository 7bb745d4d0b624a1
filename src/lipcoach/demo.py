"""The built-in demo number: a synthetic song the project generates itself, mapped end to end."""

from __future__ import annotations

import os
import shutil
import tempfile
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
    # Everything is made in a hidden folder inside ``out_dir`` and moved into place only once
    # complete: an interrupted or failed demo leaves no half-made folder behind.
    out = Path(out_dir)
    made = [folder for folder in (planned["mix.wav"].parent, out, *out.parents) if not folder.exists()]
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".lipcoach-demo-", dir=out))
    try:
        staged = {name: work / path.relative_to(out) for name, path in planned.items()}
        written = song.write(staged["mix.wav"].parent)
        songmap = analyze_song(written["mix.wav"], lyrics_path=written["lyrics.txt"], vocals_path=written["vocals.wav"],
                               report=subrange(report, 0.1, 0.9))
        # The map names the files where they will be, not where they were made.
        songmap.source.update(path=str(planned["mix.wav"]), vocals=str(planned["vocals.wav"]), lyrics=str(planned["lyrics.txt"]))
        songmap.save(staged["song.json"])
        report(0.9, "plot and exports")
        plot_songmap(songmap, staged["song.png"], audio=song.mix, sr=song.sr)
        for fmt, suffix in SUFFIXES.items():
            write_export(songmap, fmt, staged[f"song{suffix}"])
        planned["mix.wav"].parent.mkdir(exist_ok=True)
        for name, path in planned.items():
            os.replace(staged[name], path)
    except BaseException:  # Ctrl-C included
        shutil.rmtree(work, ignore_errors=True)
        for folder in made:  # innermost first; only folders this run created, and only if empty
            try:
                folder.rmdir()
            except OSError:
                pass
        raise
    shutil.rmtree(work, ignore_errors=True)
    paths = dict(planned)
    report(1.0, "done")
    return paths
