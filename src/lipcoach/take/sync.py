"""Performer sync: how far ahead of or behind the vocal the mouth moves (ms, negative = early).

Both sides become signals on one uniform grid (:data:`GRID_RATE_HZ`):

- the **mouth**: ``log(opening + 0.01)`` of the chosen face, linearly interpolated between
  frame timestamps (so any frame rate, constant or variable, lands on the same grid);
- the **vocal**: the song map's vocal loudness mapped to 0..1 over a 35 dB range under the
  sung reference level (silence and instrumental → 0).

The lag score is the sum of two Pearson correlations, the levels and their time derivatives
(the derivative carries word onsets and lip closures, the level carries held vowels). The lag
with the best score over a long window (the whole take, or a line with its neighbours) gives
the offset, refined between grid points with a parabola. The mouth moves ahead of the
sound it shapes, so the vocal is compared with the mouth ``vocal_lead_ms`` earlier
(:func:`lead_shift`) and a performer in perfect sync reads 0 ms. With lyrics, a third term
joins the lag score: the mouth against the opening the lyrics' phonemes ask for
(:func:`viseme_signal`), each phoneme placed earlier by its class's lead (closures before
m/b/p/f/v, openings before vowels, other). That term does not depend on the singer's voice,
which is not the performer's in a real lip-sync. With enough of the lyrics' shapes in the
take, the whole-take offset goes where rhythm (:func:`rhythm_scores`) and shapes
(:func:`shape_scores`) together match best (:func:`joint_best`): on an even syllable pace
the rhythm alone can prefer a lag one syllable away. Every tuning constant lives in one
frozen :class:`SyncConfig`.

Verdict (three states, :meth:`SyncEstimate.verdict`) from two pieces of evidence, each the
observed statistic against its own null: the same statistic at every circular shift of the
take by ≥ 1 s (0.5 s under 4 s), standard scores above the null mean.

- ``evidence_z`` (:func:`evidence`): the lag score itself (the sum of the correlations the
  offset was found with) at the found lag. It says the mouth moves with the vocal's
  *rhythm*; two sentences on one rhythm (GRID's all share one) both reach it.
- ``shape_z`` (:func:`shape_evidence`, with lyrics only): do the lips take the shapes the
  lyrics' sounds ask for — shut (and pulled wide) on m/b/p rather than apart on t/d/s/n,
  open on "eh"/"ah", narrow on "oo"/"w"/"r" (:data:`SHAPE_TABLE_DEFAULT`, measured on the
  calibration half) — in the tracked opening and width? Its targets are centred among consonants and among vowels separately
  (:func:`shape_targets`), so what the rhythm puts where cancels: only which sound is where
  counts, which is what another sentence of the same rhythm gets wrong.

Because the best of many lags was taken, chance alone reaches, with probability ``q``, the
``q``-quantile of the best of K standard normals, ``Φ⁻¹(q^(1/K))`` with K the search span over
:data:`CORRELATION_LENGTH_S` (:func:`chance_best`). With shapes the two join as
``combined_z = (evidence_z − chance_best(span, 0.99) + w · shape_z) / √(1 + w²)``
(w = ``config.shape_weight``; :attr:`SyncEstimate.combined_z`):

- ``in_sync`` when ``combined_z ≥ config.shape_margin`` (with shapes) or ``evidence_z`` clears
  the chance best at q = 0.99 plus ``config.in_sync_margin`` (without: no lyrics, or fewer than
  ``config.min_shapes`` shapes in the take), and the best lag is a real peak inside the window.
  Both margins are fitted on the calibration half: its mismatches' mean + 3 sd (at least
  their highest + 0.1);
- ``not_lip_syncing`` only when the take had enough to go on (``config.min_events`` word onsets,
  or vocal onsets without lyrics), ``evidence_z`` is under :attr:`SyncEstimate.out_bar` (no
  better than what chance typically reaches: the chance best at q = 0.5 for the
  ±``max_lag_ms`` window, not fitted; with shapes also ``combined_z`` under
  ``config.shape_out_margin``, fitted under every calibration in-sync take with 0.5 to spare,
  except for a silent take placed by its mouth, which at the wrong place in the song matches
  no better than a mismatch)
  and, with lyrics, no lag of the window shows the shapes better than chance's best at q = 0.9
  (``shape_best_z``, :attr:`SyncEstimate.shapes_absent`: an offset misread is not a mismatch).
  A best lag at the edge of the window is never ``in_sync``, but is not called out on its own
  either (a wrong peak can win on an in-sync take);
- ``cant_confirm`` otherwise: too few words seen, or a match better than chance but not enough
  to rule out another song with the same rhythm. An in-sync take with too little evidence is
  never told it is not lip-syncing.

The vocal-derivative ``z``, ``viseme_z`` and ``level_z`` (:func:`sync_verdict`,
:func:`second_evidence`) are kept in the report as diagnostics.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

#: Rate of the common analysis grid, samples/s (10 ms steps).
GRID_RATE_HZ = 100
#: Largest performer offset searched, ms. Beyond half a second a take is not a lip-sync.
MAX_LAG_MS = 500.0
#: Lags closer than this (s) give correlated scores (syllable-rate signals).
CORRELATION_LENGTH_S = 0.1
#: Margin around sung words inside which the mouth is compared with the vocal, s.
SUNG_MARGIN_S = 0.3
#: Window of the mouth's resting-level baseline, s (see rest_baseline).
BASELINE_S = 1.5
#: Dynamic range of the vocal level signal under the sung reference, dB.
VOCAL_RANGE_DB = 35.0
#: Expected mouth opening per viseme class (0 closed … 1 wide open vowel), for the
#: voice-independent evidence (:func:`viseme_signal`): it depends only on which sounds the
#: lyrics put where, not on how the singer's voice carries them.
VISEME_OPENING = {"rest": 0.0, "closed": 0.0, "lip_teeth": 0.2, "rounded": 0.45, "open": 1.0, "mid": 0.75,
                  "spread": 0.5, "tongue_teeth": 0.4, "teeth": 0.35, "back": 0.5, "unknown": 0.5}
#: Lead classes: what the mouth does ahead of the sound. Lips close (m/b/p) or touch the
#: teeth (f/v) before the burst or fricative is heard; the jaw opens before a vowel sounds;
#: everything else (tongue consonants, unknown sounds) is "other".
LEAD_CLASS = {"closed": "closure", "lip_teeth": "closure", "open": "opening", "mid": "opening",
              "rounded": "opening", "spread": "opening", "back": "other", "teeth": "other",
              "tongue_teeth": "other", "rest": "other", "unknown": "other"}
LEAD_CLASSES = ("closure", "opening", "other")


#: What the lips do on each viseme class, (class, opening, narrowing) in standard deviations of
#: the take's own log opening and of its width's narrowing beyond what the opening explains
#: (:func:`shape_evidence`). Measured by ``benchmarks/take_accuracy.py`` (``fit_shape_table``)
#: on the in-sync takes of its calibration half A: closed lips are shut and pulled wide,
#: rounded sounds narrow, "eh" opens the jaw most.
SHAPE_TABLE_DEFAULT = (("back", 0.85, -0.47), ("closed", -0.6, -0.7), ("lip_teeth", 0.16, -0.35),
                       ("mid", 1.0, -0.45), ("open", 0.66, 0.06), ("rounded", -0.1, 0.48), ("spread", 0.27, 0.13),
                       ("teeth", 0.52, -0.24), ("tongue_teeth", -0.19, 0.06))


@dataclasses.dataclass(frozen=True)
class SyncConfig:
    """Every tuning constant of performer sync, in one frozen object passed to the functions.

    The defaults (:data:`DEFAULT_CONFIG`) were fitted by ``benchmarks/take_accuracy.py`` on
    its calibration split of face clips (see docs/benchmarks.md); the figures it reports
    come from the other split.

    Attributes
    ----------
    vocal_lead_ms : float
        How far the mouth moves ahead of the vocal level as the lag score measures it, ms.
        The vocal is compared with the mouth this much earlier, so a performer in sync reads 0.
    lead_closure_ms, lead_opening_ms, lead_other_ms : float
        How far the mouth moves ahead of the song map's phoneme times, per lead class
        (:data:`LEAD_CLASS`), ms: each phoneme's expected opening (:func:`viseme_signal`) is
        placed this much earlier.
    viseme_weight : float
        Weight of the mouth/viseme derivative correlation in the lag score (0 = vocal only).
        The lyrics' phoneme times do not depend on the voice that sings them, so this term
        keeps the offset right when the song's voice is not the performer's.
    deriv_smooth : int
        Moving-average width (grid samples) applied before differentiating.
    viseme_smooth : int
        Smoothing of the viseme signal before differentiating, grid samples.
    word_weight : float
        Share of the word-activity signal in the vocal signal (:func:`song_signal`).
    z_margin : float
        Added to sqrt(2 ln K) for the diagnostic ``z_threshold`` of the vocal-derivative z.
    in_sync_margin : float
        Without shapes, ``evidence_z`` must clear :func:`chance_best` (q = 0.99) by this for
        ``in_sync``; fitted on the calibration half as the larger of the smallest margin
        calling none of its mismatches in sync and their mean + 3 sd.
    min_events : int
        Fewest word onsets (vocal onsets without lyrics) in the take for a ``not_lip_syncing``
        call; with fewer the verdict is at most ``cant_confirm``. 16 (about two sung lines):
        with 8, two of 204 held-out in-sync GRID takes of 14 words sat at chance's median.
    min_phonemes : int
        Fewest phonemes (or words without phonemes) in the take for the viseme evidence to count.
    max_lag_ms : float
        Largest performer offset searched, ms.
    shape_table : tuple of (viseme, opening, narrowing)
        What the lips do on each viseme class, in standard deviations of the take's log
        opening and of its width's narrowing beyond what the opening explains
        (:func:`shape_channels`); ``()`` means :data:`SHAPE_TABLE_DEFAULT`. Measured on the
        calibration half's in-sync pictures (``fit_shape_table``).
    shape_width_weight : float
        Weight of the narrowing (rounding) correlation beside the opening one in ``shape_z``
        (not fitted: 1, the two count alike).
    shape_weight : float
        Weight w of ``shape_z`` beside ``evidence_z`` in :attr:`SyncEstimate.combined_z`
        (0: the verdict ignores shapes). Fitted among 0.5, 1, 2, 4.
    shape_margin : float
        ``combined_z`` needed for ``in_sync`` when the take has shapes: the calibration
        mismatches' mean + 3 sd (at least their highest + 0.1).
    shape_out_margin : float
        Under this ``combined_z`` (and with no shapes anywhere in the window) a take with
        enough words is ``not_lip_syncing``: 0.5 under the lowest calibration in-sync take.
    min_shapes : int
        Fewest phonemes asking for a shape (:data:`SHAPE_KIND`) in the take for ``shape_z``
        to count; with fewer the verdict works as without lyrics.
    """

    # Fitted on calibration half A of benchmarks/take_accuracy.py (2026-11-29, third round of
    # issue 11; benchmarks/results/take_accuracy.json, fold fit_A_report_B, keeps every candidate
    # tried): vocal lead from the own-voice takes, class leads by coordinate search on
    # other-voice takes, viseme weight among 2, 4, 8; shape_table, shape_weight, shape_margin,
    # shape_out_margin and in_sync_margin by fit_shape_table / fit_verdict with those leads.
    vocal_lead_ms: float = 4.6
    lead_closure_ms: float = 40.0
    lead_opening_ms: float = 0.0
    lead_other_ms: float = 0.0
    viseme_weight: float = 8.0
    deriv_smooth: int = 9
    viseme_smooth: int = 5
    word_weight: float = 0.0
    z_margin: float = 1.15
    in_sync_margin: float = 1.53
    min_events: int = 16
    min_phonemes: int = 6
    max_lag_ms: float = MAX_LAG_MS
    # Shape evidence (:func:`shape_evidence`), fitted as above.
    shape_table: tuple = ()  # () = SHAPE_TABLE_DEFAULT
    shape_width_weight: float = 1.0
    shape_weight: float = 2.0
    shape_margin: float = 3.42
    shape_out_margin: float = -0.85
    min_shapes: int = 12

    def __post_init__(self):
        if not self.shape_table:
            object.__setattr__(self, "shape_table", SHAPE_TABLE_DEFAULT)

    def shape_of(self, viseme: str) -> Optional[tuple[float, float]]:
        """(opening, narrowing) the lips take on this viseme class, or None (no shape asked)."""
        for v, o, w in self.shape_table:
            if v == viseme:
                return o, w
        return None

    def lead_ms(self, viseme: str) -> float:
        """Expected lead of the mouth over a phoneme of this viseme class, ms."""
        cls = LEAD_CLASS.get(viseme, "other")
        return {"closure": self.lead_closure_ms, "opening": self.lead_opening_ms}.get(cls, self.lead_other_ms)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


#: The shipped configuration (fitted on the calibration split, see :class:`SyncConfig`).
DEFAULT_CONFIG = SyncConfig()


@dataclasses.dataclass
class SyncEstimate:
    """Offset of the mouth against the vocal over one window.

    Attributes
    ----------
    offset_ms : float
        Performer offset, ms; negative = early (mouth ahead of the vocal), 0 = in sync.
    peak : float
        Combined score at the best lag (sum of two correlations, -2..2).
    r : float
        Derivative correlation at the best lag (-1..1).
    z : float
        Standard scores of ``r`` above the circular-shift null (NaN when not computed); a
        diagnostic since the verdict comes from ``evidence_z`` (:attr:`verdict`).
    confidence : float
        0..1, logistic in ``evidence_z`` around :attr:`in_bar`.
    z_threshold : float
        Diagnostic bar for ``z``: 1.15 + sqrt(2 ln K) for K lags searched.
    at_edge : bool
        The best lag is the edge of the searched window (no real peak found).
    viseme_z : float
        Standard scores of the mouth/viseme derivative correlation at the same lag above
        its circular-shift null (NaN when the song map has too few phonemes in the take).
    level_z : float
        The same for the mouth level against the vocal level (NaN when not computed).
    """

    offset_ms: float
    peak: float
    r: float
    z: float = float("nan")
    confidence: float = float("nan")
    z_threshold: float = float("nan")
    at_edge: bool = False
    viseme_z: float = float("nan")
    level_z: float = float("nan")
    config: SyncConfig = DEFAULT_CONFIG
    searched_song: bool = False  #: the offset (and place) was searched over the whole song (a silent take)
    evidence_z: float = float("nan")  #: the lag score at the found lag above its circular-shift null (:func:`evidence`)
    search_span_s: float = float("nan")  #: how widely the offset (or place) was searched, s
    n_events: int = 0  #: word onsets (vocal onsets without lyrics) in the take
    shape_z: float = float("nan")  #: the lyrics' mouth shapes against the mouth, above its circular-shift null (:func:`shape_evidence`)
    n_shapes: int = 0  #: phonemes with an expected shape in the take
    shape_best_z: float = float("nan")  #: the best shape match at any lag within ±max_lag_ms of the placement
    #: the take was placed by its mouth with a confidence under the bar (``placement.unsure``): never ``in_sync``
    placement_unsure: bool = False

    @property
    def has_shapes(self) -> bool:
        """The lyrics asked the lips for enough shapes in the take (``shape_z`` counts in the verdict)."""
        return bool(np.isfinite(self.shape_z) and self.config.shape_weight > 0)

    @property
    def _chance(self) -> float:
        span = self.search_span_s if np.isfinite(self.search_span_s) else 2.0 * self.config.max_lag_ms / 1000.0
        return chance_best(span, 0.99)

    @property
    def combined_z(self) -> float:
        """``evidence_z`` over chance's best (q = 0.99), joined with ``shape_z``:
        ``(evidence_z − chance + w · shape_z) / √(1 + w²)``, w = ``config.shape_weight``
        (without shapes: ``evidence_z − chance``)."""
        over = self.evidence_z - self._chance
        if not self.has_shapes:
            return float(over)
        w = self.config.shape_weight
        return float((over + w * self.shape_z) / np.hypot(1.0, w))

    @property
    def in_bar(self) -> float:
        """``evidence_z`` needed for ``in_sync``: chance's best at q = 0.99 plus the fitted margin.

        With shapes, the margin is on :attr:`combined_z` (``config.shape_margin``), so the
        ``evidence_z`` needed is lower the better the lips took the lyrics' shapes."""
        if self.has_shapes:
            w = self.config.shape_weight
            return float(self._chance + self.config.shape_margin * np.hypot(1.0, w) - w * self.shape_z)
        return self._chance + self.config.in_sync_margin

    @property
    def out_bar(self) -> float:
        """Under this ``evidence_z`` (with enough events, and :attr:`shapes_absent`) the take is
        called ``not_lip_syncing``: its match is no better than what chance typically reaches
        (the median of the best of the ±``max_lag_ms`` window's lags; not fitted: a constant
        fitted to one half's in-sync takes called the other half's weaker in-sync takes out of
        sync); with shapes, also when :attr:`combined_z` is under ``config.shape_out_margin``
        (fitted under every calibration in-sync take, with room to spare), unless the place was
        searched from the mouth (a silent take)."""
        rhythm = chance_best(2.0 * self.config.max_lag_ms / 1000.0, 0.5)
        # A silent take placed by its mouth at the wrong part of the song matches no better
        # than a mismatch: there the shapes only withhold confirmation, they never call it out.
        if self.has_shapes and not self.searched_song:
            w = self.config.shape_weight
            return max(rhythm, float(self._chance + self.config.shape_out_margin * np.hypot(1.0, w) - w * self.shape_z))
        return rhythm

    @property
    def shapes_absent(self) -> bool:
        """No lyrics' shapes to look for, or none taken at any lag within ±``max_lag_ms`` of the
        placement better than chance usually reaches there (``shape_best_z`` under chance's best
        at q = 0.9, not fitted): a take whose shapes are there at another lag had its offset
        misread; it is not a mismatch."""
        if not self.has_shapes:
            return True
        return bool(self.shape_best_z < chance_best(2.0 * self.config.max_lag_ms / 1000.0, 0.9))

    @property
    def margin(self) -> float:
        """How far ``evidence_z`` stands over what ``in_sync`` needs (z units; ≥ 0 = enough)."""
        return float(self.evidence_z - self.in_bar) if np.isfinite(self.evidence_z) else float("-inf")

    @property
    def verdict(self) -> str:
        """``in_sync``, ``not_lip_syncing`` or ``cant_confirm`` (see the module docstring)."""
        if not np.isfinite(self.evidence_z):
            return "cant_confirm"
        if self.margin >= 0 and not self.at_edge:
            # A take placed by its mouth at a place the mouth itself is unsure of is not confirmed there.
            return "cant_confirm" if self.placement_unsure else "in_sync"
        if self.n_events >= self.config.min_events and self.evidence_z < self.out_bar and self.shapes_absent:
            return "not_lip_syncing"
        return "cant_confirm"

    @property
    def rhythm_chance(self) -> float:
        """What chance typically reaches (the median of the best lag of the ±``max_lag_ms`` window), z."""
        return chance_best(2.0 * self.config.max_lag_ms / 1000.0, 0.5)

    def _numbers(self) -> str:
        """The evidence in figures, for the reason: rhythm z against chance and the bar, and shapes."""
        text = (f"rhythm z = {self.evidence_z:.2f}; chance typically reaches {self.rhythm_chance:.2f}, "
                f"in sync needs {self.in_bar:.2f}")
        if self.has_shapes:
            text += f"; the words' shapes z = {self.shape_z:.2f}"
        return text

    @property
    def reason(self) -> str:
        """One plain sentence behind the verdict, which its figures support (they are quoted in it)."""
        v = self.verdict
        if not np.isfinite(self.evidence_z):
            if self.n_events < self.config.min_events:
                return (f"too few words seen to tell ({self.n_events} in the take, {self.config.min_events} needed): "
                        "record a longer take; the take is too short to measure the mouth against the vocal")
            return "the mouth could not be measured against the vocal (too little of the take was seen)"
        numbers = self._numbers()
        if v == "in_sync":
            if self.has_shapes and self.shape_z > 0:
                return (f"the mouth follows this song's vocal and takes the shapes of its words far better than "
                        f"chance ({numbers})")
            return f"the mouth follows this song's vocal far better than chance ({numbers})"
        if v == "not_lip_syncing":
            if self.has_shapes:
                return ("the mouth's match with this song's vocal and with the shapes of its words (lips closed on "
                        f"m/b/p, rounded, open) is no better than chance ({numbers})")
            return f"the mouth's match with this song's vocal is no better than chance ({numbers})"
        if self.margin >= 0 and not self.at_edge and self.placement_unsure:
            return ("the mouth matches the vocal well enough for in sync, but the take has no sound and the place "
                    f"the mouth found in the song is unsure, so it is not confirmed ({numbers})")
        if self.at_edge and self.margin >= 0:
            return f"the mouth's best match with the vocal is half a second or more away ({numbers})"
        follows = self.evidence_z >= self.rhythm_chance
        if self.n_events < self.config.min_events:
            seen = (f"too few words seen to tell ({self.n_events} in the take, {self.config.min_events} needed): "
                    "record a longer take")
            what = "the mouth follows the vocal's rhythm better than chance" if follows else \
                "the mouth's match with the vocal is no better than chance"
            return f"{seen}; {what} ({numbers})"
        if follows:
            if self.has_shapes:
                return ("the mouth follows the vocal's rhythm better than chance, but not clearly enough, with the "
                        "words' shapes (lips closed on m/b/p, rounded, open), to rule out other words on the same "
                        f"rhythm ({numbers})")
            return ("the mouth follows the vocal's rhythm better than chance, but not clearly enough to rule out "
                    f"other words on the same rhythm ({numbers})")
        # No better than chance, yet not called out: say what keeps it from not_lip_syncing.
        if not self.shapes_absent:
            return ("the mouth's match with the vocal is no better than chance at the offset found, but the lips "
                    f"take the words' shapes at another lag (best shapes z = {self.shape_best_z:.2f}): the offset may "
                    f"be misread ({numbers})")
        if self.searched_song:
            return ("the mouth's match with the vocal is no better than chance where the mouth placed this silent "
                    f"take; it may be at the wrong place in the song ({numbers})")
        return ("the mouth's match with the vocal is no better than chance, but not low enough to call it out of "
                f"sync ({numbers}; not lip-syncing needs under {self.out_bar:.2f})")

    @property
    def in_sync(self) -> bool:
        return self.verdict == "in_sync"


