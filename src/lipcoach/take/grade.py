"""Grading a take word by word and line by line, as a lip-sync coach would.

Every check works on the chosen face's mouth track, read at the performer's own timing
(the song time of a word, mapped to take time through the placement and the line's
offset), so a performer who is late on a line is told they are late once, not also that
every word of it was missed.

Per word
    ``timing_error_ms``  local offset over the word and its neighbours (±0.6 s window).
    ``hit``              the mouth moved during the word: opening range ≥ 25 % of this
                         face's own range (p95 − p5), or peak opening over the "open" level.
    ``closure_ok``       every m/b/p (viseme ``closed``) got a closed-lips frame within
                         [phoneme start − 80 ms, phoneme end + 40 ms]; None without m/b/p.
    ``open_ratio``       peak opening / (OPEN_TARGET × vocal level); a screen performer
                         should open more than a singer would, so the target is a wide
                         opening (:data:`OPEN_TARGET` eye-corner distances at full voice).
Score formula (0–100), documented in docs/takereport.md:

    word  = 0 if missed, else 100 × (0.45·T + 0.25·C + 0.30·O)
            T = clip(1 − (|timing_error_ms| − 40) / 160, 0, 1)   (full within one frame)
            C = 1 if closure_ok is not False else 0
            O = clip(open_ratio / OPEN_OK_RATIO, 0, 1)
    line  = 0.7 × mean(word) + 0.2 × 100·T(line offset) + 0.1 × 100·B
            B = 0 if an audible breath before the line was not shown, else 1
    take  = seen-word-count-weighted mean(line) − 3 per instrumental gap with mouthing (≤ 15),
            capped at 20 when the verdict is not_lip_syncing.
    Without lyrics (no words to grade):
    take  = 100·T(take offset) − the same gap penalty, capped at 20 when not_lip_syncing.

Hidden words
    A word sung while the face is not seen (found in under half of the word's frames) or is
    turned past :data:`HIDDEN_YAW_DEG` / :data:`HIDDEN_PITCH_DEG` is ``hidden``: the camera
    cannot judge it, so it is neither a hit nor a miss and does not count in the scores
    ("if you've lost it, turn your head away and no one will ever see it"). A line is
    ``coverable`` by the take when the take is in sync, holds all its words and none is hidden.

Breaths
    Every breath of the song map inside the take: ``face`` is ``shown`` when the mouth opens
    over the face's "open" level during the intake (−100 ms … +50 ms), ``body`` is ``shown``
    when the shoulders rise (:mod:`lipcoach.take.body`); ``shown`` when either showed it.
    Each line repeats the verdict on the audible breath before it: ``breath`` (shown or not)
    and ``breath_by`` (what the face and the body showed), so a line read on its own (an
    edit list, a duet's line graded on another face) still says how its breath was shown.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import numpy as np

from lipcoach.song.songmap import SongMap

#: Opening (eye-corner distances) expected on an open vowel at full voice on screen.
OPEN_TARGET = 0.30
#: open_ratio under which we say "open more".
OPEN_OK_RATIO = 0.7
#: |offset| (ms) a coach lets pass: one frame at 25 fps.
ON_TIME_MS = 40.0
#: |offset| (ms) worth telling the actor about.
TELL_MS = 80.0
#: Instrumental gaps at least this long (s) are checked for mouthing.
MIN_GAP_S = 1.5
#: A head turned further than this from the camera (left/right), degrees, hides the mouth's
#: shape: the lips' opening is foreshortened and the far corner goes out of sight.
HIDDEN_YAW_DEG = 40.0
#: The same for a head tipped up or down, degrees.
HIDDEN_PITCH_DEG = 35.0
#: Share of a word's frames in which the mouth must be visible for the word to be graded.
VISIBLE_SHARE = 0.5


@dataclasses.dataclass
class FaceScale:
    """One face's own scale of opening, eye-corner distances."""

    closed: float  #: under this the lips are closed
    open: float  #: over this the mouth is clearly open
    range: float  #: p95 − p5


