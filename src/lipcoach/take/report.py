"""The coach's report: the three things to fix first, and a self-contained HTML page.

The page works offline: the plot is an inline SVG drawn by matplotlib and the stills are
JPEGs embedded as base64; no script, font or style sheet is fetched from anywhere.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import Optional

import numpy as np

from lipcoach.take import grade as G

#: Takes shorter than this (s) get a note that the measures are less sure.
SHORT_TAKE_S = 8.0
#: Seconds of song per row of the plot.
PLOT_ROW_S = 12.0


def _clock(t_s: float) -> str:
    t_s = max(0.0, t_s)
    return f"{int(t_s // 60)}:{t_s % 60:04.1f}"


def _quote_words(words: list[str], limit: int = 3) -> str:
    shown = [f"‘{w}’" for w in words[:limit]]
    more = len(words) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _line_label(line: dict) -> str:
    words = line["text"].split()
    head = " ".join(words[:4]) + ("…" if len(words) > 4 else "")
    return f"Line {line['index'] + 1} ‘{head}’ ({_clock(line['start_s'])})"


def line_issues(line: dict, *, in_sync: bool, overall_ms: float = 0.0) -> tuple[float, list[str]]:
    """What a coach would say about one line, with a severity used to rank the lines.

    ``overall_ms`` is the take's offset when it is itself worth telling: then a line is only
    called early or late when it differs from the rest of the take by more than TELL_MS.
    """
    severity = 0.0
    said: list[str] = []
    off = line.get("offset_ms")
    if in_sync and off is not None and abs(off) > G.TELL_MS and abs(off - overall_ms) > G.TELL_MS:
        severity += abs(off - overall_ms) / 40.0
        said.append(f"you came in {abs(off):.0f} ms {'late' if off > 0 else 'early'}")
    missed = line["n_words"] - line["n_hit"] - line.get("n_hidden", 0)
    if missed:
        severity += 2.0 * missed
        said.append(f"your mouth did not move on {missed} of its {line['n_words'] - line.get('n_hidden', 0)} "
                    "words the camera saw")
    if line["closures_missed"]:
        severity += 1.2 * len(line["closures_missed"])
        said.append(f"lips stayed open on {_quote_words(line['closures_missed'])} (close them fully on m, b, p)")
    if line["open_more"]:
        severity += 0.6 * len(line["open_more"])
        said.append(f"open more on {_quote_words(line['open_more'])}")
    if line.get("breath") == "not_shown":
        severity += 1.0
        said.append("show the breath before it (open the mouth for the intake)")
    return severity, said


def fixes_first(doc: dict, *, n: int = 3) -> list[str]:
    """The ``n`` most important things to fix, in plain words, worst first."""
    if doc["verdict"] == "cant_confirm":
        why = doc.get("verdict_reason") or "the evidence is short of either call"
        return [f"Can't confirm this take is lip-syncing this song: {why}. No timing is given until it is; "
                "a longer take (more words) settles it."]
    if doc["verdict"] != "in_sync":
        first = ("Your mouth does not follow this song's vocal. Check that you were lip-syncing to this track "
                 "(and that the right song map was chosen); until then no timing can be given.")
        return [first]
    if not doc.get("words_graded", True):
        off = doc["sync"].get("offset_ms")
        first = ("Words cannot be graded: this song map has no lyrics. Map the song with its lyrics to grade "
                 "each word, closure and opening.")
        if off is not None and doc["sync"].get("absolute") and abs(off) > G.TELL_MS:
            return [f"Overall you are {abs(off):.0f} ms {'behind' if off > 0 else 'ahead of'} the vocal.", first]
        return [first]
    ranked = []
    off = doc["sync"].get("offset_ms")
    overall = off if off is not None and abs(off) > G.TELL_MS and doc["sync"].get("absolute") else 0.0
    for line in doc["lines"]:
        severity, said = line_issues(line, in_sync=True, overall_ms=overall)
        if said:
            ranked.append((severity, f"{_line_label(line)}: " + "; ".join(said) + "."))
    gaps = [g for g in doc.get("gaps", []) if g["mouthing"]]
    if gaps:
        where = ", ".join(f"{_clock(g['start_s'])}–{_clock(g['end_s'])}" for g in gaps[:3])
        ranked.append((1.5 * len(gaps), f"You kept mouthing during the instrumental ({where}); keep the face "
                                         "still and listening between phrases."))
    if overall:
        ranked.append((abs(overall) / 10.0, f"Overall you are {abs(off):.0f} ms {'behind' if off > 0 else 'ahead of'} "
                                        f"the vocal; {'anticipate' if off > 0 else 'wait for'} the track a little."))
    ranked.sort(key=lambda x: -x[0])
    out = [text for _, text in ranked[:n]]
    if doc["take"]["duration_s"] < SHORT_TAKE_S and len(out) < n:
        out.append(f"This take is only {doc['take']['duration_s']:.0f} s long: timing and verdict are surer over "
                   "a whole verse.")
    if not out:
        out = ["Clean take: timing within a frame, every word mouthed, closures and breaths shown. Keep it."]
    return out


# ---------------------------------------------------------------------------------------
# plot and stills


def plot_svg(report) -> str:
    """Mouth opening against the vocal level over the take, with words and breaths; inline SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = report.series
    doc = report.doc
    lo, hi = s["take_span"]
    rows = max(1, int(np.ceil((hi - lo) / PLOT_ROW_S)))
    fig, axes = plt.subplots(rows, 1, figsize=(11, 2.2 * rows + 0.4), squeeze=False)
    t = np.asarray(s["t_song_s"])
    op = np.asarray(s["opening"], dtype=float)
    vocal = np.asarray(s["vocal"])
    tv = np.arange(vocal.size) / s["rate"]
    scale = max(float(np.nanpercentile(op, 98)) if np.isfinite(op).any() else 0.1, 1e-3)
    bad = {w["index"] for w in doc["words"] if not w.get("hidden") and (not w["hit"] or w["closure_ok"] is False)}
    hidden = {w["index"] for w in doc["words"] if w.get("hidden")}
    for r in range(rows):
        ax = axes[r, 0]
        a, b = lo + r * PLOT_ROW_S, min(hi, lo + (r + 1) * PLOT_ROW_S)
        sel = (tv >= a) & (tv <= b)
        ax.fill_between(tv[sel], 0, vocal[sel], color="#9bb7d4", alpha=0.7, lw=0, label="vocal level")
        ms = (t >= a) & (t <= b)
        ax.plot(t[ms], np.clip(op[ms] / scale, 0, 1.15), color="#c0392b", lw=1.4, label="mouth opening")
        for br in report.series.get("breaths", []):
            if br[1] >= a and br[0] <= b:
                ax.axvspan(br[0], br[1], color="#f5cba7", alpha=0.8, lw=0)
                ax.text(0.5 * (br[0] + br[1]), 1.05, "breath", ha="center", fontsize=7, color="#a04000")
        for w in doc["words"]:
            if a <= w["start_s"] <= b:
                ax.axvline(w["start_s"], color="#888", lw=0.5, alpha=0.6)
                ax.text(w["start_s"], 1.18, w["text"], fontsize=7, rotation=35, ha="left", va="bottom",
                        color="#c0392b" if w["index"] in bad else ("#aaa" if w["index"] in hidden else "#333"),
                        style="italic" if w["index"] in hidden else "normal")
                if w["index"] in hidden:
                    ax.axvspan(w["start_s"], w["end_s"], color="#ddd", alpha=0.6, lw=0)
        ax.set_xlim(a, a + PLOT_ROW_S)
        ax.set_ylim(0, 1.5)
        ax.set_yticks([])
        ax.spines[["top", "right", "left"]].set_visible(False)
        ax.set_xlabel("song time (s)" if r == rows - 1 else "", fontsize=8)
        ax.tick_params(labelsize=7)
        if r == 0:
            ax.legend(loc="upper right", fontsize=7, frameon=False, ncol=2, bbox_to_anchor=(1, 1.02))
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.find("<svg"):]