def chance_best(search_span_s: float, q: float) -> float:
    """The ``q``-quantile of the best of K chance z-scores, K = ``search_span_s`` / :data:`CORRELATION_LENGTH_S`.

    K lags searched behave like K independent standard normals; their maximum stays under
    ``Φ⁻¹(q^(1/K))`` with probability ``q``.
    """
    from scipy.special import ndtri  # Φ⁻¹, without importing scipy.stats

    k = max(search_span_s / CORRELATION_LENGTH_S, 1.0)
    return float(ndtri(q ** (1.0 / k)))


def z_threshold(search_span_s: float, *, config: SyncConfig = DEFAULT_CONFIG) -> float:
    """z an in-sync take must reach when its offset was searched over ``search_span_s`` seconds."""
    k = max(search_span_s / CORRELATION_LENGTH_S, 2.0)
    return float(config.z_margin + np.sqrt(2.0 * np.log(k)))


# ---------------------------------------------------------------------------------------
# signals


def vocal_level(loudness_db: np.ndarray, *, rate_hz: float, reference_db: Optional[float] = None,
                grid_rate_hz: int = GRID_RATE_HZ, duration_s: Optional[float] = None) -> np.ndarray:
    """Vocal loudness (dBFS per frame) as a 0..1 level on the analysis grid.

    Parameters
    ----------
    loudness_db : np.ndarray
        Vocal level per frame, dBFS (``SongMap.loudness.values``).
    rate_hz : float
        Frames per second of ``loudness_db``.
    reference_db : float, optional
        Sung reference level, dBFS; default the 95th percentile.
    grid_rate_hz : int
    duration_s : float, optional
        Length of the output in seconds (default: that of the input).

    Returns
    -------
    np.ndarray
        Level on the grid, sample ``i`` at ``i / grid_rate_hz`` s.
    """
    db = np.asarray(loudness_db, dtype=float)
    db = np.where(np.isfinite(db), db, -120.0)
    ref = float(np.percentile(db, 95)) if reference_db is None or not np.isfinite(reference_db) else float(reference_db)
    # The reference is the median sung level; loud notes sit a few dB above it.
    top = max(ref + 3.0, float(np.percentile(db, 95)))
    level = np.clip((db - (top - VOCAL_RANGE_DB)) / VOCAL_RANGE_DB, 0.0, 1.0)
    dur = duration_s if duration_s is not None else db.size / rate_hz
    t_grid = np.arange(int(round(dur * grid_rate_hz))) / grid_rate_hz
    t_src = (np.arange(db.size) + 0.5) / rate_hz if rate_hz < grid_rate_hz else np.arange(db.size) / rate_hz
    return np.interp(t_grid, t_src, level, left=0.0, right=0.0)


