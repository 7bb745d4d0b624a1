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


# ---------------------------------------------------------------------------------------
# shape evidence: the lyrics' closures, openings and rounding, which a shared rhythm cannot fake

CONSONANTS = ("closed", "lip_teeth", "teeth", "back")
VOWELS = ("open", "mid", "spread", "rounded")
#: A drawn mouth per viseme class: (opening, width) in eye-corner distances.
DRAWN = {"closed": (0.0, 0.50), "lip_teeth": (0.03, 0.49), "teeth": (0.08, 0.47), "back": (0.16, 0.46),
         "open": (0.34, 0.45), "mid": (0.26, 0.46), "spread": (0.13, 0.52), "rounded": (0.11, 0.37)}
REST = (0.01, 0.47)


def rhythm(duration_s: float, seed: int) -> list[tuple[float, float, float, float]]:
    """Syllable times (onset consonant start, vowel start, coda start, end), s: one rhythm for many sentences."""
    rng = np.random.default_rng(seed)
    out, t = [], 0.5
    while t < duration_s - 0.6:
        d = rng.uniform(0.2, 0.4)
        out.append((t, t + 0.25 * d, t + 0.75 * d, t + d))
        t += d + rng.uniform(0.05, 0.3)
    return out


def sentence(syllables, seed: int) -> list[tuple[float, float, str]]:
    """Phonemes on the given syllable times, with their sounds drawn by ``seed`` (consonant, vowel, consonant)."""
    rng = np.random.default_rng(seed)
    out = []
    for a, b, c, d in syllables:
        out += [(a, b, str(rng.choice(CONSONANTS))), (b, c, str(rng.choice(VOWELS))), (c, d, str(rng.choice(CONSONANTS)))]
    return out


