"""Line entrance accuracy, mir_eval style: the slot, the push or lay-back, and the label.

Reference and estimate are per line, paired by index. Each line has a **slot** (the grid
point it is written on, s), an **offset** (sung onset minus the slot, ms; negative = early)
and a **label** (early / on / late against the slot, by
:func:`lipcoach.song.songmap.entrance_label`). The estimate is scored as the map states it:
its own slot, offset and label, never re-expressed against the reference's slot.

- ``slot_accuracy``: share of all lines whose estimated slot is within ``slot_tolerance_s``
  of the reference slot (a missing estimate is wrong);
- offset errors (``*_abs_error_ms``, ``within_20ms``) on the lines whose slot is right;
- ``label_accuracy``: share of all lines with the right early/on/late;
- ``slot_name_accuracy`` when the reference names its slots ("and of 2").

Tempo and beats: :func:`grid_scores` (mir_eval.beat F-measure, tempo error).
"""

from __future__ import annotations

import collections
from typing import Optional, Sequence

import numpy as np

from lipcoach.song.songmap import ENTRANCE_ON_TOLERANCE_MS, entrance_label

#: Two slots are the same when they are this close, s: well under the closest slots any grid
#: has at 160 bpm (a sixteenth, 94 ms), well over a beat tracker's error (a few ms).
SLOT_TOLERANCE_S = 0.035

#: Kept for callers of the earlier module: the one early/on/late rule.
label = entrance_label


