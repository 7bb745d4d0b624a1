"""Lyrics to audio: words and phonemes in time, with PocketSphinx forced alignment.

PocketSphinx ships one acoustic model (en-us). Words of any language are spelled in its
phones by :mod:`lipcoach.song.g2p` and written to a small per-song dictionary under
synthetic word ids (so a French "de" is never read with the English dictionary's "de").

Strategy
--------
0. **With Whisper anchors (the default for untimed lyrics, see** :mod:`lipcoach.song.whisper_align`
   **and** ``anchors`` **below).** Whisper rarely loses a line but its onsets are coarse (±0.1 s,
   a word after a pause often starts in the pause); PocketSphinx is precise (median
   0.04–0.09 s) when its window is right but drifts over whole songs. So each line's phone
   pass (step 3) runs in the window its anchors give it, lines in parallel, and each word
   keeps the phone pass's onset only where the anchor allows it (:func:`_merge_anchor`).
   Steps 1–2 are skipped. Measured against Whisper alone and PocketSphinx alone in
   benchmarks/song_accuracy.py (docs/benchmarks.md).
1. **Whole-song pass (untimed lyrics, PocketSphinx alone).** All words are aligned over the whole song in one
   utterance with a very wide beam (:data:`GLOBAL_BEAM`) and a few seconds of near-silence
   appended (see :meth:`_Engine.align`). When it succeeds it is globally consistent: no line
   can drift into the wrong verse.
2. **Fallback when that pass finds no complete path** (it happens on some mixes: the path
   that follows the voice is pruned somewhere and the last word is never reached).
   Chunks of about :data:`CHUNK_WORDS` words are aligned in windows that slide forward from
   the start of the song, keeping all lines of a chunk but its last (which lacked right
   context); a chunk whose lines stretch implausibly (over an instrumental break) is retried
   in a longer window, then line by line. This pass can drift: once a line lands too late,
   the lines after it follow (see docs/benchmarks.md). A backward pass
   meant to catch that drift (anchors where both directions agree) was tried and dropped:
   it doubled the cost and did not change the result on the two songs it was measured on.
   **Timed lyrics** (LRC, SRT, VTT) skip all this: each line's stamp gives its window.
3. **Phone pass.** Each line is re-aligned in a window around its coarse position (bounded
   by its neighbours) at the phone level, which also bounds the memory of the state
   alignment. Onsets whose first phone swallowed a pause are moved to where the sound starts.
4. Lines that could not be aligned get times interpolated inside the gap their neighbours
   leave, ``aligned=False`` and a low confidence; the run never fails because of them.

All times are seconds from the start of ``vocal``. Frames are PocketSphinx's 10 ms.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from lipcoach.errors import LipcoachError
from lipcoach.progress import ProgressCallback, silent, subrange
from lipcoach.song import confidence
from lipcoach.song.g2p import check_language, word_pronunciations
from lipcoach.formats.lyrics import Lyrics, align_form
from lipcoach.song.songmap import Line, Phoneme, Word
from lipcoach.song.visemes import viseme_of

if TYPE_CHECKING:
    from lipcoach.song.whisper_align import WordTiming

#: PocketSphinx's frame period, s.
FRAME_S = 0.01
#: Sample rate the en-us model expects, Hz.
ALIGN_SR = 16000
#: Noise floor added before alignment, dBFS: exact digital silence makes alignment fail.
NOISE_FLOOR_DBFS = -80.0
#: Target words per coarse chunk: long enough to carry context through a line the model
#: hears badly, short enough that a failure costs little.
CHUNK_WORDS = 24
#: Beam widths (PocketSphinx probabilities). The defaults (1e-48) fail on music: the path
#: that follows the voice is pruned while the accompaniment dominates a few frames.
BEAM = 1e-80
#: Longest plausible sung line, s per phone (long held notes), plus 3 s; see _plausible.
MAX_S_PER_PHONE = 0.25
#: Longest plausible word that does not end a line, s.
MAX_WORD_S = 3.0
#: Coarse attempts per chunk: (lines in the chunk, 0 = all; window stretch factor).
COARSE_ATTEMPTS = ((0, 1.0), (0, 2.0), (0, 3.0), (1, 1.0), (1, 2.0))
#: Near-silence appended to an alignment window, s (see _Engine.align).
LINE_PAD_S = 1.0
GLOBAL_PAD_S = 3.0
#: Beam of the single whole-song pass tried first. Much wider than BEAM: over minutes of
#: music the path that has reached the last word is otherwise pruned at the final frame.
GLOBAL_BEAM = 1e-200
#: Slowest sung rate assumed when sizing a coarse window, s per phone, plus
#: COARSE_SLACK_S for an instrumental intro or break before the chunk.
SLOW_S_PER_PHONE = 0.16
COARSE_SLACK_S = 6.0
#: Typical sung rate, s per phone, used to move on after a line that failed.
TYPICAL_S_PER_PHONE = 0.09
#: Extra audio around a line in the phone pass, s.
LINE_MARGIN_S = 0.6
#: Extra audio around a timed line's stamp window, s. Tight, because a wide window lets the
#: model spread a line over the accompaniment; a line that fails is retried 3 s wider.
STAMP_MARGIN_S = 0.5
#: Largest move (s) from a Whisper anchor the phone pass may make to a word's onset.
REFINE_MAX_SHIFT_S = 0.3
#: Confidence given to words of a line whose times were interpolated.
UNALIGNED_CONFIDENCE = 0.05
#: A word's first phone longer than this (s) is checked for leading near-silence; see _trim_onsets.
TRIM_MIN_PHONE_S = 0.12
#: Frames more than this many dB under the word's loud frames count as silence before it.
TRIM_DROP_DB = 30.0


@dataclasses.dataclass
class _Seg:
    start_s: float
    end_s: float
    confidence: float
    phones: list[tuple[str, float, float]] = dataclasses.field(default_factory=list)
    shift_s: float = float("nan")  #: |phone-pass onset − anchor onset|, s (hybrid only)
    anchor_s: Optional[tuple[float, float]] = None  #: the Whisper anchor's (start, end), s (hybrid only)


class _Engine:
    """PocketSphinx decoders (one per beam width) over one song's audio and vocabulary.

    Words are written to a temporary dictionary under synthetic ids ("w0", "w1"...), with
    all their pronunciations as variants; the file is deleted once the decoders have read it.
    """

    def __init__(self, audio_i16: np.ndarray, vocab: dict[str, list[list[str]]], beams: Sequence[float] = ()):
        self.audio = audio_i16
        self.n = len(audio_i16)
        floor = 10.0 ** (NOISE_FLOOR_DBFS / 20.0) * 32767.0
        self._quiet = np.round(np.random.default_rng(1).normal(0.0, floor, int(GLOBAL_PAD_S * ALIGN_SR))).astype(np.int16)
        fd, self.dict_path = tempfile.mkstemp(prefix="lipcoach-", suffix=".dict")
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                for word_id, prons in vocab.items():
                    for k, phones in enumerate(prons):
                        suffix = "" if k == 0 else f"({k + 1})"
                        handle.write(f"{word_id}{suffix} {' '.join(phones)}\n")
            self._dict_file = self.dict_path
            self.decoders = {beam: self._decoder(beam) for beam in beams}
        finally:
            os.unlink(self.dict_path)

    def _decoder(self, beam: float):
        from pocketsphinx import Decoder

        return Decoder(
            samprate=ALIGN_SR, bestpath=False, lm=None, dict=self._dict_file, loglevel="FATAL",
            beam=beam, wbeam=beam, pbeam=beam, maxhmmpf=-1,
        )

    def _pcm(self, t0: float, t1: float, pad_s: float) -> bytes:
        a, b = max(0, int(round(t0 * ALIGN_SR))), min(self.n, int(round(t1 * ALIGN_SR)))
        return self.audio[a:b].tobytes() + self._quiet[: int(pad_s * ALIGN_SR)].tobytes()

    def align(
        self, ids: Sequence[str], t0: float, t1: float, *, phones: bool, beam: Optional[float] = None, pad_s: float = LINE_PAD_S
    ) -> Optional[list[_Seg]]:
        """Align ``ids`` inside [t0, t1] s; None when PocketSphinx finds no complete path.

        ``pad_s`` seconds of near-silence are appended: a path still in the middle of the
        text must then sing its remaining words over silence, which lets the path that has
        finished the text win (otherwise it is often pruned at the last frame of a window
        that ends in music).
        """
        if not ids or t1 - t0 < 0.05 * len(ids):
            return None
        pcm = self._pcm(t0, t1, pad_s)
        dec = self.decoders[BEAM if beam is None else beam]
        try:
            dec.set_align_text(" ".join(ids))
            dec.start_utt()
            dec.process_raw(pcm, full_utt=True)
            dec.end_utt()
            found = dec.seg()
            if found is None:
                return None
            id_set = frozenset(ids)
            segs = [s for s in found if s.word.split("(")[0] in id_set]
            words = [s.word.split("(")[0] for s in segs]
            if words != list(ids):
                return None  # a wide beam can silently drop trailing words
            out = [
                _Seg(min(t1, t0 + s.start_frame * FRAME_S), min(t1, t0 + (s.end_frame + 1) * FRAME_S), float(np.clip(s.prob, 0.0, 1.0)))
                for s in segs
            ]
            if phones:
                dec.set_alignment()
                dec.start_utt()
                dec.process_raw(pcm, full_utt=True)
                dec.end_utt()
                k = -1
                for entry in dec.get_alignment().words():
                    name = entry.name.split("(")[0]
                    if name not in id_set:
                        continue
                    k += 1
                    if k >= len(out):
                        break
                    out[k].start_s = min(t1, t0 + entry.start * FRAME_S)
                    out[k].end_s = min(t1, t0 + (entry.start + entry.duration) * FRAME_S)
                    out[k].phones = [
                        (p.name, min(t1, t0 + p.start * FRAME_S), min(t1, t0 + (p.start + p.duration) * FRAME_S)) for p in entry
                    ]
            return out
        except RuntimeError:
            return None


def _prepare_audio(vocal: np.ndarray) -> np.ndarray:
    """Peak-normalised int16 PCM with a faint noise floor (digital silence breaks alignment)."""
    y = np.asarray(vocal, dtype=np.float32).ravel()
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0:
        y = y * (0.9 / peak)
    floor = 10.0 ** (NOISE_FLOOR_DBFS / 20.0)
    y = y + np.random.default_rng(0).normal(0.0, floor, y.size).astype(np.float32)
    return (np.clip(y, -1.0, 1.0) * 32767.0).astype(np.int16)


def _vocabulary(lyrics: Lyrics, language: str) -> tuple[list[list[str]], dict[str, list[list[str]]], list[list[int]]]:
    """Word ids per line, id → pronunciations, and phone counts per word per line."""
    ids_of: dict[str, str] = {}
    vocab: dict[str, list[list[str]]] = {}
    line_ids: list[list[str]] = []
    line_nph: list[list[int]] = []
    for ln in lyrics.lines:
        ids, nph = [], []
        for token in ln.words:
            form = align_form(token)
            if form not in ids_of:
                prons = word_pronunciations(form, language) or [["AH"]]
                ids_of[form] = f"w{len(ids_of)}"
                vocab[ids_of[form]] = prons
            ids.append(ids_of[form])
            nph.append(len(vocab[ids_of[form]][0]))
        line_ids.append(ids)
        line_nph.append(nph)
    return line_ids, vocab, line_nph


def _plausible(segs: list[_Seg], n_phones: int) -> bool:
    """False when a line's alignment stretches over what looks like an instrumental break.

    On a mix the Viterbi path can drag a word across bars of accompaniment instead of
    leaving them to the silence/filler model; such a line is far longer than it can be sung.
    """
    if not segs:
        return False
    span = segs[-1].end_s - segs[0].start_s
    longest = max(s.end_s - s.start_s for s in segs[:-1]) if len(segs) > 1 else 0.0
    return span <= n_phones * MAX_S_PER_PHONE + 3.0 and longest <= MAX_WORD_S


def _coarse_global(engine: _Engine, line_ids: list[list[str]], duration_s: float) -> Optional[list[Optional[list[_Seg]]]]:
    """One alignment of all words over the whole song; None when it finds no complete path."""
    ids = [w for ids in line_ids for w in ids]
    segs = engine.align(ids, 0.0, duration_s, phones=False, beam=GLOBAL_BEAM, pad_s=GLOBAL_PAD_S)
    if segs is None:
        return None
    out: list[Optional[list[_Seg]]] = []
    pos = 0
    for ids_k in line_ids:
        out.append(segs[pos: pos + len(ids_k)])
        pos += len(ids_k)
    return out


def _coarse_untimed(
    engine: _Engine, line_ids: list[list[str]], line_nph: list[list[int]], duration_s: float, report: ProgressCallback
) -> list[Optional[list[_Seg]]]:
    """Chunked sequential alignment of all lines over the whole song (see module docstring)."""
    n = len(line_ids)
    result: list[Optional[list[_Seg]]] = [None] * n
    cursor = 0.0
    i = 0
    while i < n:
        report(i / n, f"finding line {i + 1}/{n}")
        j, count = i, 0
        while j < n and (count < CHUNK_WORDS or j == i):
            count += len(line_ids[j])
            j += 1
        accepted = False
        for attempt, (lines_in_chunk, stretch) in enumerate(COARSE_ATTEMPTS):
            chunk = list(range(i, j)) if lines_in_chunk == 0 else list(range(i, min(j, i + lines_in_chunk)))
            ids = [w for k in chunk for w in line_ids[k]]
            nph = sum(sum(line_nph[k]) for k in chunk)
            t1 = min(duration_s, cursor + (nph * SLOW_S_PER_PHONE + COARSE_SLACK_S) * stretch)
            segs = engine.align(ids, cursor, t1, phones=False, pad_s=0.0)
            if segs is None:
                continue
            per_line, pos = [], 0
            for k in chunk:
                per_line.append(segs[pos: pos + len(line_ids[k])])
                pos += len(line_ids[k])
            good = 0
            while good < len(chunk) and _plausible(per_line[good], sum(line_nph[chunk[good]])):
                good += 1
            if good == 0:
                continue
            # Keep the chunk's last line for the next chunk (it lacked right context),
            # unless it ends the song or the chunk is a single line.
            keep = good if (good < len(chunk) or chunk[-1] == n - 1 or len(chunk) == 1) else good - 1
            keep = max(keep, 1)
            for m in range(keep):
                result[chunk[m]] = per_line[m]
            if keep < len(chunk):
                cursor = max(per_line[keep - 1][-1].end_s - 0.2, min(per_line[keep][0].start_s - 1.0, per_line[keep - 1][-1].end_s + 0.5))
            else:
                cursor = per_line[keep - 1][-1].end_s
            i = chunk[keep - 1] + 1
            accepted = True
            break
        if not accepted:
            # Move on conservatively (a cursor behind the singer recovers; one ahead cannot).
            cursor = min(duration_s, cursor + 0.5 * sum(line_nph[i]) * TYPICAL_S_PER_PHONE)
            i += 1
    return result


def _frame_db(vocal: np.ndarray, *, sr: int) -> np.ndarray:
    """RMS level of consecutive 10 ms frames, dBFS."""
    hop = int(round(FRAME_S * sr))
    n = len(vocal) // hop
    frames = vocal[: n * hop].reshape(n, hop).astype(np.float64)
    return 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def _trim_onsets(segs: list[_Seg], level_db: np.ndarray) -> None:
    """Move a word's onset past near-silence that its first phone swallowed.

    The en-us model readily stretches a weak first phone (DH, HH, F) back over a preceding
    pause. Where the audio under the start of that phone is ``TRIM_DROP_DB`` below the
    word's loud part, the onset moves to where the sound begins. Under accompaniment the
    level never drops that far, so mixes are left alone.
    """
    for seg in segs:
        if not seg.phones:
            continue
        name, p0, p1 = seg.phones[0]
        if p1 - p0 < TRIM_MIN_PHONE_S:
            continue
        a, b = int(seg.start_s / FRAME_S), int(seg.end_s / FRAME_S)
        word = level_db[a:b]
        if word.size < 3:
            continue
        threshold = np.percentile(word, 90) - TRIM_DROP_DB
        # The quiet run inside the first phone (the tail of the previous word may still
        # sound at its start); the word begins after its last quiet frame.
        head = word[: max(1, int(round((p1 - seg.start_s) / FRAME_S)))]
        quiet = np.flatnonzero(head < threshold)
        if quiet.size < 5:
            continue
        # Keep at least 30 ms of the first phone: a stop's burst sits at its very end.
        new_start = min((a + quiet[-1] + 1) * FRAME_S, p1 - 0.03)
        if new_start > seg.start_s:
            seg.phones[0] = (name, new_start, p1)
            seg.start_s = new_start


def _windows(
    lyrics: Lyrics, coarse: list[Optional[list[_Seg]]], duration_s: float
) -> list[tuple[float, float]]:
    """Phone-pass window of every line, s, bounded by the neighbouring lines."""
    n = len(lyrics.lines)
    out = []
    for k, ln in enumerate(lyrics.lines):
        if lyrics.timed:
            a = ln.start_s - STAMP_MARGIN_S
            nxt = lyrics.lines[k + 1].start_s if k + 1 < n else None
            end = ln.end_s if ln.end_s is not None else (nxt if nxt is not None else duration_s)
            b = end + STAMP_MARGIN_S
        else:
            segs = coarse[k]
            if segs is None:
                out.append((0.0, 0.0))
                continue
            a, b = segs[0].start_s - LINE_MARGIN_S, segs[-1].end_s + LINE_MARGIN_S
            prev = next((coarse[m] for m in range(k - 1, -1, -1) if coarse[m] is not None), None)
            nxt_c = next((coarse[m] for m in range(k + 1, n) if coarse[m] is not None), None)
            if prev is not None:
                a = max(a, prev[-1].end_s - 0.1)
            if nxt_c is not None:
                b = min(b, nxt_c[0].start_s + 0.1)
        out.append((max(0.0, a), min(duration_s, b)))
    return out


def _uniform_phones(word_ids: str, prons: dict[str, list[list[str]]], start_s: float, end_s: float) -> list[tuple[str, float, float]]:
    phones = prons[word_ids][0]
    edges = np.linspace(start_s, end_s, len(phones) + 1)
    return [(p, float(edges[i]), float(edges[i + 1])) for i, p in enumerate(phones)]


#: Processes for the phone pass of anchored lines (LIPCOACH_THREADS, default 2); 1 = in process.
#: Forked workers share the engine's audio and decoders copy-on-write.
def _workers() -> int:
    try:
        return max(1, int(os.environ.get("LIPCOACH_THREADS", "2")))
    except ValueError:
        return 2


_POOL_ENGINE: Optional["_Engine"] = None


def _pool_align(job):
    ids, a, b = job
    return _POOL_ENGINE.align(ids, a, b, phones=True)


def _align_lines_parallel(engine: "_Engine", jobs: list, report: ProgressCallback) -> list[Optional[list[_Seg]]]:
    """Phone pass of each (ids, t0, t1) job (None = skip), in a fork pool when it pays."""
    global _POOL_ENGINE
    todo = [k for k, job in enumerate(jobs) if job is not None]
    out: list[Optional[list[_Seg]]] = [None] * len(jobs)
    workers = _workers()
    if workers > 1 and len(todo) >= 4 and "fork" in __import__("multiprocessing").get_all_start_methods():
        import multiprocessing

        _POOL_ENGINE = engine
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for done, (k, segs) in enumerate(zip(todo, pool.imap(_pool_align, [jobs[k] for k in todo]))):
                    out[k] = segs
                    report(done / len(todo), f"refining line {k + 1}/{len(jobs)}")
            return out
        except (OSError, RuntimeError):
            pass  # no processes to be had: do it here
        finally:
            _POOL_ENGINE = None
    for done, k in enumerate(todo):
        report(done / len(todo), f"refining line {k + 1}/{len(jobs)}")
        out[k] = engine.align(*jobs[k], phones=True)
    return out


def _anchor_segs(anchors: Sequence["WordTiming"], line_ids: list[list[str]]) -> list[Optional[list[_Seg]]]:
    """Whisper's word times cut into lines; a line none of whose words was placed is None."""
    out: list[Optional[list[_Seg]]] = []
    pos = 0
    for ids in line_ids:
        group = anchors[pos: pos + len(ids)]
        pos += len(ids)
        if not any(t.aligned for t in group):
            out.append(None)
            continue
        out.append([_Seg(t.start_s, max(t.end_s, t.start_s + 0.02), t.probability if t.aligned else 0.0) for t in group])
    return out


