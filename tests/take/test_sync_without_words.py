"""Offsets without lyrics: song maps with no words, or only speech spans, on continuous speech (always run).

The "song" is generated speech-like sound (syllables with short gaps and a few pauses, no
silence longer than a breath); the mouth opens with each syllable, moving ahead of its sound
by the lead the config models, and the picture is shifted by a known offset. Nothing here
is tracked from video: the mouth track is made directly, so each case takes well under a second.
Two real talking heads (HDTF, skipped when ../shared/data is absent) follow, tracked once.
"""

import dataclasses

import numpy as np
import pytest

from lipcoach.take import sync as S
from lipcoach.take.mouth import CLOSED_OPENING, FaceTrack, MouthTrack, rounding_from_width
from lipcoach.take.score import score_take
from lipcoach.testing.clips import songmap_from_words, speech_spans

SR = 16000
FPS = 25.0
SONG_S = 12.0
TAKE_START_S = 2.0
TAKE_S = 7.0
SHIFTS_MS = (-200, -70, 0, 130, 300)


def speech(seed: int, *, pauses_s=(4.0, 8.5)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Continuous speech-like sound at :data:`SR`, its amplitude envelope, and the mouth's opening.

    Syllables of 120–300 ms (a 140 Hz voice with its harmonics) follow each other with 20–120 ms
    gaps, except for a 0.6 s pause after each of ``pauses_s``: a talking head's phrases. The
    mouth opens with each syllable, loosely (its own size, ±30 ms), and, as a speaker does,
    takes a breath through the mouth at the end of each pause (an opening the sound does not show).
    """
    rng = np.random.default_rng(seed)
    n = int(SONG_S * SR)
    env = np.zeros(n)
    mouth = np.zeros(n)
    todo = list(pauses_s)
    t = 0.3
    while t < SONG_S - 0.4:
        d = rng.uniform(0.12, 0.3)
        i0, i1 = int(t * SR), int((t + d) * SR)
        env[i0:i1] = rng.uniform(0.4, 0.8) * np.hanning(i1 - i0)
        # The jaw follows each syllable loosely: its own size, ±30 ms of its own timing.
        j = int(rng.normal(0.0, 0.03) * SR)
        mouth[i0 + j:i1 + j] = np.maximum(mouth[i0 + j:i1 + j], rng.uniform(0.2, 0.9) * np.hanning(i1 - i0))
        gap = rng.uniform(0.02, 0.12)
        if todo and t + d >= todo[0]:
            todo.pop(0)
            gap = 0.6
            b0, b1 = int((t + d + 0.25) * SR), int((t + d + 0.55) * SR)
            mouth[b0:b1] = np.hanning(b1 - b0)
        t += d + gap
    ts = np.arange(n) / SR
    buzz = sum(np.sin(2 * np.pi * 140.0 * k * ts) / k for k in range(1, 12)) + rng.normal(0, 0.05, n)
    return (0.3 * env * buzz).astype(np.float32), env, mouth


#: How far the generated mouth moves ahead of its sound, ms: a lead of this test's own (a jaw
#: opens a few tens of ms before its syllable is heard), not the shipped config's vocal lead.
MOUTH_LEAD_MS = 25.0


def mouth_take(mouth: np.ndarray, *, shift_ms: float, lead_ms: float, seed: int = 0) -> MouthTrack:
    """A 25 fps mouth track of a take starting at :data:`TAKE_START_S` in the song, opening as
    ``mouth`` (0..1 at :data:`SR`) ``lead_ms`` ahead of the sound, the picture late by ``shift_ms``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(TAKE_S * FPS)) / FPS
    song_t = TAKE_START_S + t - shift_ms / 1000.0 + lead_ms / 1000.0
    opening = 0.02 + 0.3 * np.interp(song_t, np.arange(mouth.size) / SR, mouth) + rng.normal(0, 0.004, t.size)
    opening = np.maximum(opening, 0.0)
    width = np.full(t.size, np.nan)
    face = FaceTrack(id=0, found=np.ones(t.size, bool), opening=opening, width=width, closed=opening < CLOSED_OPENING,
                     rounding=rounding_from_width(width), eye_px=60.0, center=(0.5, 0.4))
    return MouthTrack(t_s=t, faces=[face], width_px=360, height_px=288, rotation_deg=0, fps=FPS, source="generated")


