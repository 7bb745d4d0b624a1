#!/usr/bin/env python
"""Song-map word accuracy on real songs, mir_eval style, with the PocketSphinx-only peer in the same run.

Material (../shared/data; the benchmark stops with a message when it is absent):
- songs_en: 10 English mixes with UltraStar karaoke word timings (±0.1 s), words_timed.tsv;
- songs/jamendolyrics: 8 French/Spanish/German mixes with hand-made word onsets.
Lyrics are given untimed (plain text), on the default install: no stem, no Spleeter; the
aligners hear the mix.

Every song is mapped end to end by ``analyze_song`` (the default "hybrid" aligner: Whisper
anchors refined by the PocketSphinx phone pass). From the same run come the Whisper anchors
alone ("whisper"), and the PocketSphinx-only aligner ("pocketsphinx": ``align_lyrics``
without anchors, on the same mix). A song that fails counts as 0 % (every onset at 0 s),
never a skip. Word metrics are ``lipcoach.evaluate.words`` (``mir_eval.alignment``): AAE,
median error, share within 0.3 s and 0.1 s; pooled = over all words of a set.

Confidence: the songs are split into a calibration and an evaluation half
(``common.split_songs``: sorted by name, alternating). Line confidences use the weights in
``lipcoach.song.confidence``; ``--calibrate`` refits them on the calibration half and prints
the constants to put there. The reliability table (share of lines whose onset is > 1 s off,
per confidence bin) and the flag's recall / false-alarm rate are printed for the
evaluation half only.

Breath and entrance metrics have their own benchmarks (benchmarks/breath_accuracy.py and the
entrance benchmark); their slots in the JSON are left null here.

Usage: python benchmarks/song_accuracy.py [--sets english,jamendo] [--half calibration|evaluation]
       [--limit N] [--only NAME ...] [--no-peer] [--separation auto|none] [--calibrate]
       [--from-json RUN.json ...] [--json benchmarks/results/song_accuracy.json]

Parts can run in parallel (``--sets``/``--half``) and be summarised together with
``--from-json A.json B.json ...`` (no mapping; confidences are recomputed from the stored
line features with the current weights).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, english_lyrics_text, english_songs, jamendo_songs, match_words, split_songs  # noqa: E402

from lipcoach import schema  # noqa: E402
from lipcoach.evaluate import words as word_eval  # noqa: E402
from lipcoach.media import whisper_model  # noqa: E402
from lipcoach.song import confidence  # noqa: E402

PIPELINES = ("hybrid", "whisper", "pocketsphinx")
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "song_accuracy.json"


def lyrics_file(song: dict, tmp: Path) -> Path:
    if song.get("lyrics") is not None:
        return song["lyrics"]
    path = tmp / "lyrics.txt"
    path.write_text(english_lyrics_text(song), encoding="utf-8")
    return path


def onset_scores(song: dict, words: list[str], onsets_s) -> tuple[dict, np.ndarray]:
    """Metrics over all reference words; an unmatched reference word counts as a miss at 0 s."""
    ref = np.array([t[0] for t in song["truth"]])
    est = np.zeros_like(ref)  # unmatched or failed: "no answer" at 0 s
    if onsets_s is not None:
        for a, b in match_words([t[2] for t in song["truth"]], words):
            est[a] = onsets_s[b]
        est = np.maximum.accumulate(est)  # an unmatched word at 0 s must not break monotonicity
    scores = word_eval.evaluate(ref, est)
    return scores, np.abs(est - ref)


def line_errors(song: dict, words: list[str], line_of_word: list[int], onsets_s, n_lines: int) -> np.ndarray:
    """|onset error| of each line's first matched word, s (NaN for a line with no matched word)."""
    out = np.full(n_lines, np.nan)
    for a, b in match_words([t[2] for t in song["truth"]], words):
        k = line_of_word[b]
        if np.isnan(out[k]):
            out[k] = abs(onsets_s[b] - song["truth"][a][0])
    return out