def _merge_anchor(refined: Optional[list[_Seg]], anchor: Optional[list[_Seg]], ids: list[str], vocab) -> Optional[list[_Seg]]:
    """Per word: the phone pass's onset and phones where the anchor allows them, else the anchor.

    The phone pass's onset is kept when it lies between :data:`REFINE_MAX_SHIFT_S` before
    the anchor's onset and the later of that much after it and the anchor's end. Whisper's
    word span is right far more often than its onset (it often lets a word after a pause
    start in the pause, and its onsets are biased by ±0.1 s, in a direction that depends on
    the model); the phone pass is precise but can slide a word onto a neighbouring note.
    Chosen among: anchors alone; phone pass within ±0.3/0.5/0.7 s; inside the word span with
    those margins (benchmarks/song_accuracy.py; inside ±0.3 s was best on both sets: English
    86.7 % within 0.3 s vs 85.3 % for the anchors alone and 84.6 % for ±0.3 s, French/
    Spanish/German 85.8 % vs 78.1 % and 78.4 %).
    The confidence keeps the anchor's probability; ``_Seg.shift_s`` records how far apart
    the two onsets were (read by :mod:`lipcoach.song.confidence`).
    """
    if anchor is None:
        return None
    out = []
    for k, (wid, a) in enumerate(zip(ids, anchor)):
        r = refined[k] if refined is not None else None
        if r is not None and a.start_s - REFINE_MAX_SHIFT_S <= r.start_s <= max(a.start_s + REFINE_MAX_SHIFT_S, a.end_s):
            seg = _Seg(r.start_s, r.end_s, a.confidence, r.phones)
        else:
            seg = _Seg(a.start_s, a.end_s, a.confidence, _uniform_phones(wid, vocab, a.start_s, a.end_s))
        seg.shift_s = abs(r.start_s - a.start_s) if r is not None else float("nan")
        seg.anchor_s = (a.start_s, a.end_s)
        out.append(seg)
    # Onsets stay in order; a word ends where the next begins at the latest.
    for k in range(1, len(out)):
        if out[k].start_s < out[k - 1].start_s:
            out[k].start_s = out[k - 1].start_s
    for k in range(len(out) - 1):
        out[k].end_s = max(out[k].start_s + 0.01, min(out[k].end_s, out[k + 1].start_s))
    return out


