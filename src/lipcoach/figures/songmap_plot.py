"""A picture of a song map that a coach can read at a glance.

One "page": the song cut into rows of :data:`ROW_S` seconds (so that words stay readable),
each row showing, on a shared time axis in m:ss,

- the vocal loudness contour (dB, from the map) over the grey level of the audio when given;
- the beat grid, downbeats stronger;
- every word as a labelled span (dashed, grey and italic where the line could not be aligned,
  is flagged as unsure, or the word's confidence is under 0.3); a flagged line also gets a
  red "check" mark at its onset;
- every breath as a shaded span with its level in dB (solid blue when audible, hatched when
  not), "catch" breaths marked as such;
- every line entrance: a tick on the slot it is written on (a beat, or an eighth, triplet or
  sixteenth between beats) and an arrow to the sung onset, coloured early (orange) / on
  (green) / late (red), labelled with the slot and the offset ("the and of 4, 60 ms late").

The file type follows the suffix of ``out_path`` (png, svg, pdf); writing is atomic.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Optional

import numpy as np

from lipcoach.errors import LipcoachError
from lipcoach.fileio import WRITTEN_BY, atomic_path
from lipcoach.song.songmap import SongMap

#: Seconds of song per row of the page.
ROW_S = 20.0
#: Most rows on one page; longer songs get longer rows instead.
MAX_ROWS = 40
#: Lowest level drawn, dB below the map's reference (median sung) level.
FLOOR_DB = -45.0

ENTRANCE_COLOURS = {"early": "#e07b00", "on": "#2a9d3a", "late": "#d62728"}
BREATH_COLOUR = "#2b7bba"
WORD_COLOUR = "#5b4a9e"
#: Colour of the "check this line" mark on flagged lines.
FLAG_COLOUR = "#c0392b"
#: Plot formats, by file suffix.
PLOT_SUFFIXES = (".png", ".svg", ".pdf")
_FORMATS = set(PLOT_SUFFIXES)

# Vertical layout of a row, in axes fractions.
_LEVEL_TOP = 0.52  # loudness and audio level live below this
_WORD_TIERS = (0.56, 0.66, 0.76)  # bottoms of the staggered word label tiers
_WORD_H = 0.085
_MARK_Y = 0.90  # entrances, breath labels, section names


def plot_songmap(
    songmap: SongMap,
    out_path: str | os.PathLike,
    *,
    audio: Optional[np.ndarray] = None,
    sr: Optional[int] = None,
    start_s: Optional[float] = None,
    end_s: Optional[float] = None,
    row_s: float = ROW_S,
) -> Path:
    """Draw ``songmap`` to ``out_path`` (png, svg or pdf by suffix), atomically.

    Parameters
    ----------
    songmap : SongMap
    out_path : path
        Output file; its suffix chooses the format.
    audio : np.ndarray, optional
        The song (mono ``(n,)`` or ``(channels, n)``) to draw as a grey level behind the vocal
        loudness; needs ``sr``.
    sr : int, optional
        Sample rate of ``audio`` in Hz.
    start_s, end_s : float, optional
        Time window to draw, seconds (default: the whole song).
    row_s : float
        Seconds per row.

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    LipcoachError
        Unsupported suffix, audio without a sample rate, or an empty time window.
    """
    out = Path(out_path)
    if out.suffix.lower() not in _FORMATS:
        raise LipcoachError(out, f"plot format must be one of {', '.join(sorted(_FORMATS))} (by file suffix)")
    if audio is not None and not sr:
        raise LipcoachError(None, "plotting audio needs its sample rate (sr)")
    t0 = max(0.0, 0.0 if start_s is None else float(start_s))
    t1 = float(songmap.duration if end_s is None else min(float(end_s), max(songmap.duration, float(end_s))))
    if not t1 > t0:
        raise LipcoachError(out, f"nothing to plot between {t0:.2f} s and {t1:.2f} s")
    if t1 - t0 <= 1.25 * row_s:
        row_s = t1 - t0  # a short excerpt fills one row
    n_rows = max(1, math.ceil((t1 - t0) / row_s - 1e-9))
    if n_rows > MAX_ROWS:
        row_s = (t1 - t0) / MAX_ROWS
        n_rows = MAX_ROWS

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    audio_db = _audio_level_db(audio, sr=int(sr)) if audio is not None else None
    fig_h = 1.3 + 2.5 * n_rows
    fig, axes = plt.subplots(n_rows, 1, figsize=(18, fig_h), squeeze=False)
    try:
        for r in range(n_rows):
            a = t0 + r * row_s
            b = min(t1, a + row_s)
            _draw_row(axes[r, 0], songmap, a, a + row_s, b, audio_db=audio_db, first=r == 0)
        _title_and_legend(fig, songmap, t0, t1)
        fig.subplots_adjust(left=0.045, right=0.99, top=1 - 1.05 / fig_h, bottom=0.35 / fig_h, hspace=0.32)
        # SVG keeps text as text, so words stay searchable and editable in an editor.
        with atomic_path(out) as tmp, matplotlib.rc_context({"svg.fonttype": "none"}):
            fmt = out.suffix.lower().lstrip(".")
            # The tag lets lipcoach recognise its own plot before replacing it (lipcoach.fileio).
            tag = {"png": {"Software": WRITTEN_BY}, "svg": {"Creator": WRITTEN_BY}, "pdf": {"Creator": WRITTEN_BY}}[fmt]
            fig.savefig(tmp, dpi=100, format=fmt, metadata=tag)
    finally:
        plt.close(fig)
    return out


# -- pieces ------------------------------------------------------------------------------------


def _audio_level_db(audio: np.ndarray, *, sr: int, rate: float = 100.0) -> tuple[float, np.ndarray]:
    """``(rate, dB per frame)``: RMS level of the (mono-mixed) audio in 1/rate s frames."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0)
    hop = max(1, int(round(sr / rate)))
    n = len(x) // hop
    if n == 0:
        return rate, np.zeros(0)
    frames = x[: n * hop].reshape(n, hop).astype(np.float64)
    return sr / hop, 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def _mmss(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes)}:{rest:04.1f}" if rest % 1 else f"{int(minutes)}:{int(rest):02d}"


