"""Edit lists: the edit plan of :mod:`lipcoach.production.edit` as OTIO, CMX 3600 EDL, FCPXML,
Final Cut Pro 7 XML and AAF, each written whole and checked by reading it back.

Frames are computed once (:func:`frame_cut`), from exact fractions of a second: a take's
placement to the nearest frame, then each clip's in and out on that grid, clamped inside
the take and the song. The OpenTimelineIO timeline (:func:`build_timeline`) and every
format are written from those frames; each format's quirks are handled in its writer
(an EDL's reels and comments, FCPXML's apostrophes and rates, AAF's master clips and frame
sizes). :func:`write_edit` writes to a temporary file beside the target, reads it back with
OpenTimelineIO's own adapter for the format, compares it with the cut, and only then renames
it over the target.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Optional

from lipcoach.errors import LipcoachError

from lipcoach.production.edit_plan import EditPlan, LineChoice

#: --format → (OTIO adapter, file suffix)
FORMATS = {
    "otio": ("otio_json", ".otio"),
    "edl": ("cmx_3600", ".edl"),
    "fcpxml": ("fcpx_xml", ".fcpxml"),
    "fcp7xml": ("fcp_xml", ".xml"),
    "aaf": ("AAF", ".aaf"),
}


#: Largest ``--handles``, s: a handle is a little of the take before and after its line, not a scene.
MAX_HANDLES_S = 60.0


def check_handles(handles_s: float) -> float:
    """``handles_s`` as a float when it is a usable handle length (finite, 0 to :data:`MAX_HANDLES_S` s)."""
    try:
        value = float(handles_s)
    except (TypeError, ValueError):
        raise LipcoachError(None, f"--handles {handles_s!r}: give seconds, e.g. 0.5") from None
    if not math.isfinite(value) or value < 0 or value > MAX_HANDLES_S:
        raise LipcoachError(None, f"--handles {handles_s}: give seconds from 0 to {MAX_HANDLES_S:g} (e.g. 0.5)")
    return value


def edit_format(path: str | os.PathLike, fmt: Optional[str] = None) -> str:
    """The ``--format`` of an edit list: ``fmt`` when given, else from the suffix of ``path``."""
    path = Path(path)
    if fmt is None:
        by_suffix = {suffix: name for name, (_, suffix) in FORMATS.items()}
        fmt = by_suffix.get(path.suffix.lower())
        if fmt is None:
            raise LipcoachError(path, f"unknown timeline suffix; use {', '.join(s for _, s in FORMATS.values())} or --format")
    if fmt not in FORMATS:
        raise LipcoachError(None, f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def cut_points(plan: EditPlan, *, handles_s: float) -> list[tuple[LineChoice, float, float]]:
    """(choice, cut in, cut out) in song time, s, for every line that has a take.

    Each cut runs from ``handles_s`` before its line to ``handles_s`` after it, never past
    the middle of the gap to the neighbouring lines, the take's own ends or the song's.
    """
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
    return out


def exact_seconds(seconds: float) -> Fraction:
    """``seconds`` as an exact fraction, rounded to the nanosecond (0.1 is 1/10, not 0.1000000000000000055…)."""
    return Fraction(repr(round(float(seconds), 9)))


#: Frame rates an editor's timeline runs at (SMPTE timecode rates), frames/s.
TIMECODE_RATES = (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30), Fraction(48),
                  Fraction(50), Fraction(60000, 1001), Fraction(60))
#: How far a take's measured rate may be from a timecode rate and still be taken for it
#: (a phone's variable-rate 29.92 is 29.97; 12.5 is nothing but itself), share of the rate.
RATE_SNAP_SHARE = 0.01


def frame_rate(fps: float) -> Fraction:
    """The edit's frame rate as an exact fraction, frames/s.

    The nearest timecode rate (:data:`TIMECODE_RATES`) within :data:`RATE_SNAP_SHARE` of
    ``fps`` (29.97 or 29.92 → 30000/1001, 25.0 → 25); any other rate as it is (12.5 → 25/2).
    """
    nearest = min(TIMECODE_RATES, key=lambda rate: abs(fps - float(rate)))
    if abs(fps - float(nearest)) <= RATE_SNAP_SHARE * float(nearest):
        return nearest
    return Fraction(fps).limit_denominator(1001)


def to_frame(seconds: float, rate: Fraction) -> int:
    """The frame nearest ``seconds`` at ``rate`` (exact halves round up), from exact fractions."""
    return math.floor(exact_seconds(seconds) * rate + Fraction(1, 2))


@dataclasses.dataclass(frozen=True)
class ClipCut:
    """One clip of the edit, in whole frames at the edit's rate.

    The record range is in song time (the timeline), the source range in take time; the
    take's frame ``source_in`` plays at song frame ``record_in``.
    """

    choice: LineChoice
    record_in: int
    record_out: int  #: exclusive
    source_in: int
    take_frames: int  #: frames the take holds (its media's available range)

    @property
    def frames(self) -> int:
        return self.record_out - self.record_in

    @property
    def source_out(self) -> int:
        return self.source_in + self.frames


@dataclasses.dataclass(frozen=True)
class Hole:
    """A line the edit has no clip for: no usable take covers it."""

    line_index: int
    text: str
    record_in: int
    record_out: int
    reason: str


@dataclasses.dataclass(frozen=True)
class FrameCut:
    """The edit in frames, computed once from exact time; every format is written from it."""

    rate: Fraction  #: frames/s
    song_frames: int
    clips: list[ClipCut]
    holes: list[Hole]


def frame_cut(plan: EditPlan, *, handles_s: float = 0.5) -> FrameCut:
    """Round the plan's cuts to frames, once.

    A take's placement is rounded to the nearest frame (``offset``: the song frame at which
    the take's frame 0 plays); every clip is then cut on whole frames of that placement,
    clamped so that it starts at or after the take's first frame and ends at or before its
    last (and inside the song, after the clip before it). Source frames are record frames
    minus the offset, so source and record ranges always have the same length.
    """
    rate = frame_rate(plan.fps)
    song_frames = max(0, math.floor(exact_seconds(plan.song_duration_s) * rate))  # the song's whole frames
    clips: list[ClipCut] = []
    holes: list[Hole] = []
    position = 0
    cut_of = {c.line_index: (cut_in, cut_out) for c, cut_in, cut_out in cut_points(plan, handles_s=handles_s)}
    for choice in plan.choices:
        line_in, line_out = to_frame(choice.start_s, rate), to_frame(choice.end_s, rate)
        if choice.take is None:
            holes.append(Hole(choice.line_index, choice.text, line_in, line_out, "no usable take covers this line"))
            continue
        take = choice.take
        offset = to_frame(take.song_start_s, rate)
        take_frames = max(0, math.floor(exact_seconds(take.duration_s) * rate))
        cut_in, cut_out = cut_of[choice.line_index]
        record_in = max(to_frame(cut_in, rate), offset, 0, position)
        record_out = min(to_frame(cut_out, rate), offset + take_frames, song_frames)
        if record_out <= record_in:
            holes.append(Hole(choice.line_index, choice.text, line_in, line_out,
                              f"{take.name} leaves no whole frame of this line"))
            continue
        clips.append(ClipCut(choice, record_in, record_out, record_in - offset, take_frames))
        position = record_out
    return FrameCut(rate=rate, song_frames=song_frames, clips=clips, holes=holes)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def clean_name(text: str) -> str:
    """``text`` on one line: control characters (newlines, tabs…) become one space.

    Names go into single-line fields (an EDL comment, a bin column); a newline there would
    start a new event line in an EDL.
    """
    return " ".join(_CONTROL.sub(" ", str(text)).split())


def clip_name(choice: LineChoice) -> str:
    """The name of a line's clip in every edit list: ``L07 take03`` (line number, take's file name without suffix)."""
    return clean_name(f"L{choice.line_index + 1:02d} {Path(choice.take.name).stem}")


def build_timeline(plan: EditPlan, *, handles_s: float = 0.5, cut: Optional[FrameCut] = None):
    """The OpenTimelineIO timeline of the plan (see module docstring), from :func:`frame_cut`."""
    import opentimelineio as otio

    from lipcoach import __version__
    from lipcoach.fileio import WRITTEN_BY

    cut = cut or frame_cut(plan, handles_s=handles_s)
    rate = float(cut.rate)

    def frames(n: int):
        return otio.opentime.RationalTime(n, rate)

    def span(start: int, duration: int):
        return otio.opentime.TimeRange(frames(start), frames(duration))

    timeline = otio.schema.Timeline(name=clean_name(f"{plan.title} (lipcoach best takes)"))
    timeline.global_start_time = frames(0)
    video = otio.schema.Track(name="V1 best take per line", kind=otio.schema.TrackKind.Video)
    position = 0  # frames on the timeline (= song time)
    for clip_cut in cut.clips:
        choice, take = clip_cut.choice, clip_cut.choice.take
        if clip_cut.record_in > position:
            video.append(otio.schema.Gap(source_range=span(0, clip_cut.record_in - position)))
        media = otio.schema.ExternalReference(target_url=Path(take.path).resolve().as_uri(),
                                              available_range=span(0, clip_cut.take_frames))
        media.name = clean_name(take.name)
        clip = otio.schema.Clip(name=clip_name(choice),
                                media_reference=media, source_range=span(clip_cut.source_in, clip_cut.frames))
        clip.metadata["lipcoach"] = {"line": choice.line_index, "text": choice.text, "take_id": take.id, "take": take.name,
                                     "line_score": choice.score, "pinned": choice.pinned, "confirmed": choice.confirmed,
                                     "take_song_start_s": take.song_start_s}
        if not choice.confirmed:
            clip.markers.append(otio.schema.Marker(name="lip-sync not confirmed: check by eye",
                                                   marked_range=span(clip_cut.source_in, 1),
                                                   color=otio.schema.MarkerColor.RED))
        video.append(clip)
        position = clip_cut.record_out
    if cut.song_frames > position:  # the picture runs as long as the song, black where no take covers it
        video.append(otio.schema.Gap(source_range=span(0, cut.song_frames - position)))
    for hole in cut.holes:
        marker = otio.schema.Marker(name=clean_name(f"no take: line {hole.line_index + 1}"),
                                    marked_range=span(hole.record_in, max(1, hole.record_out - hole.record_in)),
                                    color=otio.schema.MarkerColor.RED)
        marker.metadata["lipcoach"] = {"line": hole.line_index, "text": hole.text, "reason": hole.reason}
        video.markers.append(marker)
    audio = otio.schema.Track(name="A1 song", kind=otio.schema.TrackKind.Audio)
    song_ref = otio.schema.ExternalReference(target_url=Path(plan.song_path).resolve().as_uri(),
                                             available_range=span(0, cut.song_frames))
    song_ref.name = clean_name(Path(plan.song_path).name)
    if cut.song_frames > 0:
        audio.append(otio.schema.Clip(name=clean_name(f"{plan.title} (song)"), media_reference=song_ref,
                                      source_range=span(0, cut.song_frames)))
    timeline.tracks.append(video)
    timeline.tracks.append(audio)
    timeline.metadata["lipcoach"] = {
        "generator": f"{WRITTEN_BY} {__version__}", "number": plan.number_slug, "handles_s": handles_s,
        "rate": f"{cut.rate.numerator}/{cut.rate.denominator}",
        "lines_without_take": [h.line_index for h in cut.holes],
        "holes": [{"line": h.line_index, "text": h.text, "reason": h.reason} for h in cut.holes],
        "lines_unconfirmed": [c.line_index for c in plan.choices if c.take is not None and not c.confirmed]}
    return timeline


def write_edit(plan: EditPlan, path: str | os.PathLike, *, fmt: Optional[str] = None, handles_s: float = 0.5) -> Path:
    """Write the plan's timeline to ``path`` in ``fmt`` (default: from the suffix), whole or not at all.

    The list is written to a temporary file beside ``path``, flushed to disk, its size
    checked, and read back with OpenTimelineIO's own adapter for the format, which must give
    the same clips (names, source and record ranges); only then is it renamed over
    ``path``. On any failure ``path`` is left as it was and one line says why.
    """
    from lipcoach.fileio import atomic_path, os_error_line

    path = Path(path)
    fmt = edit_format(path, fmt)
    try:
        with atomic_path(path) as tmp:
            stage_edit(plan, tmp, fmt=fmt, handles_s=handles_s, target=path)
    except OSError as exc:
        raise LipcoachError(path, os_error_line(exc)) from None
    return path


def stage_edit(plan: EditPlan, tmp: Path, *, fmt: str, handles_s: float, target: Path) -> FrameCut:
    """Write the plan's edit list in ``fmt`` to ``tmp`` and check it reads back as the cut (messages name ``target``)."""
    handles_s = check_handles(handles_s)
    cut = frame_cut(plan, handles_s=handles_s)
    timeline = build_timeline(plan, handles_s=handles_s, cut=cut)
    if fmt in ("edl", "fcp7xml") and cut.rate not in TIMECODE_RATES:
        raise LipcoachError(target, f"the takes run at {float(cut.rate):g} frames/s, which has no SMPTE timecode; "
                                    f"an {fmt} cannot hold them (write .otio, .fcpxml or .aaf)")
    try:
        _WRITERS[fmt](timeline, cut, plan, tmp)
    except (OSError, LipcoachError):
        raise
    except Exception as exc:  # an adapter's own refusal, e.g. something this format cannot express
        raise LipcoachError(target, f"the {fmt} writer cannot write this edit ({type(exc).__name__}: "
                                    f"{clean_name(str(exc))[:120]}); nothing was replaced") from None
    _check_written(tmp, fmt, cut, target)
    return cut


