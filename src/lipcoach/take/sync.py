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

The steps live in modules of their own, in the order a take goes through them; this module
is their front door and re-exports their names (``from lipcoach.take import sync as S``):

1. :mod:`lipcoach.take.signals`: the mouth, vocal and lyrics as signals on the grid;
2. :mod:`lipcoach.take.alignment`: the lag search (:func:`estimate_offset`, :func:`joint_best`);
3. :mod:`lipcoach.take.evidence`: the statistics against the circular-shift null (rhythm and shapes);
4. :mod:`lipcoach.take.verdict`: :class:`SyncEstimate`, the three-state policy and its reasons.

Their shared constants and :class:`SyncConfig` are in :mod:`lipcoach.take.sync_config`. The
steps are run, window by window, by :mod:`lipcoach.take.score` (the whole take, lines) and
:mod:`lipcoach.take.live` (the live coach).
"""

from __future__ import annotations

from lipcoach.take.alignment import _parabolic, estimate_offset, joint_best, lag_scores
from lipcoach.take.evidence import (circular_z, evidence, rhythm_scores, second_evidence, shape_channels,
                                    shape_evidence, shape_scores, sync_verdict)
from lipcoach.take.signals import (BASELINE_S, SHAPE_KIND, SUNG_MARGIN_S, VISEME_OPENING, VOCAL_RANGE_DB,
                                   config_kind, count_onsets, lead_shift, mouth_signal, rest_baseline, shape_targets,
                                   smooth, song_signal, sung_region, viseme_signal, vocal_level, width_signal,
                                   word_activity)
from lipcoach.take.sync_config import (DEFAULT_CONFIG, GRID_RATE_HZ, LEAD_CLASS, LEAD_CLASSES, MAX_LAG_MS,
                                       SHAPE_TABLE_DEFAULT, SyncConfig)
from lipcoach.take.verdict import CORRELATION_LENGTH_S, SyncEstimate, chance_best, verdict_confidence, z_threshold

#: Former private names, still read by benchmarks and tests (``S._smooth``, ``S._parabolic``).
_smooth = smooth

__all__ = [
    # grid and tuning
    "GRID_RATE_HZ", "MAX_LAG_MS", "LEAD_CLASS", "LEAD_CLASSES", "SHAPE_TABLE_DEFAULT", "SyncConfig", "DEFAULT_CONFIG",
    # signals
    "SUNG_MARGIN_S", "BASELINE_S", "VOCAL_RANGE_DB", "VISEME_OPENING", "SHAPE_KIND", "vocal_level", "word_activity",
    "sung_region", "song_signal", "lead_shift", "mouth_signal", "rest_baseline", "smooth", "viseme_signal",
    "count_onsets", "shape_targets", "width_signal", "config_kind",
    # alignment
    "lag_scores", "estimate_offset", "joint_best",
    # evidence
    "sync_verdict", "second_evidence", "evidence", "rhythm_scores", "circular_z", "shape_channels",
    "shape_evidence", "shape_scores",
    # verdict
    "CORRELATION_LENGTH_S", "SyncEstimate", "chance_best", "z_threshold", "verdict_confidence",
]
