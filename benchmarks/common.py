"""Shared helpers for the benchmark scripts: where the data is, reading its annotations."""

from __future__ import annotations

import csv
import difflib
import os
import re
import unicodedata
from pathlib import Path

import numpy as np

from lipcoach.formats.timed_tsv import read_timed_tsv

REPO = Path(__file__).resolve().parents[1]
#: ../shared/data beside the repository; LIPCOACH_SHARED_DATA points elsewhere (a git worktree).
DATA = Path(os.environ.get("LIPCOACH_SHARED_DATA") or REPO.parent / "shared" / "data")


def normalise(word: str) -> str:
    """Lower-case letters and apostrophes only: how annotations and lyrics are compared."""
    word = unicodedata.normalize("NFC", word.lower()).replace("’", "'")
    return re.sub(r"[^\w']", "", word)


def match_words(ref_words: list[str], est_words: list[str]) -> list[tuple[int, int]]:
    """Index pairs (ref, est) of the same word in the same order (difflib on normalised text)."""
    a = [normalise(w) for w in ref_words]
    b = [normalise(w) for w in est_words]
    pairs = []
    for block in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks():
        pairs.extend((block.a + k, block.b + k) for k in range(block.size))
    return pairs


def jamendo_songs() -> list[dict]:
    """The JamendoLyrics mixes: audio, plain lyrics, word truth and language."""
    root = DATA / "songs" / "jamendolyrics"
    songs = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir()):
        meta = next(csv.DictReader((folder / "metadata.csv").open(encoding="utf-8")))
        language = {"English": "en", "French": "fr", "Spanish": "es", "German": "de"}.get(meta.get("Language", ""), "en")
        songs.append(
            dict(name=folder.name, audio=folder / "audio.mp3", lyrics=folder / "lyrics.txt", truth=read_timed_tsv(folder / "words_timed.tsv"), language=language)
        )
    return songs


def english_songs() -> list[dict]:
    """The UltraStar English songs: audio, lyrics from the timed lines, word truth (±0.1 s)."""
    root = DATA / "songs_en"
    songs = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir()):
        audio = next((folder / name for name in ("audio.mp3", "audio.ogg") if (folder / name).exists()), None)
        if audio is None:
            continue
        songs.append(dict(name=folder.name, audio=audio, lines=folder / "lines_timed.tsv", truth=read_timed_tsv(folder / "words_timed.tsv"), language="en"))
    return songs


def english_lyrics_text(song: dict) -> str:
    """Plain lyrics of an English song: the annotated lines' text, one per line."""
    rows = csv.reader(song["lines"].open(encoding="utf-8"), delimiter="\t", quoting=csv.QUOTE_NONE)
    return "\n".join(row[2] for row in rows if len(row) >= 3) + "\n"


def cached_vocal_guide(name: str, audio: Path, separation: str, cache: Path | None) -> np.ndarray:
    """The vocal guide of a song at 16 kHz, separated once and kept in ``cache`` as .npy.

    Spleeter takes minutes per song on a busy machine; the benchmarks share its results.
    """
    from lipcoach.media.decode import load_audio

    if separation == "none":
        return load_audio(audio, sr=16000)[0]
    cached = cache / f"{name}_{separation}.npy" if cache else None
    if cached is not None and cached.exists():
        return np.load(cached)
    from lipcoach.song.analyze import load_vocal_guide

    _, vocal, method = load_vocal_guide(audio, separation=separation)
    if method != separation:
        raise SystemExit(f"{name}: asked for {separation} separation, got {method}")
    if cached is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.save(cached, vocal)
    return vocal


def split_songs(songs: list[dict]) -> tuple[list[dict], list[dict]]:
    """Calibration and evaluation halves of the real songs: a fixed, documented rule.

    All songs (songs_en and JamendoLyrics together) sorted by folder name; the 1st, 3rd,
    5th... go to calibration, the 2nd, 4th, 6th... to evaluation. Constants fitted on the
    calibration half (confidence weights, flag threshold) are judged on the evaluation half.
    """
    ordered = sorted(songs, key=lambda song: song["name"])
    return ordered[0::2], ordered[1::2]
