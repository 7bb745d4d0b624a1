"""Breath detection accuracy on real speech with hand-labelled breaths and on the synthetic singer.

Usage: .venv/bin/python benchmarks/breath_accuracy.py [--data ../shared/data] [--seeds 0 1 2 3]

Prints precision / recall / F1 per file and pooled (matched pairs summed over files), the
matching rule of :mod:`lipcoach.evaluate.breaths` (IoU ≥ 0.2), with and without the inferred
silent inhalations, and on the synthetic singer also breath level error and entrance error.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from lipcoach.evaluate import breaths as breath_eval
from lipcoach.media.decode import load_audio
from lipcoach.song.breaths import detect_breaths

ROOT = Path(__file__).resolve().parents[1]


def _pooled(rows: list[dict]) -> dict:
    n_ref = sum(r["n_reference"] for r in rows)
    n_est = sum(r["n_estimated"] for r in rows)
    hits = sum(r["true_positives"] for r in rows)
    p = hits / n_est if n_est else 0.0
    r = hits / n_ref if n_ref else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "n_reference": n_ref, "n_estimated": n_est}


def _line(name: str, s: dict) -> str:
    extra = ""
    if "onset_mae_s" in s and s.get("true_positives"):
        extra = f"  onset MAE {s['onset_mae_s'] * 1000:5.0f} ms  offset MAE {s['offset_mae_s'] * 1000:5.0f} ms"
    return f"  {name:44s} P {s['precision']:.2f}  R {s['recall']:.2f}  F1 {s['f1']:.2f}  ({s['n_reference']} ref, {s['n_estimated']} est){extra}"


def speech(data: Path, *, infer_silent: bool) -> list[dict]:
    rows = []
    for wav in sorted((data / "breaths" / "libritts_test_clean").glob("*.wav")):
        audio, sr = load_audio(wav, sr=16000)
        ref = np.loadtxt(wav.with_suffix(".breaths.tsv"), skiprows=1, usecols=(0, 1), ndmin=2).tolist()
        est = detect_breaths(audio, sr=sr, infer_silent=infer_silent)
        scores = breath_eval.evaluate(ref, [[b.start, b.end] for b in est])
        print(_line(wav.stem, scores))
        rows.append(scores)
    print(_line("pooled", _pooled(rows)))
    return rows


def respiro_smoke(data: Path) -> None:
    folder = data / "breaths" / "respiro_samples"
    for wav in sorted(folder.glob("*.wav")):
        audio, sr = load_audio(wav, sr=16000)
        est = detect_breaths(audio, sr=sr)
        text = ", ".join(f"{b.start:.2f}–{b.end:.2f}{'' if b.audible else ' (inaudible)'}" for b in est)
        predicted = wav.with_name(wav.stem + ".predicted_breaths.tsv")
        note = ""
        if predicted.exists():
            ref = np.loadtxt(predicted, skiprows=1, usecols=(0, 1), ndmin=2).tolist()
            s = breath_eval.evaluate(ref, [[b.start, b.end] for b in est])
            note = f"   vs Respiro-en model output: P {s['precision']:.2f} R {s['recall']:.2f}"
        print(f"  {wav.stem}: {text}{note}")


def synthetic(seeds: list[int], *, source: str, with_words: bool, accompaniment_db: float = -14.0) -> list[dict]:
    from lipcoach.song.songmap import Line, Word
    from lipcoach.song.synthetic import make_song

    rows = []
    level_errors = []
    for seed in seeds:
        song = make_song(seed=seed, tempo_bpm=[96.0, 120.0, 84.0, 140.0][seed % 4], accompaniment_db=accompaniment_db)
        signal = song.vocals if source == "stem" else song.mix
        words = lines = None
        if with_words:
            words = [Word(text=w.text, start=w.start, end=w.end, line=w.line) for w in song.words]
            lines = [Line(text=t, start=a, end=b) for t, (a, b) in zip(song.line_texts, song.line_spans())]
        est = detect_breaths(signal, sr=song.sr, words=words, lines=lines)
        ref = [[b.start, b.end] for b in song.breaths]
        scores = breath_eval.evaluate(ref, [[b.start, b.end] for b in est])
        for r, e in breath_eval.match(ref, [[b.start, b.end] for b in est]):
            level_errors.append(est[e].level_db - song.breaths[r].level_db)
        print(_line(f"seed {seed} ({song.tempo_bpm:.0f} bpm)", scores))
        rows.append(scores)
    pooled = _pooled(rows)
    print(_line("pooled", pooled))
    if level_errors:
        print(f"  breath level error: mean {np.mean(level_errors):+.1f} dB, mean |error| {np.mean(np.abs(level_errors)):.1f} dB")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    args = parser.parse_args()
    t0 = time.time()
    if (args.data / "breaths").exists():
        for infer in (True, False):
            print(f"Real speech, LibriTTS test-clean, hand labels (infer_silent={infer}):")
            speech(args.data, infer_silent=infer)
        print("Respiro samples (smoke test; no hand labels):")
        respiro_smoke(args.data)
    else:
        print(f"{args.data / 'breaths'} not found: skipping real speech")
    for source, with_words in (("stem", True), ("stem", False), ("mix", True), ("mix", False)):
        print(f"Synthetic singer, {source}, {'with' if with_words else 'without'} words:")
        synthetic(args.seeds, source=source, with_words=with_words)
    print(f"({time.time() - t0:.1f} s)")


if __name__ == "__main__":
    main()