def run_song(song: dict, args) -> dict:
    from lipcoach.media.decode import load_audio
    from lipcoach.song.align import align_lyrics
    from lipcoach.song.analyze import analyze_song
    from lipcoach.formats.lyrics import read_lyrics

    row: dict = dict(name=song["name"], language=song["language"], half=song["half"], set=song["set"])
    with tempfile.TemporaryDirectory() as tmp:
        lyrics_path = lyrics_file(song, Path(tmp))
        lyrics = read_lyrics(lyrics_path)
        words = [w for ln in lyrics.lines for w in ln.words]
        line_of_word = [k for k, ln in enumerate(lyrics.lines) for _ in ln.words]
        estimates: dict = {}
        diagnostics: dict = {}
        t0 = time.perf_counter()
        try:
            songmap = analyze_song(song["audio"], lyrics_path=lyrics_path, language=song["language"], separation=args.separation, diagnostics=diagnostics)
            row["seconds_end_to_end"] = time.perf_counter() - t0
            schema.validate(songmap.to_dict(), "lipcoach.songmap")
            if [w.text for w in songmap.words] != words:
                raise RuntimeError("the map's words are not the lyrics' words")
            estimates["hybrid"] = np.array([w.start for w in songmap.words])
            anchors = diagnostics.get("anchors")
            estimates["whisper"] = np.maximum.accumulate([t.start_s for t in anchors]) if anchors else None
            row["line_confidence"] = [ln.confidence for ln in songmap.lines]
            row["line_flagged"] = [bool(ln.flagged) for ln in songmap.lines]
            row["line_aligned"] = [bool(ln.aligned) for ln in songmap.lines]
            feats = diagnostics.get("line_features")
            row["line_features"] = feats.tolist() if feats is not None else None
            row["duration_s"] = songmap.duration
        except Exception as error:  # counted as a failure, never skipped
            row["error"] = f"{type(error).__name__}: {error}"
            estimates["hybrid"] = estimates["whisper"] = None
        if args.peer:
            t0 = time.perf_counter()
            try:
                mix, _ = load_audio(song["audio"], sr=16000)
                ps_words, _ = align_lyrics(mix, sr=16000, lyrics=lyrics, language=song["language"])
                estimates["pocketsphinx"] = np.array([w.start for w in ps_words])
                row["seconds_pocketsphinx_alignment"] = time.perf_counter() - t0
            except Exception as error:
                row["error_pocketsphinx"] = f"{type(error).__name__}: {error}"
                estimates["pocketsphinx"] = None
    for name, est in estimates.items():
        scores, _ = onset_scores(song, words, est)
        row[name] = scores
        row[f"{name}_abs_errors_s"] = onset_scores(song, words, est)[1].tolist()
        row[f"{name}_line_errors_s"] = (line_errors(song, words, line_of_word, est, len(lyrics.lines)).tolist() if est is not None else [float("nan")] * len(lyrics.lines))
    return row


def pooled(rows: list[dict], pipeline: str) -> dict:
    errors = [np.asarray(r[f"{pipeline}_abs_errors_s"]) for r in rows if f"{pipeline}_abs_errors_s" in r]
    if not errors:
        return {}
    e = np.concatenate(errors)
    per_song = [float(np.mean(x <= 0.3 + 1e-9)) for x in errors]
    return dict(
        n_songs=len(errors), n_words=int(e.size), mean_abs_error_s=float(e.mean()), median_abs_error_s=float(np.median(e)),
        within_0_3s=float(np.mean(e <= 0.3 + 1e-9)), within_0_1s=float(np.mean(e <= 0.1 + 1e-9)),
        worst_song_within_0_3s=float(min(per_song)), songs_below_75=int(sum(p < 0.75 for p in per_song)),
    )


