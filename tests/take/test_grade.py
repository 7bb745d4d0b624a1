"""Word, line and take grades on hand-made mouth tracks (pure numpy, always run)."""

import numpy as np

from lipcoach.song.songmap import Breath, Line, Loudness, Phoneme, SongMap, Word
from lipcoach.take import grade as G

FPS = 25.0


def song() -> SongMap:
    """Two lines: "my boat" (0.5–1.1 s) and "go away" (4.0–4.8 s), a breath before line 2, a gap between."""
    words = [
        Word("my", 0.5, 0.8, 0, [Phoneme("M", 0.5, 0.6, "closed"), Phoneme("AY", 0.6, 0.8, "open")]),
        Word("boat", 0.8, 1.1, 0, [Phoneme("B", 0.8, 0.88, "closed"), Phoneme("OW", 0.88, 1.05, "rounded"),
                                   Phoneme("T", 1.05, 1.1, "teeth")]),
        Word("go", 4.0, 4.3, 1, [Phoneme("G", 4.0, 4.05, "back"), Phoneme("OW", 4.05, 4.3, "rounded")]),
        Word("away", 4.3, 4.8, 1, [Phoneme("AH", 4.3, 4.4, "open"), Phoneme("W", 4.4, 4.5, "rounded"),
                                   Phoneme("EY", 4.5, 4.8, "mid")]),
    ]
    lines = [Line("my boat", 0.5, 1.1), Line("go away", 4.0, 4.8)]
    breaths = [Breath(3.5, 3.85, -18.0, True, "full", before_line=1)]
    return SongMap(duration=6.0, tempo_bpm=0.0, beats=[], downbeats=[], words=words, lines=lines, breaths=breaths,
                   loudness=Loudness(rate=50.0, values=[-20.0] * 300, reference_db=-20.0))


def track(segments):
    """Frame times and openings: closed (0.01) except ``(start, end, opening)`` segments."""
    t = np.arange(int(6.0 * FPS)) / FPS
    op = np.full(t.size, 0.01)
    for a, b, v in segments:
        op[(t >= a) & (t < b)] = v
    return t, op


def grade(t, op, sm=None):
    sm = sm or song()
    scale = G.face_scale(op)
    vocal = np.ones(600)
    words = G.grade_words(sm, t_s=t, opening=op, song_start_s=0.0, line_offsets_ms=[0.0, 0.0],
                          word_offsets_ms=[0.0] * 4, vocal_grid=vocal, grid_rate_hz=100, take_span_s=(0.0, 6.0),
                          scale=scale)
    return words, scale


GOOD = [(0.6, 0.8, 0.32), (0.88, 1.05, 0.2), (3.55, 3.8, 0.15), (4.05, 4.3, 0.25), (4.3, 4.4, 0.33), (4.5, 4.8, 0.3)]


def test_a_well_mouthed_take_hits_every_word_and_closes_on_m_and_b():
    t, op = track(GOOD)
    words, _ = grade(t, op)
    assert [w.hit for w in words] == [True] * 4
    assert words[0].closure_ok is True and words[1].closure_ok is True
    assert words[2].closure_ok is None  # "go" has no m/b/p
    assert all(w.score >= 80 for w in words)


def test_a_word_the_mouth_never_moved_on_is_missed_and_scores_zero():
    t, op = track([s for s in GOOD if not (4.0 <= s[0] < 4.8)])
    words, _ = grade(t, op)
    assert [w.hit for w in words] == [True, True, False, False]
    assert words[3].score == 0.0


def test_lips_left_open_through_the_b_of_boat_are_caught():
    t, op = track([(0.6, 1.05, 0.3)] + GOOD[2:])  # open from "my" straight through "boat"
    words, _ = grade(t, op)
    assert words[1].closure_ok is False
    assert words[0].closure_ok is True  # the m of "my" starts from closed lips


def test_a_small_mouth_on_loud_open_vowels_is_told_to_open_more():
    t, op = track([(a, b, v * 0.3) for a, b, v in GOOD])
    words, _ = grade(t, op)
    assert any(w.open_ratio is not None and w.open_ratio < G.OPEN_OK_RATIO for w in words)


def breaths_of(sm, t, op, *, scale=None, visible=None, body=None):
    return G.grade_breaths(sm, t_s=t, opening=op, song_start_s=0.0, line_offsets_ms=[0.0, 0.0], take_span_s=(0.0, 6.0),
                           scale=scale or G.face_scale(op), visible=visible, body=body)


def test_the_breath_before_a_line_shows_only_if_the_mouth_opens():
    sm = song()
    t, op = track(GOOD)
    scale = G.face_scale(op)
    shown = breaths_of(sm, t, op, scale=scale)
    assert [(b.face, b.body, b.shown) for b in shown] == [("shown", None, True)]
    assert G.breath_before_line(shown, 1) == "shown"
    t, op = track([s for s in GOOD if s[0] != 3.55])
    missed = breaths_of(sm, t, op, scale=scale)
    assert [(b.face, b.shown) for b in missed] == [("not_shown", False)]
    assert G.breath_before_line(missed, 1) == "not_shown"
    assert G.breath_before_line(missed, 0) is None  # no breath before line 1


def test_a_breath_shown_by_the_shoulders_counts_when_the_mouth_stays_shut():
    sm = song()
    t, op = track([s for s in GOOD if s[0] != 3.55])
    by_body = breaths_of(sm, t, op, body=["shown"])
    assert [(b.face, b.body, b.shown) for b in by_body] == [("not_shown", "shown", True)]
    assert G.breath_before_line(by_body, 1) == "shown"
    # The line says what showed its breath (the page reads "shown by shoulders").
    assert G.breath_by(by_body, 1) == {"face": "not_shown", "body": "shown"}
    assert G.breath_by(by_body, 0) is None  # no breath before line 1


