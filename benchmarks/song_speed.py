#!/usr/bin/env python
"""Song-map speed and memory: seconds per minute of audio, peak memory, separation cost apart.

Each measurement runs in a fresh subprocess (so peak memory is that run's own) after one
warm-up run (numba/librosa compile caches). Songs: the real English mixes when present
(their lyrics from the annotated lines), else a synthetic number stretched to 4 minutes.

Per stage, the wall time and the CPU time of the thread that ran it (the music stages run
in a second thread beside the alignment, see ``lipcoach.song.analyze``).

Usage: python benchmarks/song_speed.py [--limit N] [--only NAME ...] [--json out/bench/song_speed.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, english_lyrics_text, english_songs  # noqa: E402

CHILD = r"""
import json, resource, sys, time, functools
import lipcoach.song.analyze as analyze
from lipcoach.song import rhythm, vocal, breaths
song, lyrics, separation = sys.argv[1], sys.argv[2], sys.argv[3]
parts = {}

def timed(module, name, label):
    # Wall and this thread's CPU seconds of one stage (the music stages run in their own thread).
    inner = getattr(module, name)
    @functools.wraps(inner)
    def wrapper(*a, **k):
        w, c = time.perf_counter(), time.thread_time()
        try:
            return inner(*a, **k)
        finally:
            old = parts.get(label, [0.0, 0.0])
            parts[label] = [old[0] + time.perf_counter() - w, old[1] + time.thread_time() - c]
    setattr(module, name, wrapper)

for module, name, label in ((analyze, "_music_features", "music thread (all)"), (rhythm, "beat_grid", "beat grid"),
                            (vocal, "loudness_contour", "loudness"), (vocal, "vocal_onsets", "onsets"),
                            (vocal, "vocal_activity", "activity"), (analyze, "file_sha256", "hash"),
                            (analyze, "accompaniment_level_db", "accompaniment level"), (analyze, "load_vocal_guide", "decode + guide"),
                            (breaths, "detect_breaths", "breaths"), (rhythm, "line_entrances", "entrances"),
                            (vocal, "word_pitches", "pitch")):
    timed(module, name, label)
from lipcoach.song import align, whisper_align
from lipcoach.media import whisper_model
timed(align, "align_lyrics", "phone pass")
timed(whisper_align, "align_words", "whisper anchors")
timed(whisper_model, "load_model", "whisper model load")
t0, c0 = time.perf_counter(), time.process_time()
if separation == "only":
    mix, vocal_signal, method = analyze.load_vocal_guide(song, separation="classical")
    duration = len(mix) / 16000
else:
    songmap = analyze.analyze_song(song, lyrics_path=lyrics, separation=separation)
    duration = songmap.duration
elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps(dict(seconds=elapsed, cpu_seconds=cpu, duration=duration, peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      stages={k: dict(wall_s=round(v[0], 3), cpu_s=round(v[1], 3)) for k, v in parts.items()})))
"""


def compute_type() -> str:
    """The Whisper compute type the children run (LIPCOACH_WHISPER_COMPUTE or the default)."""
    from lipcoach.media.whisper_model import COMPUTE_TYPE

    return COMPUTE_TYPE


def measure(song: Path, lyrics: Path, separation: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(song), str(lyrics), separation], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None, help="only these song folders (e.g. a 4-minute one)")
    parser.add_argument("--json", type=Path, default=Path("out/bench/song_speed.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        if DATA.exists():
            for song in english_songs():
                if args.only and song["name"] not in args.only:
                    continue
                lyrics = Path(tmp) / f"{song['name']}.txt"
                lyrics.write_text(english_lyrics_text(song), encoding="utf-8")
                jobs.append((song["name"], song["audio"], lyrics))
            jobs.sort(key=lambda j: -j[1].stat().st_size)  # longest first: a 4-minute song is the target case
            jobs = jobs[: args.limit]
        else:
            from lipcoach.testing.synthetic_song import make_song

            song = make_song(tempo_bpm=60, seed=1)
            paths = song.write(tmp)
            jobs.append(("synthetic", paths["mix.wav"], paths["lyrics.txt"]))
        measure(jobs[0][1], jobs[0][2], "none")  # warm-up: compile caches
        print(f"{'song':32s} {'min':>5s} {'map s':>7s} {'cpu s':>6s} {'s/min':>6s} {'peak MB':>8s} | {'sep s':>6s} {'sep s/min':>9s} {'sep MB':>7s}")
        results = []
        for name, audio, lyrics in jobs:
            plain = measure(audio, lyrics, "none")
            sep = measure(audio, lyrics, "only")
            minutes = plain["duration"] / 60
            results.append(dict(name=name, map=plain, separation_only=sep))
            print(
                f"{name:32s} {minutes:5.2f} {plain['seconds']:7.2f} {plain['cpu_seconds']:6.2f} {plain['seconds'] / minutes:6.2f} {plain['peak_mb']:8.0f} | "
                f"{sep['seconds']:6.2f} {sep['seconds'] / minutes:9.2f} {sep['peak_mb']:7.0f}",
                flush=True,
            )
            print("    stages (wall s / own-thread CPU s): " + ", ".join(f"{k} {v['wall_s']:.2f}/{v['cpu_s']:.2f}" for k, v in plain["stages"].items()))
        load = os.getloadavg()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(dict(command="benchmarks/song_speed.py " + " ".join(sys.argv[1:]), whisper_compute_type=compute_type(), load_average=load, cores=os.cpu_count(), songs=results), indent=1))
    print(f"JSON: {args.json} (load average during the run: {load[0]:.1f} on {os.cpu_count()} cores)")
    print("map = analyze_song without separation (decode, loudness, beats, alignment, pitch, breaths, entrances);")
    print("sep = decoding plus the classical vocal separation alone, the extra cost when no stem is given.")


if __name__ == "__main__":
    main()