def grab_stills(path: str | os.PathLike, times_s: list[float], *, max_side_px: int = 360) -> list[Optional[bytes]]:
    """JPEG bytes of the frames shown at the given take times (seeking, not decoding all)."""
    import cv2

    from lipcoach.take.mouth import sample_frames

    out: list[Optional[bytes]] = []
    for t in times_s:
        frames = sample_frames(path, [t], max_side_px=max_side_px)
        jpeg = None
        if frames:
            ok, enc = cv2.imencode(".jpg", frames[0][:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 82])
            jpeg = enc.tobytes() if ok else None
        out.append(jpeg)
    return out


def moment_reason(word: dict) -> str:
    """Why a word is among the worst moments, in plain words."""
    if not word["hit"]:
        return "your mouth did not move"
    if word["closure_ok"] is False:
        return "lips not closed on the m/b/p"
    err = word.get("timing_error_ms")
    if err is not None and abs(err) > G.TELL_MS:
        return f"{abs(err):.0f} ms {'late' if err > 0 else 'early'}"
    ratio = word.get("open_ratio")
    if ratio is not None and ratio < G.OPEN_OK_RATIO:
        return f"mouth opened to {100 * ratio:.0f} % of what this note needs"
    return f"word score {word['score']:.0f}"


def worst_moments(doc: dict, n: int = 3) -> list[dict]:
    """The words most worth a look: missed, lips open on m/b/p, or the lowest scores (hidden words are not faults)."""
    words = [w for w in doc["words"] if not w.get("hidden")
             and ((not w["hit"]) or w["closure_ok"] is False or w["score"] < 60)]
    words.sort(key=lambda w: (w["hit"], w["closure_ok"] is not False, w["score"]))
    return words[:n]