def _write_otio(timeline, cut: FrameCut, plan: EditPlan, tmp: Path) -> None:
    import opentimelineio as otio

    from lipcoach.fileio import write_bytes_whole

    write_bytes_whole(tmp, otio.adapters.write_to_string(timeline, "otio_json").encode("utf-8"))


def _timecode(frame: int, rate: Fraction) -> str:
    """SMPTE timecode of ``frame`` (seconds, ``12.480s``, at a rate that has no timecode)."""
    import opentimelineio as otio

    if rate not in TIMECODE_RATES:
        return f"{float(frame / rate):.3f}s"
    return otio.opentime.to_timecode(otio.opentime.RationalTime(frame, float(rate)), float(rate))


def _reel_names(cut: FrameCut) -> dict[int, str]:
    """A CMX 3600 reel name per take (8 letters or digits at most), different for different takes."""
    reels: dict[int, str] = {}
    for clip_cut in cut.clips:
        take = clip_cut.choice.take
        if take.id in reels:
            continue
        reel = re.sub(r"[^A-Za-z0-9]", "", Path(take.name).stem)[:8] or "TAKE"
        if reel in reels.values():
            tag = f"T{take.id}"
            reel = reel[:8 - len(tag)] + tag
        reels[take.id] = reel
    return reels