def test_words_sung_with_the_head_turned_away_are_hidden_not_missed():
    """The performer turns away (yaw 60°) through "go away" and does not mouth it: hidden, not missed."""
    t, op = track([s for s in GOOD if not (4.0 <= s[0] < 4.8)])
    yaw = np.where((t >= 3.9) & (t < 5.0), 60.0, 2.0)
    face = type("Face", (), {"found": np.ones(t.size, bool), "yaw_deg": yaw, "pitch_deg": np.zeros(t.size)})()
    visible = G.face_visible(face)
    assert not visible[(t > 4.0) & (t < 4.8)].any() and visible[t < 3.5].all()
    sm = song()
    words = G.grade_words(sm, t_s=t, opening=op, song_start_s=0.0, line_offsets_ms=[0.0, 0.0],
                          word_offsets_ms=[0.0] * 4, vocal_grid=np.ones(600), grid_rate_hz=100,
                          take_span_s=(0.0, 6.0), scale=G.face_scale(op), visible=visible)
    assert [w.hidden for w in words] == [False, False, True, True]
    assert [w.hit for w in words[:2]] == [True, True]
    # A head turned under the stated angle is still graded (and this one did not mouth: missed).
    face.yaw_deg = np.where((t >= 3.9) & (t < 5.0), G.HIDDEN_YAW_DEG - 5.0, 2.0)
    words = G.grade_words(sm, t_s=t, opening=op, song_start_s=0.0, line_offsets_ms=[0.0, 0.0],
                          word_offsets_ms=[0.0] * 4, vocal_grid=np.ones(600), grid_rate_hz=100,
                          take_span_s=(0.0, 6.0), scale=G.face_scale(op), visible=G.face_visible(face))
    assert [w.hidden for w in words] == [False] * 4 and [w.hit for w in words] == [True, True, False, False]


def test_a_lost_face_hides_the_words_and_the_breath():
    t, op = track(GOOD)
    found = ~((t >= 3.4) & (t < 5.0))
    op = np.where(found, op, np.nan)
    face = type("Face", (), {"found": found, "yaw_deg": None, "pitch_deg": None})()
    visible = G.face_visible(face)
    b = breaths_of(song(), t, op, visible=visible)
    assert [(x.face, x.shown) for x in b] == [("hidden", None)]
    assert G.breath_before_line(b, 1) is None
    # Not judged, which is not the same as no breath at all.
    assert G.breath_by(b, 1) == {"face": "hidden", "body": None}


def test_mouthing_in_the_instrumental_gap_is_flagged():
    sm = song()
    chatter = [(1.6 + 0.2 * k, 1.7 + 0.2 * k, 0.25) for k in range(8)]
    for segs, expected in ((GOOD, False), (GOOD + chatter, True)):
        t, op = track(segs)
        gaps = G.grade_gaps(sm, t_s=t, opening=op, song_start_s=0.0, offset_ms=0.0, take_span_s=(0.0, 6.0),
                            scale=G.face_scale(op))
        assert any(g.mouthing for g in gaps) is expected


def test_scores_follow_the_documented_formula():
    assert G.timing_points(0.0) == 1.0 and G.timing_points(40.0) == 1.0
    assert G.timing_points(120.0) == 0.5 and G.timing_points(-250.0) == 0.0
    t, op = track(GOOD)
    words, _ = grade(t, op)
    line = G.line_score(words[:2], 0.0, None)
    assert line == round(0.7 * np.mean([w.score for w in words[:2]]) + 30.0, 1)
    assert G.line_score(words[:2], 300.0, "not_shown") == round(0.7 * np.mean([w.score for w in words[:2]]), 1)
    lg = G.LineGrade(0, "x", 0, 1, 0.0, 0.3, 2, 2, [], [], None, 90.0)
    assert G.take_score([lg], [], in_sync=True) == 90.0
    assert G.take_score([lg], [], in_sync=False) == 20.0
    assert G.take_score([lg], [G.GapGrade(1, 3, True, 0.5)], in_sync=True) == 87.0
    # Hidden words do not weigh: a line whose every word was hidden leaves the take score.
    hidden = G.LineGrade(1, "y", 2, 3, 0.0, 0.3, 3, 0, [], [], None, 0.0, n_hidden=3)
    assert G.take_score([lg, hidden], [], in_sync=True) == 90.0
    # Without lyrics only the take's timing is scored.
    assert G.sync_only_score(0.0, [], in_sync=True) == 100.0
    assert G.sync_only_score(120.0, [], in_sync=True) == 50.0
    assert G.sync_only_score(0.0, [], in_sync=False) == 20.0


def test_shoulder_rise_is_measured_against_the_height_before_the_breath():
    from lipcoach.take.body import RISE_SHARE, rise_share

    t = np.arange(0, 3.0, 1 / 8)
    width = np.full(t.size, 200.0)
    still = np.full(t.size, 300.0)
    lifted = np.where((t >= 1.5) & (t <= 1.9), 300.0 - 2 * RISE_SHARE * 200.0, 300.0)  # y grows downwards
    assert rise_share(t, still, width, start_s=1.5, end_s=1.8) == 0.0
    assert rise_share(t, lifted, width, start_s=1.5, end_s=1.8) >= RISE_SHARE
    dropped = np.where(t >= 1.5, 310.0, 300.0)  # shoulders fall: no breath shown
    assert rise_share(t, dropped, width, start_s=1.5, end_s=1.8) < 0
    assert rise_share(t, np.full(t.size, np.nan), width, start_s=1.5, end_s=1.8) is None
