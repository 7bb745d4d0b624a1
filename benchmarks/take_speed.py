"""Take scoring speed: seconds of 720p 30 fps video scored per second, against decoding alone.

Generates a 1280×720, 30 fps H.264/AAC take of a drawn face lip-syncing the synthetic song
(``lipcoach.testing.synthetic_song.make_song``, its lyrics sung twice: ~130 s), then in one process times (1) decoding alone, the
same way the tracker decodes (PyAV, threads AUTO, scaled to 640 px in the decoder) and
(2) ``score_take`` end to end (MediaPipe start-up, tracking, placement, sync, grades, JSON).
Each take length runs in its own subprocess so that peak memory (max RSS) can be compared
across lengths. The figure to quote is the ratio scoring / decode-only, measured in the same
process one after the other: on a shared machine both suffer the same load, which the JSON
records (1-minute load average before and after each measurement). ``--repeats N`` runs
each length N times (a fresh process each) and reports the median ratio.

Run: ``.venv/bin/python benchmarks/take_speed.py [--lengths 20 60] [--repeats 3] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np



def make_inputs(folder: Path, length_s: float) -> tuple[Path, Path]:
    from lipcoach.testing import faces as synth  # the drawn face
    from lipcoach.media.decode import write_wav
    from lipcoach.testing.synthetic_song import DEFAULT_LYRICS, make_song
    from lipcoach.take import sync as S
    from lipcoach.testing.clips import songmap_from_words

    song = make_song(lyrics=DEFAULT_LYRICS + "\n\n" + DEFAULT_LYRICS, seed=0)  # ~130 s
    song_path = folder / "song.wav"
    write_wav(song_path, song.mix, song.sr)
    from lipcoach.song.songmap import Breath

    sm = songmap_from_words(song.vocals, sr=song.sr, words=[(w.start, w.end, w.text) for w in song.words],
                            source_path=str(song_path))
    # The song's breaths: scoring then also looks for the shoulders (MediaPipe Pose) around each.
    sm.breaths = [Breath(b.start, b.end, b.level_db, True, "full", before_line=b.before_line) for b in song.breaths]
    sm_path = folder / "song.json"
    sm.save(sm_path)
    level = S.vocal_level(np.asarray(sm.loudness.values), rate_hz=sm.loudness.rate,
                          reference_db=sm.loudness.reference_db, duration_s=sm.duration)
    start = 1.0
    mouth = synth.envelope_from_level(level, rate_hz=S.GRID_RATE_HZ, shift_s=0.05, start_s=start)
    take = folder / f"take_{int(length_s)}s.mp4"
    audio = song.mix[int(start * song.sr): int((start + length_s) * song.sr)]
    synth.write_take(take, duration_s=length_s, mouths=[mouth], fps=30.0, size=(1280, 720), face_scale=1.3, audio=audio)
    return take, sm_path


def _cpu_s() -> float:
    """CPU time of this process, all threads, user + system, s."""
    t = os.times()
    return t.user + t.system


def run_one(take: Path, sm_path: Path) -> dict:
    from lipcoach.media.decode import probe
    from lipcoach.song.songmap import SongMap
    from lipcoach.take.mouth import iter_frames
    from lipcoach.take.score import save_json, score_take

    info = probe(take)
    load_before = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), _cpu_s()
    n = 0
    for _t, _img in iter_frames(take, with_audio=True, audio_sink=[]):
        n += 1
    decode_s, decode_cpu_s = time.perf_counter() - t0, _cpu_s() - c0
    sm = SongMap.load(sm_path)
    t0, c0 = time.perf_counter(), _cpu_s()
    rep = score_take(take, sm)
    save_json(rep, take.with_suffix(".json"))
    score_s, score_cpu_s = time.perf_counter() - t0, _cpu_s() - c0
    return {
        "take_s": info.duration_s, "frames": n, "size": f"{info.width}x{info.height}", "fps": info.fps,
        "decode_s": decode_s, "score_s": score_s, "verdict": rep.verdict, "offset_ms": rep.doc["sync"]["offset_ms"],
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "breaths_judged": len(rep.doc.get("breaths", [])),
        "score_per_decode": score_s / decode_s,
        # CPU seconds (all threads): less sensitive to other jobs on the machine than wall time.
        "decode_cpu_s": decode_cpu_s, "score_cpu_s": score_cpu_s, "cpu_score_per_decode": score_cpu_s / decode_cpu_s,
        "load_avg_1min_before": load_before, "load_avg_1min_after": os.getloadavg()[0],
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lengths", type=float, nargs="+", default=[20.0, 60.0, 120.0], help="take lengths, s")
    ap.add_argument("--repeats", type=int, default=1, help="runs per length (median ratio reported)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, default=None, help="write the measurements here")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_one(Path(args.child[0]), Path(args.child[1]))))
        return 0
    load_start = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="takespeed."))
    print(f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f} (1, 5, 15 min)")
    print(f"{'take':>6} {'frames':>6}  {'decode-only':>12} {'scoring':>10} {'score/decode':>12} {'CPU s/s':>8}  {'max RSS':>8}  {'load':>9}  verdict")
    rows = []
    summary = []
    for length in args.lengths:
        take, sm_path = make_inputs(folder, length)
        runs = []
        for _ in range(max(1, args.repeats)):
            out = subprocess.run([sys.executable, __file__, "--child", str(take), str(sm_path)], capture_output=True,
                                 text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            runs.append(r)
            print(f"{r['take_s']:5.1f}s {r['frames']:6d}  {r['take_s'] / r['decode_s']:10.1f}x {r['take_s'] / r['score_s']:9.1f}x "
                  f"{r['score_per_decode']:11.2f}x {r['cpu_score_per_decode']:7.2f}x  {r['max_rss_mb']:6.0f}MB  {r['load_avg_1min_before']:4.1f}-{r['load_avg_1min_after']:<4.1f}"
                  f"  {r['verdict']} (offset {r['offset_ms']} ms, {r['size']} @ {r['fps']:.0f} fps)", flush=True)
        rows.extend(runs)
        ratios = [r["score_per_decode"] for r in runs]
        summary.append({"take_s": runs[0]["take_s"], "runs": len(runs), "median_score_per_decode": float(np.median(ratios)),
                        "score_per_decode": ratios,
                        "median_cpu_score_per_decode": float(np.median([r["cpu_score_per_decode"] for r in runs])),
                        "median_max_rss_mb": float(np.median([r["max_rss_mb"] for r in runs]))})
        if len(runs) > 1:
            print(f"{runs[0]['take_s']:5.1f}s median over {len(runs)} runs: score/decode {np.median(ratios):.2f}x, "
                  f"CPU {summary[-1]['median_cpu_score_per_decode']:.2f}x", flush=True)
    load_end = os.getloadavg()
    print(f"load average at end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f} (1, 5, 15 min)")
    print("ratios are seconds of video per second of wall time (decode-only: PyAV decode + scale to 640 px; "
          "scoring: score_take end to end incl. MediaPipe start-up and Pose around the breaths); CPU s/s: CPU "
          "seconds of scoring per CPU second of decoding (all threads). Under load (other jobs) decoding, which "
          "uses several threads, slows more than scoring: wall ratios then read low; compare on a quiet machine")
    if args.json is not None:
        from lipcoach.fileio import write_json_atomic

        write_json_atomic(args.json, {"command": "benchmarks/take_speed.py " + " ".join(sys.argv[1:]),
                                      "load_avg_start": list(load_start), "load_avg_end": list(load_end),
                                      "cpu_count": os.cpu_count(), "summary": summary, "takes": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
