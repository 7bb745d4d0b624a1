"""How sure the song map is of each line: a calibrated probability, and a flag to check it.

A line is *off* when its onset is more than :data:`OFF_S` from where it is sung. Its
confidence is the probability, from a logistic model over a few evidence features
(:func:`line_features`), that it is *not* off. The model's weights (:data:`WEIGHTS`) were
fitted by ``benchmarks/song_accuracy.py --calibrate`` on the calibration half of the real
songs (songs_en + JamendoLyrics sorted by name, every other song from the first; see
:func:`benchmarks.common.split_songs`) and are judged on the other half, where the same
benchmark prints a reliability table (share of lines off per confidence bin).

Evidence, per line (hybrid alignment: Whisper anchors refined by the PocketSphinx phone pass):

* Whisper's mean token probability over the line's words, and over its first word: low
  where Whisper heard something else;
* the share of words Whisper could not place at all;
* how far the phone pass's onset of the first word, and the median over the line, is from
  Whisper's (two independent models that agree are rarely both wrong by a second);
  a phone pass that failed counts as :data:`SHIFT_CAP_S`;
* the first word's anchored length: a first word stretched over seconds usually swallowed
  an instrumental gap, so the line's onset is uncertain.

A line is flagged when its confidence is under :data:`FLAG_BELOW`, chosen on the
calibration half as the highest threshold that flags at most :data:`MOST_GOOD_FLAGGED` of
its good lines (so as many off lines as that bound allows).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

#: A line whose onset is more than this far from the truth is "off", s.
OFF_S = 1.0
#: Cap on an onset disagreement feature, s (also the value when the phone pass failed).
SHIFT_CAP_S = 2.0
#: Cap on the first word's anchored length, s.
FIRST_WORD_CAP_S = 3.0
#: Names of :func:`line_features`' columns, in order.
FEATURE_NAMES = ("mean_probability", "first_probability", "unplaced_share", "first_shift_s", "median_shift_s", "first_length_s")
#: Logistic weights (intercept first, then one per feature in FEATURE_NAMES) of P(line not off).
#: Fitted by ``benchmarks/song_accuracy.py --calibrate`` on the calibration half (9 songs,
#: 421 lines, 36 off by > 1 s; run of 2026-11-29, see docs/benchmarks.md).
WEIGHTS = (2.843, 1.625, 1.177, -1.592, 0.155, -1.404, -0.516)
#: Most of the calibration half's good lines the flag threshold may flag (issue 7's target: < 10 %).
MOST_GOOD_FLAGGED = 0.10
#: Lines with a confidence under this are flagged for the user to check: the highest
#: threshold that flags at most MOST_GOOD_FLAGGED of the calibration half's good lines
#: (:func:`threshold_for_false_alarms`; ``benchmarks/song_accuracy.py --calibrate``, run of
#: 2026-11-29 on benchmarks/results/song_accuracy.json: calibration half 72.2 % of its 36 off
#: lines and 9.9 % of its 385 good lines flagged). The earlier rule (flag 85 % of the
#: calibration half's off lines, 0.929) flagged 26.8 % of the held-out half's good lines.
FLAG_BELOW = 0.8977


def line_features(
    probabilities: Sequence[float],
    placed: Sequence[bool],
    shifts_s: Sequence[float],
    first_length_s: float,
) -> np.ndarray:
    """Evidence features of one line (see the module docstring).

    Parameters
    ----------
    probabilities : sequence of float
        Whisper's probability of each word of the line (0..1).
    placed : sequence of bool
        Whether Whisper placed each word.
    shifts_s : sequence of float
        |phone-pass onset − Whisper onset| per word, s; NaN where the phone pass failed.
    first_length_s : float
        Whisper's length of the line's first word, s.

    Returns
    -------
    np.ndarray, shape (len(FEATURE_NAMES),)
    """
    p = np.asarray(probabilities, dtype=float)
    shifts = np.nan_to_num(np.asarray(shifts_s, dtype=float), nan=SHIFT_CAP_S)
    shifts = np.minimum(shifts, SHIFT_CAP_S)
    return np.array(
        [
            float(np.mean(p)) if p.size else 0.0,
            float(p[0]) if p.size else 0.0,
            1.0 - float(np.mean(placed)) if len(placed) else 1.0,
            float(shifts[0]) if shifts.size else SHIFT_CAP_S,
            float(np.median(shifts)) if shifts.size else SHIFT_CAP_S,
            float(min(max(first_length_s, 0.0), FIRST_WORD_CAP_S)),
        ]
    )


def line_confidence(features: np.ndarray, weights: Optional[Sequence[float]] = None) -> float:
    """Probability (0..1) that a line with these features is not off."""
    w = np.asarray(WEIGHTS if weights is None else weights, dtype=float)
    z = float(w[0] + np.dot(w[1:], features))
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def is_flagged(confidence: float, *, below: float = FLAG_BELOW) -> bool:
    """True when a line's confidence is too low to trust without a look."""
    return confidence < below


