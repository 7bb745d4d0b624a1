"""Placing a take in the song by its scratch sound or by the mouth (synthetic signals, always run)."""

import numpy as np

from lipcoach.take import placement as P

SR = P.PLACEMENT_SR


def song_audio(duration_s: float, seed: int) -> np.ndarray:
    """Notes with sharp attacks over a quiet pad: enough structure to place, like a mix."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * SR)
    out = 0.01 * rng.standard_normal(n)
    t = 0.0
    while t < duration_s - 0.5:
        d = rng.uniform(0.1, 0.4)
        i0, i1 = int(t * SR), int((t + d) * SR)
        tt = np.arange(i1 - i0) / SR
        out[i0:i1] += 0.3 * np.sin(2 * np.pi * rng.uniform(150, 900) * tt) * np.exp(-tt / 0.12)
        t += d + rng.uniform(0.0, 0.2)
    return out.astype(np.float32)


def in_a_room(x: np.ndarray, seed: int, snr_db: float = 10.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.25 * SR)) / SR
    ir = 0.2 * rng.standard_normal(t.size) * np.exp(-t / 0.05)
    ir[0] = 1.0
    wet = np.convolve(x, ir)[: x.size]
    noise = rng.standard_normal(x.size)
    noise *= np.sqrt(np.mean(wet**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    return (wet + noise).astype(np.float32)


def test_scratch_sound_places_a_noisy_reverberant_take_to_a_millisecond():
    song = song_audio(40.0, seed=1)
    start = 13.4567
    take = in_a_room(song[int(start * SR): int((start + 12.0) * SR)], seed=2)
    p = P.place_by_sound(take, song, take_audio_start_s=0.0)
    assert p.method == "scratch_sound"
    assert abs(p.song_start_s - start) < 0.001
    assert p.confidence > 0.5


def test_sound_starting_after_the_picture_is_accounted_for():
    song = song_audio(30.0, seed=3)
    take = song[int(5.0 * SR): int(15.0 * SR)]
    # The first audio sample sits 0.25 s into the take: take time 0 is song time 4.75 s.
    p = P.place_by_sound(take, song, take_audio_start_s=0.25)
    assert abs(p.song_start_s - 4.75) < 0.001


def test_a_chorus_repeated_note_for_note_is_not_a_sure_placement():
    chorus = song_audio(8.0, seed=4)
    song = np.concatenate([song_audio(6.0, seed=5), chorus, song_audio(5.0, seed=6), chorus])
    take = chorus[SR: 6 * SR]
    p = P.place_by_sound(take, song)
    assert p.confidence < 0.3


def test_a_silent_take_is_placed_by_its_mouth():
    rng = np.random.default_rng(0)
    rate = 100
    vocal = np.zeros(60 * rate)
    t = 1.0
    while t < 59:
        d = rng.uniform(0.15, 0.4)
        vocal[int(t * rate): int((t + d) * rate)] = np.hanning(int((t + d) * rate) - int(t * rate))
        t += d + rng.uniform(0.05, 0.6)
    start = 21.37
    mouth = vocal[int(start * rate): int((start + 15) * rate)].copy()
    p = P.place_by_mouth(np.log(0.01 + 0.3 * mouth), np.ones(mouth.size, bool), vocal, grid_rate_hz=rate)
    assert p.method == "mouth"
    assert abs(p.song_start_s - start) < 0.02


def rendered(duration_s: float, seed: int, *, timbre_seed: int) -> np.ndarray:
    """The same notes at the same times (``seed``) played with another timbre and level (``timbre_seed``):
    a different recording of the same song."""
    rng = np.random.default_rng(seed)
    other = np.random.default_rng(timbre_seed)
    n = int(duration_s * SR)
    rng.standard_normal(n)  # song_audio's pad: keeps the note times of the same seed
    out = 0.01 * other.standard_normal(n)
    t = 0.0
    while t < duration_s - 0.5:
        d = rng.uniform(0.1, 0.4)
        i0, i1 = int(t * SR), int((t + d) * SR)
        tt = np.arange(i1 - i0) / SR
        f = rng.uniform(150, 900)
        out[i0:i1] += other.uniform(0.15, 0.4) * np.sign(np.sin(2 * np.pi * f * tt)) * np.exp(-tt / other.uniform(0.08, 0.2))
        t += d + rng.uniform(0.0, 0.2)
    return out.astype(np.float32)


def test_a_different_recording_of_the_song_is_placed_by_its_onsets_not_a_spurious_waveform_match():
    song = song_audio(40.0, seed=1)
    start = 13.4567
    other_take = rendered(40.0, seed=1, timbre_seed=9)  # the same notes at the same times, another sound
    take = in_a_room(other_take[int(start * SR): int((start + 12.0) * SR)], seed=2)
    p = P.place_by_sound(take, song, take_audio_start_s=0.0)
    assert abs(p.song_start_s - start) < 0.012  # the onset envelopes' 10 ms hop, interpolated
    # The waveform stage finds no common fine structure and leaves the onset answer alone.
    coarse = int(round(start * SR / P.ENVELOPE_HOP)) * P.ENVELOPE_HOP
    assert P.fine_lag(take, song, coarse=coarse) is None
    assert P.fine_lag(in_a_room(song[coarse:coarse + 12 * SR], seed=3), song, coarse=coarse) is not None


def test_a_silent_take_of_a_repeated_passage_is_placed_unsure():
    """A chorus sung twice the same way: the mouth cannot tell the two places apart, so the placement is
    stored as unsure (never trusted silently), while a passage sung once is placed sure."""
    from lipcoach.take.score import MOUTH_PLACEMENT_BAR, placement_unsure

    rng = np.random.default_rng(1)
    rate = 100

    def passage(seconds):
        out = np.zeros(int(seconds * rate))
        t = 0.2
        while t < seconds - 0.5:
            d = rng.uniform(0.15, 0.4)
            out[int(t * rate): int((t + d) * rate)] = np.hanning(int((t + d) * rate) - int(t * rate))
            t += d + rng.uniform(0.05, 0.6)
        return out

    chorus = passage(10.0)
    vocal = np.concatenate([passage(12.0), chorus, passage(9.0), chorus, passage(6.0)])
    mouth = chorus[100:900]
    unsure = P.place_by_mouth(np.log(0.01 + 0.3 * mouth), np.ones(mouth.size, bool), vocal, grid_rate_hz=rate)
    assert unsure.confidence < MOUTH_PLACEMENT_BAR and placement_unsure(unsure)
    verse = vocal[300:1100]
    sure = P.place_by_mouth(np.log(0.01 + 0.3 * verse), np.ones(verse.size, bool), vocal, grid_rate_hz=rate)
    assert abs(sure.song_start_s - 3.0) < 0.02 and not placement_unsure(sure)
    # A placement that came from the sound is never "unsure" by this rule.
    assert not placement_unsure(P.Placement(song_start_s=1.0, confidence=0.2, method="scratch_sound"))


def test_an_unsure_placement_is_never_in_sync_and_says_why():
    import dataclasses

    from lipcoach.take import sync as S

    base = S.SyncEstimate(offset_ms=0.0, peak=1.0, r=0.5, n_events=20, searched_song=True, search_span_s=60.0)
    strong = dataclasses.replace(base, evidence_z=base.in_bar + 1.0)
    assert strong.verdict == "in_sync"
    unsure = dataclasses.replace(strong, placement_unsure=True)
    assert unsure.verdict == "cant_confirm" and "unsure" in unsure.reason