def _write_edl(timeline, cut: FrameCut, plan: EditPlan, tmp: Path) -> None:
    """CMX 3600: the video track only (the song is a separate reel the editor lays under it).

    After OpenTimelineIO's writer: an FCM line, the holes and lipcoach's mark as comments
    after the last event (a reader allows no comment before the first), and for an edit with
    no clip at all one black (BL) event the length of the song that carries them.
    """
    import opentimelineio as otio

    from lipcoach.fileio import WRITTEN_BY, write_bytes_whole

    timeline.tracks[:] = [timeline.tracks[0]]
    reels = _reel_names(cut)
    for clip in timeline.find_clips():
        clip.metadata["cmx_3600"] = {"reel": reels[clip.metadata["lipcoach"]["take_id"]]}
    text = otio.adapters.write_to_string(timeline, "cmx_3600", rate=float(cut.rate)) if cut.clips else \
        f"TITLE: {timeline.name}\n\n"
    drop = any(";" in _timecode(f, cut.rate) for f in (cut.song_frames, 1800, 18000))
    title, _, events = text.partition("\n")
    lines = [title, f"FCM: {'DROP FRAME' if drop else 'NON-DROP FRAME'}"]
    if cut.clips:
        lines += events.strip("\n").splitlines()
    else:
        start, end = _timecode(0, cut.rate), _timecode(cut.song_frames, cut.rate)
        lines.append(f"001  BL       V     C        {start} {end} {start} {end}")
    for hole in cut.holes:
        lines.append(f"* LIPCOACH NO TAKE FOR LINE {hole.line_index + 1}: {_timecode(hole.record_in, cut.rate)} "
                     f"{_timecode(hole.record_out, cut.rate)} {clean_name(hole.text)} ({hole.reason})")
    lines.append(f"* {WRITTEN_BY}: {clean_name(plan.number_slug)}, {len(cut.clips)} clips, "
                 f"{len(cut.holes)} lines without a take")
    write_bytes_whole(tmp, ("\n".join(lines) + "\n").encode("utf-8"))


