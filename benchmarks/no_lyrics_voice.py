"""Offsets without lyrics: the mouth against its own voice, and where the other-voice bias comes from.

A companion to ``benchmarks/take_accuracy.py`` (same clips, halves, seed and takes; nothing is
fitted here, the shipped :class:`~lipcoach.take.sync.SyncConfig` scores every take):

* ``own_no_lyrics``: the ``own_room`` takes (the speakers' picture, their own sound through a
  room as scratch) scored against their song mapped **without lyrics** (loudness and vocal
  activity only): the no-lyrics path when the song's voice is the one the mouth follows.
* ``no_lyrics``: the benchmark's case (the song is another voice, eSpeak NG saying the words
  on the clip's word times, mapped without lyrics), its error against the picture shift, and
  against the shift plus **how much earlier the song's voice is than the speaker's own**
  (``song_voice_early_ms``: the two voices' levels cross-correlated over the whole song, no
  mouth involved). A performer follows the voice they hear; here the pictured mouth followed
  the speaker's own voice, so against the song's voice it really is that much late.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/no_lyrics_voice.py --cache clips.pkl --json out.json``
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import take_accuracy as TA  # noqa: E402  (same clips, halves and takes)


def voice_offset_ms(real_level: np.ndarray, other_level: np.ndarray) -> float:
    """How much earlier ``other_level`` runs than ``real_level`` (both 0..1 on the sync grid), ms."""
    from lipcoach.take import sync as S

    cfg = dataclasses.replace(S.DEFAULT_CONFIG, vocal_lead_ms=0.0, viseme_weight=0.0)
    lags = np.arange(-30, 31)
    combined, _ = S.lag_scores(real_level, other_level, np.ones(real_level.size, bool), lags=lags, config=cfg)
    k = int(np.argmax(combined))
    return float((lags[k] + S._parabolic(combined, k)) * 1000.0 / S.GRID_RATE_HZ)


def figures(errors) -> dict:
    e = np.asarray(errors, dtype=float)
    return dict(n=int(e.size), within_40ms=round(float(np.mean(np.abs(e) <= 40.0)), 4),
                mean_error_ms=round(float(np.mean(e)), 1), median_abs_error_ms=round(float(np.median(np.abs(e))), 1),
                max_abs_error_ms=round(float(np.max(np.abs(e))), 1))


def without_lyrics(sm, audio_path: str):
    from lipcoach.media.decode import load_audio
    from lipcoach.testing.clips import speech_spans

    audio, _ = load_audio(audio_path, sr=TA.SR)
    return dataclasses.replace(sm, words=[], lines=[], vocal_activity=[[a, b] for a, b in speech_spans(audio, sr=TA.SR)])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--songs", type=int, default=6, help="GRID songs per half (take_accuracy's default: 6)")
    ap.add_argument("--cache", type=Path, default=None, help="take_accuracy's clip cache (pickle), read only")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    from lipcoach.take import score as SC
    from lipcoach.take import sync as S

    if args.cache is not None and args.cache.exists():
        grid, hdtf = pickle.loads(args.cache.read_bytes())
    else:
        grid = TA.load_clips(sorted((TA.DATA / "grid").glob("*.mpg")))
        hdtf = TA.load_clips(sorted((TA.DATA / "hdtf").glob("*.mp4")))
    names = [c.name for c in grid]
    rng = np.random.default_rng(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="nolyrics."))
    takes = {h: TA.make_takes([c for c in grid if TA.half_of(c.name, names) == h],
                              [c for c in hdtf if TA.half_of(c.name, names) == h], rng, tmp, h, args.songs)
             for h in "AB"}
    result: dict = {"command": "benchmarks/no_lyrics_voice.py " + " ".join(sys.argv[1:]),
                    "config": S.DEFAULT_CONFIG.to_dict(), "halves": {}}
    for h in "AB":
        own = [tk for tk in takes[h] if tk.case == "own_room"]
        other = [tk for tk in takes[h] if tk.case == "no_lyrics"]
        stripped = {}
        for tk in own:
            if tk.song not in stripped:
                stripped[tk.song] = without_lyrics(tk.songmap, tk.songmap.source["path"])
        own_rows = TA.run([dataclasses.replace(tk, case="own_no_lyrics", songmap=stripped[tk.song]) for tk in own],
                          S.DEFAULT_CONFIG)
        early = {}
        for tk in other:
            if tk.song not in early:
                real = SC.song_signals(next(o for o in own if o.song == tk.song).songmap).level
                early[tk.song] = round(voice_offset_ms(real, SC.song_signals(tk.songmap).level), 1)
        rows = TA.run(other, S.DEFAULT_CONFIG)
        ok = [r for r in rows if r["est"] is not None]
        out = {"own_no_lyrics": figures([r["est"] - r["shift"] for r in own_rows if r["est"] is not None]),
               "own_no_lyrics_failed": sum(r["est"] is None for r in own_rows),
               "no_lyrics_vs_picture_shift": figures([r["est"] - r["shift"] for r in ok]),
               "no_lyrics_vs_shift_plus_voice_offset": figures([r["est"] - r["shift"] - early[r["song"]] for r in ok]),
               "no_lyrics_failed": len(rows) - len(ok),
               "song_voice_early_ms": early,
               "no_lyrics_error_by_song_ms": {s: [round(r["est"] - r["shift"], 1) for r in ok if r["song"] == s]
                                              for s in early}}
        result["halves"][h] = out
        print(f"half {h}")
        for k, v in out.items():
            print(f"  {k}: {v}")
    if args.json is not None:
        from lipcoach.fileio import write_json_atomic

        write_json_atomic(args.json, result)
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
