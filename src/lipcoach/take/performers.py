"""Who sings which line, and which face in the take is whom: per-performer grading of a take.

A number's map may say who sings each line (``source["lines"][i]["performers"]``, written by
``lipcoach number build``). Then a take is judged performer by performer
(:func:`lipcoach.take.score.score`):

- every face in shot (found in ≥ :data:`MIN_FOUND_SHARE` of the frames) is scored for every
  performer who may be in the take, on that performer's lines only (the rest of the song is
  left out of the sync region and asks for no mouth shape: a performer who rests while the
  other sings is not out of sync);
- faces are matched to performers so that the sum of each face's mean line score *on its
  performer's lines* is highest (a face that mouths only its own lines scores well there and
  badly elsewhere, which is what tells the performers apart). With one face, this says who it
  is unless the caller said so (``performers``: the studio's performer, ``--performer``);
- the take's report (:func:`combine`) gives each line the verdict, grade and words of the
  performer who sings it; a line sung together takes the worst of its singers present; a line
  whose singers are all absent from the take has verdict ``None`` and is not coverable (a take
  of one performer never covers the other's lines in the edit).
"""

from __future__ import annotations

import copy
from typing import Optional, Sequence

import numpy as np

#: A face seen in less of the take than this is not a performer (a passer-by, a false detection).
MIN_FOUND_SHARE = 0.3

#: Verdicts from worst to best: a line sung together, or a take of several performers, takes the worst.
VERDICT_ORDER = ("not_lip_syncing", "cant_confirm", "in_sync")


def line_performers(songmap) -> Optional[list[list[str]]]:
    """Per line, the performers who sing it; None when the number has one performer (or none known)."""
    lines = (songmap.source or {}).get("lines")
    if not isinstance(lines, list) or len(lines) != len(songmap.lines):
        return None
    who = [list(entry.get("performers") or []) if isinstance(entry, dict) else [] for entry in lines]
    if len({p for w in who for p in w}) < 2:
        return None
    return who


def lines_of(who: Sequence[Sequence[str]]) -> dict[str, list[int]]:
    """Performer → the 0-based lines they sing, from :func:`line_performers`."""
    out: dict[str, list[int]] = {}
    for index, names in enumerate(who):
        for name in names:
            out.setdefault(name, []).append(index)
    return out


def assign_faces(line_scores_by_face: dict, performers_lines: dict[str, list[int]]) -> dict[str, int]:
    """Performer → face id, maximising the summed mean score of each face on its performer's lines.

    ``line_scores_by_face[face]`` is either ``{line: score}`` (the same grades for every
    performer) or ``{performer: {line: score}}`` (the face scored for each performer).
    """
    from scipy.optimize import linear_sum_assignment

    faces = sorted(line_scores_by_face)
    names = sorted(performers_lines)
    gain = np.zeros((len(names), len(faces)))
    for i, name in enumerate(names):
        for j, face in enumerate(faces):
            table = line_scores_by_face[face]
            if name in table and isinstance(table[name], dict):
                table = table[name]
            scores = [table.get(li, 0.0) for li in performers_lines[name]]
            gain[i, j] = float(np.mean(scores)) if scores else 0.0
    rows, cols = linear_sum_assignment(-gain)
    return {names[i]: faces[j] for i, j in zip(rows, cols)}


def worst_verdict(verdicts) -> Optional[str]:
    """The worst of ``verdicts`` (None entries ignored; None when there are none)."""
    known = [v for v in verdicts if v in VERDICT_ORDER]
    return min(known, key=VERDICT_ORDER.index) if known else None


def combine(docs: dict[str, dict], face_of: dict[str, int], who: Sequence[Sequence[str]]) -> dict:
    """One take report from each present performer's report (``docs[performer]``, scored on their lines).

    See the module docstring. ``face_of``: performer → face id of the performers in the take.
    """
    present = [name for name in sorted(docs, key=lambda n: min(lines_of(who).get(n, [10 ** 9])))]
    base_name = present[0]
    doc = copy.deepcopy(docs[base_name])
    performers_lines = lines_of(who)
    lines_by = {name: {ln["index"]: ln for ln in d["lines"]} for name, d in docs.items()}
    words_by = {name: d["words"] for name, d in docs.items()}
    combined_lines, combined_words = [], []
    for index in sorted({ln["index"] for d in docs.values() for ln in d["lines"]}):
        singers = list(who[index]) if index < len(who) else []
        graded = [(name, lines_by[name][index]) for name in singers if name in docs and index in lines_by[name]]
        if graded:
            name, line = min(graded, key=lambda g: (VERDICT_ORDER.index(g[1].get("verdict") or "cant_confirm"),
                                                     g[1]["score"]))
            line = dict(line, performers=singers, verdict=worst_verdict(g[1].get("verdict") for g in graded))
            line["coverable"] = bool(all(g[1].get("coverable") for g in graded)) and line["verdict"] != "not_lip_syncing"
        else:
            # Nobody who sings this line is in the take: graded on the take's first face, for the
            # record, but it has no verdict and never covers the line.
            name = base_name
            line = dict(lines_by[base_name][index], performers=singers, verdict=None, coverable=False,
                        offset_ms=None, singer_in_take=False)
        combined_lines.append(line)
        combined_words.extend(w for w in words_by[name] if w.get("line") == index)
    doc["lines"] = combined_lines
    doc["words"] = sorted(combined_words, key=lambda w: w["index"])
    doc["performers"] = []
    for name in sorted(performers_lines):
        if name not in docs:
            doc["performers"].append({"performer": name, "face": None, "lines": performers_lines[name], "in_take": False,
                                      "score": None, "verdict": None, "verdict_reason": None, "offset_ms": None})
            continue
        d = docs[name]
        own = [lines_by[name][li]["score"] for li in performers_lines[name] if li in lines_by[name]]
        doc["performers"].append({"performer": name, "face": face_of[name], "lines": performers_lines[name],
                                  "in_take": True, "score": round(float(np.mean(own)), 1) if own else None,
                                  "verdict": d["verdict"], "verdict_reason": d.get("verdict_reason"),
                                  "offset_ms": d["sync"]["offset_ms"]})
    inside = [p for p in doc["performers"] if p["in_take"] and p["score"] is not None]
    scored = [p["score"] for p in inside]
    doc["score"] = round(float(np.mean(scored)), 1) if scored else doc["score"]
    doc["verdict"] = worst_verdict(p["verdict"] for p in inside) or doc["verdict"]
    if len(inside) > 1 or len(docs) < len(performers_lines):
        doc["verdict_reason"] = "; ".join(f"{p['performer']}: {p['verdict'].replace('_', ' ')}, {p['verdict_reason']}"
                                          for p in inside if p["verdict"])
    if doc["verdict"] != "in_sync":
        doc["sync"] = dict(doc["sync"], offset_ms=None)
    return doc
