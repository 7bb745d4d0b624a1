#!/usr/bin/env python
"""Vocal stem and whole default map: wall, CPU seconds and peak memory as the user waits.

Each run is a fresh process under ``/usr/bin/time -v`` (the whole process, start-up and
imports included):

- ``stem``: ``lipcoach.media.stems.vocal_stem`` on a song with an empty stem cache
  (decode at 44.1 kHz, Spleeter's network on onnxruntime, FLAC written); the ONNX model is
  already built (it is built once per machine, timed apart as ``model build``).
- ``analyze (stem made)``: ``lipcoach analyze SONG --lyrics LYRICS`` with the default options
  and an empty stem cache: what a user waits the first time.
- ``analyze (stem cached)``: the same again, the stem reused (a song the studio already added).

CPU seconds (user + system) are what a shared machine does not inflate; wall time is, so the
JSON records the 1-minute load average before and after each run. Figures are also scaled to
a 4-minute song. Default song: songs_en/dsp_i_18 (3.71 min).

Usage: python benchmarks/stem_speed.py [--only NAME] [--repeat 3] [--analyze-repeat 3] [--json benchmarks/results/stem_speed.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import english_lyrics_text, english_songs  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_JSON = REPO / "benchmarks" / "results" / "stem_speed.json"
STEM_CHILD = "import sys; from pathlib import Path; from lipcoach.media.stems import vocal_stem; vocal_stem(sys.argv[1], cache=Path(sys.argv[2]))"
BUILD_CHILD = "import sys; from pathlib import Path; from lipcoach.media.spleeter_net import onnx_model_path; onnx_model_path(Path(sys.argv[1]))"


def timed_run(args: list[str], env: dict) -> dict:
    """Run under /usr/bin/time -v; wall s, CPU s (user + sys), peak RSS MB, load averages."""
    load_before = os.getloadavg()[0]
    proc = subprocess.run(["/usr/bin/time", "-v", *args], capture_output=True, text=True, env=env, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"run failed: {' '.join(args)}\n{proc.stderr[-2000:]}")
    text = proc.stderr

    def field(name: str) -> str:
        return re.search(rf"{re.escape(name)}: (.+)", text).group(1).strip()

    wall_parts = [float(x) for x in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")]
    wall = sum(v * 60 ** (len(wall_parts) - 1 - i) for i, v in enumerate(wall_parts))
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(float(field("User time (seconds)")) + float(field("System time (seconds)")), 2),
        "peak_rss_mb": round(int(field("Maximum resident set size (kbytes)")) / 1024, 1),
        "load_1min_before": round(load_before, 2),
        "load_1min_after": round(os.getloadavg()[0], 2),
    }


def summary(runs: list[dict], duration_s: float) -> dict:
    out = {"runs": runs}
    for key in ("wall_s", "cpu_s", "peak_rss_mb"):
        out[f"median_{key}"] = round(statistics.median(r[key] for r in runs), 2)
    out["median_wall_s_per_4min"] = round(out["median_wall_s"] * 240.0 / duration_s, 2)
    out["median_cpu_s_per_4min"] = round(out["median_cpu_s"] * 240.0 / duration_s, 2)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="dsp_i_18")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the stem alone (median)")
    parser.add_argument("--analyze-repeat", type=int, default=3, help="runs of each whole analyze (median)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    songs = [s for s in english_songs() if s["name"] == args.only]
    if not songs:
        raise SystemExit(f"song {args.only} not found in ../shared/data/songs_en")
    song = songs[0]
    from lipcoach.media.decode import probe

    duration_s = probe(song["audio"]).duration_s
    python = sys.executable
    result = {
        "command": "python benchmarks/stem_speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "song": song["name"], "duration_s": round(duration_s, 2), "cpu_count": os.cpu_count(),
        "threads": os.environ.get("LIPCOACH_THREADS", "2"), "machine": platform.machine(),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "note": "shared machine: compare CPU seconds; wall times carry the load average beside them",
    }
    with tempfile.TemporaryDirectory(prefix="lipcoach-stem-speed-") as tmp:
        tmp = Path(tmp)
        lyrics = tmp / "lyrics.txt"
        lyrics.write_text(english_lyrics_text(song), encoding="utf-8")
        env = dict(os.environ, XDG_CACHE_HOME=str(tmp / "cache"), PYTHONPATH=str(REPO / "src"))
        model_cache = tmp / "cache" / "lipcoach"
        result["model build"] = timed_run([python, "-c", BUILD_CHILD, str(model_cache)], env)
        # Warm-up (librosa's numba caches), not counted.
        timed_run([python, "-m", "lipcoach", "analyze", str(song["audio"]), "--lyrics", str(lyrics), "-o", str(tmp / "warm.json")], env)
        stem_runs, made_runs, cached_runs = [], [], []
        for i in range(args.repeat):
            shutil.rmtree(model_cache / "stems", ignore_errors=True)
            stem_runs.append(timed_run([python, "-c", STEM_CHILD, str(song["audio"]), str(model_cache)], env))
            print(f"stem run {i + 1}: {stem_runs[-1]}", flush=True)
        for i in range(args.analyze_repeat):
            shutil.rmtree(model_cache / "stems", ignore_errors=True)
            analyze = [python, "-m", "lipcoach", "analyze", str(song["audio"]), "--lyrics", str(lyrics), "-o", str(tmp / f"map{i}.json"), "--force"]
            made_runs.append(timed_run(analyze, env))
            cached_runs.append(timed_run(analyze, env))
            print(f"analyze run {i + 1}: stem made {made_runs[-1]}, stem cached {cached_runs[-1]}", flush=True)
        result["stem"] = summary(stem_runs, duration_s)
        result["analyze (stem made)"] = summary(made_runs, duration_s)
        result["analyze (stem cached)"] = summary(cached_runs, duration_s)
    result["targets"] = {
        "stem_wall_s_per_4min_max": 6.0, "analyze_wall_s_per_4min_max": 15.0, "peak_rss_mb_max": 1536,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    for key in ("stem", "analyze (stem made)", "analyze (stem cached)"):
        r = result[key]
        print(f"{key}: wall {r['median_wall_s']} s ({r['median_wall_s_per_4min']} s per 4 min), CPU {r['median_cpu_s']} s "
              f"({r['median_cpu_s_per_4min']} per 4 min), peak {r['median_peak_rss_mb']} MB")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
