#!/usr/bin/env python
"""Song-map speed and memory: seconds per minute of audio, peak memory, separation cost apart.

Each measurement runs in a fresh subprocess (so peak memory is that run's own) after one
warm-up run (numba/librosa compile caches). Songs: the real English mixes when present
(their lyrics from the annotated lines), else a synthetic number stretched to 4 minutes.

Usage: python benchmarks/song_speed.py [--limit N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, english_lyrics_text, english_songs  # noqa: E402

CHILD = r"""
import json, resource, sys, time
from lipcoach.song.analyze import analyze_song, load_vocal_guide
song, lyrics, separation = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
if separation == "only":
    mix, vocal, method = load_vocal_guide(song, separation="classical")
    duration = len(mix) / 16000
else:
    songmap = analyze_song(song, lyrics_path=lyrics, separation=separation)
    duration = songmap.duration
elapsed = time.perf_counter() - t0
print(json.dumps(dict(seconds=elapsed, duration=duration, peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""


def measure(song: Path, lyrics: Path, separation: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(song), str(lyrics), separation], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        if DATA.exists():
            for song in english_songs():
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
        print(f"{'song':32s} {'min':>5s} {'map s':>7s} {'s/min':>6s} {'peak MB':>8s} | {'sep s':>6s} {'sep s/min':>9s} {'sep MB':>7s}")
        for name, audio, lyrics in jobs:
            plain = measure(audio, lyrics, "none")
            sep = measure(audio, lyrics, "only")
            minutes = plain["duration"] / 60
            print(
                f"{name:32s} {minutes:5.2f} {plain['seconds']:7.2f} {plain['seconds'] / minutes:6.2f} {plain['peak_mb']:8.0f} | "
                f"{sep['seconds']:6.2f} {sep['seconds'] / minutes:9.2f} {sep['peak_mb']:7.0f}",
                flush=True,
            )
    print("map = analyze_song without separation (decode, loudness, beats, alignment, pitch, breaths, entrances);")
    print("sep = decoding plus the classical vocal separation alone, the extra cost when no stem is given.")


if __name__ == "__main__":
    main()