def validate(
    reference_slots_s: Sequence[float],
    reference_offsets_ms: Sequence[float],
    estimated_slots_s: Sequence[Optional[float]],
    estimated_offsets_ms: Sequence[Optional[float]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Check the four per-line lists and return float arrays (a missing estimate, None, is NaN).

    Raises
    ------
    ValueError
        When the counts differ, the reference is empty, or a reference value is not finite.
    """
    ref_slot = np.asarray(reference_slots_s, dtype=float).ravel()
    ref_off = np.asarray(reference_offsets_ms, dtype=float).ravel()
    est_slot = np.asarray([np.nan if v is None else v for v in estimated_slots_s], dtype=float).ravel()
    est_off = np.asarray([np.nan if v is None else v for v in estimated_offsets_ms], dtype=float).ravel()
    if ref_slot.size == 0:
        raise ValueError("reference has no entrances")
    if ref_off.size != ref_slot.size:
        raise ValueError(f"reference has {ref_slot.size} slots but {ref_off.size} offsets")
    if est_slot.size != ref_slot.size or est_off.size != ref_slot.size:
        raise ValueError(f"reference has {ref_slot.size} entrances but the estimate has {est_slot.size} slots and {est_off.size} offsets: lines are paired by index")
    if not (np.all(np.isfinite(ref_slot)) and np.all(np.isfinite(ref_off))):
        raise ValueError("reference slots (s) and offsets (ms) must be finite numbers")
    return ref_slot, ref_off, est_slot, est_off


def slot_hits(reference_slots_s, estimated_slots_s, *, slot_tolerance_s: float = SLOT_TOLERANCE_S) -> np.ndarray:
    """Per line, True when the estimated slot is the reference slot (within the tolerance)."""
    ref = np.asarray(reference_slots_s, dtype=float)
    est = np.asarray([np.nan if v is None else v for v in estimated_slots_s], dtype=float)
    with np.errstate(invalid="ignore"):
        return np.isfinite(est) & (np.abs(est - ref) <= slot_tolerance_s + 1e-9)


def evaluate(
    reference_slots_s: Sequence[float],
    reference_offsets_ms: Sequence[float],
    estimated_slots_s: Sequence[Optional[float]],
    estimated_offsets_ms: Sequence[Optional[float]],
    estimated_labels: Optional[Sequence[Optional[str]]] = None,
    *,
    reference_slot_names: Optional[Sequence[str]] = None,
    estimated_slot_names: Optional[Sequence[Optional[str]]] = None,
    slot_tolerance_s: float = SLOT_TOLERANCE_S,
    tolerance_ms: float = ENTRANCE_ON_TOLERANCE_MS,
) -> dict[str, float]:
    """All entrance metrics.

    Parameters
    ----------
    reference_slots_s, reference_offsets_ms : sequence of float
        True slot (s) and true onset minus slot (ms) per line.
    estimated_slots_s, estimated_offsets_ms : sequence of float or None
        The map's slot and offset per line (None: no entrance).
    estimated_labels : sequence of str or None, optional
        The map's labels; when omitted they are derived from ``estimated_offsets_ms``.
    reference_slot_names, estimated_slot_names : sequence of str, optional
        Slot names ("1", "and of 4") to score ``slot_name_accuracy``.

    Returns
    -------
    dict
        ``slot_accuracy``, ``mean_abs_error_ms``, ``median_abs_error_ms``,
        ``max_abs_error_ms``, ``mean_signed_error_ms`` (positive = estimates late),
        ``within_20ms`` (share of slot-right lines), ``label_accuracy``,
        ``slot_name_accuracy`` (NaN without names), ``n_lines``, ``n_slot_right``,
        ``n_missing``.
    """
    ref_slot, ref_off, est_slot, est_off = validate(reference_slots_s, reference_offsets_ms, estimated_slots_s, estimated_offsets_ms)
    n = ref_slot.size
    if estimated_labels is None:
        estimated_labels = [None if not np.isfinite(o) else entrance_label(o, tolerance_ms) for o in est_off]
    if len(estimated_labels) != n:
        raise ValueError(f"{len(estimated_labels)} estimated labels for {n} lines")
    hits = slot_hits(ref_slot, est_slot, slot_tolerance_s=slot_tolerance_s)
    errors = est_off[hits] - ref_off[hits]
    nan = float("nan")
    scores: dict[str, float] = collections.OrderedDict()
    scores["slot_accuracy"] = float(hits.mean())
    scores["mean_abs_error_ms"] = float(np.mean(np.abs(errors))) if errors.size else nan
    scores["median_abs_error_ms"] = float(np.median(np.abs(errors))) if errors.size else nan
    scores["max_abs_error_ms"] = float(np.max(np.abs(errors))) if errors.size else nan
    scores["mean_signed_error_ms"] = float(np.mean(errors)) if errors.size else nan
    scores["within_20ms"] = float(np.mean(np.abs(errors) <= 20.0 + 1e-9)) if errors.size else nan
    truth_labels = [entrance_label(o, tolerance_ms) for o in ref_off]
    scores["label_accuracy"] = float(np.mean([e == r for e, r in zip(estimated_labels, truth_labels)]))
    if reference_slot_names is not None and estimated_slot_names is not None:
        if len(reference_slot_names) != n or len(estimated_slot_names) != n:
            raise ValueError("slot names must be given for every line")
        scores["slot_name_accuracy"] = float(np.mean([e == r for e, r in zip(estimated_slot_names, reference_slot_names)]))
    else:
        scores["slot_name_accuracy"] = nan
    scores["n_lines"] = int(n)
    scores["n_slot_right"] = int(hits.sum())
    scores["n_missing"] = int((~np.isfinite(est_slot)).sum())
    return scores


def from_entrances(entrances: Sequence) -> dict[str, list]:
    """The estimate's per-line lists (``slots_s``, ``offsets_ms``, ``labels``, ``slot_names``)
    from song-map :class:`~lipcoach.song.songmap.Entrance` objects (None where a line has none)."""
    out: dict[str, list] = {"slots_s": [], "offsets_ms": [], "labels": [], "slot_names": []}
    for e in entrances:
        out["slots_s"].append(None if e is None else e.reference_time)
        out["offsets_ms"].append(None if e is None else e.offset_ms)
        out["labels"].append(None if e is None else e.label)
        out["slot_names"].append(None if e is None else e.slot)
    return out


def grid_scores(reference_beats_s, estimated_beats_s, reference_tempo_bpm: float, estimated_tempo_bpm: float) -> dict[str, float]:
    """Beat and tempo metrics: mir_eval.beat F-measure (±70 ms) and the tempo error.

    Returns
    -------
    dict
        ``beat_f_measure`` (0..1), ``tempo_error_bpm`` (|est − ref|), ``tempo_error_ratio``
        (|est − ref| / ref), ``tempo_right`` (1.0 when within 4 % of ref: the song's own tempo, not
        an octave of it), ``tempo_octave_ok`` (1.0 when within 4 % of ref, ref/2 or 2·ref).
    """
    import mir_eval

    ref = np.asarray(reference_beats_s, dtype=float)
    est = np.asarray(estimated_beats_s, dtype=float)
    f = float(mir_eval.beat.f_measure(ref, est)) if len(ref) and len(est) else 0.0
    error = abs(estimated_tempo_bpm - reference_tempo_bpm)
    octave = any(abs(estimated_tempo_bpm - reference_tempo_bpm * k) <= 0.04 * reference_tempo_bpm * k for k in (0.5, 1.0, 2.0))
    return collections.OrderedDict(
        beat_f_measure=f,
        tempo_error_bpm=float(error),
        tempo_error_ratio=float(error / reference_tempo_bpm) if reference_tempo_bpm > 0 else float("nan"),
        tempo_right=float(error <= 0.04 * reference_tempo_bpm),
        tempo_octave_ok=float(octave),
    )
