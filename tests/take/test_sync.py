"""Performer offset and verdict on synthetic mouth tracks (pure numpy, always run)."""

import dataclasses

import numpy as np
import pytest

from lipcoach.take import sync as S

RATE = S.GRID_RATE_HZ


def syllables(duration_s: float, seed: int) -> np.ndarray:
    """A vocal level 0..1 on the grid: syllables of 120–350 ms with pauses, like speech or singing."""
    rng = np.random.default_rng(seed)
    level = np.zeros(int(duration_s * RATE))
    t = 0.5
    while t < duration_s - 0.5:
        d = rng.uniform(0.12, 0.35)
        i0, i1 = int(t * RATE), int((t + d) * RATE)
        level[i0:i1] = rng.uniform(0.5, 1.0) * np.hanning(i1 - i0)
        t += d + rng.uniform(0.05, 0.4) + (0.8 if rng.random() < 0.1 else 0.0)
    return level


def mouth_frames(level: np.ndarray, *, shift_ms: float, fps: float = 25.0, jitter: float = 0.0, seed: int = 0):
    """Frame times (s) and openings of a mouth that follows ``level`` late by ``shift_ms``."""
    rng = np.random.default_rng(seed)
    n = int(level.size / RATE * fps)
    t = np.arange(n) / fps + (rng.uniform(-jitter, jitter, n) / fps if jitter else 0.0)
    t = np.sort(t)
    tg = np.arange(level.size) / RATE
    opening = 0.01 + 0.25 * np.interp(t - shift_ms / 1000.0, tg, level, left=0.0, right=0.0)
    opening += rng.normal(0, 0.005, n)
    return t, np.maximum(opening, 0.0)


@pytest.mark.parametrize("shift_ms", [-300, -130, 0, 70, 250])
def test_offset_is_recovered_to_a_few_ms_at_25_fps_and_variable_frame_rate(shift_ms):
    level = syllables(20.0, seed=1)
    t, op = mouth_frames(level, shift_ms=shift_ms, jitter=0.3, seed=2)
    mouth, valid = S.mouth_signal(t, op, start_s=0.0, n=level.size)
    est = S.estimate_offset(mouth, level, valid)
    assert abs(est.offset_ms - shift_ms) < 12.0
    est = S.evidence(mouth, level, valid, S.sync_verdict(mouth, level, valid, est), n_events=40)
    assert est.verdict == "in_sync" and est.confidence > 0.9


@pytest.mark.parametrize("seed", [7, 8, 9, 10])
def test_a_mouth_following_another_song_is_never_in_sync(seed):
    level = syllables(20.0, seed=1)
    other = syllables(20.0, seed=seed)
    t, op = mouth_frames(other, shift_ms=0)
    mouth, valid = S.mouth_signal(t, op, start_s=0.0, n=level.size)
    est = S.sync_verdict(mouth, level, valid, S.estimate_offset(mouth, level, valid))
    est = S.evidence(mouth, level, valid, est, n_events=40)
    # Chance level: under the in-sync bar by a wide margin; called out when under chance's median.
    assert est.verdict != "in_sync" and est.evidence_z < est.in_bar - 1.5
    assert (est.verdict == "not_lip_syncing") is (est.evidence_z < est.out_bar)
    assert est.confidence < 0.5


def test_frames_without_a_face_are_ignored_not_read_as_a_closed_mouth():
    level = syllables(20.0, seed=3)
    t, op = mouth_frames(level, shift_ms=100)
    op[(t > 5) & (t < 9)] = np.nan  # face lost for four seconds
    mouth, valid = S.mouth_signal(t, op, start_s=0.0, n=level.size)
    assert not valid[int(7 * RATE)] and valid[int(12 * RATE)]
    est = S.estimate_offset(mouth, level, valid)
    assert abs(est.offset_ms - 100) < 15.0


def test_wider_searches_need_stronger_evidence():
    assert S.z_threshold(1.0) < S.z_threshold(10.0) < S.z_threshold(180.0)