def align_lyrics(
    vocal: np.ndarray,
    *,
    sr: int,
    lyrics: Lyrics,
    language: str = "en",
    anchors: Optional[Sequence["WordTiming"]] = None,
    refine: bool = True,
    diagnostics: Optional[dict] = None,
    report: Optional[ProgressCallback] = None,
) -> tuple[list[Word], list[Line]]:
    """Align lyrics to a vocal guide: every word and phoneme with start and end times.

    Parameters
    ----------
    vocal : np.ndarray, shape (n_samples,)
        Mono vocal guide (an isolated stem, a separated estimate or the mix), float.
    sr : int
        Sample rate of ``vocal``, Hz; must be 16000 (the acoustic model's rate).
    lyrics : Lyrics
        From :func:`lipcoach.formats.lyrics.read_lyrics`; timed lyrics anchor each line.
    language : str
        Language of the lyrics (ISO 639-1 such as "en", "fr", "es", "de").
    anchors : sequence of WordTiming, optional
        One per lyric word, from :func:`lipcoach.song.whisper_align.align_words`. When given
        (untimed lyrics), they replace PocketSphinx's whole-song pass: each line's phone pass
        runs in the window the anchors give it, and a word keeps the phone pass's onset only
        when it lies within :data:`REFINE_MAX_SHIFT_S` of its anchor (see :func:`_merge_anchor`).
    refine : bool
        With ``anchors``: False keeps the anchors' times and spreads phonemes evenly.
    diagnostics : dict, optional
        Filled with internals for benchmarks: ``line_features`` (n_lines × features of
        :func:`lipcoach.song.confidence.line_features`, hybrid only).
    report : callable, optional
        Progress ``report(fraction, label)``, called per line.

    Returns
    -------
    words : list of Word
        One per lyric word, in order (``Word.line`` indexes ``lines``), with phonemes and
        visemes, ``confidence`` in 0..1.
    lines : list of Line
        One per lyric line; ``aligned=False`` (and a low confidence) where times were
        interpolated. ``entrance`` is left None.

    Raises
    ------
    LipcoachError
        Wrong sample rate, or a language eSpeak NG does not know.
    """
    report = report or silent
    if sr != ALIGN_SR:
        raise LipcoachError(None, f"alignment needs 16000 Hz audio, got {sr} Hz")
    language = check_language(language)
    vocal = np.asarray(vocal, dtype=np.float32).ravel()
    duration_s = len(vocal) / sr
    line_ids, vocab, line_nph = _vocabulary(lyrics, language)
    n = len(lyrics.lines)
    segs_per_line: list[Optional[list[_Seg]]] = [None] * n
    if duration_s > 0.5 and np.any(vocal):
        engine = _Engine(_prepare_audio(vocal), vocab, beams=(BEAM,) if lyrics.timed or anchors is not None else (BEAM, GLOBAL_BEAM))
        if lyrics.timed:
            coarse: list[Optional[list[_Seg]]] = [None] * n
            fine_from = 0.0
        elif anchors is not None:
            coarse = _anchor_segs(anchors, line_ids)
            fine_from = 0.0
        else:
            report(0.0, "aligning the whole song")
            coarse = _coarse_global(engine, line_ids, duration_s)
            if coarse is None:
                coarse = _coarse_untimed(engine, line_ids, line_nph, duration_s, subrange(report, 0.0, 0.6))
            fine_from = 0.6
        windows = _windows(lyrics, coarse, duration_s)
        if anchors is not None and not lyrics.timed:
            # Anchored lines are independent: their phone passes run in parallel.
            jobs = [(line_ids[k], *windows[k]) if refine and coarse[k] is not None and windows[k][1] > windows[k][0] else None for k in range(n)]
            refined = _align_lines_parallel(engine, jobs, subrange(report, fine_from, 1.0))
            for k in range(n):
                segs_per_line[k] = _merge_anchor(refined[k], coarse[k], line_ids[k], vocab)
        for k in range(n):
            if anchors is not None and not lyrics.timed:
                break
            report(fine_from + (1 - fine_from) * k / n, f"aligning line {k + 1}/{n}")
            a, b = windows[k]
            previous = segs_per_line[k - 1] if k else None
            if lyrics.timed and previous:
                # Lines are sung in order: a line starts after the previous one ended (this
                # also splits an SRT/VTT cue holding several lines).
                a = max(a, min(previous[-1].end_s - 0.05, b - 0.5))
            segs = engine.align(line_ids[k], a, b, phones=True) if b > a else None
            if segs is None and lyrics.timed:
                # A stamp can be off by more than the margin: retry with a wider window.
                segs = engine.align(line_ids[k], max(0.0, a - 3.0), min(duration_s, b + 3.0), phones=True)
            if segs is None and coarse[k] is not None:
                segs = coarse[k]
                for s, wid in zip(segs, line_ids[k]):
                    s.phones = _uniform_phones(wid, vocab, s.start_s, s.end_s)
            segs_per_line[k] = segs
        levels = _frame_db(vocal, sr=sr)
        for segs in segs_per_line:
            if segs is not None:
                _trim_onsets(segs, levels)
    report(1.0, "words aligned")
    line_conf = None
    if anchors is not None and not lyrics.timed and len(anchors) == sum(len(ids) for ids in line_ids):
        feats = _anchor_line_features(anchors, line_ids, segs_per_line)
        line_conf = [confidence.line_confidence(f) for f in feats]
        if diagnostics is not None:
            diagnostics["line_features"] = np.array(feats).reshape(len(feats), -1)
    return _assemble(lyrics, line_ids, vocab, line_nph, segs_per_line, duration_s, line_conf)


