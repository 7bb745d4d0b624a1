"""Performer sync's grid and tuning: the analysis grid rate, the lag window, the mouth's lead per sound class, and :class:`SyncConfig`.

Every step of performer sync (:mod:`~lipcoach.take.signals`, :mod:`~lipcoach.take.alignment`,
:mod:`~lipcoach.take.evidence`, :mod:`~lipcoach.take.verdict`) takes its constants from one frozen
:class:`SyncConfig`; this module holds it and the constants it is built from, so that each
step can read it without importing another.

Units: the grid rate in samples/s (Hz), leads and lags in ms, shape targets in standard
deviations of the take's own signals.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

#: Rate of the common analysis grid, samples/s (10 ms steps).
GRID_RATE_HZ = 100

#: Largest performer offset searched, ms. Beyond half a second a take is not a lip-sync.
MAX_LAG_MS = 500.0

#: Lead classes: what the mouth does ahead of the sound. Lips close (m/b/p) or touch the
#: teeth (f/v) before the burst or fricative is heard; the jaw opens before a vowel sounds;
#: everything else (tongue consonants, unknown sounds) is "other".
LEAD_CLASS = {"closed": "closure", "lip_teeth": "closure", "open": "opening", "mid": "opening",
              "rounded": "opening", "spread": "opening", "back": "other", "teeth": "other",
              "tongue_teeth": "other", "rest": "other", "unknown": "other"}
#: The three lead classes of :data:`LEAD_CLASS`.
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