#: Stands in for an apostrophe in names while OpenTimelineIO's FCPXML writer runs: it looks
#: names up with XPath predicates quoted in apostrophes, which one in a name breaks.
_APOSTROPHE = "\ue000"


def _xml_comment(cut: FrameCut, plan: EditPlan) -> str:
    from lipcoach.fileio import WRITTEN_BY

    parts = [f"{WRITTEN_BY}: {plan.number_slug}, {len(cut.clips)} clips"]
    parts += [f"no take for line {h.line_index + 1} ({_timecode(h.record_in, cut.rate)}-{_timecode(h.record_out, cut.rate)}): "
              f"{h.text} ({h.reason})" for h in cut.holes]
    body = "\n     ".join(clean_name(p) for p in parts).replace("--", "- -")
    return "<!-- " + body.replace("<", "&lt;") + " -->"


def _with_comment(xml: str, comment: str) -> str:
    """``xml`` with ``comment`` after its declaration (or first)."""
    if xml.startswith("<?xml"):
        end = xml.index("?>") + 2
        return xml[:end] + "\n" + comment + xml[end:]
    return comment + "\n" + xml


#: The frame rate OpenTimelineIO's FCPXML writer is run at (it knows a few rates only, and
#: writes NTSC ones inexactly); :func:`_retime_fcpxml` then puts the times at the edit's rate.
FCPXML_CARRIER_RATE = 25