# ---------------------------------------------------------------------------------------
# HTML

_CSS = """
body{font-family:Georgia,'Times New Roman',serif;max-width:1100px;margin:24px auto;padding:0 20px;color:#222;background:#fbfaf7}
h1{font-size:26px;margin:0 0 4px} h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666;font-size:13px}
.verdict{display:flex;gap:18px;align-items:center;margin:16px 0;padding:14px 18px;border-radius:8px;background:#fff;border:1px solid #e3e0d8}
.score{font-size:44px;font-weight:bold;min-width:90px;text-align:center}
.ok{color:#1e8449} .warn{color:#b9770e} .bad{color:#c0392b}
ol.fixes li{margin:8px 0;font-size:17px;line-height:1.4}
table{border-collapse:collapse;width:100%;font-size:13px;background:#fff}
th,td{border-bottom:1px solid #eee;padding:5px 7px;text-align:left;vertical-align:top} th{background:#f3f1ec}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.stills{display:flex;gap:14px;flex-wrap:wrap} .stills img{width:250px;height:auto;display:block} figure{margin:0;background:#fff;border:1px solid #e3e0d8;padding:6px;border-radius:6px}
figcaption{font-size:13px;max-width:250px;margin-top:4px} .plot svg{width:100%;height:auto}
.small{font-size:12px;color:#777}
.note{background:#fff6e0;border:1px solid #f0d9a0;padding:8px 12px;border-radius:6px}
.hidden{color:#7f8c8d;font-style:italic}
"""


def breath_words(line: dict) -> str:
    """How the breath before a line was shown, in plain words ("shown by mouth and shoulders", "not shown", …)."""
    by = line.get("breath_by")
    if line["breath"] == "not_shown":
        return "not shown"
    if line["breath"] == "shown":
        parts = [name for key, name in (("face", "mouth"), ("body", "shoulders")) if by and by.get(key) == "shown"]
        return "shown by " + " and ".join(parts) if parts else "shown"
    return "not judged (face not seen)" if by else "–"


def usable_words(line: dict) -> str:
    """Whether the edit may cut to this take for the line, in plain words."""
    if line.get("singer_in_take") is False:
        return "no (its singer is not in this take)"
    if not line.get("coverable"):
        return "no"
    if "verdict" in line and line["verdict"] != "in_sync":
        return "unconfirmed (check by eye)"
    return "yes"


def _cls(score: float) -> str:
    return "ok" if score >= 75 else ("warn" if score >= 50 else "bad")


def _headline(doc: dict) -> str:
    """The page's one-sentence verdict (with the overall timing when in sync)."""
    sync = doc["sync"]
    if doc["verdict"] == "in_sync":
        off = sync["offset_ms"]
        timing = ("right on the vocal" if abs(off) <= G.ON_TIME_MS else
                  f"{abs(off):.0f} ms {'behind' if off > 0 else 'ahead of'} the vocal")
        headline = f"Lip-syncing this song: overall {timing}."
        if not sync.get("absolute", True):
            headline += " (Silent take: placed by the mouth, so only line-to-line timing is measured.)"
    elif doc["verdict"] == "cant_confirm":
        headline = f"Can't confirm a lip-sync of this song: {doc.get('verdict_reason') or 'too little evidence'}."
    else:
        headline = "Not lip-syncing this song: the mouth does not follow the vocal."
    return headline


