"""Performer sync, step 4: the three-state verdict and the sentence behind it.

:class:`SyncEstimate` carries one window's result through the steps: the offset (ms, negative =
mouth early) from :mod:`~lipcoach.take.alignment`, the standard scores (z) from
:mod:`~lipcoach.take.evidence`, the search span (s) and the counts of word onsets and shapes.
Its properties are the policy: ``in_sync``, ``not_lip_syncing`` or ``cant_confirm``
(:attr:`SyncEstimate.verdict`), the bars it is judged against (:attr:`SyncEstimate.in_bar`,
:attr:`SyncEstimate.out_bar`, in z) and one plain sentence quoting its figures
(:attr:`SyncEstimate.reason`). What chance reaches when the best of many lags is taken is
:func:`chance_best` (search span in s, over :data:`CORRELATION_LENGTH_S` s per independent lag).
The policy in full is in :mod:`lipcoach.take.sync`'s docstring.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lipcoach.take.sync_config import DEFAULT_CONFIG, SyncConfig

#: Lags closer than this (s) give correlated scores (syllable-rate signals).
CORRELATION_LENGTH_S = 0.1


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


def verdict_confidence(est: SyncEstimate) -> float:
    """0..1: logistic in how far ``evidence_z`` stands over the ``in_sync`` bar (0 at the window's edge or unmeasured)."""
    if est.at_edge or not np.isfinite(est.margin):
        return 0.0
    return float(1.0 / (1.0 + np.exp(-2.0 * est.margin)))