def word_activity(spans_s, *, n: int, grid_rate_hz: int = GRID_RATE_HZ, ramp_s: float = 0.05) -> np.ndarray:
    """1 inside sung words, 0 outside, with ``ramp_s`` linear ramps: the lyric timing alone.

    Parameters
    ----------
    spans_s : iterable of (start_s, end_s)
        Word spans in song time, s.
    n : int
        Grid samples.
    """
    box = np.zeros(n)
    for a, b in spans_s:
        box[max(0, int(round(a * grid_rate_hz))):max(0, int(round(b * grid_rate_hz)))] = 1.0
    return _smooth(box, max(1, int(round(2 * ramp_s * grid_rate_hz)) | 1))


def sung_region(spans_s, *, n: int, margin_s: float = SUNG_MARGIN_S, grid_rate_hz: int = GRID_RATE_HZ) -> np.ndarray:
    """Grid samples within ``margin_s`` of a sung word: where the mouth is held to the vocal.

    Outside (instrumental, pauses) a performer may breathe, prepare the next word or rest
    with the mouth open, none of which the vocal level predicts.
    """
    region = np.zeros(n, dtype=bool)
    m = int(round(margin_s * grid_rate_hz))
    for a, b in spans_s:
        region[max(0, int(a * grid_rate_hz) - m):max(0, int(np.ceil(b * grid_rate_hz)) + m)] = True
    return region