def test_vocal_level_maps_dbfs_onto_zero_to_one():
    db = np.array([-120.0] * 10 + [-20.0] * 10 + [-40.0] * 10)
    lv = S.vocal_level(db, rate_hz=50.0, reference_db=-20.0)
    assert lv.size == 60
    assert lv[:18].max() == 0.0
    assert lv[25:38].min() > 0.8
    assert 0.1 < lv[50] < 0.6


#: A viseme signal without any lead, smoothed like a real mouth (90 ms).
NO_LEAD_SMOOTH = S.SyncConfig(lead_closure_ms=0.0, lead_opening_ms=0.0, lead_other_ms=0.0, viseme_smooth=9)
NO_LEAD = S.SyncConfig(lead_closure_ms=0.0, lead_opening_ms=0.0, lead_other_ms=0.0, vocal_lead_ms=0.0)


def lyric(duration_s: float, seed: int) -> tuple[list, np.ndarray]:
    """Syllables (consonant, vowel, consonant) with viseme classes, and their vocal level on the grid."""
    rng = np.random.default_rng(seed)
    phonemes, level, t = [], np.zeros(int(duration_s * RATE)), 0.5
    while t < duration_s - 0.6:
        d = rng.uniform(0.15, 0.4)
        edges = np.linspace(t, t + d, 4)
        classes = (rng.choice(["closed", "teeth", "lip_teeth", "back"]), rng.choice(["open", "mid", "spread", "rounded"]),
                   rng.choice(["closed", "teeth", "back", "rest"]))
        phonemes += [(float(edges[i]), float(edges[i + 1]), str(classes[i])) for i in range(3)]
        level[int(t * RATE):int((t + d) * RATE)] = rng.uniform(0.5, 1.0) * np.hanning(int((t + d) * RATE) - int(t * RATE))
        t += d + rng.uniform(0.05, 0.35)
    return phonemes, level