def _performers_table(doc: dict) -> list[str]:
    """Who is in the take (a number whose map says who sings each line): each performer's verdict and score."""
    e = html.escape
    parts: list[str] = []
    if doc.get("performers"):
        parts.append("<h2>Performers</h2><table><tr><th>Performer</th><th>Face</th><th>Lines</th><th>Verdict</th>"
                     "<th>Score</th><th>Why</th></tr>")
        for p in doc["performers"]:
            lines = ", ".join(str(i + 1) for i in p["lines"])
            if not p.get("in_take", True):
                parts.append(f"<tr><td>{e(p['performer'])}</td><td>–</td><td>{lines}</td><td>not in this take</td>"
                             "<td>–</td><td>their lines are not covered by this take</td></tr>")
                continue
            points = "–" if p["score"] is None else f"{p['score']:.0f}"
            parts.append(f"<tr><td>{e(p['performer'])}</td><td>{p['face']}</td><td>{lines}</td>"
                         f"<td>{e((p['verdict'] or '–').replace('_', ' '))}</td><td class='num'>{points}</td>"
                         f"<td class='small'>{e(p.get('verdict_reason') or '')}</td></tr>")
        parts.append("</table>")
    return parts


def _worst_moments(report) -> list[str]:
    """Stills of the worst words (:func:`worst_moments`), each with why it is shown; empty when none could be grabbed."""
    doc = report.doc
    e = html.escape
    parts: list[str] = []
    moments = worst_moments(doc)
    if moments:
        jpegs = grab_stills(report.take_path, [w["take_time_s"] + 0.5 * (w["end_s"] - w["start_s"]) for w in moments])
        figs = []
        for w, jpg in zip(moments, jpegs):
            if jpg is None:
                continue
            why = moment_reason(w)
            figs.append(f"<figure><img alt='still' src='data:image/jpeg;base64,{base64.b64encode(jpg).decode()}'>"
                        f"<figcaption><b>‘{e(w['text'])}’</b> at {_clock(w['take_time_s'])} of the take — {e(why)}"
                        "</figcaption></figure>")
        if figs:
            parts.append("<h2>Worst moments</h2><div class='stills'>" + "".join(figs) + "</div>")
    return parts


def _lines_table(doc: dict) -> list[str]:
    """The line-by-line table: timing (ms), words mouthed, hidden words, m/b/p, opening, breath, edit use, score."""
    e = html.escape
    parts: list[str] = []
    if doc["lines"]:
        parts.append("<h2>Line by line</h2><table><tr><th>#</th><th>Line</th><th>At</th><th>Timing</th>"
                     "<th>Words mouthed</th><th>Hidden</th><th>m/b/p</th><th>Open more</th><th>Breath before</th>"
                     "<th>Usable in the edit</th><th>Score</th></tr>")
    for ln in doc["lines"]:
        off = ln["offset_ms"]
        timing = "–" if off is None else ("on time" if abs(off) <= G.ON_TIME_MS else f"{abs(off):.0f} ms {'late' if off > 0 else 'early'}")
        breath = breath_words(ln)
        seen = ln["n_words"] - ln.get("n_hidden", 0)
        hidden = (f"<span class='hidden'>{e(', '.join(ln.get('hidden_words', [])))}</span>"
                  if ln.get("n_hidden") else "–")
        unseen = seen == 0
        mouthed = "–" if unseen else f"{ln['n_hit']}/{seen}"
        score = "<td class='num hidden'>not seen</td>" if unseen else \
            f"<td class='num {_cls(ln['score'])}'>{ln['score']:.0f}</td>"
        parts.append(
            f"<tr><td>{ln['index'] + 1}</td><td>{e(ln['text'])}</td><td>{_clock(ln['start_s'])}</td><td>{timing}</td>"
            f"<td class='num'>{mouthed}</td><td>{hidden}</td>"
            f"<td>{'–' if unseen else (e(', '.join(ln['closures_missed'])) or 'ok')}</td>"
            f"<td>{e(', '.join(ln['open_more'])) or '–'}</td><td>{breath}</td>"
            f"<td>{usable_words(ln)}</td>{score}</tr>")
    if doc["lines"]:
        parts.append("</table>")
        if any(ln.get("n_hidden") for ln in doc["lines"]):
            th = doc.get("thresholds", {})
            parts.append(f"<p class='small'>Hidden: sung while your face was out of shot or turned more than "
                         f"{th.get('hidden_yaw_deg', G.HIDDEN_YAW_DEG):.0f}° left/right or "
                         f"{th.get('hidden_pitch_deg', G.HIDDEN_PITCH_DEG):.0f}° up/down; the camera cannot judge "
                         "them, so they are not counted as misses.</p>")
    return parts


