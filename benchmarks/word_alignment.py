"""Word onset accuracy of the lyrics aligner alone (lipcoach.song.align), per song and overall.

Runs ``align_lyrics`` on the real songs of ../shared/data (JamendoLyrics French/Spanish/German
mixes with hand word timings; English UltraStar songs with karaoke timings, about ±0.1 s)
and on the synthetic singer, and scores word onsets with ``lipcoach.evaluate.words``.
Lyrics are given untimed (plain text), so the whole-song alignment is exercised.

    .venv/bin/python benchmarks/word_alignment.py [--set jam|en|all|synthetic]
        [--separation none|classical|spleeter] [--cache DIR] [SONG ...]

``--separation`` chooses the vocal guide the aligner hears: the mix itself ("none") or a
separated estimate from ``lipcoach.media.separate`` (cached as .npy in ``--cache`` because
Spleeter takes minutes per song on a busy machine). CPU seconds are the aligner's own
(process time), not the separation's.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, cached_vocal_guide  # noqa: E402

from lipcoach.evaluate.words import evaluate  # noqa: E402
from lipcoach.formats.lyrics import parse_lyrics_text, read_lyrics  # noqa: E402
from lipcoach.formats.timed_tsv import read_timed_tsv  # noqa: E402
from lipcoach.song.align import align_lyrics  # noqa: E402

LANGUAGES = {"French": "fr", "Spanish": "es", "German": "de", "English": "en"}


def real_songs(which: str):
    if which in ("all", "jam"):
        for folder in sorted((DATA / "songs" / "jamendolyrics").glob("*/")):
            if not (folder / "lyrics.txt").exists():
                continue
            meta = next(csv.DictReader(open(folder / "metadata.csv", encoding="utf-8")))
            ref = [start for start, _, _ in read_timed_tsv(folder / "words_timed.tsv")]
            yield folder.name, folder / "audio.mp3", read_lyrics(folder / "lyrics.txt"), LANGUAGES[meta["Language"]], ref
    if which in ("all", "en"):
        for folder in sorted((DATA / "songs_en").glob("*/")):
            lines = [row[2] for row in csv.reader(open(folder / "lines_timed.tsv", encoding="utf-8"), delimiter="\t", quoting=csv.QUOTE_NONE)]
            ref = [start for start, _, _ in read_timed_tsv(folder / "words_timed.tsv")]
            audio = next(p for p in sorted(folder.glob("audio.*")))
            yield folder.name, audio, parse_lyrics_text("\n".join(lines), source=str(folder)), "en", ref


def run_real(args) -> list[np.ndarray]:
    errors = []
    for name, audio, lyrics, language, ref in real_songs(args.set):
        if args.songs and name not in args.songs:
            continue
        vocal = cached_vocal_guide(name, audio, args.separation, args.cache)
        started, cpu = time.time(), time.process_time()
        words, lines = align_lyrics(vocal, sr=16000, lyrics=lyrics, language=language)
        wall, cpu = time.time() - started, time.process_time() - cpu
        if len(words) != len(ref):
            print(f"{name}: {len(words)} words aligned but {len(ref)} annotated, skipped")
            continue
        scores = evaluate(ref, np.maximum.accumulate([w.start for w in words]))  # mir_eval needs non-decreasing onsets
        errors.append(np.abs(np.array([w.start for w in words]) - np.array(ref)))
        interpolated = sum(not ln.aligned for ln in lines)
        print(
            f"{name:32s} {language} dur={len(vocal) / 16000:6.1f}s wall={wall:5.1f}s cpu={cpu:5.1f}s "
            f"AAE={scores['mean_abs_error_s']:.3f} med={scores['median_abs_error_s']:.3f} "
            f"<0.3={scores['within_0.3s'] * 100:5.1f}% unaligned={interpolated}/{len(lines)}",
            flush=True,
        )
    return errors


def run_synthetic(seeds) -> None:
    from lipcoach.testing.synthetic_song import make_song

    for guide in ("vocals", "mix"):
        errors = []
        for seed in seeds:
            song = make_song(seed=seed, sr=16000)
            words, _ = align_lyrics(getattr(song, guide), sr=16000, lyrics=parse_lyrics_text(song.lyrics_text), language="en")
            errors.append(np.abs(np.array([w.start for w in words]) - np.array([w.start for w in song.words])))
        summary(f"synthetic {guide}", errors)


def summary(label: str, errors: list[np.ndarray]) -> None:
    if errors:
        e = np.concatenate(errors)
        print(f"OVERALL {label}: words={e.size} AAE={e.mean():.3f} med={np.median(e):.3f} "
              f"<0.1={np.mean(e <= 0.1) * 100:.1f}% <0.3={np.mean(e <= 0.3) * 100:.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("songs", nargs="*", help="only these song folders")
    parser.add_argument("--set", default="all", choices=("all", "jam", "en", "synthetic"))
    parser.add_argument("--separation", default="none", choices=("none", "classical", "spleeter"))
    parser.add_argument("--cache", type=Path, default=None, help="folder for separated vocals (.npy)")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    args = parser.parse_args()
    if args.set == "synthetic":
        run_synthetic(args.seeds)
        return
    if not DATA.exists():
        raise SystemExit(f"no real test material at {DATA}")
    summary(f"{args.set} ({args.separation})", run_real(args))


if __name__ == "__main__":
    main()