def _anchor_line_features(anchors, line_ids, segs_per_line) -> list[np.ndarray]:
    feats, pos = [], 0
    for k, ids in enumerate(line_ids):
        group = anchors[pos: pos + len(ids)]
        pos += len(ids)
        segs = segs_per_line[k]
        shifts = [s.shift_s for s in segs] if segs is not None else [float("nan")] * len(ids)
        feats.append(
            confidence.line_features(
                [t.probability for t in group], [t.aligned for t in group], shifts, group[0].end_s - group[0].start_s if group else 0.0
            )
        )
    return feats


def _assemble(
    lyrics: Lyrics,
    line_ids: list[list[str]],
    vocab: dict[str, list[list[str]]],
    line_nph: list[list[int]],
    segs_per_line: list[Optional[list[_Seg]]],
    duration_s: float,
    line_conf: Optional[list[float]] = None,
) -> tuple[list[Word], list[Line]]:
    n = len(lyrics.lines)
    # Interpolate unaligned lines inside the gap left by their aligned neighbours (or their
    # stamp window when the lyrics are timed).
    for k in range(n):
        if segs_per_line[k] is not None:
            continue
        ln = lyrics.lines[k]
        prev_end = next((segs_per_line[m][-1].end_s for m in range(k - 1, -1, -1) if segs_per_line[m]), 0.0)
        nxt = next(((m, segs_per_line[m][0].start_s) for m in range(k + 1, n) if segs_per_line[m]), (n, duration_s))
        run = [m for m in range(k, nxt[0]) if segs_per_line[m] is None]  # consecutive unaligned lines
        if ln.start_s is not None:
            a = ln.start_s
            b = ln.end_s if ln.end_s is not None else min(duration_s, a + sum(line_nph[k]) * TYPICAL_S_PER_PHONE)
            spans = [(a, max(b, a + 0.05 * len(line_ids[k])))]
            targets = [k]
        else:
            total = sum(sum(line_nph[m]) for m in run) or 1
            a0, b0 = prev_end, max(prev_end, nxt[1])
            spans, t = [], a0
            for m in run:
                length = (b0 - a0) * sum(line_nph[m]) / total
                spans.append((t, t + length))
                t += length
            targets = run
        for m, (a, b) in zip(targets, spans):
            if segs_per_line[m] is not None:
                continue
            stamps = lyrics.lines[m].word_starts_s
            weights = np.asarray(line_nph[m], dtype=float) + 1.0
            edges = a + (b - a) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
            if stamps is not None and len(stamps) == len(line_ids[m]):
                edges = np.concatenate([np.asarray(stamps, float), [b]])
                edges = np.maximum.accumulate(edges)
            segs = []
            for i, wid in enumerate(line_ids[m]):
                s0, s1 = float(edges[i]), float(max(edges[i + 1], edges[i] + 0.02))
                segs.append(_Seg(s0, s1, UNALIGNED_CONFIDENCE, _uniform_phones(wid, vocab, s0, s1)))
            segs_per_line[m] = segs
            segs_per_line[m][0].confidence = -1.0  # marker: interpolated (reset below)

    # With anchors, onsets never go backwards (a line's phone pass may start inside the
    # previous line's tail). Not on the other paths: there the earlier word is as likely wrong.
    last_s = 0.0
    for segs in segs_per_line if line_conf is not None else ():
        for seg in segs:
            seg.start_s = max(seg.start_s, last_s)
            seg.end_s = max(seg.end_s, seg.start_s)
            last_s = seg.start_s
    words: list[Word] = []
    lines: list[Line] = []
    for k, ln in enumerate(lyrics.lines):
        segs = segs_per_line[k]
        interpolated = segs[0].confidence < 0
        if interpolated:
            segs[0].confidence = UNALIGNED_CONFIDENCE
        if line_conf is not None and not interpolated:
            # A word's confidence is its line's, lowered where Whisper could not place the word.
            for seg in segs:
                seg.confidence = line_conf[k] if seg.confidence > 0 or seg.anchor_s is None else min(line_conf[k], UNALIGNED_CONFIDENCE)
        for token, seg in zip(ln.words, segs):
            phonemes = [
                Phoneme(symbol=p, start=round(max(0.0, s), 4), end=round(max(0.0, e), 4), viseme=viseme_of(p))
                for p, s, e in seg.phones
                if not p.startswith("+") and p != "SIL"
            ]
            words.append(
                Word(
                    text=token,
                    start=max(0.0, seg.start_s),
                    end=max(0.0, seg.end_s),
                    line=k,
                    phonemes=phonemes,
                    confidence=float(np.clip(seg.confidence, 0.0, 1.0)),
                )
            )
        conf = float(np.mean([np.clip(s.confidence, 0.0, 1.0) for s in segs])) if line_conf is None else line_conf[k]
        conf = UNALIGNED_CONFIDENCE if interpolated else conf
        lines.append(
            Line(
                text=ln.text,
                start=max(0.0, segs[0].start_s),
                end=max(0.0, segs[-1].end_s),
                entrance=None,
                section=ln.section,
                confidence=conf,
                aligned=not interpolated,
                flagged=interpolated or (line_conf is not None and confidence.is_flagged(conf)),
            )
        )
    return words, lines
