"""Forced alignment of given lyrics with Whisper's cross-attention (CTranslate2, no torch).

This is alignment, not transcription: the text is the user's lyrics and Whisper only says
*where* each of its tokens is heard. For a 30 s window of audio and a run of text tokens,
ctranslate2's ``Whisper.align`` runs the decoder over the tokens, takes the cross-attention
of the model's alignment heads, and finds the monotonic path (DTW) from tokens to 20 ms
encoder frames. Every token must be placed somewhere inside the window, so text that is
not sung in it piles up in zero-length words at the window's end: that pile is the signal
that tells the loop below where the window stopped following the voice.

Windowing (after stable-ts's ``align``, MIT, re-written here on ctranslate2)
---------------------------------------------------------------------------
A cursor (``seek``) walks through the song. At each step the window is the next
:data:`WINDOW_S` seconds from the cursor and the text is the next words up to
:data:`TOKEN_BUDGET` tokens. After alignment:

* words are accepted up to the last one with a non-zero length, minus that one when it
  touches the window's end (it may continue in the next window) and minus everything from
  the first word longer than :data:`MAX_WORD_S` (a word dragged over an instrumental
  break); the cursor moves to the end of the last accepted word;
* when the *first* word is that long, the singing starts late in the window (an intro or a
  break): the cursor jumps to just before the word's end, nothing is accepted, and the same
  words are tried again from there;
* when no word has a length, nobody sings the text in this window: the cursor jumps
  :data:`SKIP_S` ahead (less than a window, so an entrance late in the window is not jumped over).

Words left when the song ends, or that kept zero length, are not aligned: they get times
interpolated between their aligned neighbours and probability 0, locally, without moving
any other word.

Two additions to stable-ts's loop, each measured on real mixes (whisper alone, share of
word onsets within 0.3 s):

* a first word that is *long* (:data:`LONG_FACTOR` × the window's median word, at least
  :data:`LONG_MIN_S`) also moves the cursor, not only one over :data:`MAX_WORD_S`, and a
  line whose first word is long ends the window before it (dsp_i_18: 34 % without these
  rules when lines were padded, 80.8 % with them);
* :data:`GAP_PADDING` before the window's first word absorbs the music at the window's
  start (a spoken clip after a 6 s intro: first word 2.5 s early without it, exact with it).

The loop's first version (neither addition) already put 85.3 % of the English words and
78.1 % of the French/Spanish/German words within 0.3 s, against 82.1 % for stable-ts on
tiny.en and 72 % for a naive 30 s window loop (../shared/notes/stack.md). The figures of the
version here are in docs/benchmarks.md (benchmarks/song_accuracy.py).
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import numpy as np

from lipcoach.progress import ProgressCallback, silent

#: Sample rate Whisper expects, Hz.
WHISPER_SR = 16000
#: Length of one alignment window, s (Whisper's fixed input length).
WINDOW_S = 30.0
#: Mel frames per second (hop 160 samples at 16 kHz) and encoder positions per second.
MEL_FPS = 100
TOKENS_PER_S = 50
#: Most text tokens aligned in one window (stable-ts's default token_step).
TOKEN_BUDGET = 100
#: A word longer than this (s) was dragged over music: it and what follows are redone.
MAX_WORD_S = 3.0
#: A word is "long" when it lasts more than LONG_FACTOR × the window's median word length and
#: at least LONG_MIN_S; a long word that starts a window or a line has usually swallowed the
#: music before it (Whisper lets a word after a pause start in the pause).
LONG_FACTOR = 2.5
LONG_MIN_S = 1.0
#: How far the cursor jumps when a window holds none of the text, s.
SKIP_S = 15.0
#: Text placed before the window's first word so that music at the start of the window is
#: given to it rather than to the word (after stable-ts's ``gap_padding``).
GAP_PADDING = " ..."
#: Where GAP_PADDING goes: "window" (before the window's first word), "lines" (also before
#: every line's first word) or "none". Padding every line lost words to the padding on
#: dsp_i_18 (70.9 % within 0.3 s vs 80.8 % unpadded); padding the window's first word fixes
#: the first word after a long intro (tests/song/test_whisper_align.py).
PAD_WHERE = "window"
#: Median filter over the attention weights before DTW (faster-whisper's default), frames.
MEDIAN_FILTER = 7
#: Languages Whisper's multilingual tokenizer knows that eSpeak names differently.
_LANGUAGE_ALIASES = {"zh-yue": "yue", "cmn": "zh", "nb": "no"}


@dataclasses.dataclass
class WordTiming:
    """Where Whisper places one lyric word.

    Attributes
    ----------
    start_s, end_s : float
        Onset and end, s from the start of the audio.
    probability : float
        Mean probability Whisper gives the word's tokens in context (0..1); 0 when not aligned.
    aligned : bool
        False when the word was never placed and its times were interpolated.
    """

    start_s: float
    end_s: float
    probability: float
    aligned: bool = True


def _whisper_language(language: str, multilingual: bool) -> Optional[str]:
    if not multilingual:
        return None
    code = language.split("-")[0].lower()
    return _LANGUAGE_ALIASES.get(language, code)


class WhisperAligner:
    """One loaded Whisper model with the tokenizer for one language.

    Parameters
    ----------
    model : faster_whisper.WhisperModel
        From :func:`lipcoach.media.whisper_model.load_model`.
    language : str
        ISO 639-1 code of the lyrics; ignored by English-only models.
    """

    def __init__(self, model, language: str):
        from faster_whisper.tokenizer import Tokenizer

        self.model = model
        multilingual = model.model.is_multilingual
        code = _whisper_language(language, multilingual)
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        if multilingual and code not in _LANGUAGE_CODES:
            from lipcoach.errors import LipcoachError

            raise LipcoachError(None, f"the Whisper model does not know language {language!r}")
        self.tokenizer = Tokenizer(model.hf_tokenizer, multilingual, task="transcribe", language=code)

    def word_tokens(self, words: Sequence[str]) -> list[list[int]]:
        """Tokens of each word as written, with the leading space Whisper expects."""
        return [self.tokenizer.encode(" " + w.strip()) or self.tokenizer.encode(" -") for w in words]

    def features(self, audio: np.ndarray) -> np.ndarray:
        """Log-mel features of the whole song, shape (n_mels, n_frames), 100 frames per s."""
        return self.model.feature_extractor(np.asarray(audio, dtype=np.float32))

    def align_window(
        self, features: np.ndarray, start_frame: int, tokens: list[list[int]], padded: Optional[Sequence[bool]] = None
    ) -> list[tuple[float, float, float]]:
        """Align word tokens inside one window of features.

        Parameters
        ----------
        features : np.ndarray
            From :meth:`features`.
        start_frame : int
            First mel frame of the window.
        tokens : list of list of int
            Tokens of each word to place.
        padded : sequence of bool, optional
            Words to precede with :data:`GAP_PADDING` (see the module docstring).

        Returns
        -------
        list of (start_s, end_s, probability)
            Per word, s relative to the window's start.
        """
        from faster_whisper.audio import pad_or_trim

        n_window = int(WINDOW_S * MEL_FPS)
        segment = features[:, start_frame: start_frame + n_window]
        n_frames = segment.shape[-1]
        encoded = self.model.encode(pad_or_trim(segment))
        pad = self.tokenizer.encode(GAP_PADDING)
        flat: list[int] = []
        bounds = []  # (first, end) token index of each word's own tokens in ``flat``
        for k, word in enumerate(tokens):
            if padded is not None and padded[k]:
                flat.extend(pad)
            bounds.append((len(flat), len(flat) + len(word)))
            flat.extend(word)
        result = self.model.model.align(
            encoded, self.tokenizer.sot_sequence, [flat], n_frames, median_filter_width=MEDIAN_FILTER
        )[0]
        text_idx = np.array([p[0] for p in result.alignments])
        time_idx = np.array([p[1] for p in result.alignments])
        jumps = np.pad(np.diff(text_idx), (1, 0), constant_values=1).astype(bool)
        jump_s = time_idx[jumps] / TOKENS_PER_S
        probs = np.asarray(result.text_token_probs, dtype=float)
        out = []
        limit_s = n_frames / MEL_FPS
        for a, b in bounds:
            start = float(jump_s[a]) if a < len(jump_s) else limit_s
            end = float(jump_s[b]) if b < len(jump_s) else limit_s
            p = float(np.mean(probs[a:b])) if b <= len(probs) and b > a else 0.0
            out.append((min(start, limit_s), min(max(end, start), limit_s), p))
        return out


def align_words(
    audio: np.ndarray,
    *,
    sr: int,
    words: Sequence[str],
    aligner: WhisperAligner,
    line_starts: Sequence[int] = (),
    report: Optional[ProgressCallback] = None,
) -> list[WordTiming]:
    """Place every lyric word in the song with Whisper (see the module docstring).

    Parameters
    ----------
    audio : np.ndarray, shape (n_samples,)
        The song (mix or vocal), mono float at ``sr``.
    sr : int
        Sample rate, Hz; must be 16000.
    words : sequence of str
        The lyric words as written (display tokens, punctuation kept), in sung order.
    aligner : WhisperAligner
    line_starts : sequence of int
        Indices of the words that begin a lyric line (see the module docstring).
    report : callable, optional
        Progress ``report(fraction, label)``.

    Returns
    -------
    list of WordTiming
        One per word, in order; onsets never decrease.
    """
    if sr != WHISPER_SR:
        raise ValueError(f"Whisper alignment needs {WHISPER_SR} Hz audio, got {sr}")
    report = report or silent
    n_words = len(words)
    timings: list[Optional[WordTiming]] = [None] * n_words
    if n_words == 0:
        return []
    duration_s = len(audio) / sr
    features = aligner.features(audio)
    n_total_frames = features.shape[-1]
    tokens = aligner.word_tokens(words)
    starts = sorted(set(int(q) for q in line_starts))
    start_set = set(starts)
    seek_s, i = 0.0, 0
    while i < n_words and seek_s < duration_s - 0.2:
        report(min(1.0, seek_s / max(duration_s, 1e-9)), f"aligning words {i + 1}/{n_words}")
        j, budget = i, 0
        while j < n_words and (budget + len(tokens[j]) <= TOKEN_BUDGET or j == i):
            budget += len(tokens[j])
            j += 1
        start_frame = int(round(seek_s * MEL_FPS))
        if start_frame >= n_total_frames - 10:
            break
        padded = [PAD_WHERE != "none" and (k == i or (PAD_WHERE == "lines" and k in start_set)) for k in range(i, j)]
        placed = aligner.align_window(features, start_frame, tokens[i:j], padded)
        window_end_s = min(WINDOW_S, (n_total_frames - start_frame) / MEL_FPS)
        lengths = np.array([e - s for s, e, _ in placed])
        voiced = np.flatnonzero(lengths > 0)
        if voiced.size == 0:
            seek_s += SKIP_S
            continue
        first = voiced[0]
        typical_s = float(np.median(lengths[voiced]))
        long_s = max(LONG_MIN_S, LONG_FACTOR * typical_s)
        if lengths[first] > min(long_s, MAX_WORD_S):
            # The first word was stretched over an intro or break: the singing starts late.
            # Move to shortly before where the word ends and try the same words again.
            new_seek = seek_s + placed[first][1] - max(0.5, 2.0 * typical_s)
            if new_seek > seek_s + 0.5:
                seek_s = new_seek
                continue
        keep = voiced[-1] + 1
        if j < n_words and placed[keep - 1][1] >= np.floor(window_end_s) and voiced.size > 1:
            keep = voiced[-2] + 1  # it may go on in the next window
        too_long = np.flatnonzero(lengths[:keep] > MAX_WORD_S)
        too_long = too_long[too_long > first]
        if too_long.size:
            keep = int(too_long[0])
        # A line that starts with a long word after the window's first: stop before it, so
        # that it starts the next window and the rule above places it.
        late_lines = [q - i for q in starts if i < q < i + keep and q - i > first and lengths[q - i] > long_s]
        if late_lines:
            keep = min(keep, late_lines[0])
        for k in range(keep):
            s, e, p = placed[k]
            if e - s <= 0:
                continue  # never placed: interpolated below
            timings[i + k] = WordTiming(seek_s + s, seek_s + e, p)
        last_end = max((timings[m].end_s for m in range(i, i + keep) if timings[m] is not None), default=None)
        if last_end is None:
            seek_s += SKIP_S
            continue
        seek_s = max(seek_s + 0.02, last_end)
        i += keep
    report(1.0, "words placed")
    return _fill_unaligned(timings, duration_s)


def _fill_unaligned(timings: list[Optional[WordTiming]], duration_s: float) -> list[WordTiming]:
    """Interpolate words Whisper did not place between their placed neighbours; onsets made monotonic."""
    n = len(timings)
    out: list[WordTiming] = []
    k = 0
    while k < n:
        if timings[k] is not None:
            out.append(timings[k])
            k += 1
            continue
        m = k
        while m < n and timings[m] is None:
            m += 1
        a = out[-1].end_s if out else 0.0
        b = timings[m].start_s if m < n else duration_s
        b = max(a, b)
        edges = np.linspace(a, b, m - k + 1)
        for q in range(m - k):
            out.append(WordTiming(float(edges[q]), float(edges[q + 1]), 0.0, aligned=False))
        k = m
    last = 0.0
    for w in out:
        w.start_s = max(w.start_s, last)
        w.end_s = max(w.end_s, w.start_s)
        last = w.start_s
    return out