def drawn_mouth(phonemes, duration_s: float, *, widths_of=None, seed: int = 0):
    """Frames (25 fps) of a mouth taking each phoneme's shape (:data:`DRAWN`), eased over 80 ms.

    ``widths_of``: other phonemes whose widths the mouth takes instead (same times)."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * RATE)
    op, wd = np.full(n, REST[0]), np.full(n, REST[1])
    for (a, b, v), (_, _, vw) in zip(phonemes, widths_of or phonemes):
        op[int(a * RATE):int(b * RATE)] = DRAWN[v][0]
        wd[int(a * RATE):int(b * RATE)] = DRAWN[vw][1]
    op, wd = S._smooth(op, 9), S._smooth(wd, 9)
    t = np.arange(int(duration_s * 25)) / 25.0
    grid_t = np.arange(n) / RATE
    opening = np.maximum(np.interp(t, grid_t, op) + rng.normal(0, 0.004, t.size), 0.0)
    width = np.interp(t, grid_t, wd) + rng.normal(0, 0.003, t.size)
    return t, opening, width


def shape_judged(phonemes, t, opening, width, *, duration_s: float, config=NO_LEAD):
    """The take's verdict with its shape evidence, as score.sync_take computes it (lyrics = ``phonemes``)."""
    n = int(duration_s * RATE)
    level = np.zeros(n)
    for i in range(0, len(phonemes), 3):
        a, d = phonemes[i][0], phonemes[i + 2][1]
        level[int(a * RATE):int(d * RATE)] = np.hanning(int(d * RATE) - int(a * RATE))
    mouth, valid = S.mouth_signal(t, opening, start_s=0.0, n=n)
    visemes = S.viseme_signal(phonemes, n=n, config=config)
    est = S.estimate_offset(mouth, level, valid, visemes=visemes, config=config)
    est = S.evidence(mouth, level, valid, est, visemes=visemes, n_events=len(phonemes) // 3)
    o_t, r_t, n_shapes = S.shape_targets(phonemes, n=n, config=config)
    w = None if width is None else S.width_signal(t, width, start_s=0.0, n=n)
    return S.shape_evidence(mouth, w, valid, est, opening_target=o_t, rounding_target=r_t, n_shapes=n_shapes)


def test_a_mouth_taking_the_lyrics_shapes_is_in_sync_and_the_same_rhythm_with_other_words_is_not():
    """GRID-like: two sentences on one rhythm. The rhythm alone convinces the evidence_z of both;
    the shapes (closed on m/b/p, rounded, open) tell them apart."""
    syl = rhythm(20.0, seed=1)
    lyrics, other = sentence(syl, seed=2), sentence(syl, seed=3)
    t, op, wd = drawn_mouth(lyrics, 20.0)
    right = shape_judged(lyrics, t, op, wd, duration_s=20.0)
    t, op, wd = drawn_mouth(other, 20.0)
    wrong = shape_judged(lyrics, t, op, wd, duration_s=20.0)
    assert right.shape_z > 5.0 and right.verdict == "in_sync"
    assert right.shape_best_z > 3.0
    # The other words on the same rhythm follow the vocal well enough to fool the rhythm evidence...
    assert wrong.evidence_z > S.chance_best(1.0, 0.99) + 1.0
    # ...but not the shapes.
    assert wrong.shape_z < 2.0 and wrong.verdict != "in_sync"
    assert wrong.shape_z < right.shape_z - 4.0


def test_a_mouth_that_only_keeps_the_rhythm_shows_no_shape_evidence():
    """Opening the same on every vowel and shutting on every consonant is what any sentence of the
    rhythm does: the shape statistic centres vowels and consonants each on their own, so it reads chance."""
    syl = rhythm(20.0, seed=4)
    lyrics = sentence(syl, seed=5)
    plain = [(a, b, "mid" if v in VOWELS else "teeth") for a, b, v in lyrics]
    t, op, wd = drawn_mouth(plain, 20.0)
    est = shape_judged(lyrics, t, op, wd, duration_s=20.0)
    assert abs(est.shape_z) < 2.0 and est.verdict != "in_sync"


def test_the_mouth_width_carries_the_rounding():
    """Right openings with another sentence's widths (rounded where it should spread) read weaker
    than the full shapes; without a width the opening alone still counts."""
    syl = rhythm(20.0, seed=6)
    lyrics, other = sentence(syl, seed=7), sentence(syl, seed=8)
    t, op, wd = drawn_mouth(lyrics, 20.0)
    full = shape_judged(lyrics, t, op, wd, duration_s=20.0)
    _, _, wd_other = drawn_mouth(lyrics, 20.0, widths_of=other)
    crossed = shape_judged(lyrics, t, op, wd_other, duration_s=20.0)
    no_width = shape_judged(lyrics, t, op, None, duration_s=20.0)
    assert full.shape_z > crossed.shape_z + 1.0
    assert no_width.shape_z > 3.0
    o_t, r_t, _ = S.shape_targets(lyrics, n=2000, config=NO_LEAD)
    assert np.any(r_t) and abs(float(np.sum(r_t))) < 1e-6  # centred: only differences between sounds count


def test_without_lyrics_the_shapes_stay_out_of_the_verdict():
    base = S.SyncEstimate(offset_ms=0.0, peak=1.0, r=0.4, n_events=20)
    est = dataclasses.replace(base, evidence_z=base.in_bar + 0.1)
    assert not est.has_shapes and est.verdict == "in_sync"
    assert est.in_bar == pytest.approx(S.chance_best(1.0, 0.99) + S.DEFAULT_CONFIG.in_sync_margin)


@pytest.mark.parametrize("over_chance, shape_z, shape_best_z, expected", [
    (3.0, 6.0, 6.0, "in_sync"),            # the vocal's rhythm and the words' shapes
    (3.0, -0.5, 0.0, "cant_confirm"),      # the rhythm, not the shapes: other words on the same rhythm
    (-2.0, -3.0, -3.0, "not_lip_syncing"),  # neither, anywhere near
    (-2.0, -3.0, 4.0, "cant_confirm"),     # the shapes are there at another lag: an offset misread, not a mismatch
])
def test_the_verdict_joins_the_rhythm_and_the_shapes(over_chance, shape_z, shape_best_z, expected):
    base = S.SyncEstimate(offset_ms=0.0, peak=1.0, r=0.4, n_events=20)
    est = dataclasses.replace(base, evidence_z=S.chance_best(1.0, 0.99) + over_chance, shape_z=shape_z,
                              shape_best_z=shape_best_z, n_shapes=40)
    assert est.has_shapes and est.verdict == expected
    assert (est.margin >= 0) is (expected == "in_sync")


def test_a_silent_take_is_not_called_out_by_its_shapes_alone():
    """Placed by its mouth over the whole song, a silent take at the wrong place reads like a
    mismatch: weak shapes there withhold in_sync but do not call it not lip-syncing."""
    base = S.SyncEstimate(offset_ms=0.0, peak=1.0, r=0.4, n_events=20, shape_z=-2.0, shape_best_z=0.0, n_shapes=40)
    placed = dataclasses.replace(base, evidence_z=S.chance_best(1.0, 0.5) + 0.5)
    searched = dataclasses.replace(placed, search_span_s=180.0, searched_song=True)
    assert placed.verdict == "not_lip_syncing"
    assert searched.verdict == "cant_confirm"


def test_the_joint_lag_follows_the_shapes_between_two_rhythm_peaks():
    # An even syllable pace gives the rhythm two near-equal peaks 300 ms apart; the lips take the
    # lyrics' shapes only at one of them: the offset goes there, and the window still bounds it.
    n = 700
    lags = np.arange(n)
    signed = np.where(lags > n // 2, lags - n, lags)
    rhythm = 4.0 * np.exp(-0.5 * ((signed + 30) / 3.0) ** 2) + 3.8 * np.exp(-0.5 * ((signed - 0) / 3.0) ** 2)
    shapes = 3.0 * np.exp(-0.5 * (signed / 4.0) ** 2)
    config = S.SyncConfig(shape_weight=1.0)
    assert S.joint_best(rhythm, np.zeros(n), config=config)[0] == pytest.approx(-300.0)
    assert S.joint_best(rhythm, shapes, config=config) == pytest.approx((0.0, 3.8 + 3.0), abs=0.01)
    far = 5.0 * np.exp(-0.5 * ((signed - 60) / 3.0) ** 2)  # a peak beyond ±500 ms is never chosen
    assert S.joint_best(rhythm + far, shapes, config=config)[0] == pytest.approx(0.0)


def test_rhythm_z_at_the_found_lag_is_the_evidence():
    rng = np.random.default_rng(3)
    n = 800
    vocal = np.clip(np.convolve(rng.random(n), np.ones(15) / 15, mode="same") - 0.45, 0, None)
    mouth = np.roll(vocal, 4) + 0.01 * rng.standard_normal(n)
    valid = np.ones(n, dtype=bool)
    est = S.estimate_offset(mouth, vocal, valid)
    assert est.offset_ms == pytest.approx(40.0, abs=10.0)
    z = S.circular_z(S.rhythm_scores(mouth, vocal, valid), min_shift=100)
    ev = S.evidence(mouth, vocal, valid, est, n_events=20)
    assert ev.evidence_z == pytest.approx(float(np.max(z[np.arange(2, 7)])), abs=1e-9)
    assert ev.evidence_z > 5.0


@pytest.mark.parametrize("evidence_z, shape_z, shape_best_z, events", [
    (-0.47, 0.3, 0.5, 20),   # the stranger: no better than chance, shapes absent
    (-0.47, 0.3, 0.5, 8),    # the same, too few words to call it out
    (-0.47, -1.0, 3.5, 20),  # no rhythm here, but the shapes are there at another lag
    (1.2, 1.0, 1.0, 20),     # under chance's median, with shapes
])
def test_a_reason_never_says_the_mouth_follows_when_its_figures_say_chance(evidence_z, shape_z, shape_best_z, events):
    est = S.SyncEstimate(offset_ms=0.0, peak=0.2, r=0.0, n_events=events, evidence_z=evidence_z, shape_z=shape_z,
                         shape_best_z=shape_best_z, n_shapes=30)
    assert evidence_z < est.rhythm_chance and est.verdict != "in_sync"
    assert "follows" not in est.reason and "no better than chance" in est.reason
    assert f"rhythm z = {evidence_z:.2f}" in est.reason  # the figure the sentence stands on


def test_a_reason_that_says_follows_stands_on_a_match_better_than_chance():
    base = S.SyncEstimate(offset_ms=0.0, peak=1.0, r=0.4, n_events=20, shape_z=0.0, shape_best_z=2.0, n_shapes=30)
    est = dataclasses.replace(base, evidence_z=0.5 * (base.rhythm_chance + base.in_bar))
    assert est.verdict == "cant_confirm" and "follows the vocal's rhythm better than chance" in est.reason
    assert f"in sync needs {est.in_bar:.2f}" in est.reason
