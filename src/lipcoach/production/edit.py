"""The best take per line, to the edit: choice of takes and the timeline (OTIO, EDL, FCP XML, AAF).

For each line of a number, the candidates are the scored takes (``lipcoach dailies``) that
cover the whole line (by their placement in the song), in which the line is not hidden (a
take report may mark a line ``"hidden": true`` or ``"coverable": false``, e.g. head turned
away, or nobody who sings the line in the take), and whose verdict *for that line* (the verdict
of the performer who sings it, ``lines[i].verdict``; the take's verdict in reports without
it) is ``in_sync``, with the take's place in the song sure. The best is the highest line score (ties: the
better take overall, then the earlier take). When no confirmed take covers a line, the best
take whose sync could not be confirmed (verdict ``cant_confirm``: a short take, few words; or
a silent take whose placement is unsure) is cut in instead, marked unconfirmed (a note, a red marker on the clip, ``confirmed: false``
in its metadata) for the editor to check by eye: a hole in the cut helps no one. A take
called ``not_lip_syncing`` is never used. A take the editor pinned to a line wins while it
covers the line.

The timeline runs on song time: one video track of the chosen clips, each cut from
``handles_s`` before its line to ``handles_s`` after it (never past the middle of the gap to
the next line, nor past the take's own ends), its source range in take time
(``song time − take placement``); and the number's song as an audio track from 0. Times are
whole frames at the takes' frame rate, rounded once from exact fractions, every clip inside
its take. The edit lists (OTIO, CMX 3600 EDL, Final Cut Pro 7 XML, FCPXML and AAF) are
written by :mod:`lipcoach.production.edit_lists`, each read back and compared with the cut
before it replaces anything.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from lipcoach.errors import LipcoachError
from lipcoach.production.edit_plan import EditPlan, LineChoice, TakeInfo  # noqa: F401  (where callers have always found them)
from lipcoach.production.edit_lists import (  # noqa: F401  (the edit's writers, where callers have always found them)
    FORMATS, FrameCut, build_timeline, check_handles, cut_points, edit_format, edit_is_ours, frame_cut, stage_edit,
    write_edit)

def line_verdicts(doc: dict) -> dict[int, Optional[str]]:
    """Per line, the verdict of the performer who sings it (``lines[i].verdict``, takereport/2)."""
    return {int(ln["index"]): ln.get("verdict") for ln in doc.get("lines", []) if "verdict" in ln}


def hidden_lines(doc: dict) -> set[int]:
    """Lines a take report marks as not coverable (``hidden: true`` or ``coverable: false``)."""
    return {int(ln["index"]) for ln in doc.get("lines", [])
            if ln.get("hidden") is True or ln.get("coverable") is False}


def pick_best(lines, takes: list[TakeInfo], pins: dict[int, int]) -> list[LineChoice]:
    """Per line, the best covering take (see module docstring); ``lines`` are (index, text, start_s, end_s)."""
    by_id = {t.id: t for t in takes}
    choices = []
    for index, text, start_s, end_s in lines:
        def confirmed_here(t: TakeInfo) -> bool:
            # The line's singer is in sync, and the take is where it says it is in the song.
            return t.verdict_for(index) == "in_sync" and not t.placement_unsure

        def covering(confirmed: bool) -> list[tuple[TakeInfo, float]]:
            found = [(t, t.line_scores[index]) for t in takes
                     if t.verdict_for(index) in ("in_sync", "cant_confirm") and confirmed_here(t) == confirmed
                     and index in t.line_scores and index not in t.hidden_lines and t.covers(start_s, end_s)]
            return sorted(found, key=lambda c: (-c[1], -c[0].score, c[0].id))

        candidates = covering(True)
        confirmed = bool(candidates)
        if not confirmed:
            candidates = covering(False)
        pinned = by_id.get(pins.get(index, -1))
        if pinned is not None and pinned.covers(start_s, end_s) and index not in pinned.hidden_lines:
            choices.append(LineChoice(index, text, start_s, end_s, pinned, pinned.line_scores.get(index, 0.0), True,
                                      candidates, confirmed=confirmed_here(pinned)))
        elif candidates:
            choices.append(LineChoice(index, text, start_s, end_s, candidates[0][0], candidates[0][1], False, candidates,
                                      confirmed=confirmed))
        else:
            choices.append(LineChoice(index, text, start_s, end_s, None, 0.0, False, candidates))
    return choices


def choose_takes(cat, ref: str) -> EditPlan:
    """The edit plan of number ``ref``: its current map, its scored takes, the choice per line."""
    from sqlalchemy import select

    from lipcoach.take.report_json import load_report
    from lipcoach.production.catalogue import Number, SongMapVersion
    from lipcoach.production.dailies import _number_song
    from lipcoach.production.season import find_number
    from lipcoach.production.tables import DailyTake, LinePin
    from lipcoach.song.songmap import SongMap

    number_id, version, map_path, song_audio = _number_song(cat, ref)
    songmap = SongMap.load(map_path)
    notes: list[str] = []
    with cat.session() as s:
        row = find_number(cat, s, ref)
        title = s.get(Number, number_id).title
        texts_of_version: dict[int, list[str]] = {}
        takes = []
        for t in s.scalars(select(DailyTake).where(DailyTake.number_id == number_id).order_by(DailyTake.id)):
            if t.songmap_version_id != version.id:
                if t.songmap_version_id not in texts_of_version:
                    old = s.get(SongMapVersion, t.songmap_version_id)
                    texts_of_version[t.songmap_version_id] = [ln.text for ln in SongMap.load(cat.path("maps", old.file)).lines]
                if texts_of_version[t.songmap_version_id] != [ln.text for ln in songmap.lines]:
                    notes.append(f"{t.name}: scored against an older version of the number; run dailies again")
                    continue
            # Read through the schema: a report of an older version is upgraded (takereport/1's
            # cant_confirm lines were all coverable: false).
            doc = load_report(cat.path("reports", t.report_file))
            takes.append(TakeInfo(id=t.id, name=t.name, path=t.source_path, song_start_s=t.song_start_s,
                                  duration_s=t.duration_s, fps=t.fps, score=t.score, verdict=t.verdict,
                                  line_scores={int(k): float(v) for k, v in json.loads(t.line_scores).items()},
                                  hidden_lines=hidden_lines(doc), line_verdicts=line_verdicts(doc),
                                  placement_unsure=bool(doc["placement"].get("unsure"))))
        pins = {p.line_index: p.take_id for p in s.scalars(select(LinePin).where(LinePin.number_id == number_id))}
    if not takes:
        raise LipcoachError(None, f"number {row.slug!r} has no scored takes; run `lipcoach dailies FOLDER --number {row.slug}` first")
    lines = [(i, ln.text, ln.start, ln.end) for i, ln in enumerate(songmap.lines)]
    choices = pick_best(lines, takes, pins)
    for c in choices:
        if c.line_index in pins and not c.pinned:
            notes.append(f"line {c.line_index + 1}: the pinned take does not cover it (or hides it); the best take is used")
        if c.take is not None and not c.confirmed:
            why = ("its place in the song is unsure (a silent take placed by the mouth)" if c.take.placement_unsure
                   else "no take is confirmed in sync")
            notes.append(f"line {c.line_index + 1}: {why}; {c.take.name} is used unconfirmed (check it by eye)")
    return EditPlan(number_slug=row.slug, title=title, song_path=str(song_audio), song_duration_s=songmap.duration,
                    takes=takes, choices=choices, notes=notes)


def pin_take(cat, ref: str, line_index: int, take: Optional[str]) -> None:
    """Pin ``take`` (a daily take id or file name) to line ``line_index`` (0-based) of number ``ref``; None unpins."""
    from sqlalchemy import select

    from lipcoach.production.season import find_number, is_row_id
    from lipcoach.production.tables import DailyTake, LinePin

    with cat.session() as s:
        cat.write_lock(s)  # first: two pins of one line at once are serialised, never a duplicate row
        number_id = find_number(cat, s, ref).number_id
        if take is None:
            for pin in s.scalars(select(LinePin).where(LinePin.number_id == number_id, LinePin.line_index == line_index)):
                s.delete(pin)
            s.commit()
            return
        take = str(take)
        query = select(DailyTake).where(DailyTake.number_id == number_id)
        found = s.scalar(query.where(DailyTake.id == int(take))) if is_row_id(take) else None
        found = found or s.scalar(query.where(DailyTake.name == take))
        if found is None:
            raise LipcoachError(None, f"no scored take {take!r} for this number (give its id or file name)")
        pin = s.scalar(select(LinePin).where(LinePin.number_id == number_id, LinePin.line_index == line_index))
        if pin is None:
            pin = LinePin(number_id=number_id, line_index=line_index, take_id=found.id)
            s.add(pin)
        pin.take_id = found.id
        s.commit()


def edit_inputs(cat) -> list[Path]:
    """Files an edit must never replace, even with --force: the catalogue, the season files, every take."""
    from sqlalchemy import select

    from lipcoach.production.tables import DailyTake, Season

    with cat.session() as s:
        paths = [Path(p) for p in s.scalars(select(Season.source_path)) if p]
        paths += [Path(p) for p in s.scalars(select(DailyTake.source_path)) if p]
    return [cat.root / "catalogue.sqlite", *paths]


def check_edit_outputs(cat, output: str | os.PathLike, *, fmt: Optional[str] = None,
                       contact_sheet: Optional[str | os.PathLike] = None, force: bool = False) -> tuple[Path, str, Optional[Path]]:
    """Check, before any work, where ``edit`` writes: (edit list, its format, contact sheet or None).

    Never inside the catalogue's folder nor over an input (the catalogue, a season file, a
    take), not even with ``force``; never over a file lipcoach did not write unless
    ``force``; the two outputs differ. Raises :class:`LipcoachError` (one line naming the file).
    """
    from lipcoach.fileio import check_output, same_file

    fmt = edit_format(output, fmt)
    inputs = edit_inputs(cat)
    checked: list[Path] = []
    for path, suffixes, what in ((output, None, "edit list"), (contact_sheet, (".html", ".htm"), "contact sheet")):
        if path is None:
            continue
        real = Path(os.path.realpath(path))
        if real == cat.root or cat.root in real.parents:
            raise LipcoachError(path, f"is inside the catalogue folder {cat.root.name}/, which only lipcoach manages; "
                                      f"write the {what} somewhere else")
        p = check_output(path, inputs=inputs, force=force, suffixes=suffixes, what=what, ours=edit_is_ours)
        if any(same_file(p, other) for other in checked):
            raise LipcoachError(p, f"is given for two outputs; give the {what} its own name")
        checked.append(p)
    return checked[0], fmt, (checked[1] if contact_sheet is not None else None)


def check_pins(cat, ref: str, pins: dict[int, str]) -> dict[int, int]:
    """The ``--pin`` requests (line index 0-based → take id or file name) as line index → daily take id.

    Raises :class:`LipcoachError` for a line the number does not have or a take it has not
    scored; nothing is stored.
    """
    from sqlalchemy import select

    from lipcoach.production.dailies import _number_song
    from lipcoach.production.tables import DailyTake
    from lipcoach.song.songmap import SongMap

    if not pins:
        return {}
    number_id, _version, map_path, _song = _number_song(cat, ref)
    n_lines = len(SongMap.load(map_path).lines)
    resolved = {}
    with cat.session() as s:
        query = select(DailyTake).where(DailyTake.number_id == number_id)
        for line_index, take in sorted(pins.items()):
            if not 0 <= line_index < n_lines:
                raise LipcoachError(None, f"--pin {line_index + 1}={take}: number {ref!r} has {n_lines} lines "
                                          f"(give a line from 1 to {n_lines})")
            take = str(take).strip()
            found = s.scalar(query.where(DailyTake.id == int(take))) if take.isdigit() else None
            found = found or s.scalar(query.where(DailyTake.name == take))
            if found is None:
                raise LipcoachError(None, f"--pin {line_index + 1}={take}: no scored take {take!r} for number {ref!r} "
                                          "(give its id or file name)")
            resolved[line_index] = found.id
    return resolved


def _saved_pins(cat, ref: str, lines) -> dict[int, Optional[int]]:
    from sqlalchemy import select

    from lipcoach.production.season import find_number
    from lipcoach.production.tables import LinePin

    with cat.session() as s:
        number_id = find_number(cat, s, ref).number_id
        found = {p.line_index: p.take_id for p in s.scalars(select(LinePin).where(LinePin.number_id == number_id))}
    return {line: found.get(line) for line in lines}


def cut_number(cat, ref: str, output: str | os.PathLike, *, fmt: Optional[str] = None, handles_s: float = 0.5,
               pins: Optional[dict[int, str]] = None, contact_sheet: Optional[str | os.PathLike] = None,
               force: bool = False, report=None) -> tuple[EditPlan, Path]:
    """Pin takes (line index 0-based → take id or name), choose the takes, write the edit (and the
    contact sheet), note the number as cut.

    Everything the user gave is checked before any work (handles, format, outputs, pins).
    Both outputs are written whole or not at all and renamed into place together; the pins
    are kept only when the edit was written: a failed run leaves them as they were.
    """
    import datetime as dt

    from lipcoach.fileio import os_error_line, staged_outputs
    from lipcoach.production.season import find_number

    handles_s = check_handles(handles_s)
    output, fmt, sheet = check_edit_outputs(cat, output, fmt=fmt, contact_sheet=contact_sheet, force=force)
    wanted = check_pins(cat, ref, pins or {})
    before = _saved_pins(cat, ref, wanted)
    targets = [output] + ([sheet] if sheet is not None else [])
    try:
        for line_index, take_id in wanted.items():
            pin_take(cat, ref, line_index, str(take_id))
        plan = choose_takes(cat, ref)
        try:
            with staged_outputs(*targets) as temps:
                stage_edit(plan, temps[0], fmt=fmt, handles_s=handles_s, target=output)
                if sheet is not None:
                    from lipcoach.production.contact_sheet import write_contact_sheet

                    try:
                        write_contact_sheet(plan, temps[1], report=report)
                    except OSError as exc:
                        raise LipcoachError(sheet, os_error_line(exc)) from None
        except OSError as exc:
            raise LipcoachError(output, os_error_line(exc)) from None
    except BaseException:
        for line_index, take_id in before.items():
            pin_take(cat, ref, line_index, None if take_id is None else str(take_id))
        raise
    with cat.session() as s:
        find_number(cat, s, ref).cut_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        s.commit()
    return plan, output


def plan_dict(plan: EditPlan) -> dict:
    """The plan as plain data (the studio's line-by-line view)."""
    def take_ref(t: TakeInfo, score: float) -> dict:
        return {"take_id": t.id, "name": t.name, "score": round(score, 1)}

    return {"number": plan.number_slug, "title": plan.title, "notes": plan.notes,
            "lines": [{"index": c.line_index, "text": c.text, "start_s": round(c.start_s, 3), "end_s": round(c.end_s, 3),
                       "chosen": dict(take_ref(c.take, c.score), pinned=c.pinned, confirmed=c.confirmed) if c.take else None,
                       "candidates": [take_ref(t, sc) for t, sc in c.candidates]} for c in plan.choices]}