def _breaths_table(doc: dict) -> list[str]:
    """The breaths table: each breath shown by the mouth and (when measured) the shoulders."""
    parts: list[str] = []
    breaths = doc.get("breaths", [])
    if breaths:
        word = {"shown": "shown", "not_shown": "not shown", "hidden": "face not seen", None: "not measured"}
        parts.append("<h2>Breaths</h2><table><tr><th>At</th><th>Before line</th><th>Mouth</th><th>Shoulders</th>"
                     "<th>Shown</th></tr>")
        for b in breaths:
            li = b.get("before_line")
            shown = {True: "<span class='ok'>yes</span>", False: "<span class='bad'>no</span>", None: "–"}[b["shown"]]
            parts.append(f"<tr><td>{_clock(b['start_s'])}</td><td>{'–' if li is None else li + 1}</td>"
                         f"<td>{word[b['face']]}</td><td>{word[b['body']]}</td><td>{shown}</td></tr>")
        parts.append("</table>")
        if all(b.get("body") is None for b in breaths):
            parts.append("<p class='small'>Shoulders: not measured. Whether the shoulders show a breath was never "
                         "measured on real footage, so only the mouth is judged.</p>")
    return parts


def write_html(report, path: str | os.PathLike, *, stills: bool = True) -> None:
    """Write the report page (UTF-8, self-contained) to ``path`` atomically."""
    from lipcoach.fileio import write_text_atomic

    doc = report.doc
    e = html.escape
    in_sync = doc["verdict"] == "in_sync"
    sync = doc["sync"]
    headline = _headline(doc)
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='generator' content='lipcoach'><title>Take report — {e(Path(doc['take']['path']).name)}</title>"
             f"<style>{_CSS}</style></head><body>"]
    parts.append(f"<h1>Take report: {e(Path(doc['take']['path']).name)}</h1>")
    song_name = Path(doc["song"]["path"]).name if doc["song"].get("path") else "song map"
    pl = doc["placement"]
    parts.append(f"<div class='meta'>Song: {e(song_name)} · take starts at {_clock(pl['song_start_s'])} of the song "
                 f"(found by {e(pl['method'].replace('_', ' '))}, confidence {pl['confidence']:.2f}) · "
                 f"{doc['take']['duration_s']:.1f} s at {doc['take']['fps']:.2f} fps · scored face {doc['face']} ({len(doc['faces'])} found)</div>")
    parts.append(f"<div class='verdict'><div class='score {_cls(doc['score'])}'>{doc['score']:.0f}</div><div>"
                 f"<div style='font-size:19px'>{e(headline)}</div><div class='small'>Sync confidence "
                 f"{sync['confidence']:.2f} (z = {sync['z'] if sync['z'] is not None else '–'}). Score out of 100: "
                 "timing, every word mouthed, closed lips on m/b/p, opening, breaths.</div></div></div>")
    for note in doc.get("notes", []):
        parts.append(f"<p class='note'>{e(note)}</p>")
    if pl.get("unsure"):
        parts.append(f"<p class='note'>Placement unsure: this take has no sound, and the place its mouth found in the "
                     f"song ({_clock(pl['song_start_s'])}) has confidence {pl['confidence']:.2f}, under "
                     f"{pl.get('unsure_bar') or 0:.2f}. It is not confirmed in sync, and the edit uses it only "
                     "unconfirmed: check the place by eye.</p>")
    parts += _performers_table(doc)
    parts.append("<h2>Fix these first</h2><ol class='fixes'>")
    parts += [f"<li>{e(f)}</li>" for f in doc["fixes"]]
    parts.append("</ol>")

    parts.append("<h2>Your mouth against the vocal</h2><div class='plot'>")
    report.series.setdefault("breaths", [])
    parts.append(plot_svg(report))
    parts.append("</div><div class='small'>Blue: the singer's vocal level. Red: how wide your mouth opens "
                 "(as you did it). Words in red were missed or had open lips on m/b/p.</div>")

    if stills and in_sync:  # word-level faults mean little when the mouth follows another song
        parts += _worst_moments(report)

    parts += _lines_table(doc)
    parts += _breaths_table(doc)
    lead = sync.get("lead_by_class_ms")
    allowed = (f"the lips naturally close about {lead['closure']:.0f} ms before an m, b or p is heard and open about "
               f"{lead['opening']:.0f} ms before a vowel" if lead and doc.get("words_graded", True) else
               f"the mouth naturally moves about {sync['visual_lead_ms']:.0f} ms before the sound")
    parts.append("<p class='small'>Timing is measured from the movement of your lips against the vocal over whole "
                 f"lines; {allowed}, which is already allowed for. Made by lipcoach.</p></body></html>")
    write_text_atomic(path, "".join(parts))
