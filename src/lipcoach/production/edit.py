"""The best take per line, to the edit: choice of takes and the timeline (OTIO, EDL, FCP XML, AAF).

For each line of a number, the candidates are the scored takes (``lipcoach dailies``) that
cover the whole line (by their placement in the song), in which the line is not hidden (a
take report may mark a line ``"hidden": true`` or ``"coverable": false``, e.g. head turned
away), and that lip-sync (verdict ``in_sync``). The best is the highest line score (ties: the
better take overall, then the earlier take). When no confirmed take covers a line, the best
take whose sync could not be confirmed (verdict ``cant_confirm``: a short take, few words) is
cut in instead, marked unconfirmed (a note, a red marker on the clip, ``confirmed: false``
in its metadata) for the editor to check by eye: a hole in the cut helps no one. A take
called ``not_lip_syncing`` is never used. A take the editor pinned to a line wins while it
covers the line.

The timeline runs on song time: one video track of the chosen clips, each cut from
``handles_s`` before its line to ``handles_s`` after it (never past the middle of the gap to
the next line, nor past the take's own ends), its source range in take time
(``song time − take placement``); and the number's song as an audio track from 0. Times are
whole frames at the takes' frame rate. Other formats go through OpenTimelineIO's adapters:
CMX 3600 EDL, Final Cut Pro 7 XML, FCPXML and AAF.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import Counter
from pathlib import Path
from typing import Optional

from lipcoach.errors import LipcoachError

#: --format → (OTIO adapter, file suffix)
FORMATS = {
    "otio": ("otio_json", ".otio"),
    "edl": ("cmx_3600", ".edl"),
    "fcpxml": ("fcpx_xml", ".fcpxml"),
    "fcp7xml": ("fcp_xml", ".xml"),
    "aaf": ("AAF", ".aaf"),
}


@dataclasses.dataclass
class TakeInfo:
    id: int
    name: str
    path: str
    song_start_s: float  #: song time at take time 0
    duration_s: float
    fps: float
    score: float
    verdict: str
    line_scores: dict[int, float]
    hidden_lines: set[int]

    @property
    def song_end_s(self) -> float:
        return self.song_start_s + self.duration_s

    def covers(self, start_s: float, end_s: float) -> bool:
        return self.song_start_s <= start_s + 1e-6 and end_s <= self.song_end_s + 1e-6


@dataclasses.dataclass
class LineChoice:
    line_index: int
    text: str
    start_s: float
    end_s: float
    take: Optional[TakeInfo]
    score: float
    pinned: bool
    candidates: list[tuple[TakeInfo, float]]  #: covering takes with their line score, best first
    confirmed: bool = True  #: False: no in-sync take covers the line; the take's sync was not confirmed


@dataclasses.dataclass
class EditPlan:
    number_slug: str
    title: str
    song_path: str
    song_duration_s: float
    takes: list[TakeInfo]
    choices: list[LineChoice]
    notes: list[str]

    @property
    def fps(self) -> float:
        rates = Counter(round(t.fps, 3) for t in self.takes)
        return rates.most_common(1)[0][0] if rates else 25.0


def hidden_lines(doc: dict) -> set[int]:
    """Lines a take report marks as not coverable (``hidden: true`` or ``coverable: false``)."""
    return {int(ln["index"]) for ln in doc.get("lines", [])
            if ln.get("hidden") is True or ln.get("coverable") is False}


def pick_best(lines, takes: list[TakeInfo], pins: dict[int, int]) -> list[LineChoice]:
    """Per line, the best covering take (see module docstring); ``lines`` are (index, text, start_s, end_s)."""
    by_id = {t.id: t for t in takes}
    choices = []
    for index, text, start_s, end_s in lines:
        def covering(verdict: str) -> list[tuple[TakeInfo, float]]:
            found = [(t, t.line_scores[index]) for t in takes
                     if t.verdict == verdict and index in t.line_scores and index not in t.hidden_lines
                     and t.covers(start_s, end_s)]
            return sorted(found, key=lambda c: (-c[1], -c[0].score, c[0].id))

        candidates = covering("in_sync")
        confirmed = bool(candidates)
        if not confirmed:
            candidates = covering("cant_confirm")
        pinned = by_id.get(pins.get(index, -1))
        if pinned is not None and pinned.covers(start_s, end_s) and index not in pinned.hidden_lines:
            choices.append(LineChoice(index, text, start_s, end_s, pinned, pinned.line_scores.get(index, 0.0), True,
                                      candidates, confirmed=pinned.verdict == "in_sync"))
        elif candidates:
            choices.append(LineChoice(index, text, start_s, end_s, candidates[0][0], candidates[0][1], False, candidates,
                                      confirmed=confirmed))
        else:
            choices.append(LineChoice(index, text, start_s, end_s, None, 0.0, False, candidates))
    return choices


def choose_takes(cat, ref: str) -> EditPlan:
    """The edit plan of number ``ref``: its current map, its scored takes, the choice per line."""
    from sqlalchemy import select

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
            doc = json.loads(cat.path("reports", t.report_file).read_text(encoding="utf-8"))
            takes.append(TakeInfo(id=t.id, name=t.name, path=t.source_path, song_start_s=t.song_start_s,
                                  duration_s=t.duration_s, fps=t.fps, score=t.score, verdict=t.verdict,
                                  line_scores={int(k): float(v) for k, v in json.loads(t.line_scores).items()},
                                  hidden_lines=hidden_lines(doc)))
        pins = {p.line_index: p.take_id for p in s.scalars(select(LinePin).where(LinePin.number_id == number_id))}
    if not takes:
        raise LipcoachError(None, f"number {row.slug!r} has no scored takes; run `lipcoach dailies FOLDER --number {row.slug}` first")
    lines = [(i, ln.text, ln.start, ln.end) for i, ln in enumerate(songmap.lines)]
    choices = pick_best(lines, takes, pins)
    for c in choices:
        if c.line_index in pins and not c.pinned:
            notes.append(f"line {c.line_index + 1}: the pinned take does not cover it (or hides it); the best take is used")
        if c.take is not None and not c.confirmed:
            notes.append(f"line {c.line_index + 1}: no take is confirmed in sync; {c.take.name} is used unconfirmed "
                         "(check it by eye)")
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


def cut_points(plan: EditPlan, *, handles_s: float) -> list[tuple[LineChoice, float, float]]:
    """(choice, cut in, cut out) in song time, s, for every line that has a take."""
    chosen = [c for c in plan.choices if c.take is not None]
    out = []
    for k, c in enumerate(plan.choices):
        if c.take is None:
            continue
        prev_end = plan.choices[k - 1].end_s if k > 0 else None
        next_start = plan.choices[k + 1].start_s if k + 1 < len(plan.choices) else None
        cut_in = c.start_s - handles_s
        if prev_end is not None:
            cut_in = max(cut_in, 0.5 * (prev_end + c.start_s))
        cut_out = c.end_s + handles_s
        if next_start is not None:
            cut_out = min(cut_out, 0.5 * (c.end_s + next_start))
        cut_in = max(cut_in, c.take.song_start_s, 0.0)
        cut_out = min(cut_out, c.take.song_end_s, plan.song_duration_s)
        out.append((c, cut_in, cut_out))
    assert len(out) == len(chosen)
    return out


def build_timeline(plan: EditPlan, *, handles_s: float = 0.5):
    """The OpenTimelineIO timeline of the plan (see module docstring)."""
    import opentimelineio as otio

    rate = plan.fps

    def rt(seconds: float):
        return otio.opentime.RationalTime(round(seconds * rate), rate)

    def span(start_s: float, duration_frames: int):
        return otio.opentime.TimeRange(rt(start_s), otio.opentime.RationalTime(duration_frames, rate))

    timeline = otio.schema.Timeline(name=f"{plan.title} (lipcoach best takes)")
    timeline.global_start_time = otio.opentime.RationalTime(0, rate)
    video = otio.schema.Track(name="V1 best take per line", kind=otio.schema.TrackKind.Video)
    position = 0  # frames on the timeline (= song time)
    refs = {}
    for choice, cut_in, cut_out in cut_points(plan, handles_s=handles_s):
        start_f, end_f = round(cut_in * rate), round(cut_out * rate)
        start_f = max(start_f, position)
        if end_f <= start_f:
            continue
        if start_f > position:
            video.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(start_f - position, rate))))
        take = choice.take
        if take.id not in refs:
            refs[take.id] = take
        media = otio.schema.ExternalReference(
            target_url=Path(take.path).resolve().as_uri(),
            available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate), rt(take.duration_s)))
        media.name = take.name
        source_start_s = start_f / rate - take.song_start_s
        clip = otio.schema.Clip(name=f"L{choice.line_index + 1:02d} {Path(take.name).stem}", media_reference=media,
                                source_range=span(source_start_s, end_f - start_f))
        clip.metadata["lipcoach"] = {"line": choice.line_index, "text": choice.text, "take_id": take.id, "take": take.name,
                                     "line_score": choice.score, "pinned": choice.pinned, "confirmed": choice.confirmed,
                                     "take_song_start_s": take.song_start_s}
        if not choice.confirmed:
            clip.markers.append(otio.schema.Marker(name="lip-sync not confirmed: check by eye",
                                                   marked_range=span(source_start_s, 1),
                                                   color=otio.schema.MarkerColor.RED))
        video.append(clip)
        position = end_f
    audio = otio.schema.Track(name="A1 song", kind=otio.schema.TrackKind.Audio)
    song_ref = otio.schema.ExternalReference(target_url=Path(plan.song_path).resolve().as_uri(),
                                             available_range=span(0.0, round(plan.song_duration_s * rate)))
    song_ref.name = Path(plan.song_path).name
    audio.append(otio.schema.Clip(name=f"{plan.title} (song)", media_reference=song_ref,
                                  source_range=span(0.0, round(plan.song_duration_s * rate))))
    timeline.tracks.append(video)
    timeline.tracks.append(audio)
    timeline.metadata["lipcoach"] = {"number": plan.number_slug, "handles_s": handles_s,
                                     "lines_without_take": [c.line_index for c in plan.choices if c.take is None],
                                     "lines_unconfirmed": [c.line_index for c in plan.choices
                                                           if c.take is not None and not c.confirmed]}
    return timeline


def write_edit(plan: EditPlan, path: str | os.PathLike, *, fmt: Optional[str] = None, handles_s: float = 0.5) -> Path:
    """Write the plan's timeline to ``path`` in ``fmt`` (default: from the suffix), atomically."""
    import opentimelineio as otio

    from lipcoach.fileio import atomic_path

    path = Path(path)
    if fmt is None:
        by_suffix = {suffix: name for name, (_, suffix) in FORMATS.items()}
        fmt = by_suffix.get(path.suffix.lower())
        if fmt is None:
            raise LipcoachError(path, f"unknown timeline suffix; use {', '.join(s for _, s in FORMATS.values())} or --format")
    if fmt not in FORMATS:
        raise LipcoachError(None, f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    adapter, _ = FORMATS[fmt]
    timeline = build_timeline(plan, handles_s=handles_s)
    if fmt == "aaf":
        _add_mob_ids(timeline)
    if fmt == "edl":
        # A CMX 3600 list carries one video track; the song's audio is a separate reel the editor lays under it.
        timeline.tracks[:] = [timeline.tracks[0]]
    with atomic_path(path) as tmp:
        otio.adapters.write_to_file(timeline, str(tmp), adapter_name=adapter)
    return path


def _add_mob_ids(timeline) -> None:
    """Give every media file a stable AAF source MobID (from its path), so Avid relinks the same take across exports."""
    import hashlib
    import uuid

    from aaf2.mobid import UniqueMobID

    for clip in timeline.find_clips():
        ref = clip.media_reference
        mob_id = UniqueMobID()
        mob_id.material = uuid.UUID(hex=hashlib.sha256(ref.target_url.encode()).hexdigest()[:32])
        ref.metadata["AAF"] = {"MobID": mob_id.urn}


def cut_number(cat, ref: str, output: str | os.PathLike, *, fmt: Optional[str] = None, handles_s: float = 0.5,
               pins: Optional[dict[int, str]] = None) -> tuple[EditPlan, Path]:
    """Pin takes (line index 0-based → take id or name), choose the takes, write the edit, note the number as cut."""
    import datetime as dt

    from lipcoach.production.season import find_number

    for line_index, take in (pins or {}).items():
        pin_take(cat, ref, line_index, take)
    plan = choose_takes(cat, ref)
    written = write_edit(plan, output, fmt=fmt, handles_s=handles_s)
    with cat.session() as s:
        find_number(cat, s, ref).cut_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        s.commit()
    return plan, written


def plan_dict(plan: EditPlan) -> dict:
    """The plan as plain data (the studio's line-by-line view)."""
    def take_ref(t: TakeInfo, score: float) -> dict:
        return {"take_id": t.id, "name": t.name, "score": round(score, 1)}

    return {"number": plan.number_slug, "title": plan.title, "notes": plan.notes,
            "lines": [{"index": c.line_index, "text": c.text, "start_s": round(c.start_s, 3), "end_s": round(c.end_s, 3),
                       "chosen": dict(take_ref(c.take, c.score), pinned=c.pinned, confirmed=c.confirmed) if c.take else None,
                       "candidates": [take_ref(t, sc) for t, sc in c.candidates]} for c in plan.choices]}
