"""Breaths, beats and entrances: accuracy on real speech (hand-labelled breaths) and the synthetic singer.

Usage: .venv/bin/python benchmarks/breath_accuracy.py [--data ../shared/data] [--seeds 0 1 2 3]

Breaths: precision / recall / F1 per file and pooled (matched pairs summed over files), with
the matching rule of :mod:`lipcoach.evaluate.breaths` (IoU ≥ 0.2), with and without the
inferred silent inhalations; on the synthetic singer also the breath level error.
Beats and entrances (synthetic singer, click track under the voice): tempo error, beat time
error, downbeat hit rate, and line entrance error with the aligner's first-word onsets
jittered by ±50 ms and refined on the vocal stem (or on the mix).
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
    onset_hits = sum(r["onset_true_positives"] for r in rows)
    op = onset_hits / n_est if n_est else 0.0
    orr = onset_hits / n_ref if n_ref else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "n_reference": n_ref, "n_estimated": n_est,
            "onset_f1": 2 * op * orr / (op + orr) if op + orr else 0.0}


def _line(name: str, s: dict) -> str:
    extra = ""
    if "onset_mae_s" in s and s.get("true_positives"):
        extra = f"  onset MAE {s['onset_mae_s'] * 1000:5.0f} ms  offset MAE {s['offset_mae_s'] * 1000:5.0f} ms"
    extra += f"  [onset-rule F1 {s['onset_f1']:.2f}]"
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


def synthetic(seeds: list[int], *, source: str, with_words: bool, accompaniment_db: float = -14.0,
              breath_levels_db: tuple[float, float] = (-28.0, -16.0), per_seed: bool = True) -> list[dict]:
    from lipcoach.song.songmap import Line, Word
    from lipcoach.song.synthetic import make_song

    rows = []
    level_errors = []
    for seed in seeds:
        song = make_song(seed=seed, tempo_bpm=[96.0, 120.0, 84.0, 140.0][seed % 4], accompaniment_db=accompaniment_db,
                         breath_levels_db=breath_levels_db)
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
        if per_seed:
            print(_line(f"seed {seed} ({song.tempo_bpm:.0f} bpm)", scores))
        rows.append(scores)
    pooled = _pooled(rows)
    print(_line("pooled", pooled))
    if level_errors:
        print(f"  breath level error: mean {np.mean(level_errors):+.1f} dB, mean |error| {np.mean(np.abs(level_errors)):.1f} dB")
    return rows


def rhythm_and_entrances(seeds: list[int]) -> None:
    from lipcoach.evaluate import entrances as entrance_eval
    from lipcoach.song import rhythm
    from lipcoach.song.songmap import Line, Word
    from lipcoach.song.synthetic import make_song

    pooled: dict[str, list[float]] = {"stem": [], "mix": []}
    for seed in seeds:
        tempo = [96.0, 120.0, 84.0, 140.0, 108.0, 132.0][seed % 6]
        song = make_song(seed=seed, tempo_bpm=tempo)
        t0 = time.time()
        est_tempo, beats, downbeats = rhythm.beat_grid(song.mix, sr=song.sr)
        elapsed = time.time() - t0
        est = np.array(beats)
        beat_err = np.array([np.min(np.abs(est - b)) for b in song.beats]) * 1000
        down_hit = np.mean([np.min(np.abs(np.array(downbeats) - d)) < 0.03 for d in song.downbeats])
        rng = np.random.default_rng(seed)
        words = [Word(text=w.text, start=w.start + rng.uniform(-0.05, 0.05), end=w.end, line=w.line) for w in song.words]
        lines = [Line(text=t, start=a, end=b) for t, (a, b) in zip(song.line_texts, song.line_spans())]
        parts = []
        for name, signal in (("stem", song.vocals), ("mix", song.mix)):
            got = rhythm.line_entrances(lines, words, beats=beats, downbeats=downbeats, vocal=signal, sr=song.sr)
            # The map's own slot and offset (benchmarks/entrance_accuracy.py is the full entrance benchmark).
            est = entrance_eval.from_entrances(got)
            scores = entrance_eval.evaluate(song.line_beats, song.entrance_offsets_ms, est["slots_s"], est["offsets_ms"], est["labels"])
            right = entrance_eval.slot_hits(song.line_beats, est["slots_s"])
            pooled[name] += list(np.where(right, np.abs(np.array(est["offsets_ms"], float) - np.array(song.entrance_offsets_ms)), np.inf))
            parts.append(f"{name} slot {scores['slot_accuracy']:.2f}, entrance MAE {scores['mean_abs_error_ms']:4.1f} ms (max {scores['max_abs_error_ms']:4.1f}, labels {scores['label_accuracy']:.2f})")
        print(f"  seed {seed} {tempo:5.1f} bpm: tempo {est_tempo:6.2f} (err {abs(est_tempo - tempo):.2f}), beat err mean {beat_err.mean():4.1f} ms max {beat_err.max():4.1f}, "
              f"downbeats {down_hit:.2f}, beat_grid {elapsed:.2f} s; " + "; ".join(parts))
    for name, errors in pooled.items():
        e = np.array(errors)
        ok = e[np.isfinite(e)]
        print(f"  pooled {name}: slot right {len(ok) / len(e):.2f}; where right: entrance MAE {ok.mean():.1f} ms, median {np.median(ok):.1f} ms, max {ok.max():.1f} ms, within 20 ms {np.mean(ok <= 20):.2f} ({len(e)} lines)")


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
    for levels, acc in (((-38.0, -28.0), -20.0), ((-28.0, -16.0), -6.0)):
        for with_words in (True, False):
            print(f"Synthetic singer, harder: breaths {levels[0]:.0f}..{levels[1]:.0f} dB, accompaniment {acc:.0f} dB, "
                  f"mix, {'with' if with_words else 'without'} words:")
            synthetic(args.seeds, source="mix", with_words=with_words, accompaniment_db=acc, breath_levels_db=levels, per_seed=False)
    print("Beats and entrances, synthetic singer:")
    rhythm_and_entrances(args.seeds)
    print(f"({time.time() - t0:.1f} s)")


if __name__ == "__main__":
    main()
