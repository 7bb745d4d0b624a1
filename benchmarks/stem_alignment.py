#!/usr/bin/env python
"""Word alignment with and without Spleeter's stem: one table from benchmarks/song_accuracy.py runs.

Each ``--run NAME=RUN.json[,PART2.json...]`` is a song_accuracy.py JSON (or its parts) (``--no-peer``; its ``hybrid`` rows are
the default pipeline's words). Songs are compared only where every run has them; pooled
figures weight each song by its words, as song_accuracy.py does.

Usage: python benchmarks/stem_alignment.py --run mix=benchmarks/results/song_accuracy.json \\
           --run stem=A.json --run whisper-mix=B.json [--half calibration] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def rows(path: Path, half: str | None) -> dict[str, dict]:
    doc = json.loads(path.read_text())
    return {r["name"]: r for r in doc["songs"] if (half is None or r.get("half") == half) and r.get("hybrid")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="NAME=song_accuracy JSON[,another part]")
    parser.add_argument("--half", default=None, choices=("calibration", "evaluation"))
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args(argv)
    runs = {}
    for item in args.run:
        name, _, paths = item.partition("=")
        runs[name] = {}
        for path in paths.split(","):  # parts of one configuration run separately
            runs[name].update(rows(Path(path), args.half))
    songs = sorted(set.intersection(*(set(r) for r in runs.values())))
    if not songs:
        raise SystemExit("no song is in every run")
    out = {"command": "python benchmarks/stem_alignment.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "songs": songs, "per_song": {}, "pooled": {}}
    for name, table in runs.items():
        n = sum(table[s]["hybrid"]["n_words"] for s in songs)
        pooled = {key: sum(table[s]["hybrid"][key] * table[s]["hybrid"]["n_words"] for s in songs) / n
                  for key in ("within_0.3s", "within_0.1s", "mean_abs_error_s")}
        pooled["n_words"] = n
        pooled["worst_song_within_0.3s"] = min(table[s]["hybrid"]["within_0.3s"] for s in songs)
        out["pooled"][name] = {k: round(v, 4) if isinstance(v, float) else v for k, v in pooled.items()}
        out["per_song"][name] = {s: {k: round(table[s]["hybrid"][k], 4) for k in ("within_0.3s", "within_0.1s", "mean_abs_error_s")} for s in songs}
    header = "| song | " + " | ".join(runs) + " |"
    print(header + "\n|" + "---|" * (len(runs) + 1))
    for s in songs:
        cells = [f"{out['per_song'][r][s]['mean_abs_error_s']:.2f} s / {100 * out['per_song'][r][s]['within_0.3s']:.1f} %" for r in runs]
        print(f"| {s} | " + " | ".join(cells) + " |")
    cells = [f"**{out['pooled'][r]['mean_abs_error_s']:.2f} s / {100 * out['pooled'][r]['within_0.3s']:.1f} %**" for r in runs]
    print("| pooled | " + " | ".join(cells) + " |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
