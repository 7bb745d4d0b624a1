"""Number build accuracy: does the combined song map put each word where the built track has it?

Usage: ``python benchmarks/number_build.py [--json out.json] [--numbers a,b] [--real]``

Generates the demo season (synthetic singer, four lines a song; nothing third-party), imports
it, builds every number (sections stretched to the number's tempo, shifted to its key,
joined on bars) and then maps each built track directly with
:func:`lipcoach.song.analyze.analyze_song` (the built lyrics and vocal stem, no anchors).
Per number: the share of words whose combined-map onset is within 0.1 s of the direct
mapping's (target ≥ 90 %), the median and 95th-percentile error, and at every join the beat
interval across it minus the beat period (continuity). A number that fails to build or map
counts as 0 %.

``--real`` instead builds a mashup of two real songs from ../shared/data (lines 1-4 of
JoCo's "Furry Old Lobster" then lines 1-4 of "Not About You", brought to the first song's
tempo), each mapped first by ``analyze_song`` from its mix and plain lyrics (no stem; the
default separation), and compares the combined map with a direct mapping of the built mix;
both are also scored against the songs' annotated word onsets mapped through the same edit
(words matched by text; an unmatched truth word counts as a miss).
Nothing of the real songs is written outside a temporary folder.
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


REAL_SONGS = {"lobster": "joco_furry_old_lobster", "not-about-you": "joco_not_about_you"}
REAL_SEASON = """\
schema: lipcoach.season/1
id: real-mashup
songs:
{songs}
episodes:
  - number: 1
    characters:
      - {{name: Lead, performer: Lead}}
    numbers:
      - id: real-mashup
        kind: mashup
        singers: Lead
        sections:
          - {{song: lobster, lines: 1-4}}
          - {{song: not-about-you, lines: 1-4}}
"""


def write_real_season(folder: Path) -> Path:
    """A season file pointing at two real songs of ../shared/data (lyrics from their line annotations)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import DATA

    folder.mkdir(parents=True)
    entries = []
    for slug, name in REAL_SONGS.items():
        src = DATA / "songs_en" / name
        lines = [row.split("\t")[2] for row in (src / "lines_timed.tsv").read_text(encoding="utf-8").splitlines() if row.count("\t") >= 2]
        (folder / f"{slug}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        audio = next(p for p in sorted(src.iterdir()) if p.stem == "audio")
        entries.append(f"  {slug}:\n    audio: {audio}\n    lyrics: {slug}.txt")
    path = folder / "season.yaml"
    path.write_text(REAL_SEASON.format(songs="\n".join(entries)), encoding="utf-8")
    return path


def truth_comparison(result, combined, direct) -> dict:
    """The annotated word onsets of each section mapped through the edit, against both maps (share within 0.1 s)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import DATA, match_words
    from lipcoach.formats.timed_tsv import read_timed_tsv

    truth = []
    for cut in result.cuts:
        rows = read_timed_tsv(DATA / "songs_en" / REAL_SONGS[cut.song] / "words_timed.tsv")
        truth += [(cut.to_number(a), w) for a, _, w in rows if cut.source_start_s <= a < cut.source_end_s]
    out = {"truth_words": len(truth)}
    for label, songmap in (("combined", combined), ("direct", direct)):
        pairs = match_words([w for _, w in truth], [w.text for w in songmap.words])
        errors = np.array([abs(truth[i][0] - songmap.words[j].start) for i, j in pairs])
        out[f"{label}_vs_truth_within_0_1_s"] = round(float(np.sum(errors <= 0.1) / len(truth)), 4)
        out[f"{label}_vs_truth_median_s"] = round(float(np.median(errors)), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--numbers", default="", help="Comma-separated number ids (default: all).")
    parser.add_argument("--real", action="store_true", help="A mashup of two real songs from ../shared/data.")
    args = parser.parse_args()

    from lipcoach.production.build import build_number
    from lipcoach.production.catalogue import Catalogue
    from lipcoach.production.demo_season import write_demo_season
    from lipcoach.production.season import import_season, read_season
    from lipcoach.song.analyze import analyze_song

    rows = []
    with tempfile.TemporaryDirectory(prefix="lc-build-") as tmp:
        season = write_real_season(Path(tmp) / "season") if args.real else write_demo_season(Path(tmp) / "season")
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
                from lipcoach.production.catalogue import Song

                with cat.session() as s:
                    song = s.get(Song, result.song_id)
                row["mean_abs_speed_change"] = round(float(np.mean([abs(1 - c.speed) for c in result.cuts])), 4)
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
                section_of = [next(k for k, c in enumerate(result.cuts) if c.start_s - 1e-6 <= w.start < c.end_s + 1e-6) for w in combined.words]
                row["within_0_1_s_by_section"] = [round(float(np.mean(errors[np.array(section_of) == k] <= 0.1)), 4)
                                                  for k in range(len(result.cuts))]
                if args.real:
                    row.update(truth_comparison(result, combined, direct))
            except Exception as exc:  # a number that cannot be built or mapped is a failure, never a skip
                row.update(error=f"{type(exc).__name__}: {exc}", within_0_1_s=0.0)
            rows.append(row)
            print(json.dumps(row), flush=True)
    shares = [r["within_0_1_s"] for r in rows]
    summary = {"benchmark": "number_build", "material": "real" if args.real else "synthetic", "numbers": rows, "mean_within_0_1_s": round(float(np.mean(shares)), 4),
               "min_within_0_1_s": round(float(np.min(shares)), 4), "target": 0.9,
               "max_join_beat_error_ms": max([abs(e) for r in rows for e in r.get("join_beat_error_ms", [])], default=None)}
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