def _draw_row(ax, songmap: SongMap, a: float, span_end: float, b: float, *, audio_db, first: bool) -> None:
    from matplotlib.patches import FancyArrowPatch, Rectangle
    from matplotlib.transforms import blended_transform_factory

    xa = blended_transform_factory(ax.transData, ax.transAxes)  # x in s, y in axes fraction
    ax.set_xlim(a, span_end)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if b < span_end:
        ax.axvspan(b, span_end, color="#f2f2f2", zorder=0)  # past the end of the window

    ref = songmap.loudness.reference_db

    def level_y(db: np.ndarray) -> np.ndarray:
        return np.clip((np.asarray(db) - ref - FLOOR_DB) / (-FLOOR_DB + 9.0), 0, 1) * _LEVEL_TOP

    # Audio level (grey) and the vocal loudness contour (dark line).
    if audio_db is not None:
        rate, db = audio_db
        i0, i1 = int(a * rate), int(math.ceil(b * rate)) + 1
        t = np.arange(i0, min(i1, len(db))) / rate
        if len(t):
            ax.fill_between(t, 0, level_y(db[i0 : i0 + len(t)]), transform=xa, color="#c9c9c9", lw=0, zorder=1)
    rate = songmap.loudness.rate
    values = np.asarray(songmap.loudness.values, dtype=float)
    i0, i1 = max(0, int(a * rate)), min(len(values), int(math.ceil(b * rate)) + 1)
    if i1 > i0:
        t = np.arange(i0, i1) / rate
        y = level_y(values[i0:i1])
        ax.fill_between(t, 0, y, transform=xa, color="#8fb3d9", alpha=0.55, lw=0, zorder=2)
        ax.plot(t, y, transform=xa, color="#24527a", lw=0.9, zorder=3)
    # Reference (median sung) level, so "loud" and "quiet" read against the singer's norm.
    ax.plot([a, b], [level_y(ref)] * 2, transform=xa, color="#24527a", lw=0.6, ls=":", zorder=3)
    if first:
        ax.text(a, level_y(ref), " median sung level", transform=xa, fontsize=7, color="#24527a", va="bottom", zorder=4)

    # Beat grid.
    downbeats = set(np.round(songmap.downbeats, 3))
    for beat in songmap.beats:
        if a <= beat <= b:
            strong = round(beat, 3) in downbeats
            ax.axvline(beat, color="#555555" if strong else "#bbbbbb", lw=1.1 if strong else 0.5, zorder=1.5, alpha=0.9)

    # Breaths.
    for breath in songmap.breaths:
        if breath.end < a or breath.start > b:
            continue
        if breath.audible:
            ax.axvspan(breath.start, breath.end, ymin=0, ymax=0.86, color=BREATH_COLOUR, alpha=0.28, lw=0, zorder=2.5)
        else:
            ax.axvspan(breath.start, breath.end, ymin=0, ymax=0.86, facecolor="none", edgecolor=BREATH_COLOUR, hatch="////", alpha=0.5, lw=0.5, zorder=2.5)
        label = f"{'catch' if breath.kind == 'catch' else 'breath'} {breath.level_db:+.0f} dB"
        ax.text(0.5 * (breath.start + breath.end), 0.02, label, transform=xa, fontsize=7.5, color=BREATH_COLOUR, ha="center", va="bottom", rotation=90, zorder=6, fontweight="bold")

    # Words, staggered into tiers so that neighbouring labels do not overlap.
    row_width_in = 18 * (0.99 - 0.045)
    char_s = (span_end - a) / (row_width_in * 72 / 5.4)  # ~5.4 pt per character at 9 pt
    tier_free = [-np.inf] * len(_WORD_TIERS)
    unaligned = {i for i, ln in enumerate(songmap.lines) if not ln.aligned or getattr(ln, "flagged", False)}
    for i in sorted(unaligned):
        line = songmap.lines[i]
        if a <= line.start <= b:
            ax.axvline(line.start, ymin=0.0, ymax=0.95, color=FLAG_COLOUR, lw=1.0, ls=":", zorder=4.5)
            ax.text(line.start + 0.05, 0.52, f"check line {i + 1}", transform=xa, fontsize=7.5, color=FLAG_COLOUR, ha="left", va="center",
                    fontweight="bold", zorder=8, bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none", alpha=0.8))
    for word in sorted(songmap.words, key=lambda w: w.start):
        if word.end < a or word.start > b:
            continue
        width_s = max(word.end - word.start, (len(word.text) + 1) * char_s)
        tier = next((k for k, free in enumerate(tier_free) if free <= word.start), int(np.argmin(tier_free)))
        tier_free[tier] = word.start + width_s
        y = _WORD_TIERS[tier]
        shaky = word.line in unaligned or word.confidence < 0.3
        colour = "#999999" if shaky else WORD_COLOUR
        ax.add_patch(Rectangle((word.start, y), word.end - word.start, _WORD_H, transform=xa, facecolor=colour, alpha=0.18 if shaky else 0.22, edgecolor=colour, ls="--" if shaky else "-", lw=0.8, zorder=4))
        ax.text(word.start + 0.01, y + _WORD_H / 2, word.text, transform=xa, fontsize=9, color="#666666" if shaky else "#2d2166", style="italic" if shaky else "normal", va="center", ha="left", zorder=5, clip_on=True)

    # Sections.
    for section in songmap.sections:
        if a <= section.start <= b:
            ax.text(section.start, 0.985, section.label, transform=xa, fontsize=8, color="#444444", va="top", ha="left", style="italic", zorder=6)

    # Entrances: tick on the slot, arrow to the sung onset, slot and offset in words.
    for line in songmap.lines:
        entrance = line.entrance
        if entrance is None:
            continue
        slot = entrance.reference_time
        onset = slot + entrance.offset_ms / 1000.0
        if not (a <= onset <= b or a <= slot <= b):
            continue
        colour = ENTRANCE_COLOURS.get(entrance.label, "#333333")
        ax.plot([slot] * 2, [_MARK_Y - 0.05, _MARK_Y + 0.05], transform=xa, color=colour, lw=2.2, zorder=6, solid_capstyle="butt")
        if abs(onset - slot) > 1e-3:
            ax.add_patch(FancyArrowPatch((slot, _MARK_Y), (onset, _MARK_Y), transform=xa, arrowstyle="-|>", mutation_scale=9, color=colour, lw=1.4, zorder=6))
        if not a <= onset <= b:
            continue  # the label goes with the sung onset, in the row that holds it
        anchor = max(onset, slot)
        ax.text(anchor + 0.05, _MARK_Y, entrance.describe(), transform=xa, fontsize=8.5, color=colour, va="center", ha="left", fontweight="bold", zorder=7, bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))

    # Time axis in m:ss, a tick every second, a label every 2 s (5 s for long rows).
    step = 2 if span_end - a <= 30 else 5
    ax.set_xticks(np.arange(math.ceil(a), math.floor(span_end) + 1, 1.0), minor=True)
    major = np.arange(math.ceil(a / step) * step, span_end + 1e-6, step)
    ax.set_xticks(major)
    ax.set_xticklabels([_mmss(t) for t in major], fontsize=8)
    ax.tick_params(axis="x", which="major", length=4, pad=2)