_FCPXML_TIME = re.compile(r'\b(offset|duration|start|frameDuration)="(\d+)(?:/(\d+))?s"')


def _retime_fcpxml(xml: str, rate: Fraction) -> str:
    """Times written at :data:`FCPXML_CARRIER_RATE` (whole frames) as exact times at ``rate``."""
    def retime(match: re.Match) -> str:
        frames = Fraction(int(match.group(2)), int(match.group(3) or 1)) * FCPXML_CARRIER_RATE
        if frames.denominator != 1:
            raise ValueError(f"time {match.group(0)} is not on a frame")
        value = frames / rate
        text = f"{value.numerator}s" if value.denominator == 1 else f"{value.numerator}/{value.denominator}s"
        return f'{match.group(1)}="{text}"'

    return _FCPXML_TIME.sub(retime, xml)


def _write_fcpxml(timeline, cut: FrameCut, plan: EditPlan, tmp: Path) -> None:
    """FCPXML: OpenTimelineIO's writer run at a rate it knows, then every time set exactly at the edit's rate."""
    import opentimelineio as otio

    from lipcoach.fileio import write_bytes_whole

    timeline = build_timeline(plan, handles_s=timeline.metadata["lipcoach"]["handles_s"],
                              cut=dataclasses.replace(cut, rate=Fraction(FCPXML_CARRIER_RATE)))
    items = [timeline, *timeline.tracks, *timeline.find_clips()]
    for item in items:
        item.name = item.name.replace(_APOSTROPHE, "").replace("'", _APOSTROPHE)
        ref = getattr(item, "media_reference", None)
        if ref is not None and ref.name:
            ref.name = ref.name.replace(_APOSTROPHE, "").replace("'", _APOSTROPHE)
    xml = otio.adapters.write_to_string(timeline, "fcpx_xml").replace(_APOSTROPHE, "&apos;")
    xml = _retime_fcpxml(_ASSET.sub(_asset_named_after_its_file, xml), cut.rate)
    sizes = {take_frame_size(c.choice.take.path) for c in cut.clips}
    if len(sizes) == 1 and None not in sizes:  # one picture size for the project: say it (FCP reads it from the format)
        (width, height), = sizes
        xml = re.sub(r'<format id="([^"]*)" frameDuration="([^"]*)"',
                     lambda m: f'{m.group(0)} width="{width}" height="{height}"', xml)
    write_bytes_whole(tmp, _with_comment(xml, _xml_comment(cut, plan)).encode("utf-8"))


#: An FCPXML asset as OpenTimelineIO writes it: named after the first clip cut from it.
_ASSET = re.compile(r'<asset name="[^"]*" src="([^"]*)"')


def _asset_named_after_its_file(match: re.Match) -> str:
    """An FCPXML asset named after its media file (``take03.mp4``), not after the first clip cut from it."""
    from urllib.parse import unquote
    from xml.sax.saxutils import escape

    src = match.group(1)
    name = clean_name(unquote(src.rsplit("/", 1)[-1]))
    return f'<asset name="{escape(name, {chr(34): "&quot;", chr(39): "&apos;"})}" src="{src}"'