def face_scale(opening: np.ndarray) -> FaceScale:
    """Closed/open thresholds from the distribution of a face's openings over the take."""
    v = np.asarray(opening, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return FaceScale(closed=0.03, open=0.08, range=0.05)
    p5, p95 = np.percentile(v, [5, 95])
    rng = max(float(p95 - p5), 0.01)
    # Closed mouths measure 0.00–0.02 on GRID speakers; mid-speech closures only reach the
    # lowest quarter of the range at 25 fps.
    closed = float(np.clip(p5 + 0.25 * rng, 0.015, 0.07))
    return FaceScale(closed=closed, open=float(p5 + 0.35 * rng), range=rng)


@dataclasses.dataclass
class WordGrade:
    index: int
    text: str
    line: int
    start_s: float  #: song time, s
    end_s: float  #: song time, s
    take_time_s: float  #: where the word should start in the take, s (performer's timing)
    timing_error_ms: Optional[float]
    hit: bool
    closure_ok: Optional[bool]
    closure_words: list[str]
    open_ratio: Optional[float]
    peak_opening: float
    vocal_level: float
    score: float
    hidden: bool = False  #: the mouth could not be seen (face lost or turned away): not graded


@dataclasses.dataclass
class LineGrade:
    index: int
    text: str
    start_s: float
    end_s: float
    offset_ms: Optional[float]
    r: float
    n_words: int
    n_hit: int
    closures_missed: list[str]
    open_more: list[str]
    breath: Optional[str]  #: "shown" | "not_shown" | None (no audible breath before the line)
    score: float
    n_hidden: int = 0  #: words sung while the mouth was hidden (not graded)
    hidden_words: list = dataclasses.field(default_factory=list)
    #: the editor may cut to this take for this line: whole line in the take, mouth visible, the
    #: singer's verdict not ``not_lip_syncing`` (unless ``verdict`` is ``in_sync`` the cut is unconfirmed)
    coverable: bool = False
    #: what showed the breath before the line: {"face": …, "body": …}; None without an audible breath
    breath_by: Optional[dict] = None
    verdict: Optional[str] = None  #: the verdict of the performer who sings the line (None: not in the take)


@dataclasses.dataclass
class BreathGrade:
    start_s: float  #: song time, s
    end_s: float
    before_line: Optional[int]
    audible: bool
    face: Optional[str]  #: "shown" | "not_shown" | "hidden" (face turned away or lost)
    body: Optional[str]  #: "shown" | "not_shown" | None (shoulders not measured)
    shown: Optional[bool]  #: face or body showed it; None when neither could be seen


@dataclasses.dataclass
class GapGrade:
    start_s: float
    end_s: float
    mouthing: bool
    share_open: float


def timing_points(error_ms: Optional[float]) -> float:
    """T term of the score formula: 1 within one frame, 0 at 200 ms or more."""
    if error_ms is None or not np.isfinite(error_ms):
        return 0.5
    return float(np.clip(1.0 - (abs(error_ms) - ON_TIME_MS) / 160.0, 0.0, 1.0))


def _window(t_s: np.ndarray, values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    sel = (t_s >= lo) & (t_s <= hi)
    v = values[sel]
    return v[np.isfinite(v)]


def face_visible(face) -> np.ndarray:
    """Per frame: the mouth can be judged (face found, head within the hidden angles).

    Parameters
    ----------
    face : FaceTrack
        ``yaw_deg`` / ``pitch_deg`` may be None (an old track): then found frames count as visible.
    """
    vis = np.asarray(face.found, dtype=bool).copy()
    for angles, limit in ((getattr(face, "yaw_deg", None), HIDDEN_YAW_DEG),
                          (getattr(face, "pitch_deg", None), HIDDEN_PITCH_DEG)):
        if angles is not None:
            a = np.asarray(angles, dtype=float)
            vis &= ~(np.abs(np.nan_to_num(a, nan=0.0)) > limit)
    return vis


def _visible_share(t_s: np.ndarray, visible: Optional[np.ndarray], lo: float, hi: float) -> float:
    if visible is None:
        return 1.0
    sel = (t_s >= lo) & (t_s <= hi)
    return float(np.mean(visible[sel])) if sel.any() else 0.0


def grade_words(songmap: SongMap, *, t_s: np.ndarray, opening: np.ndarray, song_start_s: float,
                line_offsets_ms: Sequence[Optional[float]], word_offsets_ms: Sequence[Optional[float]],
                vocal_grid: np.ndarray, grid_rate_hz: int, take_span_s: tuple[float, float],
                scale: FaceScale, visible: Optional[np.ndarray] = None) -> list[WordGrade]:
    """Grade every word of the song map that falls inside the take.

    Parameters
    ----------
    t_s, opening : np.ndarray
        The face's frame times (take time, s) and openings (NaN = no face).
    song_start_s : float
        Song time at take time 0, s.
    line_offsets_ms : sequence
        Performer offset per line (index = line), ms; None when not measured.
    word_offsets_ms : sequence
        Local timing error per word (index = word), ms; None when not measured.
    vocal_grid : np.ndarray
        Vocal level 0..1 on the song grid.
    take_span_s : (float, float)
        Song times covered by the take, s.
    visible : np.ndarray of bool, optional
        Per frame, the mouth can be judged (:func:`face_visible`); words sung while it cannot
        are ``hidden``.
    """
    out: list[WordGrade] = []
    for i, w in enumerate(songmap.words):
        if w.start < take_span_s[0] or w.end > take_span_s[1]:
            continue
        off = line_offsets_ms[w.line] if w.line < len(line_offsets_ms) else None
        shift = (off or 0.0) / 1000.0 - song_start_s
        lo, hi = w.start + shift - 0.04, max(w.end, w.start + 0.12) + shift + 0.04
        seg = _window(t_s, opening, lo, hi)
        peak = float(seg.max()) if seg.size else float("nan")
        moved = bool(seg.size and (seg.max() - seg.min() >= 0.25 * scale.range or seg.max() >= scale.open))
        i0, i1 = int(w.start * grid_rate_hz), max(int(w.end * grid_rate_hz), int(w.start * grid_rate_hz) + 1)
        level = float(np.max(vocal_grid[i0:i1])) if i1 <= vocal_grid.size and i1 > i0 else 0.0
        closures = [p for p in w.phonemes if p.viseme == "closed"]
        closure_ok: Optional[bool] = None
        if closures:
            closure_ok = True
            for p in closures:
                cseg = _window(t_s, opening, p.start + shift - 0.08, p.end + shift + 0.04)
                if not cseg.size or cseg.min() > scale.closed:
                    closure_ok = False
        vowels = [p for p in w.phonemes if p.viseme in ("open", "mid")]
        judge_open = (bool(vowels) or not w.phonemes) and level >= 0.5
        open_ratio = float(peak / (OPEN_TARGET * level)) if judge_open and np.isfinite(peak) else None
        err = word_offsets_ms[i] if i < len(word_offsets_ms) else None
        hidden = _visible_share(t_s, visible, lo, hi) < VISIBLE_SHARE
        if hidden:
            moved, closure_ok, open_ratio, err = False, None, None, None
        if not moved:
            score = 0.0
        else:
            o_term = 1.0 if open_ratio is None else float(np.clip(open_ratio / OPEN_OK_RATIO, 0, 1))
            score = 100.0 * (0.45 * timing_points(err) + 0.25 * (0.0 if closure_ok is False else 1.0) + 0.30 * o_term)
        out.append(WordGrade(index=i, text=w.text, line=w.line, start_s=w.start, end_s=w.end,
                             take_time_s=w.start - song_start_s + (off or 0.0) / 1000.0, timing_error_ms=err, hit=moved,
                             closure_ok=closure_ok, closure_words=[p.symbol for p in closures], open_ratio=open_ratio,
                             peak_opening=peak, vocal_level=level, score=round(score, 1), hidden=hidden))
    return out


def grade_breaths(songmap: SongMap, *, t_s: np.ndarray, opening: np.ndarray, song_start_s: float,
                  line_offsets_ms: Sequence[Optional[float]], take_span_s: tuple[float, float], scale: FaceScale,
                  visible: Optional[np.ndarray] = None, body: Optional[Sequence[Optional[str]]] = None) -> list[BreathGrade]:
    """Every breath of the song map inside the take: shown by the face (mouth opening) or the body.

    Parameters
    ----------
    line_offsets_ms : sequence
        Performer offset per line, ms: a breath is read at the timing of the line it prepares.
    body : sequence, optional
        Per breath of ``songmap.breaths`` (same index), ``"shown"`` / ``"not_shown"`` / None
        from :func:`lipcoach.take.body.shoulder_rise`.
    """
    out: list[BreathGrade] = []
    for bi, b in enumerate(songmap.breaths):
        if b.start < take_span_s[0] or b.end > take_span_s[1]:
            continue
        li = b.before_line
        off = line_offsets_ms[li] if li is not None and li < len(line_offsets_ms) else None
        shift = (off or 0.0) / 1000.0 - song_start_s
        lo, hi = b.start + shift - 0.1, b.end + shift + 0.05
        seg = _window(t_s, opening, lo, hi)
        if _visible_share(t_s, visible, lo, hi) < VISIBLE_SHARE or not seg.size:
            face = "hidden"
        else:
            face = "shown" if seg.max() >= scale.open else "not_shown"
        by_body = body[bi] if body is not None and bi < len(body) else None
        shown = None if face == "hidden" and by_body is None else (face == "shown" or by_body == "shown")
        out.append(BreathGrade(start_s=round(b.start, 3), end_s=round(b.end, 3), before_line=li, audible=b.audible,
                               face=face, body=by_body, shown=shown))
    return out


def audible_breath_before(breaths: Sequence[BreathGrade], line_index: int) -> Optional[BreathGrade]:
    """The last audible breath taken before the line (the one a line's breath fields describe), or None."""
    before = [b for b in breaths if b.before_line == line_index and b.audible]
    return before[-1] if before else None


def breath_before_line(breaths: Sequence[BreathGrade], line_index: int) -> Optional[str]:
    """The line's ``breath`` field: was the last audible breath before it shown (None: none, or unseen)."""
    b = audible_breath_before(breaths, line_index)
    if b is None or b.shown is None:
        return None
    return "shown" if b.shown else "not_shown"


def breath_by(breaths: Sequence[BreathGrade], line_index: int) -> Optional[dict]:
    """The line's ``breath_by`` field: what the face and the body showed of the breath before it.

    Returns
    -------
    dict or None
        ``{"face": "shown" | "not_shown" | "hidden", "body": "shown" | "not_shown" | None}``;
        None when no audible breath comes before the line.
    """
    b = audible_breath_before(breaths, line_index)
    return None if b is None else {"face": b.face, "body": b.body}


def grade_gaps(songmap: SongMap, *, t_s: np.ndarray, opening: np.ndarray, song_start_s: float, offset_ms: float,
               take_span_s: tuple[float, float], scale: FaceScale) -> list[GapGrade]:
    """Instrumental gaps (≥ :data:`MIN_GAP_S` without words) and whether the performer mouthed in them."""
    words = sorted(songmap.words, key=lambda w: w.start)
    edges = [(take_span_s[0], words[0].start)] if words else [take_span_s]
    edges += [(a.end, b.start) for a, b in zip(words, words[1:])]
    if words:
        edges.append((words[-1].end, take_span_s[1]))
    out = []
    shift = offset_ms / 1000.0 - song_start_s
    for lo, hi in edges:
        lo, hi = max(lo, take_span_s[0]), min(hi, take_span_s[1])
        if hi - lo < MIN_GAP_S:
            continue
        # Leave room for the end of the previous word and a breath before the next one.
        a, b = lo + 0.3, hi - 0.6
        for br in songmap.breaths:
            if br.start < hi and br.end > lo:
                b = min(b, br.start - 0.1)
        if b - a < 0.5:
            continue
        seg = _window(t_s, opening, a + shift, b + shift)
        if seg.size < 5:
            continue
        share = float(np.mean(seg > scale.open))
        moving = float(np.std(seg)) >= 0.2 * scale.range
        out.append(GapGrade(start_s=round(lo, 3), end_s=round(hi, 3), mouthing=bool(share >= 0.3 and moving),
                            share_open=round(share, 3)))
    return out


def line_score(words: Sequence[WordGrade], offset_ms: Optional[float], breath: Optional[str]) -> float:
    """Line score (0–100) from its words, its offset and its breath (formula in the module docstring)."""
    if not words:
        return 0.0
    w = float(np.mean([g.score for g in words]))
    return round(0.7 * w + 20.0 * timing_points(offset_ms) + 10.0 * (0.0 if breath == "not_shown" else 1.0), 1)


def take_score(lines: Sequence[LineGrade], gaps: Sequence[GapGrade], *, in_sync: bool) -> float:
    """Take score (0–100): word-weighted line mean, minus gap mouthing, capped when not lip-syncing."""
    graded = [ln for ln in lines if ln.n_words > ln.n_hidden]
    if not graded:
        return 0.0
    s = float(np.average([ln.score for ln in graded], weights=[ln.n_words - ln.n_hidden for ln in graded]))
    s -= min(15.0, 3.0 * sum(g.mouthing for g in gaps))
    if not in_sync:
        s = min(s, 20.0)
    return round(max(0.0, s), 1)


def sync_only_score(offset_ms: Optional[float], gaps: Sequence[GapGrade], *, in_sync: bool) -> float:
    """Take score (0–100) for a song map without lyrics: timing of the take, minus gap mouthing."""
    s = 100.0 * timing_points(offset_ms) - min(15.0, 3.0 * sum(g.mouthing for g in gaps))
    if not in_sync:
        s = min(s, 20.0)
    return round(max(0.0, s), 1)