@pytest.fixture(scope="module")
def song():
    audio, _, mouth = speech(seed=1)
    spans = speech_spans(audio, sr=SR)
    # Long spans, as continuous speech gives: only the pauses separate them.
    assert len(spans) < 12 and max(b - a for a, b in spans) > 1.5
    placeholders = songmap_from_words(audio, sr=SR, words=[(a, b, "[speech]") for a, b in spans],
                                      line_breaks_s=[4.0, 8.0])
    no_lyrics = dataclasses.replace(placeholders, words=[], lines=[], vocal_activity=[[a, b] for a, b in spans])
    _, _, other_mouth = speech(seed=2)
    return dict(mouth=mouth, other_mouth=other_mouth, placeholders=placeholders, no_lyrics=no_lyrics)


def offsets(sm, mouth) -> tuple[np.ndarray, list]:
    errors, docs = [], []
    for shift in SHIFTS_MS:
        track = mouth_take(mouth, shift_ms=shift, lead_ms=MOUTH_LEAD_MS, seed=shift + 500)
        doc = score_take("generated.mp4", sm, track=track, song_start_s=TAKE_START_S, body=False).doc
        errors.append(doc["sync"]["raw_offset_ms"] - shift)
        docs.append(doc)
    return np.array(errors), docs


@pytest.mark.parametrize("kind", ["no_lyrics", "placeholders"])
def test_the_offset_is_read_from_the_vocal_when_the_map_has_no_lyrics(song, kind):
    """Within a frame at every shift, and the same error at every shift (the offset follows the
    picture): the mouth leads its sound by a lead of its own, so what is left is that lead
    against the shipped one, the same for every take, never a frame."""
    errors, docs = offsets(song[kind], song["mouth"])
    assert np.all(np.abs(errors) <= 40.0), errors
    assert float(np.ptp(errors)) <= 20.0, errors
    for d in docs:
        assert d["verdict"] != "not_lip_syncing" and 0.0 <= d["sync"]["confidence"] <= 1.0
        assert d["placement"]["method"] == "given"
        assert d["words_graded"] is (kind == "placeholders")


def test_a_mouth_speaking_other_words_is_not_in_sync_without_lyrics(song):
    track = mouth_take(song["other_mouth"], shift_ms=0.0, lead_ms=MOUTH_LEAD_MS)
    for kind in ("no_lyrics", "placeholders"):
        doc = score_take("generated.mp4", song[kind], track=track, song_start_s=TAKE_START_S, body=False).doc
        assert doc["verdict"] != "in_sync" and doc["sync"]["offset_ms"] is None


@pytest.fixture(scope="module")
def talking_heads(shared_data):
    """Two HDTF talking heads (continuous speech), tracked once: the clip's own sound is the song."""
    from lipcoach.take.mouth import track_mouth

    out = {}
    for name in ("WDA_BobMenendez_000", "videoretalking_face3"):
        path = shared_data / "faces" / "hdtf" / f"{name}.mp4"
        if not path.exists():
            pytest.skip(f"{path.name} not found in {path.parent}")
        track = track_mouth(path)
        audio = np.zeros(int(round(track.duration_s * SR)), dtype=np.float32)
        a = track.audio[: audio.size]
        audio[: a.size] = a
        spans = speech_spans(audio, sr=SR)
        sm = songmap_from_words(audio, sr=SR, words=[(a0, b0, "[speech]") for a0, b0 in spans], line_breaks_s=[2.5, 5.0])
        out[name] = (track, sm, dataclasses.replace(sm, words=[], lines=[], vocal_activity=[[a0, b0] for a0, b0 in spans]))
    return out


@pytest.mark.parametrize("name", ["WDA_BobMenendez_000", "videoretalking_face3"])
def test_a_talking_heads_offset_is_found_without_lyrics(talking_heads, name):
    """The picture shifted by a known amount from 1 s into the clip: the offset found is within two
    frames of the shift (the clips' own sound-to-picture offset, −1…+1 frame by an independent
    check, counts against it), with the words known only as speech spans or not at all. Speech-span
    words once outweighed the vocal and put Menendez 200 ms off."""
    track, placeholders, no_lyrics = talking_heads[name]
    for sm in (placeholders, no_lyrics):
        for shift_ms in (-200.0, 0.0, 130.0):
            t = track.t_s - 1.0 + shift_ms / 1000.0
            keep = (t >= 0) & (t <= track.duration_s - 1.0)
            face = dataclasses.replace(track.faces[0], **{f.name: getattr(track.faces[0], f.name)[keep]
                                                          for f in dataclasses.fields(track.faces[0])
                                                          if isinstance(getattr(track.faces[0], f.name), np.ndarray)})
            take = dataclasses.replace(track, t_s=t[keep], faces=[face], audio=None)
            doc = score_take("take.mp4", sm, track=take, song_start_s=1.0, body=False).doc
            assert abs(doc["sync"]["raw_offset_ms"] - shift_ms) <= 80.0, (sm.words[:1], shift_ms, doc["sync"])