def line_table(rows: list[dict], weights=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Features, confidences, flags and 'off' of every line with a matched word (hybrid).

    Confidences and flags are recomputed from the stored features with the weights and
    threshold in ``lipcoach.song.confidence`` now (the map computes them the same way), so a
    refit can be judged with ``--from-json`` without mapping the songs again.
    """
    feats, conf, flag, off = [], [], [], []
    for r in rows:
        if r.get("line_features") is None:
            continue
        errs = np.asarray(r["hybrid_line_errors_s"], dtype=float)
        for k, e in enumerate(errs):
            if np.isnan(e):
                continue
            c = confidence.line_confidence(np.asarray(r["line_features"][k]), weights)
            aligned = r.get("line_aligned", [True] * len(errs))[k]
            feats.append(r["line_features"][k])
            conf.append(c if aligned else min(c, 0.05))
            flag.append(confidence.is_flagged(c) or not aligned)
            off.append(e > confidence.OFF_S)
    return np.array(feats).reshape(len(feats), len(confidence.FEATURE_NAMES)), np.array(conf), np.array(flag, bool), np.array(off, bool)


def flag_report(rows: list[dict], label: str) -> dict:
    _, conf, flag, off = line_table(rows)
    if conf.size == 0:
        return {}
    out = dict(
        n_lines=int(conf.size), n_off=int(off.sum()),
        off_lines_flagged=float(flag[off].mean()) if off.any() else float("nan"),
        good_lines_flagged=float(flag[~off].mean()) if (~off).any() else float("nan"),
        reliability=confidence.reliability_table(conf, off),
    )
    print(f"\n== line confidence, {label} half: {out['n_lines']} lines, {out['n_off']} off by > {confidence.OFF_S:g} s ==")
    print(f"flagged: {out['off_lines_flagged'] * 100:.1f} % of off lines (target >= 80 %), {out['good_lines_flagged'] * 100:.1f} % of good lines (target < 10 %)")
    print("confidence bin   lines   share off   expected off")
    for b in out["reliability"]:
        share = "    -" if np.isnan(b["share_off"]) else f"{b['share_off'] * 100:5.1f} %"
        expected = "    -" if np.isnan(b["expected_off"]) else f"{b['expected_off'] * 100:5.1f} %"
        print(f"  {b['low']:.1f}-{b['high']:.1f}        {b['n_lines']:5d}     {share}       {expected}")
    return out


def calibrate(rows: list[dict]) -> dict:
    """Refit the weights and the flag threshold on the calibration half only.

    Rule for the threshold: the highest one that flags at most
    ``confidence.MOST_GOOD_FLAGGED`` of the calibration half's good lines (so the most off
    lines that bound allows); lines Whisper never placed count as flagged, as in the map.
    """
    calibration = [r for r in rows if r["half"] == "calibration"]
    feats, _, _, off = line_table(calibration)
    weights = confidence.fit_weights(feats, ~off)
    _, conf, _, _ = line_table(calibration, weights=weights)
    threshold = confidence.threshold_for_false_alarms(conf, ~off, most_good_flagged=confidence.MOST_GOOD_FLAGGED)
    flagged = conf < threshold
    print("\n== calibration (calibration half) ==")
    print(f"WEIGHTS = ({', '.join(f'{w:.3f}' for w in weights)})")
    print(f"FLAG_BELOW = {threshold:.6f}  (calibration half: {flagged[off].mean() * 100:.1f} % of off lines flagged, "
          f"{flagged[~off].mean() * 100:.1f} % of good lines)")
    return dict(weights=[float(w) for w in weights], flag_below=threshold, n_lines=int(len(off)), n_off=int(off.sum()),
                rule=f"highest threshold flagging <= {confidence.MOST_GOOD_FLAGGED:.0%} of the calibration half's good lines",
                calibration_off_lines_flagged=float(flagged[off].mean()), calibration_good_lines_flagged=float(flagged[~off].mean()))


def print_row(row: dict) -> None:
    parts = []
    for name in PIPELINES:
        s = row.get(name)
        if s:
            parts.append(f"{name}: AAE={s['mean_abs_error_s']:.2f} <0.3={s['within_0.3s'] * 100:5.1f}% <0.1={s['within_0.1s'] * 100:5.1f}%")
    secs = row.get("seconds_end_to_end")
    err = f"  FAILED {row['error']}" if "error" in row else ""
    print(f"{row['name']:30s} {row['language']} {row['half'][:5]}  " + " | ".join(parts) + (f"  [{secs:.1f} s]" if secs else "") + err, flush=True)


def markdown(rows: list[dict], summary: dict) -> str:
    """The tables docs/benchmarks.md holds, from this run's figures."""
    out = ["| set | aligner | songs | words | AAE | median | within 0.3 s | within 0.1 s | worst song (0.3 s) | songs < 75 % |", "|---|---|---|---|---|---|---|---|---|---|"]
    for group in ("english", "jamendo", "all", "evaluation_half"):
        for name in PIPELINES:
            p = summary.get(group, {}).get(name)
            if p:
                out.append(f"| {group} | {name} | {p['n_songs']} | {p['n_words']} | {p['mean_abs_error_s']:.2f} s | {p['median_abs_error_s']:.3f} s | "
                           f"{p['within_0_3s'] * 100:.1f} % | {p['within_0_1s'] * 100:.1f} % | {p['worst_song_within_0_3s'] * 100:.1f} % | {p['songs_below_75']} |")
    out += ["", "| song | lang | half | hybrid AAE / <0.3 s / <0.1 s | whisper | pocketsphinx |", "|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["set"], r["name"])):
        cells = []
        for name in PIPELINES:
            sc = r.get(name)
            cells.append(f"{sc['mean_abs_error_s']:.2f} s / {sc['within_0.3s'] * 100:.1f} % / {sc['within_0.1s'] * 100:.1f} %" if sc else "–")
        out.append(f"| {r['name']} | {r['language']} | {r['half'][:4]} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="english,jamendo")
    parser.add_argument("--limit", type=int, default=0, help="at most N songs per set")
    parser.add_argument("--only", nargs="*", default=None, help="only these song folders")
    parser.add_argument("--half", choices=("calibration", "evaluation"), default=None, help="only the songs of one half (to run halves in parallel)")
    parser.add_argument("--separation", default="auto", help="vocal guide for the map's other stages (the aligners hear the mix)")
    parser.add_argument("--no-peer", dest="peer", action="store_false", help="skip the PocketSphinx-only peer")
    parser.add_argument("--calibrate", action="store_true", help="refit the confidence weights on the calibration half and print them")
    parser.add_argument("--from-json", type=Path, nargs="+", default=None, help="recompute the summaries from earlier runs' JSON (no mapping)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--markdown", action="store_true", help="also print the tables for docs/benchmarks.md")
    args = parser.parse_args()
    if args.from_json:
        rows = [row for path in args.from_json for row in json.loads(path.read_text())["songs"]]
    else:
        if not DATA.exists():
            raise SystemExit(f"no real test material at {DATA}")
        sets = args.sets.split(",")
        songs = []
        for which, found in (("english", english_songs), ("jamendo", jamendo_songs)):
            songs += [dict(s, set=which) for s in found()][: args.limit or None]
        # The halves are fixed over all songs, whichever sets this run maps.
        calibration, evaluation = split_songs(songs)
        for s in calibration:
            s["half"] = "calibration"
        for s in evaluation:
            s["half"] = "evaluation"
        songs = [s for s in songs if s["set"] in sets and (args.half is None or s["half"] == args.half)]
        rows = []
        for song in sorted(songs, key=lambda s: (s["set"], s["name"])):
            if args.only and song["name"] not in args.only:
                continue
            row = run_song(song, args)
            rows.append(row)
            print_row(row)
    summary: dict = {}
    print("\n== pooled (all words of a set; a failed song counts with every onset at 0 s) ==")
    for group, members in (("english", [r for r in rows if r["set"] == "english"]), ("jamendo", [r for r in rows if r["set"] == "jamendo"]),
                           ("all", rows), ("evaluation_half", [r for r in rows if r["half"] == "evaluation"])):
        summary[group] = {}
        for name in PIPELINES:
            p = pooled(members, name)
            if p:
                summary[group][name] = p
                print(f"{group:16s} {name:12s} songs={p['n_songs']:2d} words={p['n_words']:5d} AAE={p['mean_abs_error_s']:.3f} s "
                      f"median={p['median_abs_error_s']:.3f} s <0.3={p['within_0_3s'] * 100:5.1f} % <0.1={p['within_0_1s'] * 100:5.1f} % "
                      f"worst song <0.3={p['worst_song_within_0_3s'] * 100:5.1f} % songs<75%={p['songs_below_75']}")
    doc = dict(
        benchmark="song_accuracy", command=" ".join(["python", "benchmarks/song_accuracy.py"] + sys.argv[1:]),
        machine=dict(cpus=os.cpu_count(), python=platform.python_version()),
        whisper_compute_type=None if args.from_json else whisper_model.COMPUTE_TYPE,
        split="all songs sorted by folder name; odd positions (1st, 3rd...) calibration, even evaluation (benchmarks/common.py:split_songs)",
        pooled=summary,
        confidence=dict(calibration=flag_report([r for r in rows if r["half"] == "calibration"], "calibration (fitted on)"),
                        evaluation=flag_report([r for r in rows if r["half"] == "evaluation"], "evaluation (held out)"),
                        weights=list(confidence.WEIGHTS), flag_below=confidence.FLAG_BELOW),
        breaths=None,  # slot: filled by the breath benchmark (benchmarks/breath_accuracy.py)
        entrances=None,  # slot: filled by the entrance benchmark
        songs=rows,
    )
    if args.calibrate:
        doc["confidence"]["refit"] = calibrate(rows)
    seconds = [r["seconds_end_to_end"] for r in rows if "seconds_end_to_end" in r]
    if seconds:
        doc["speed"] = dict(median_end_to_end_s=float(np.median(seconds)), median_duration_s=float(np.median([r["duration_s"] for r in rows if "duration_s" in r])),
                            note="wall time on a shared machine; see benchmarks/song_speed.py for speed")
    if args.markdown:
        print("\n" + markdown(rows, summary))
    from lipcoach.fileio import write_json_atomic

    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.json, json.loads(json.dumps(doc, default=float)))
    print(f"\nJSON: {args.json}")


if __name__ == "__main__":
    main()