def _title_and_legend(fig, songmap: SongMap, t0: float, t1: float) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    name = songmap.source.get("title") or songmap.source.get("name") or "song"
    counts = f"{len(songmap.words)} words, {len(songmap.lines)} lines, {len(songmap.breaths)} breaths"
    tempo = f"{songmap.tempo_bpm:.0f} BPM" if songmap.tempo_bpm else "no beat found"
    fig.suptitle(f"{name} — {_mmss(t0)} to {_mmss(t1)} — {tempo} — {counts}", x=0.045, ha="left", y=1 - 0.12 / fig.get_figheight(), fontsize=13, fontweight="bold")
    handles = [
        Line2D([], [], color="#24527a", lw=1.2, label="vocal loudness (dB)"),
        Patch(color="#c9c9c9", label="song level"),
        Line2D([], [], color="#555555", lw=1.2, label="downbeat"),
        Line2D([], [], color="#bbbbbb", lw=0.6, label="beat"),
        Patch(facecolor=WORD_COLOUR, alpha=0.3, edgecolor=WORD_COLOUR, label="word"),
        Patch(facecolor="#999999", alpha=0.25, edgecolor="#999999", ls="--", label="word unsure (guessed or flagged line)"),
        Line2D([], [], color=FLAG_COLOUR, lw=1.0, ls=":", label="flagged line: check it"),
        Patch(color=BREATH_COLOUR, alpha=0.35, label="audible breath (level vs sung dB)"),
        Patch(facecolor="none", edgecolor=BREATH_COLOUR, hatch="////", label="quiet breath"),
    ] + [Line2D([], [], color=c, lw=2.2, label=f"entrance {k}") for k, c in ENTRANCE_COLOURS.items()]
    fig.legend(handles=handles, loc="upper left", ncol=len(handles), fontsize=8, frameon=False, handlelength=1.6, columnspacing=1.2, bbox_to_anchor=(0.04, 1 - 0.42 / fig.get_figheight()))
