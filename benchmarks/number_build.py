"""Number build accuracy: does the combined song map put each word where the built track has it?

Usage: ``python benchmarks/number_build.py [--json out.json] [--numbers a,b]``

Generates the demo season (synthetic singer, four lines a song; nothing third-party), imports
it, builds every number (sections stretched to the number's tempo, shifted to its key,
joined on bars) and then maps each built track directly with
:func:`lipcoach.song.analyze.analyze_song` (the built lyrics and vocal stem, no anchors).
Per number: the share of words whose combined-map onset is within 0.1 s of the direct
mapping's (target ≥ 90 %), the median and 95th-percentile error, and at every join the beat
interval across it minus the beat period (continuity). A number that fails to build or map
counts as 0 %.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--numbers", default="", help="Comma-separated number ids (default: all).")
    args = parser.parse_args()

    from lipcoach.production.build import build_number
    from lipcoach.production.catalogue import Catalogue
    from lipcoach.production.demo_season import write_demo_season
    from lipcoach.production.season import import_season, read_season
    from lipcoach.song.analyze import analyze_song

    rows = []
    with tempfile.TemporaryDirectory(prefix="lc-build-") as tmp:
        season = write_demo_season(Path(tmp) / "season")
        cat = Catalogue(Path(tmp) / "data")
        import_season(cat, season)
        numbers = [n for ep in read_season(season).episodes for n in ep.numbers]
        wanted = set(filter(None, args.numbers.split(",")))
        for number in numbers:
            if wanted and number.slug not in wanted:
                continue
            row = {"number": number.slug, "kind": number.kind}
            t0 = time.perf_counter()
            try:
                result = build_number(cat, number.slug, force=True)
                row["build_s"] = round(time.perf_counter() - t0, 2)
                from sqlalchemy import select

                from lipcoach.production.catalogue import Song

                with cat.session() as s:
                    song = s.get(Song, result.song_id)
                direct = analyze_song(cat.path("files", song.audio_file), lyrics_path=cat.path("files", song.lyrics_file),
                                      vocals_path=cat.path("files", song.stem_file) if song.stem_file else None)
                combined = result.songmap
                same_text = [w.text for w in direct.words] == [w.text for w in combined.words]
                errors = np.abs(np.array([w.start for w in direct.words]) - np.array([w.start for w in combined.words]))
                row.update(words=len(combined.words), same_words=same_text, within_0_1_s=round(float(np.mean(errors <= 0.1)), 4),
                           median_error_s=round(float(np.median(errors)), 4), p95_error_s=round(float(np.percentile(errors, 95)), 4),
                           sections=len(result.cuts), speeds=[round(c.speed, 4) for c in result.cuts],
                           semitones=[c.semitones for c in result.cuts], join_beat_error_ms=result.join_beat_error_ms,
                           beat_interval_max_dev_ms=round(float(np.max(np.abs(np.diff(combined.beats) - 60.0 / combined.tempo_bpm)) * 1000), 2))
            except Exception as exc:  # a number that cannot be built or mapped is a failure, never a skip
                row.update(error=f"{type(exc).__name__}: {exc}", within_0_1_s=0.0)
            rows.append(row)
            print(json.dumps(row), flush=True)
    shares = [r["within_0_1_s"] for r in rows]
    summary = {"benchmark": "number_build", "numbers": rows, "mean_within_0_1_s": round(float(np.mean(shares)), 4),
               "min_within_0_1_s": round(float(np.min(shares)), 4), "target": 0.9,
               "max_join_beat_error_ms": max([abs(e) for r in rows for e in r.get("join_beat_error_ms", [])], default=None)}
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