def articulating(phonemes, n: int, *, shift_ms: float = 0.0, seed: int = 0):
    """Frames of a mouth shaping these sounds (open on vowels, shut on m/b/p), late by ``shift_ms``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(n / RATE * 25)) / 25.0
    shape = S.viseme_signal(phonemes, n=n, config=NO_LEAD_SMOOTH)
    op = 0.01 + 0.25 * np.interp(t - shift_ms / 1000.0, np.arange(n) / RATE, shape) + rng.normal(0, 0.004, t.size)
    return t, np.maximum(op, 0.0)


def judged(phonemes, level, t, op, *, n_events: int = 40) -> S.SyncEstimate:
    mouth, valid = S.mouth_signal(t, op, start_s=0.0, n=level.size)
    visemes = S.viseme_signal(phonemes, n=level.size, config=NO_LEAD)
    est = S.sync_verdict(mouth, level, valid, S.estimate_offset(mouth, level, valid, visemes=visemes))
    est = S.second_evidence(mouth, level, valid, est, visemes=visemes)
    return S.evidence(mouth, level, valid, est, visemes=visemes, n_events=n_events)


def test_a_mouth_shaping_the_lyrics_sounds_is_in_sync_and_another_lyric_is_not():
    phonemes, level = lyric(20.0, seed=1)
    t, op = articulating(phonemes, level.size, shift_ms=100)
    est = judged(phonemes, level, t, op)
    assert est.verdict == "in_sync" and est.viseme_z > 4.0
    assert abs(est.offset_ms - 100) < 25.0
    other, _ = lyric(20.0, seed=8)
    t, op = articulating(other, level.size)
    est = judged(phonemes, level, t, op)
    assert est.verdict != "in_sync" and est.evidence_z < est.in_bar
    # The same mismatch with too few words seen is not called out, only not confirmed.
    assert dataclasses.replace(est, n_events=S.DEFAULT_CONFIG.min_events - 1).verdict == "cant_confirm"


@pytest.mark.parametrize("over_in, over_out, events, at_edge, expected", [
    (0.1, None, 20, False, "in_sync"),
    (-0.1, None, 20, False, "cant_confirm"),       # better than chance, not enough to rule out another lyric
    (None, -0.1, 20, False, "not_lip_syncing"),    # no better than what chance typically reaches
    (None, -0.1, 3, False, "cant_confirm"),        # too few words to call it out of sync
    (0.5, None, 20, True, "cant_confirm"),         # a strong match half a second away: not confirmed
    (None, -0.1, 20, True, "not_lip_syncing"),
    (0.5, None, 3, False, "in_sync"),              # strong evidence counts however short the take
])
def test_three_verdicts_from_the_evidence_against_chance(over_in, over_out, events, at_edge, expected):
    base = S.SyncEstimate(offset_ms=0.0, peak=1.0, r=0.4, at_edge=at_edge, n_events=events)
    ez = base.in_bar + over_in if over_in is not None else base.out_bar + over_out
    est = dataclasses.replace(base, evidence_z=ez)
    assert est.verdict == expected and est.in_sync is (expected == "in_sync")
    too_few = expected == "cant_confirm" and events < S.DEFAULT_CONFIG.min_events and not at_edge
    assert est.reason and (("too few words" in est.reason) is too_few)


def test_a_place_searched_over_the_whole_song_needs_more_evidence():
    """A silent take placed where its mouth matched best over a 3-minute song: chance had many more tries."""
    near = S.SyncEstimate(offset_ms=0.0, peak=1.0, r=0.4, n_events=20)
    whole = dataclasses.replace(near, search_span_s=180.0, searched_song=True)
    assert whole.in_bar > near.in_bar + 1.0
    assert dataclasses.replace(near, evidence_z=near.in_bar + 0.1).in_sync
    assert not dataclasses.replace(whole, evidence_z=near.in_bar + 0.1).in_sync
    assert S.chance_best(1.0, 0.99) == pytest.approx(3.09, abs=0.01)  # best of 10 normals, 99th percentile


def test_the_mouths_lead_is_modelled_per_viseme_class():
    """A mouth that closes 70 ms before m/b/p/f/v and opens 20 ms before vowels reads 0 ms with those
    leads; one constant lead (here the vowels' 20 ms, as a vowel-heavy calibration would give) misreads it."""
    phonemes, level = lyric(30.0, seed=4)
    physical = S.SyncConfig(lead_closure_ms=70.0, lead_opening_ms=20.0, lead_other_ms=20.0, viseme_smooth=9)
    t = np.arange(int(level.size / RATE * 25)) / 25.0
    shape = S.viseme_signal(phonemes, n=level.size, config=physical)
    op = 0.01 + 0.25 * np.interp(t, np.arange(level.size) / RATE, shape)
    mouth, valid = S.mouth_signal(t, op, start_s=0.0, n=level.size)

    def offset(cfg):
        visemes = S.viseme_signal(phonemes, n=level.size, config=cfg)
        vocal = S.song_signal(level, None, config=cfg)
        return S.estimate_offset(mouth, vocal, valid, visemes=visemes, config=cfg).offset_ms

    per_class = dataclasses.replace(physical, viseme_weight=3.0, vocal_lead_ms=30.0, viseme_smooth=5)
    one_lead = dataclasses.replace(per_class, lead_closure_ms=20.0, lead_opening_ms=20.0, lead_other_ms=20.0,
                                   vocal_lead_ms=20.0)
    assert abs(offset(per_class)) < 4.0
    assert offset(one_lead) < -6.0  # the early closures read as an early performer
    assert S.SyncConfig().lead_ms("closed") == S.SyncConfig().lead_closure_ms
    assert per_class.lead_ms("open") == 20.0 and per_class.lead_ms("lip_teeth") == 70.0


def test_the_config_is_frozen_and_passed_not_patched():
    cfg = S.SyncConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.in_sync_margin = 0.0  # type: ignore[misc]
    loose = dataclasses.replace(cfg, in_sync_margin=0.5)
    base = S.SyncEstimate(offset_ms=0.0, peak=1.0, r=0.4, n_events=20, config=loose)
    base = dataclasses.replace(base, evidence_z=S.chance_best(1.0, 0.99) + 0.6)
    assert base.in_sync is True
    strict = dataclasses.replace(base, config=dataclasses.replace(cfg, in_sync_margin=1.0))
    assert strict.in_sync is False and strict.verdict == "cant_confirm"
