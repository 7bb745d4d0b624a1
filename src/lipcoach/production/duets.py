"""Duets and group numbers: in a two-shot take, each performer's face is scored on their own lines only.

A built number's map says who sings each line (``source["lines"][i]["performers"]``). The
take's mouth track is made once; every face seen in at least :data:`MIN_FOUND_SHARE` of the
frames is scored against the whole song (:func:`lipcoach.take.score.score_take` with that
face). Faces are then matched to performers so that the sum, over performers, of each face's
mean line score *on that performer's lines* is highest (a face that mouths only its own
lines scores well there and badly elsewhere, which is what tells the two apart). The take's
report is the first performer's face report with:

- ``lines``: each line graded on the face of its performer (a line sung together takes the
  lower of the singers' grades: both have to sing it);
- ``performers``: per performer, the face id, its lines and its mean score on them;
- ``score``: the mean of the performers' scores.

A take with a single face in shot is scored as any take (on every line): who it is cannot be
told from one face.
"""

from __future__ import annotations

import copy
import os
from typing import Optional

import numpy as np

from lipcoach.errors import LipcoachError
from lipcoach.progress import ProgressCallback, silent, subrange

#: A face seen in less of the take than this is not a performer (a passer-by, a false detection).
MIN_FOUND_SHARE = 0.3


def line_performers(songmap) -> Optional[list[list[str]]]:
    """Per line, the performers who sing it; None when the number has one performer (or none known)."""
    lines = (songmap.source or {}).get("lines")
    if not isinstance(lines, list) or len(lines) != len(songmap.lines):
        return None
    who = [list(entry.get("performers") or []) for entry in lines]
    if len({p for w in who for p in w}) < 2:
        return None
    return who


def assign_faces(line_scores_by_face: dict[int, dict[int, float]], performers_lines: dict[str, list[int]]) -> dict[str, int]:
    """Performer → face id, maximising the summed mean score of each face on its performer's lines."""
    from scipy.optimize import linear_sum_assignment

    faces = sorted(line_scores_by_face)
    names = sorted(performers_lines)
    gain = np.zeros((len(names), len(faces)))
    for i, name in enumerate(names):
        for j, face in enumerate(faces):
            scores = [line_scores_by_face[face].get(li, 0.0) for li in performers_lines[name]]
            gain[i, j] = float(np.mean(scores)) if scores else 0.0
    rows, cols = linear_sum_assignment(-gain)
    return {names[i]: faces[j] for i, j in zip(rows, cols)}


def score_duet_take(take_path: str | os.PathLike, songmap, *, song_audio=None,
                    report: Optional[ProgressCallback] = None) -> dict:
    """Score a take of a duet or group number (see module docstring); returns the report document."""
    from lipcoach.take.mouth import check_faces, track_mouth
    from lipcoach.take.score import check_take, score_take

    report = report or silent
    who = line_performers(songmap)
    if who is None:
        raise LipcoachError(None, "the number's map does not say who sings which line")
    performers_lines: dict[str, list[int]] = {}
    for index, names in enumerate(who):
        for name in names:
            performers_lines.setdefault(name, []).append(index)
    check_take(take_path, songmap)  # a wrong or over-long file is refused by its container's length, before tracking
    track = track_mouth(take_path, report=subrange(report, 0.0, 0.6))
    check_faces(track)
    faces = [f.id for f in track.faces if f.found_share >= MIN_FOUND_SHARE]
    if not faces:
        faces = [max(track.faces, key=lambda f: f.found_share).id]
    if len(faces) < 2:
        # A single in shot: who it is is not known, so it is graded on every line, as any take.
        return score_take(take_path, songmap, track=track, song_audio=song_audio, report=subrange(report, 0.6, 1.0)).doc
    docs: dict[int, dict] = {}
    for k, face in enumerate(faces):
        docs[face] = score_take(take_path, songmap, face=face, track=track, song_audio=song_audio,
                                report=subrange(report, 0.6 + 0.4 * k / len(faces), 0.6 + 0.4 * (k + 1) / len(faces))).doc
    scores = {face: {ln["index"]: ln["score"] for ln in doc["lines"]} for face, doc in docs.items()}
    face_of = assign_faces(scores, performers_lines)  # with fewer faces than performers, some stay unmatched
    first = next(iter(sorted(performers_lines, key=lambda n: performers_lines[n][0])))
    doc = copy.deepcopy(docs[face_of[first]])
    lines_by_face = {face: {ln["index"]: ln for ln in d["lines"]} for face, d in docs.items()}
    combined = []
    for index in sorted({ln["index"] for d in docs.values() for ln in d["lines"]}):
        graded = [lines_by_face[face_of[name]].get(index) for name in who[index] if name in face_of]
        graded = [g for g in graded if g is not None]
        if graded:
            worst = min(graded, key=lambda g: g["score"])
            combined.append(dict(worst, performers=list(who[index])))
    doc["lines"] = combined
    doc["performers"] = []
    for name in sorted(performers_lines):
        face = face_of.get(name)
        own = [lines_by_face[face][li]["score"] for li in performers_lines[name] if face is not None and li in lines_by_face[face]]
        doc["performers"].append({"performer": name, "face": face, "lines": performers_lines[name],
                                  "score": round(float(np.mean(own)), 1) if own else None,
                                  "verdict": docs[face]["verdict"] if face is not None else None,
                                  "offset_ms": docs[face]["sync"]["offset_ms"] if face is not None else None})
    scored = [p["score"] for p in doc["performers"] if p["score"] is not None]
    doc["score"] = round(float(np.mean(scored)), 1) if scored else 0.0
    if any(p["verdict"] == "in_sync" for p in doc["performers"]):
        doc["verdict"] = "in_sync"
    report(1.0, "done")
    return doc