def song_signal(level: np.ndarray, activity: Optional[np.ndarray], *, config: SyncConfig = DEFAULT_CONFIG) -> np.ndarray:
    """What the mouth is compared with: the vocal level blended with the word activity.

    The level carries the singer's own dynamics; the word activity carries only where the
    lyrics fall, which is the same whoever sings them (the performer's voice is not the
    singer's). ``config.word_weight`` is the share of the latter. The result is moved earlier
    by ``config.vocal_lead_ms`` (:func:`lead_shift`): the mouth moves ahead of the sound.
    """
    w = config.word_weight
    if activity is not None and w > 0:
        level = (1.0 - w) * level + w * activity[: level.size]
    return lead_shift(level, config.vocal_lead_ms)


def lead_shift(signal: np.ndarray, lead_ms: float, *, grid_rate_hz: int = GRID_RATE_HZ) -> np.ndarray:
    """``signal`` moved ``lead_ms`` earlier on the grid (linear interpolation, edges held).

    Sample ``i`` of the result is ``signal`` at ``i + lead_ms`` (in grid units): what the
    mouth should be doing at ``i`` if it moves ``lead_ms`` ahead of the sound.
    """
    if not lead_ms:
        return signal
    x = np.arange(signal.size, dtype=float)
    return np.interp(x + lead_ms * grid_rate_hz / 1000.0, x, signal)


def mouth_signal(t_s: np.ndarray, opening: np.ndarray, *, start_s: float, n: int,
                 grid_rate_hz: int = GRID_RATE_HZ) -> tuple[np.ndarray, np.ndarray]:
    """The mouth opening on the analysis grid.

    Parameters
    ----------
    t_s : np.ndarray
        Frame times, s (any spacing).
    opening : np.ndarray
        Opening per frame, eye-corner distances; NaN where no face was found.
    start_s : float
        Time of grid sample 0 on the ``t_s`` timeline, s.
    n : int
        Number of grid samples.

    Returns
    -------
    signal : np.ndarray
        ``log(opening + 0.01)`` minus its resting baseline (:func:`rest_baseline`),
        interpolated onto the grid.
    valid : np.ndarray of bool
        True where a face was measured within a frame of the grid sample.
    """
    t_grid = start_s + np.arange(n) / grid_rate_hz
    ok = np.isfinite(opening)
    sig = np.zeros(n)
    valid = np.zeros(n, dtype=bool)
    if ok.sum() < 2:
        return sig, valid
    ts, vs = t_s[ok], np.log(np.asarray(opening)[ok] + 0.01)
    vs = vs - rest_baseline(vs, width=int(round(BASELINE_S / max(float(np.median(np.diff(ts))) if ts.size > 1 else 0.04, 1e-3))))
    sig = np.interp(t_grid, ts, vs)
    # Nearest measured frame must be within ~1.5 frame periods, or the grid sample is a gap.
    period = float(np.median(np.diff(t_s))) if t_s.size > 1 else 0.04
    idx = np.clip(np.searchsorted(ts, t_grid), 1, ts.size - 1)
    near = np.minimum(np.abs(ts[idx] - t_grid), np.abs(ts[idx - 1] - t_grid))
    valid = (near <= 1.5 * period) & (t_grid >= ts[0] - period) & (t_grid <= ts[-1] + period)
    return sig, valid