def _write_fcp7xml(timeline, cut: FrameCut, plan: EditPlan, tmp: Path) -> None:
    import opentimelineio as otio

    from lipcoach.fileio import write_bytes_whole

    xml = otio.adapters.write_to_string(timeline, "fcp_xml")
    write_bytes_whole(tmp, _with_comment(xml, _xml_comment(cut, plan)).encode("utf-8"))


def _mob_id(key: str) -> str:
    """A stable AAF MobID (URN) from ``key``, so Avid relinks the same clip across exports."""
    import hashlib
    import uuid

    from aaf2.mobid import UniqueMobID

    mob_id = UniqueMobID()
    mob_id.material = uuid.UUID(hex=hashlib.sha256(key.encode("utf-8")).hexdigest()[:32])
    return mob_id.urn


def take_frame_size(path: str | os.PathLike) -> Optional[tuple[int, int]]:
    """(width, height) of a take's picture as stored, pixels, from its container; None when unreadable."""
    from lipcoach.media.decode import probe

    try:
        info = probe(path)
    except LipcoachError:
        return None
    return (info.width, info.height) if info.has_video and info.width > 0 and info.height > 0 else None


def _write_aaf(timeline, cut: FrameCut, plan: EditPlan, tmp: Path) -> None:
    """AAF: one master clip per clip of the edit (so each keeps its own name: ``L30 juno-wide``),
    its MobID stable from the take and the line; the take's own frame size; the line, lyric and
    take as the master clip's comments; the holes as the sequence's comments.
    """
    import opentimelineio as otio

    from lipcoach.fileio import WRITTEN_BY

    sizes: dict[str, Optional[tuple[int, int]]] = {}
    for clip in timeline.video_tracks()[0].find_clips():
        meta = clip.metadata["lipcoach"]
        take = next(c.choice.take for c in cut.clips if c.choice.line_index == meta["line"])
        clip.metadata["AAF"] = {
            "MobID": _mob_id(f"{clip.media_reference.target_url}#line{meta['line']}"),
            "UserComments": {"Take": clean_name(take.name), "Line": str(meta["line"] + 1), "Lyric": clean_name(meta["text"]),
                             "Line score": f"{meta['line_score']:.0f}",
                             "Lip-sync": "confirmed" if meta["confirmed"] else "not confirmed: check by eye"}}
        if take.path not in sizes:
            sizes[take.path] = take_frame_size(take.path)
        size = sizes[take.path]
        if size is not None:
            width, height = size
            ratio = Fraction(width, height)
            clip.media_reference.metadata["AAF"] = {"EssenceDescription": {
                "StoredWidth": width, "StoredHeight": height, "ImageAspectRatio": f"{ratio.numerator}/{ratio.denominator}"}}
    for clip in timeline.audio_tracks()[0].find_clips() if timeline.audio_tracks() else []:
        clip.metadata["AAF"] = {"MobID": _mob_id(clip.media_reference.target_url)}
    comments = {"Generator": WRITTEN_BY, "Number": clean_name(plan.number_slug)}
    if cut.holes:
        comments["No take"] = "; ".join(clean_name(f"line {h.line_index + 1}: {h.text}") for h in cut.holes)
    missing = sorted(Path(p).name for p, size in sizes.items() if size is None)
    if missing:
        comments["Frame size unknown"] = clean_name(", ".join(missing))
        note = (f"AAF: cannot read the frame size of {', '.join(missing)} (file moved or unreadable); "
                "its clips are declared 1920x1080")
        if note not in plan.notes:
            plan.notes.append(note)
    timeline.metadata["AAF"] = {"UserComments": comments}
    try:
        otio.adapters.write_to_file(timeline, str(tmp), adapter_name="AAF")
    except BaseException:
        import gc

        gc.collect()  # pyaaf2 leaves its file open when saving fails (a full disk): let go of the handle now
        raise


_WRITERS = {"otio": _write_otio, "edl": _write_edl, "fcpxml": _write_fcpxml, "fcp7xml": _write_fcp7xml, "aaf": _write_aaf}


def read_edit(path: str | os.PathLike, fmt: str, *, rate: float):
    """Read an edit list back with OpenTimelineIO's own adapter for ``fmt`` (an EDL needs its ``rate``)."""
    import opentimelineio as otio

    adapter = FORMATS[fmt][0]
    return otio.adapters.read_from_file(str(path), adapter_name=adapter, **({"rate": rate} if fmt == "edl" else {}))


