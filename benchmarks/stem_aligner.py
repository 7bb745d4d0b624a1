#!/usr/bin/env python
"""Which aligner on a clean vocal stem: the hybrid (Whisper anchors + phone pass) or PocketSphinx alone.

``analyze_song``'s ``aligner="auto"`` picks the hybrid on a mix (benchmarks/song_accuracy.py
measures it on real mixes) and PocketSphinx alone when the user gives a vocal stem. This is
the measurement behind the second half of that rule: numbers of the synthetic singer
(``lipcoach.testing.synthetic_song``, eSpeak NG voices, deterministic), mapped from their
clean vocal stem by both aligners in the same run, word onsets scored with
``lipcoach.evaluate.words`` (mir_eval). No real stem with word truth exists here, so the
rule rests on this synthetic material alone.

Usage: python benchmarks/stem_aligner.py [--songs 6] [--json benchmarks/results/stem_aligner.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from lipcoach.evaluate import words as word_eval
from lipcoach.song.analyze import analyze_song
from lipcoach.testing.synthetic_song import make_song

ALIGNERS = ("hybrid", "pocketsphinx")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=6, help="synthetic numbers (seeds 1..N, tempo 100..160 BPM)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    per_song: list[dict] = []
    onsets: dict[str, list[np.ndarray]] = {name: [] for name in ALIGNERS}
    truths: list[np.ndarray] = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, args.songs + 1):
            song = make_song(n_lines=4, seed=seed, tempo_bpm=90.0 + 10.0 * seed)
            paths = song.write(Path(tmp) / f"song{seed}")
            truth = np.array([w.start for w in song.words])
            truths.append(truth)
            row = {"seed": seed, "tempo_bpm": 90.0 + 10.0 * seed, "words": len(truth)}
            for name in ALIGNERS:
                songmap = analyze_song(paths["mix.wav"], lyrics_path=paths["lyrics.txt"], vocals_path=paths["vocals.wav"], aligner=name)
                estimated = np.array([w.start for w in songmap.words])
                onsets[name].append(estimated)
                row[name] = word_eval.evaluate(truth, estimated)
            per_song.append(row)
            print(f"seed {seed}: " + " | ".join(f"{n}: {row[n]['within_0.3s']:.3f} within 0.3 s, {row[n]['within_0.1s']:.3f} within 0.1 s"
                                                for n in ALIGNERS), flush=True)
    # Pooled over every word: songs laid end to end (1000 s apart) so the onsets keep increasing.
    def laid_end_to_end(arrays: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([a + 1000.0 * k for k, a in enumerate(arrays)])

    pooled = {name: word_eval.evaluate(laid_end_to_end(truths), laid_end_to_end(onsets[name])) for name in ALIGNERS}
    for name in ALIGNERS:
        print(f"pooled {name:13s} AAE {pooled[name]['mean_abs_error_s']:.3f} s  within 0.3 s {pooled[name]['within_0.3s']:.3f}  "
              f"within 0.1 s {pooled[name]['within_0.1s']:.3f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"songs": per_song, "pooled": pooled}, indent=1, default=float))
        print(f"JSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