def fit_weights(features: np.ndarray, good: np.ndarray, *, l2: float = 1.0, iterations: int = 50) -> np.ndarray:
    """Fit logistic weights (intercept first) of P(good | features) by Newton's method with an L2 penalty.

    Parameters
    ----------
    features : np.ndarray, shape (n_lines, n_features)
    good : np.ndarray of bool, shape (n_lines,)
        True for lines that are not off.
    l2 : float
        Penalty on the feature weights (not the intercept); keeps the fit stable on a few hundred lines.
    """
    x = np.hstack([np.ones((len(features), 1)), np.asarray(features, dtype=float)])
    y = np.asarray(good, dtype=float)
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -50, 50)))
        gradient = x.T @ (p - y) + penalty * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty) + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return w


def threshold_for_recall(confidences: np.ndarray, good: np.ndarray, *, recall: float = 0.85) -> float:
    """Smallest confidence threshold under which at least ``recall`` of the off lines fall."""
    off = np.sort(np.asarray(confidences, dtype=float)[~np.asarray(good, dtype=bool)])
    if off.size == 0:
        return 0.0
    k = int(math.ceil(recall * off.size)) - 1
    return float(off[min(k, off.size - 1)] + 1e-6)


def threshold_for_false_alarms(confidences: np.ndarray, good: np.ndarray, *, most_good_flagged: float = 0.10) -> float:
    """Highest confidence threshold that flags at most ``most_good_flagged`` of the good lines.

    Lines are flagged when their confidence is *under* the threshold, so the highest such
    threshold flags the most off lines (best recall) the false-alarm bound allows.
    """
    conf = np.asarray(confidences, dtype=float)
    good_conf = np.sort(conf[np.asarray(good, dtype=bool)])
    if good_conf.size == 0:
        return 1.0
    allowed = int(math.floor(most_good_flagged * good_conf.size + 1e-9))  # good lines we may flag
    if allowed >= good_conf.size:
        return 1.0
    # Flag everything strictly under the (allowed+1)-th lowest good confidence.
    return float(good_conf[allowed])


def reliability_table(confidences: np.ndarray, off: np.ndarray, *, edges: Sequence[float] = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0001)) -> list[dict]:
    """Share of lines off per confidence bin (a reliability diagram as rows).

    Returns
    -------
    list of dict
        ``low``, ``high``, ``n_lines``, ``share_off`` (NaN for an empty bin) and
        ``expected_off`` (1 − mean confidence in the bin).
    """
    c = np.asarray(confidences, dtype=float)
    o = np.asarray(off, dtype=bool)
    rows = []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (c >= low) & (c < high)
        n = int(inside.sum())
        rows.append(
            dict(
                low=float(low), high=float(min(high, 1.0)), n_lines=n,
                share_off=float(o[inside].mean()) if n else float("nan"),
                expected_off=float(1.0 - c[inside].mean()) if n else float("nan"),
            )
        )
    return rows


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


def flagged_lines_message(lines: Sequence, *, most: int = 8) -> Optional[str]:
    """One line telling the user which lines to check, or None when no line is flagged.

    Lines are numbered from 1 with their onset as m:ss, e.g.
    ``"3 lines may be off: 12 (0:43), 13 (0:47), 20 (1:12); check them in the studio"``.
    """
    flagged = [(k + 1, line.start) for k, line in enumerate(lines) if getattr(line, "flagged", False) or not line.aligned]
    if not flagged:
        return None
    shown = ", ".join(f"{k} ({_clock(t)})" for k, t in flagged[:most]) + (", …" if len(flagged) > most else "")
    noun = "line may be off" if len(flagged) == 1 else "lines may be off"
    return f"{len(flagged)} {noun}: {shown}; check them in the studio"
