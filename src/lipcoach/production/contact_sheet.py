"""The contact sheet: every take of a number compared line by line, with a still and the line score.

One self-contained HTML page (stills inlined as JPEG): a row per line, a column per take. A
cell shows the frame at the middle of the line's first word in that take, the line score,
and why a take cannot be used for the line (does not cover it, line hidden, not
lip-syncing). The chosen take of each line is framed, a pinned one says so.
"""

from __future__ import annotations

import base64
import html
import os
from typing import Optional

from lipcoach.progress import ProgressCallback, silent

_CSS = """
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px;vertical-align:top;text-align:center}
th.line{text-align:left;max-width:16em;font-weight:normal}
td.chosen{outline:3px solid #1a7f37;outline-offset:-3px;background:#eefbea}
td.out{color:#999;background:#f6f6f6}
img{display:block;width:160px;height:auto;margin:0 auto 2px}
.score{font-weight:bold}.ok{color:#1a7f37}.warn{color:#9a6700}.bad{color:#cf222e}
small{color:#666}
"""


def _cls(score: float) -> str:
    return "ok" if score >= 75 else ("warn" if score >= 50 else "bad")


def write_contact_sheet(plan, path: str | os.PathLike, *, stills: bool = True,
                        report: Optional[ProgressCallback] = None) -> None:
    """Write the contact sheet of an :class:`~lipcoach.production.edit.EditPlan` to ``path`` (atomically)."""
    from lipcoach import __version__
    from lipcoach.fileio import write_text_atomic
    from lipcoach.take.report import grab_stills

    report = report or silent
    e = html.escape
    takes = sorted(plan.takes, key=lambda t: t.name)
    # Stills: one per (take, line) the take covers, grabbed in one pass per take.
    pictures: dict[tuple[int, int], Optional[bytes]] = {}
    for k, take in enumerate(takes):
        report(k / max(1, len(takes)), f"stills of {take.name}")
        wanted = [c for c in plan.choices if take.covers(c.start_s, c.end_s)]
        if stills and wanted:
            times = [min(max(0.0, c.start_s + 0.25 - take.song_start_s), take.duration_s - 0.05) for c in wanted]
            for c, jpeg in zip(wanted, grab_stills(take.path, times, max_side_px=240)):
                pictures[(take.id, c.line_index)] = jpeg
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<meta name='generator' content='lipcoach {__version__}'><title>Contact sheet: {e(plan.title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>Contact sheet: {e(plan.title)}</h1>",
             f"<p>{len(takes)} takes, {len(plan.choices)} lines. Framed: the take the edit uses for the line "
             f"(best line score, or pinned by the editor).</p>",
             "<table><tr><th>line</th>"]
    for take in takes:
        parts.append(f"<th>{e(take.name)}<br><small>take {take.id} · {take.score:.0f}/100 · "
                     f"{e(take.verdict.replace('_', ' '))}<br>song {take.song_start_s:.1f}–{take.song_end_s:.1f} s</small></th>")
    parts.append("</tr>")
    for c in plan.choices:
        parts.append(f"<tr><th class='line'>{c.line_index + 1}. {e(c.text)}<br><small>{c.start_s:.1f}–{c.end_s:.1f} s</small></th>")
        for take in takes:
            chosen = c.take is not None and c.take.id == take.id
            if not take.covers(c.start_s, c.end_s):
                parts.append("<td class='out'>does not cover this line</td>")
                continue
            jpeg = pictures.get((take.id, c.line_index))
            img = f"<img alt='still' src='data:image/jpeg;base64,{base64.b64encode(jpeg).decode()}'>" if jpeg else ""
            if c.line_index in take.hidden_lines:
                parts.append(f"<td class='out'>{img}line hidden (face turned away)</td>")
                continue
            score = take.line_scores.get(c.line_index)
            if take.verdict not in ("in_sync", "cant_confirm") or score is None:
                parts.append(f"<td class='out'>{img}not lip-syncing</td>")
                continue
            tag = " · pinned" if chosen and c.pinned else (" · chosen" if chosen else "")
            if take.verdict == "cant_confirm":
                tag += " · sync not confirmed"
            parts.append(f"<td class='{'chosen' if chosen else ''}'>{img}<span class='score {_cls(score)}'>{score:.0f}</span>"
                         f"<small>{tag}</small></td>")
        parts.append("</tr>")
    parts.append("</table>")
    if plan.notes:
        parts.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in plan.notes) + "</ul>")
    parts.append("</body></html>")
    write_text_atomic(path, "".join(parts))
    report(1.0, "done")
