#!/usr/bin/env python
"""Song-map accuracy, mir_eval style: word onsets, breaths, entrances, tempo.

Sets (each skipped when absent):
- synthetic: numbers from lipcoach.testing.synthetic_song with exact truth, mapped twice: from the
  clean vocal stem ("clean") and from the mix alone ("mix"; the vocal guide is separated);
- jamendo: real French/Spanish/German mixes with hand-made word onsets (../shared/data/songs);
- english: real English mixes with UltraStar karaoke timings (±0.1 s) (../shared/data/songs_en);
- breaths: real speech with hand-labelled breaths (../shared/data/breaths).

Usage: python benchmarks/song_accuracy.py [--sets synthetic,jamendo,english,breaths] [--limit N]
       [--separation auto|classical|spleeter|none] [--cache DIR] [--json out/bench/song_accuracy.json]

Real songs are separated once per method (cached with --cache) and then mapped with that
guide given as the stem, so the "seconds" column is the map without separation.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, cached_vocal_guide, english_lyrics_text, english_songs, jamendo_songs, match_words, read_words_tsv  # noqa: E402

from lipcoach import schema  # noqa: E402
from lipcoach.evaluate import breaths as breath_eval  # noqa: E402
from lipcoach.evaluate import entrances as entrance_eval  # noqa: E402
from lipcoach.evaluate import words as word_eval  # noqa: E402
from lipcoach.media.decode import write_wav  # noqa: E402
from lipcoach.song.analyze import analyze_song, default_separation  # noqa: E402


def word_scores(truth: list[tuple[float, float, str]], songmap) -> dict:
    """Word-onset metrics on the words matched by text (unmatched truth words count as misses)."""
    pairs = match_words([t[2] for t in truth], [w.text for w in songmap.words])
    ref = np.array([truth[i][0] for i, _ in pairs])
    est = np.array([songmap.words[j].start for _, j in pairs])
    scores = dict(word_eval.evaluate(ref, est)) if len(pairs) else {}
    scores["matched_share"] = len(pairs) / max(1, len(truth))
    return scores


def run_synthetic(args) -> list[dict]:
    from lipcoach.testing.synthetic_song import make_song

    rows = []
    configs = [dict(seed=s, tempo_bpm=t) for s, t in zip(range(args.synthetic), (84, 96, 108, 120, 132, 90))]
    for config in configs:
        song = make_song(**config)
        with tempfile.TemporaryDirectory() as tmp:
            paths = song.write(tmp)
            for mode in ("clean", "mix"):
                t0 = time.perf_counter()
                songmap = analyze_song(
                    paths["mix.wav"], lyrics_path=paths["lyrics.txt"], vocals_path=paths["vocals.wav"] if mode == "clean" else None,
                    separation=args.separation,
                )
                elapsed = time.perf_counter() - t0
                truth = [(w.start, w.end, w.text) for w in song.words]
                row = dict(set="synthetic", mode=mode, name=f"seed{config['seed']}@{config['tempo_bpm']}bpm", seconds=elapsed)
                row.update(word_scores(truth, songmap))
                b = breath_eval.evaluate(np.array([[x.start, x.end] for x in song.breaths]), np.array([[x.start, x.end] for x in songmap.breaths]).reshape(-1, 2))
                row.update({f"breath_{k}": v for k, v in b.items()})
                # The map's own slot, offset and label, as the actor sees them.
                est = entrance_eval.from_entrances([line.entrance for line in songmap.lines])
                e = entrance_eval.evaluate(song.line_beats, song.entrance_offsets_ms, est["slots_s"], est["offsets_ms"], est["labels"])
                row.update({f"entrance_{k}": v for k, v in e.items()})
                row["tempo_error_bpm"] = abs(songmap.tempo_bpm - song.tempo_bpm)
                rows.append(row)
                print_row(row)
    return rows


def run_real(args, which: str) -> list[dict]:
    songs = jamendo_songs() if which == "jamendo" else english_songs()
    rows = []
    for song in songs[: args.limit or None]:
        with tempfile.TemporaryDirectory() as tmp:
            lyrics = song.get("lyrics")
            if lyrics is None:  # English set: lyrics are the annotated lines' text
                lyrics = Path(tmp) / "lyrics.txt"
                lyrics.write_text(english_lyrics_text(song), encoding="utf-8")
            method = default_separation() if args.separation == "auto" else args.separation
            guide = None
            if method != "none":
                # Separate once (cached): the map is then made from that guide as if it were a stem.
                guide = Path(tmp) / "guide.wav"
                write_wav(guide, cached_vocal_guide(song["name"], song["audio"], method, args.cache), 16000)
            t0 = time.perf_counter()
            songmap = analyze_song(song["audio"], lyrics_path=lyrics, vocals_path=guide, language=song["language"], separation=method)
            elapsed = time.perf_counter() - t0
        schema.validate(songmap.to_dict(), "lipcoach.songmap")  # every real song must give a valid map
        row = dict(set=which, mode=method, name=song["name"], seconds=elapsed)
        row.update(word_scores(song["truth"], songmap))
        rows.append(row)
        print_row(row)
    return rows


def run_breaths(args) -> list[dict]:
    from lipcoach.media.decode import load_audio
    from lipcoach.song.breaths import detect_breaths

    rows = []
    for wav in sorted((DATA / "breaths" / "libritts_test_clean").glob("*.wav")):
        truth = np.array([[s, e] for s, e, _ in read_words_tsv(wav.with_suffix("").with_suffix(".breaths.tsv"))]).reshape(-1, 2)
        audio, sr = load_audio(wav, sr=16000)
        found = detect_breaths(audio, sr=sr)
        est = np.array([[b.start, b.end] for b in found]).reshape(-1, 2)
        row = dict(set="breaths", mode="speech", name=wav.stem)
        row.update({f"breath_{k}": v for k, v in breath_eval.evaluate(truth, est).items()})
        rows.append(row)
        print_row(row)
    return rows


def print_row(row: dict) -> None:
    keep = ["mean_abs_error_s", "within_0.3s", "matched_share", "breath_precision", "breath_recall", "breath_f1", "entrance_mean_abs_error_ms", "tempo_error_bpm", "seconds"]
    parts = [f"{k}={row[k]:.3f}" for k in keep if k in row and isinstance(row[k], (int, float)) and np.isfinite(row[k])]
    print(f"{row['set']:9s} {row['mode']:9s} {row['name']:32s} " + " ".join(parts), flush=True)


def overall(rows: list[dict]) -> None:
    print("\n== overall (mean over songs; breath figures pooled by summing matches) ==")
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["set"], row["mode"]), []).append(row)
    for (name, mode), group in groups.items():
        parts = []
        for key in ("mean_abs_error_s", "median_abs_error_s", "within_0.3s", "matched_share", "entrance_mean_abs_error_ms", "entrance_median_abs_error_ms", "entrance_within_20ms", "tempo_error_bpm", "seconds"):
            values = [r[key] for r in group if key in r and np.isfinite(r[key])]
            if values:
                parts.append(f"{key}={np.mean(values):.3f}")
        tp = sum(r.get("breath_true_positives", 0) for r in group)
        n_ref = sum(r.get("breath_n_reference", 0) for r in group)
        n_est = sum(r.get("breath_n_estimated", 0) for r in group)
        if n_ref or n_est:
            p, r = tp / max(1, n_est), tp / max(1, n_ref)
            parts.append(f"breath_P={p:.3f} breath_R={r:.3f} breath_F1={2 * p * r / max(1e-9, p + r):.3f}")
        print(f"{name:9s} {mode:9s} n={len(group):2d} " + " ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="synthetic,jamendo,english,breaths")
    parser.add_argument("--limit", type=int, default=0, help="at most N songs per real set")
    parser.add_argument("--synthetic", type=int, default=4, help="number of synthetic songs")
    parser.add_argument("--separation", default="auto")
    parser.add_argument("--cache", type=Path, default=None, help="folder for separated vocal guides (.npy), reused between runs")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sets = args.sets.split(",")
    rows: list[dict] = []
    if "synthetic" in sets:
        rows += run_synthetic(args)
    if not DATA.exists():
        print(f"(no {DATA}: real sets skipped)")
    else:
        for which in ("jamendo", "english"):
            if which in sets:
                rows += run_real(args, which)
        if "breaths" in sets:
            rows += run_breaths(args)
    overall(rows)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1, default=float))


if __name__ == "__main__":
    main()
