"""Whisper forced alignment (CTranslate2), the hybrid with the phone pass, and line confidence."""

from __future__ import annotations

import numpy as np
import pytest

from lipcoach.media.whisper_model import load_model, tiny_en_model
from lipcoach.song.align import align_lyrics
from lipcoach.formats.lyrics import parse_lyrics_text
from lipcoach.song.whisper_align import WhisperAligner, align_words
from tests.song.test_align import SR, _spoken_phrase

LINES = ["paper boats upon the river", "carry all the words I never said", "morning light across the water"]


@pytest.fixture(scope="module")
def english():
    return WhisperAligner(load_model(tiny_en_model()), "en")


@pytest.fixture(scope="module")
def clip():
    """Three spoken lines after 6 s of a droning pad (an instrumental intro): exact onsets."""
    speech, truth = _spoken_phrase(LINES, "en", line_gap_s=1.2)
    intro_s = 6.0
    t = np.arange(int(intro_s * SR) + len(speech)) / SR
    pad = 0.02 * (np.sin(2 * np.pi * 110 * t) + 0.5 * np.sin(2 * np.pi * 165 * t))
    audio = pad.astype(np.float32)
    audio[int(intro_s * SR):] += speech
    return audio, np.array(truth) + intro_s


def _words(lines):
    return [w for line in lines for w in line.split()]


def test_whisper_places_every_word_within_300_ms_after_an_intro(english, clip):
    audio, truth = clip
    timings = align_words(audio, sr=SR, words=_words(LINES), aligner=english)
    onsets = np.array([t.start_s for t in timings])
    errors = np.abs(onsets - truth)
    # Whisper alone is coarse (20 ms frames, onsets biased by ~0.1 s, a word after a pause
    # may start in the pause; eSpeak's voice varies a little run to run): the intro must not
    # swallow the first word (2.5 s early without the re-seek and padding), most words land
    # within 0.3 s and none is lost by half a second.
    assert errors[0] <= 0.4 and np.median(errors) <= 0.2 and np.mean(errors <= 0.3) >= 0.7 and errors.max() < 0.6, errors
    assert all(t.aligned for t in timings)
    assert np.all(np.diff(onsets) >= 0)


def test_hybrid_keeps_whisper_in_place_and_refines_onsets(english, clip):
    audio, truth = clip
    lyrics = parse_lyrics_text("\n".join(LINES))
    anchors = align_words(audio, sr=SR, words=_words(LINES), aligner=english)
    words, lines = align_lyrics(audio, sr=SR, lyrics=lyrics, language="en", anchors=anchors)
    onsets = np.array([w.start for w in words])
    errors = np.abs(onsets - truth)
    assert np.mean(errors <= 0.3) >= 0.85, errors
    # Whisper keeps every word in place: the phone pass moves an onset at most REFINE_MAX_SHIFT_S
    # before its anchor, and never past the anchor's end (a known miss stays: a line's first
    # word after a pause over a drone starts in the pause, as Whisper's anchor does).
    from lipcoach.song.align import REFINE_MAX_SHIFT_S

    for onset, anchor in zip(onsets, anchors):
        assert anchor.start_s - REFINE_MAX_SHIFT_S - 1e-6 <= onset <= max(anchor.start_s + REFINE_MAX_SHIFT_S, anchor.end_s) + 1e-6
    # The phone pass is what makes onsets tight (Whisper alone puts about a third within 0.1 s).
    assert np.mean(errors <= 0.1) >= 0.6, errors
    assert [w.text for w in words] == _words(LINES)
    assert all(w.phonemes and w.start <= w.phonemes[0].start + 1e-6 for w in words)
    assert not any(line.flagged for line in lines), [line.confidence for line in lines]


def test_a_misplaced_line_is_flagged(english, clip):
    """Anchors of one line moved 3 s late (as if Whisper had lost it): that line is flagged, the one before is not.

    (The line after may be flagged too: the moved line now sits on it.)"""
    audio, _ = clip
    lyrics = parse_lyrics_text("\n".join(LINES))
    anchors = align_words(audio, sr=SR, words=_words(LINES), aligner=english)
    n0, n1 = len(LINES[0].split()), len(LINES[1].split())
    for t in anchors[n0: n0 + n1]:
        t.start_s += 3.0
        t.end_s += 3.0
    _, lines = align_lyrics(audio, sr=SR, lyrics=lyrics, language="en", anchors=anchors)
    assert [line.flagged for line in lines[:2]] == [False, True], [line.confidence for line in lines]
    assert lines[1].confidence < lines[0].confidence


def test_words_nobody_sings_are_interpolated_locally(english, clip):
    """Lyrics with an extra line that is never sung: the sung lines stay where they are."""
    audio, truth = clip
    lines = LINES[:2] + ["zebra quantum xylophone"] + LINES[2:]
    timings = align_words(audio, sr=SR, words=_words(lines), aligner=english)
    n = len(_words(LINES[:2]))
    onsets = np.array([t.start_s for t in timings])
    sung = np.concatenate([onsets[:n], onsets[n + 3:]])
    errors = np.abs(sung - truth)
    # The unsung line costs at most the words next to it; no sung line is dragged by seconds.
    assert np.mean(errors <= 0.3) >= 0.75 and errors.max() < 1.5, errors