def rest_baseline(x: np.ndarray, *, width: int) -> np.ndarray:
    """The mouth's local resting level: running minimum over ``width`` frames, then smoothed.

    Subtracting it removes what is not lip movement: a mouth held open for seconds, a
    speaker whose lips never meet, a head turn that changes the normalisation.
    """
    x = np.asarray(x, dtype=float)
    width = int(max(3, min(width, x.size)))
    if x.size < 3:
        return np.full_like(x, np.min(x) if x.size else 0.0)
    half = width // 2
    padded = np.pad(x, (half, width - 1 - half), mode="edge")
    low = np.lib.stride_tricks.sliding_window_view(padded, width).min(axis=1)
    return _smooth(low, width | 1)


def _smooth(x: np.ndarray, width: int = 5) -> np.ndarray:
    """Moving average over ``width`` samples, edges padded with the edge value."""
    half = width // 2
    padded = np.pad(np.asarray(x, dtype=float), (half, width - 1 - half), mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def _masked_corr(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> float:
    if w.sum() < 10:
        return 0.0
    a, b = a[w], b[w]
    a = a - a.mean()
    b = b - b.mean()
    den = np.sqrt(np.dot(a, a) * np.dot(b, b))
    return float(np.dot(a, b) / den) if den > 1e-12 else 0.0


def lag_scores(mouth: np.ndarray, vocal: np.ndarray, valid: np.ndarray, *, lags: np.ndarray,
               region: Optional[np.ndarray] = None, visemes: Optional[np.ndarray] = None,
               config: SyncConfig = DEFAULT_CONFIG) -> tuple[np.ndarray, np.ndarray]:
    """Score of every lag: correlation of levels plus correlation of derivatives.

    Parameters
    ----------
    mouth, vocal : np.ndarray
        Signals on the same grid (sample ``i`` of both = the same song time at lag 0).
    valid : np.ndarray of bool
        Where the mouth signal is measured.
    lags : np.ndarray of int
        Grid lags; a positive lag compares ``mouth[i + lag]`` with ``vocal[i]`` (mouth late).
    region : np.ndarray of bool, optional
        Grid samples (of the vocal) that count; default all.
    visemes : np.ndarray, optional
        :func:`viseme_signal` on the same grid; its derivative correlation with the mouth's,
        times ``config.viseme_weight``, joins the score.

    Returns
    -------
    combined : np.ndarray
        Level correlation + derivative correlation (+ weighted viseme correlation) per lag.
    deriv : np.ndarray
        Derivative correlation per lag.
    """
    n = mouth.size
    dm = np.gradient(_smooth(mouth, config.deriv_smooth))
    dv = np.gradient(_smooth(vocal, config.deriv_smooth))
    use_vis = visemes is not None and config.viseme_weight > 0
    if use_vis:
        dm_v = np.gradient(_smooth(mouth, config.viseme_smooth))
        dx = np.gradient(_smooth(visemes, config.viseme_smooth))
    base = np.ones(n, dtype=bool) if region is None else region
    combined = np.zeros(lags.size)
    deriv = np.zeros(lags.size)
    for j, lag in enumerate(lags):
        lag = int(lag)
        if lag >= 0:
            sl_m, sl_v = slice(lag, n), slice(0, n - lag)
        else:
            sl_m, sl_v = slice(0, n + lag), slice(-lag, n)
        w = valid[sl_m] & base[sl_v]
        lv = _masked_corr(mouth[sl_m], vocal[sl_v], w)
        ld = _masked_corr(dm[sl_m], dv[sl_v], w)
        combined[j] = lv + ld
        if use_vis:
            combined[j] += config.viseme_weight * _masked_corr(dm_v[sl_m], dx[sl_v], w)
        deriv[j] = ld
    return combined, deriv


def _parabolic(y: np.ndarray, k: int) -> float:
    if 0 < k < y.size - 1:
        y0, y1, y2 = y[k - 1], y[k], y[k + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            return float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5))
    return 0.0


def estimate_offset(mouth: np.ndarray, vocal: np.ndarray, valid: np.ndarray, *, max_lag_ms: Optional[float] = None,
                    region: Optional[np.ndarray] = None, grid_rate_hz: int = GRID_RATE_HZ,
                    center_ms: float = 0.0, visemes: Optional[np.ndarray] = None,
                    config: SyncConfig = DEFAULT_CONFIG) -> SyncEstimate:
    """Best performer offset over a window (no null test; see :func:`sync_verdict`).

    Parameters
    ----------
    mouth, vocal, valid : np.ndarray
        :func:`mouth_signal` and :func:`song_signal` (already moved earlier by the lead).
    max_lag_ms : float, optional
        Half-width of the search, ms (default ``config.max_lag_ms``).
    center_ms : float
        Search ``center_ms ± max_lag_ms``, ms.
    visemes : np.ndarray, optional
        :func:`viseme_signal` of the lyrics on the same grid (used when ``config.viseme_weight > 0``).
    """
    if max_lag_ms is None:
        max_lag_ms = config.max_lag_ms
    step_ms = 1000.0 / grid_rate_hz
    c = int(round(center_ms / step_ms))
    k_max = int(round(max_lag_ms / step_ms))
    lags = np.arange(c - k_max, c + k_max + 1)
    if region is not None:
        # Only the region and the lag reach around it matter: crop for speed on long songs.
        idx = np.flatnonzero(region)
        if idx.size == 0:
            return SyncEstimate(offset_ms=center_ms, peak=0.0, r=0.0, config=config)
        reach = abs(c) + k_max + 2
        lo, hi = max(0, int(idx[0]) - reach), min(mouth.size, int(idx[-1]) + reach + 1)
        mouth, vocal, valid, region = mouth[lo:hi], vocal[lo:hi], valid[lo:hi], region[lo:hi]
        visemes = None if visemes is None else visemes[lo:hi]
    combined, deriv = lag_scores(mouth, vocal, valid, lags=lags, region=region, visemes=visemes, config=config)
    k = int(np.argmax(combined))
    raw_ms = (lags[k] + _parabolic(combined, k)) * step_ms
    return SyncEstimate(offset_ms=raw_ms, peak=float(combined[k]), r=float(deriv[k]),
                        at_edge=k in (0, lags.size - 1), config=config)


def _circular_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean()
    b = b - b.mean()
    c = np.fft.irfft(np.fft.rfft(a) * np.conj(np.fft.rfft(b)), a.size)
    den = np.sqrt(np.dot(a, a) * np.dot(b, b))
    return c / den if den > 1e-12 else c * 0.0


def sync_verdict(mouth: np.ndarray, vocal: np.ndarray, valid: np.ndarray, estimate: SyncEstimate, *,
                 max_lag_ms: Optional[float] = None, min_shift_s: float = 1.0,
                 search_span_s: Optional[float] = None, region: Optional[np.ndarray] = None,
                 grid_rate_hz: int = GRID_RATE_HZ) -> SyncEstimate:
    """Add ``z`` and ``confidence`` to an estimate with a circular-shift null distribution.

    The derivative correlation is computed for every circular shift at once (FFT); the
    shifts of at least ``min_shift_s`` are the null sample (chance correlations of these very
    signals). ``search_span_s`` is how widely the offset was searched (default the lag
    window, 2 × ``max_lag_ms``; the whole song for a silent take placed by its mouth).
    """
    config = estimate.config
    max_lag_ms = config.max_lag_ms if max_lag_ms is None else max_lag_ms
    span = search_span_s if search_span_s is not None else 2.0 * max_lag_ms / 1000.0
    threshold = z_threshold(span, config=config)
    w = valid.astype(float)
    dm = np.gradient(_smooth(mouth, config.deriv_smooth)) * w
    dv = np.gradient(_smooth(vocal, config.deriv_smooth)) * w
    if region is not None:
        dv = dv * region
    n = dm.size
    k_max = int(round(max_lag_ms * grid_rate_hz / 1000.0))
    min_shift = int(round(min_shift_s * grid_rate_hz))
    if n < 2 * (min_shift + k_max) + 10:
        # Short takes: shifts of half a second still break the syllable rhythm.
        min_shift = int(round(0.5 * grid_rate_hz))
    if n < 2 * (min_shift + k_max) + 10:
        return dataclasses.replace(estimate, z=float("nan"), confidence=0.0, z_threshold=threshold)
    c = _circular_corr(dm, dv)
    lags = np.arange(n)
    lags = np.minimum(lags, n - lags)
    # Every circular shift beyond min_shift is a "not in sync" sample of the same signals:
    # its spread is the chance level of a correlation for this take's length and rhythm.
    null = c[lags >= min_shift]
    lag0 = int(round(estimate.offset_ms * grid_rate_hz / 1000.0))
    obs = float(np.max(c[np.arange(lag0 - 2, lag0 + 3) % n]))
    z = (obs - float(np.mean(null))) / max(float(np.std(null)), 1e-6)
    out = dataclasses.replace(estimate, z=float(z), z_threshold=threshold, searched_song=search_span_s is not None)
    return dataclasses.replace(out, confidence=_confidence(out))


def _confidence(est: SyncEstimate) -> float:
    if est.at_edge or not np.isfinite(est.margin):
        return 0.0
    return float(1.0 / (1.0 + np.exp(-2.0 * est.margin)))


def viseme_signal(phonemes, *, n: int, grid_rate_hz: int = GRID_RATE_HZ,
                  config: SyncConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Expected mouth opening from the lyrics alone: :data:`VISEME_OPENING` of each phoneme.

    Each phoneme is placed ``config.lead_ms(viseme)`` earlier than its time in the song map:
    the lips close before an m/b/p is heard and the jaw opens before a vowel sounds.

    Parameters
    ----------
    phonemes : iterable of (start_s, end_s, viseme)
        Phoneme spans in song time, s, with their viseme class.
    n : int
        Grid samples.

    Returns
    -------
    np.ndarray
        0..1 on the grid (0 outside phonemes), smoothed over ``config.viseme_smooth`` samples.
    """
    e = np.zeros(n)
    for a, b, v in phonemes:
        lead_s = config.lead_ms(v) / 1000.0
        e[max(0, int(round((a - lead_s) * grid_rate_hz))):max(0, int(round((b - lead_s) * grid_rate_hz)))] = \
            VISEME_OPENING.get(v, 0.4)
    return _smooth(e, config.viseme_smooth)


def _shift_z(a: np.ndarray, b: np.ndarray, lag0: int, *, search: int, min_shift: int) -> float:
    """z of the best circular correlation of ``a`` against ``b`` within ``lag0 ± search`` samples,
    against every circular shift of at least ``min_shift`` samples (NaN when too short)."""
    n = a.size
    if n < 4 * min_shift or not np.any(b - b.mean()) or not np.any(a - a.mean()):
        return float("nan")
    c = _circular_corr(a, b)
    lags = np.arange(n)
    lags = np.minimum(lags, n - lags)
    null = c[lags >= min_shift]
    obs = float(np.max(c[np.arange(lag0 - search, lag0 + search + 1) % n]))
    return (obs - float(np.mean(null))) / max(float(np.std(null)), 1e-6)


def second_evidence(mouth: np.ndarray, vocal: np.ndarray, valid: np.ndarray, estimate: SyncEstimate, *,
                    visemes: Optional[np.ndarray] = None, region: Optional[np.ndarray] = None,
                    search_ms: float = 30.0, grid_rate_hz: int = GRID_RATE_HZ) -> SyncEstimate:
    """Add ``viseme_z`` and ``level_z``: evidence beside the vocal-derivative z, at the same lag.

    - ``viseme_z`` (when ``visemes`` is given): does the mouth open and close with the sounds of
      the lyrics? The derivative of the mouth against the derivative of :func:`viseme_signal`.
      It does not depend on the singer's voice, and a picture of other words spoken to the same
      rhythm follows the vocal's rhythm but not its m/b/p closures and open vowels.
    - ``level_z``: the mouth level against the vocal level (inside the sung region), used when
      the song map has no phonemes for the take.

    Both are compared with every circular shift of at least 1 s (0.5 s for takes under 4 s),
    like :func:`sync_verdict`, at the estimate's lag ± ``search_ms``.

    Parameters
    ----------
    mouth, vocal, valid : np.ndarray
        Mouth signal, vocal level and mouth validity on the same grid, over the take only.
    estimate : SyncEstimate
        Its ``offset_ms`` gives the lag.
    visemes : np.ndarray, optional
        :func:`viseme_signal` over the same samples.
    region : np.ndarray of bool, optional
        Sung region over the same samples.
    """
    n = mouth.size
    min_shift = int(round(1.0 * grid_rate_hz))
    if n < 4 * min_shift:
        min_shift = int(round(0.5 * grid_rate_hz))
    config = estimate.config
    lag0 = int(round(estimate.offset_ms * grid_rate_hz / 1000.0))
    k = int(round(search_ms * grid_rate_hz / 1000.0))
    a = np.where(valid, mouth, 0.0)
    vz = float("nan")
    if visemes is not None:
        vz = _shift_z(np.gradient(_smooth(a, config.viseme_smooth)), np.gradient(_smooth(visemes, config.viseme_smooth)), lag0,
                      search=k, min_shift=min_shift)
    m = np.where(valid, mouth - (mouth[valid].mean() if valid.any() else 0.0), 0.0)
    v = vocal - vocal.mean()
    if region is not None:
        v = v * region
    lz = _shift_z(m, v, lag0, search=k, min_shift=min_shift)
    out = dataclasses.replace(estimate, viseme_z=float(vz), level_z=float(lz))
    return dataclasses.replace(out, confidence=_confidence(out))


def evidence(mouth: np.ndarray, vocal: np.ndarray, valid: np.ndarray, estimate: SyncEstimate, *,
             visemes: Optional[np.ndarray] = None, region: Optional[np.ndarray] = None, n_events: int = 0,
             search_span_s: Optional[float] = None, grid_rate_hz: int = GRID_RATE_HZ) -> SyncEstimate:
    """Add ``evidence_z``: the lag score at the found lag against its circular-shift null.

    The lag score's own terms (:func:`lag_scores`: levels, derivatives, and with lyrics the
    weighted mouth/viseme derivatives) are computed for every circular shift of the mouth
    against the song at once (FFT). Shifts of at least 1 s (0.5 s under 4 s) are the null:
    what this very mouth and song reach when they are not in sync. The observed value is the
    best within ±2 grid samples of ``estimate.offset_ms``.

    Parameters
    ----------
    mouth, vocal, valid : np.ndarray
        Over the take only, on one grid.
    estimate : SyncEstimate
    visemes : np.ndarray, optional
        :func:`viseme_signal` over the same samples (None: no lyrics, or too few phonemes).
    region : np.ndarray of bool, optional
        Sung region over the same samples.
    n_events : int
        Word onsets (or vocal onsets without lyrics) in the take (:func:`count_onsets`).
    search_span_s : float, optional
        How widely the offset or place was searched, s (default the lag window).
    """
    config = estimate.config
    n = mouth.size
    span = search_span_s if search_span_s is not None else 2.0 * config.max_lag_ms / 1000.0
    min_shift = int(round(1.0 * grid_rate_hz)) if n >= 4 * grid_rate_hz else int(round(0.5 * grid_rate_hz))
    out = dataclasses.replace(estimate, n_events=int(n_events), search_span_s=float(span))
    if n < 4 * min_shift or valid.sum() < 2 * min_shift:
        return dataclasses.replace(out, evidence_z=float("nan"), confidence=0.0)
    z = circular_z(rhythm_scores(mouth, vocal, valid, visemes=visemes, region=region, config=config),
                   min_shift=min_shift)
    lag0 = int(round(estimate.offset_ms * grid_rate_hz / 1000.0))
    ez = float(np.max(z[np.arange(lag0 - 2, lag0 + 3) % n]))
    out = dataclasses.replace(out, evidence_z=ez)
    return dataclasses.replace(out, confidence=_confidence(out))


def rhythm_scores(mouth: np.ndarray, vocal: np.ndarray, valid: np.ndarray, *, visemes: Optional[np.ndarray] = None,
                  region: Optional[np.ndarray] = None, config: SyncConfig = DEFAULT_CONFIG) -> np.ndarray:
    """The lag score (:func:`lag_scores`' terms) at every circular shift of the mouth against the song (FFT).

    Sample ``k`` is the score at a lag of ``k`` grid samples (mouth late), ``n - k`` at ``-k``.
    """
    w = valid.astype(float)
    reg = np.ones(mouth.size) if region is None else region.astype(float)
    m = np.where(valid, mouth - mouth[valid].mean(), 0.0)
    score = _circular_corr(m, (vocal - vocal.mean()) * reg)
    score = score + _circular_corr(np.gradient(_smooth(m, config.deriv_smooth)) * w,
                                   np.gradient(_smooth(vocal, config.deriv_smooth)) * reg)
    if visemes is not None and config.viseme_weight > 0:
        score = score + config.viseme_weight * _circular_corr(np.gradient(_smooth(m, config.viseme_smooth)) * w,
                                                              np.gradient(_smooth(visemes, config.viseme_smooth)))
    return score


def circular_z(score: np.ndarray, *, min_shift: int) -> np.ndarray:
    """Standard scores of a circular lag score against its own null: every shift of at least ``min_shift`` samples."""
    n = score.size
    lags = np.arange(n)
    null = score[np.minimum(lags, n - lags) >= min_shift]
    return (score - float(np.mean(null))) / max(float(np.std(null)), 1e-9)


def joint_best(rhythm_z: np.ndarray, shape_z: np.ndarray, *, config: SyncConfig = DEFAULT_CONFIG,
               grid_rate_hz: int = GRID_RATE_HZ) -> tuple[float, float]:
    """The lag (ms, mouth late > 0) within ±``config.max_lag_ms`` where rhythm and shapes together match best, and that match.

    The sum of the two standard scores: on a song whose syllables come at an even pace the
    rhythm alone can prefer a lag one syllable away, where the lips' closures and openings do
    not fall on the lyrics' m/b/p and vowels. The two count alike here (not fitted, so the
    offsets the verdict's constants are fitted on do not depend on those constants).
    """
    k = int(round(config.max_lag_ms * grid_rate_hz / 1000.0))
    lags = np.arange(-k, k + 1)
    joint = rhythm_z[lags % rhythm_z.size] + shape_z[lags % shape_z.size]
    k = int(np.argmax(joint))
    return float(lags[k] * 1000.0 / grid_rate_hz), float(joint[k])


def count_onsets(level: np.ndarray, *, grid_rate_hz: int = GRID_RATE_HZ, min_gap_s: float = 0.15,
                 rel_height: float = 0.25) -> int:
    """Vocal onsets in a level signal (0..1 on the grid): peaks of its rise, at least ``min_gap_s`` apart.

    Without lyrics these are the events the mouth is held to; a take with few of them cannot
    be called out of sync.
    """
    from scipy.signal import find_peaks

    if level.size < 5:
        return 0
    rise = np.gradient(_smooth(level, 5))
    top = float(np.max(rise))
    if top <= 0:
        return 0
    peaks, _ = find_peaks(rise, height=rel_height * top, distance=max(1, int(min_gap_s * grid_rate_hz)))
    return int(peaks.size)


# ---------------------------------------------------------------------------------------
# shape evidence: what the lyrics' sounds ask of the lips, which a shared rhythm cannot fake

#: Shapes are compared only with shapes of the same kind: consonants with consonants (closed
#: lips on m/b/p, lip on teeth on f/v, against the teeth and tongue sounds, whose lips stay
#: apart; k/g take the neighbouring vowel's shape) and vowels with vowels (open against
#: half-open, spread and rounded). Whatever the rhythm puts where (a vowel here, a consonant
#: there) is the same for every sentence of that rhythm and is taken out by centring each
#: kind on its own.
SHAPE_KIND = {"closed": "consonant", "lip_teeth": "consonant", "teeth": "consonant", "tongue_teeth": "consonant",
              "back": "consonant", "open": "vowel", "mid": "vowel", "spread": "vowel", "rounded": "vowel"}

def shape_targets(phonemes, *, n: int, grid_rate_hz: int = GRID_RATE_HZ,
                  config: SyncConfig = DEFAULT_CONFIG) -> tuple[np.ndarray, np.ndarray, int]:
    """What the lyrics ask of the lips, on the grid, with the rhythm taken out.

    Each phoneme of a class in :data:`SHAPE_KIND` is placed ``config.lead_ms(viseme)`` earlier
    (like :func:`viseme_signal`) and asks for the opening and narrowing of its class in
    ``config.shape_table``. Each target is then centred within each kind
    (consonant samples on their own, vowel samples on their own) and is 0 elsewhere, so that a
    mouth that merely opens on every vowel and closes between words (any sentence of the same
    rhythm) scores nothing: only *which* consonant closes the lips and *which* vowel opens or
    rounds them counts.

    Parameters
    ----------
    phonemes : iterable of (start_s, end_s, viseme)
        Phoneme spans in song time, s.
    n : int
        Grid samples.

    Returns
    -------
    opening, rounding : np.ndarray
        Centred targets on the grid (0 where no shape is asked).
    n_shapes : int
        Phonemes that asked for a shape.
    """
    opening = np.zeros(n)
    rounding = np.zeros(n)
    kind = np.zeros(n, dtype=int)  # 0 none, 1 consonant, 2 vowel
    n_shapes = 0
    for a, b, v in phonemes:
        k = SHAPE_KIND.get(v)
        shape = config.shape_of(v)
        if k is None or shape is None:
            continue
        lead_s = config.lead_ms(v) / 1000.0
        i0 = max(0, int(round((a - lead_s) * grid_rate_hz)))
        i1 = min(n, max(i0 + 1, int(round((b - lead_s) * grid_rate_hz))))
        if i0 >= n:
            continue
        n_shapes += 1
        opening[i0:i1], rounding[i0:i1] = shape
        kind[i0:i1] = 1 if k == "consonant" else 2
    for k in (1, 2):
        sel = kind == k
        if sel.any():
            opening[sel] -= opening[sel].mean()
            rounding[sel] -= rounding[sel].mean()
    return opening, rounding, n_shapes


def width_signal(t_s: np.ndarray, width: np.ndarray, *, start_s: float, n: int,
                 grid_rate_hz: int = GRID_RATE_HZ) -> np.ndarray:
    """``log(width)`` of the mouth on the analysis grid, minus its running mean over :data:`BASELINE_S`.

    The running mean takes out what is not the lips' shape (distance to the camera, a head
    turn); NaN frames (no face) are bridged and the result is 0 where there is no face at all.

    Parameters
    ----------
    t_s : np.ndarray
        Frame times, s.
    width : np.ndarray
        Inner mouth width per frame, eye-corner distances; NaN where no face was found.
    start_s : float
        Time of grid sample 0 on the ``t_s`` timeline, s.
    n : int
        Grid samples.
    """
    w = np.asarray(width, dtype=float)
    ok = np.isfinite(w) & (w > 0)
    if ok.sum() < 2:
        return np.zeros(n)
    t_grid = start_s + np.arange(n) / grid_rate_hz
    sig = np.interp(t_grid, t_s[ok], np.log(w[ok]))
    return sig - _smooth(sig, int(round(BASELINE_S * grid_rate_hz)) | 1)


def config_kind(viseme: str) -> Optional[str]:
    """``"consonant"`` or ``"vowel"``: which shapes this class is compared with (None: no shape asked)."""
    return SHAPE_KIND.get(viseme)


def _standard(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``x`` in standard deviations about its mean over ``valid`` samples, 0 elsewhere."""
    x = np.where(valid, x - (x[valid].mean() if valid.any() else 0.0), 0.0)
    sd = float(np.sqrt(np.mean(x[valid] ** 2))) if valid.any() else 0.0
    return x / sd if sd > 1e-9 else x * 0.0


def shape_channels(mouth: np.ndarray, width: Optional[np.ndarray],
                   valid: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """The two shape measurements of a take, in standard deviations over its valid samples.

    Returns
    -------
    opening : np.ndarray
        :func:`mouth_signal` standardised.
    narrowing : np.ndarray or None
        Minus :func:`width_signal`, standardised, less what the opening explains of it (least
        squares over the take: an open jaw also draws the corners in), standardised again.
        None without a width.
    """
    m = _standard(mouth, valid)
    if width is None or not np.any(width):
        return m, None
    wv = _standard(width, valid)
    beta = float(np.dot(wv[valid], m[valid]) / max(float(np.dot(m[valid], m[valid])), 1e-9))
    return m, _standard(-(wv - beta * m), valid)


def shape_evidence(mouth: np.ndarray, width: Optional[np.ndarray], valid: np.ndarray, estimate: SyncEstimate, *,
                   opening_target: np.ndarray, rounding_target: np.ndarray, n_shapes: int,
                   grid_rate_hz: int = GRID_RATE_HZ) -> SyncEstimate:
    """Add ``shape_z`` and ``shape_best_z``: do the lips take the shapes the lyrics ask for, at the found lag?

    Two correlations, summed (the second weighted by ``config.shape_width_weight``):

    - the mouth opening (:func:`mouth_signal`, log scale, so a closure weighs) against
      :func:`shape_targets`' opening target: lips shut on m/b/p and on the teeth on f/v, not
      on t/d/s/n; wide on "ah", less on "eh", "ee", "oo";
    - the mouth's narrowing (minus :func:`width_signal`, with what the opening explains of
      it removed by a least-squares fit over the take: an open jaw also draws the corners in)
      against the rounding target: narrow on "oo"/"w"/"r", wide on "ee".

    Both targets are centred within consonants and within vowels, so two sentences on one
    rhythm (GRID's all share one) differ here where they differ in sounds. The sum at every
    circular shift of the mouth by ≥ 1 s (0.5 s under 4 s) is the null, as in :func:`evidence`;
    the observed value is the best within ±2 grid samples of ``estimate.offset_ms``.
    ``shape_best_z`` is the best standard score at any lag within ±``max_lag_ms`` of the
    placement (lag 0), for :attr:`SyncEstimate.shapes_absent`.

    Parameters
    ----------
    mouth, valid : np.ndarray
        :func:`mouth_signal` over the take only.
    width : np.ndarray or None
        :func:`width_signal` over the same samples (None: the tracker gave no width; the
        opening is used alone).
    estimate : SyncEstimate
    opening_target, rounding_target : np.ndarray
        :func:`shape_targets` over the same samples.
    n_shapes : int
        Phonemes asking for a shape in the take; under ``config.min_shapes`` ``shape_z`` is NaN.
    """
    config = estimate.config
    n = mouth.size
    out = dataclasses.replace(estimate, n_shapes=int(n_shapes), shape_z=float("nan"))
    min_shift = int(round(1.0 * grid_rate_hz)) if n >= 4 * grid_rate_hz else int(round(0.5 * grid_rate_hz))
    if n_shapes < config.min_shapes or n < 4 * min_shift or valid.sum() < 2 * min_shift:
        return out

    score = shape_scores(mouth, width, valid, opening_target=opening_target, rounding_target=rounding_target,
                         config=config)
    if not np.any(score):
        return out
    z_all = circular_z(score, min_shift=min_shift)
    lag0 = int(round(estimate.offset_ms * grid_rate_hz / 1000.0))
    out = dataclasses.replace(out, shape_z=float(np.max(z_all[np.arange(lag0 - 2, lag0 + 3) % n])))
    # Anywhere in the searched window (±max_lag_ms of the placement): the best lag's z, for
    # "not lip-syncing" (an offset misread must not hide shapes taken at the true lag).
    k = int(round(config.max_lag_ms * grid_rate_hz / 1000.0))
    out = dataclasses.replace(out, shape_best_z=float(np.max(z_all[np.arange(-k, k + 1) % n])))
    return dataclasses.replace(out, confidence=_confidence(out))


def shape_scores(mouth: np.ndarray, width: Optional[np.ndarray], valid: np.ndarray, *, opening_target: np.ndarray,
                 rounding_target: np.ndarray, config: SyncConfig = DEFAULT_CONFIG) -> np.ndarray:
    """The shape score of :func:`shape_evidence` at every circular shift of the mouth (FFT; all zeros when no shape is asked)."""
    m, narrow = shape_channels(mouth, width, valid)
    score = _circular_corr(m, opening_target) if np.any(opening_target) else np.zeros(mouth.size)
    if narrow is not None and config.shape_width_weight > 0 and np.any(rounding_target) and np.any(narrow):
        score = score + config.shape_width_weight * _circular_corr(narrow, rounding_target)
    return score