def listed_clips(timeline, rate: float) -> list[tuple[str, int, int, int]]:
    """(name, source in, frames, record in) of the media clips of the first video track, in frames at ``rate``.

    Black (generator) events of an EDL are not clips of the edit. The record frame is
    counted from the timeline's start (an EDL read back starts at its first event).
    """
    import opentimelineio as otio

    video = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video]
    if not video:
        return []
    out = []
    for clip in video[0].find_clips():
        if isinstance(clip.media_reference, otio.schema.GeneratorReference):
            continue
        source = clip.source_range or clip.available_range()
        record = clip.range_in_parent().start_time
        out.append((clip.name, round(source.start_time.rescaled_to(rate).value), round(source.duration.rescaled_to(rate).value),
                    round(record.rescaled_to(rate).value)))
    return out


def _check_written(tmp: Path, fmt: str, cut: FrameCut, target: Path) -> None:
    """Read the written list back and compare it with the cut it was written from; raise if it differs."""
    rate = float(cut.rate)
    try:
        back = read_edit(tmp, fmt, rate=rate)
    except OSError:
        raise
    except Exception as exc:  # an adapter's own errors: the file is not what it must be
        raise LipcoachError(target, f"the {fmt} list written does not read back ({type(exc).__name__}: "
                                    f"{clean_name(str(exc))[:120]}); the previous file is kept") from None
    got = sorted(listed_clips(back, rate), key=lambda g: g[3])
    first_record = cut.clips[0].record_in if cut.clips else 0
    want = [(clip_name(c.choice), c.source_in, c.frames, c.record_in - (first_record if fmt == "edl" else 0))
            for c in cut.clips]
    slack, exact = 0, True
    if fmt == "fcpxml":
        # OpenTimelineIO's FCPXML reader turns times into frames through floats (116/25 s reads as
        # 115 frames) and rates into whole numbers (29.97 → 29): it must read the same clips, a
        # frame short at most at whole rates; the times themselves are checked exactly here.
        slack = 1 if cut.rate.denominator == 1 else None
        try:
            exact = fcpxml_spine_clips(tmp, cut.rate) == want
        except (ValueError, SyntaxError):  # a time off the frame grid, or not XML (ParseError)
            exact = False
    same = exact and len(got) == len(want) and all(
        g[0] == w[0] and (slack is None or all(abs(a - b) <= slack for a, b in zip(g[1:], w[1:])))
        for g, w in zip(got, want))
    if not same:
        raise LipcoachError(target, f"the {fmt} list written does not read back as the edit ({len(got)} clips read "
                                    f"for {len(want)}, or at other frames); the previous file is kept")


def fcpxml_spine_clips(path: str | os.PathLike, rate: Fraction) -> list[tuple[str, int, int, int]]:
    """(name, source in, frames, record in) of the clips of an FCPXML project's spine, exactly (rational times)."""
    import xml.etree.ElementTree as ET

    def frames(value: Optional[str]) -> int:
        if not value or value == "0s":
            return 0
        num, _, den = value.removesuffix("s").partition("/")
        exact = Fraction(int(num), int(den or 1)) * rate
        if exact.denominator != 1:
            raise ValueError(f"time {value} is not on a frame")
        return int(exact)

    root = ET.parse(path).getroot()
    return [(clip.get("name", ""), frames(clip.get("start")), frames(clip.get("duration")), frames(clip.get("offset")))
            for clip in root.iterfind(".//project/sequence/spine/clip")]


def edit_is_ours(path: str | os.PathLike) -> bool:
    """True when ``path`` is an edit list or contact sheet lipcoach wrote (it may be replaced without --force).

    Text formats carry :data:`lipcoach.fileio.WRITTEN_BY` (see :func:`written_by_lipcoach`);
    an AAF file holds it as a UTF-16 comment of its sequence.
    """
    from lipcoach.fileio import WRITTEN_BY, written_by_lipcoach

    if written_by_lipcoach(path):
        return True
    p = Path(path)
    if p.suffix.lower() != ".aaf" or not p.is_file() or p.stat().st_size > AAF_MARK_SCAN_BYTES:
        return False
    return WRITTEN_BY.encode("utf-16-le") in p.read_bytes()


#: Largest AAF file searched whole for lipcoach's mark, bytes (an edit list is tens of KB).
AAF_MARK_SCAN_BYTES = 64 * 1024 * 1024
