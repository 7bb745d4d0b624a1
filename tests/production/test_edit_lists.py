"""Every edit list `edit` writes, read back by OpenTimelineIO's own adapter (and pycmx for the EDL).

The plans here are made by hand on short generated takes (480×480, 25 fps), so each case is
exact: a clip placed on a half frame, a take that ends inside a frame, names with quotes and
newlines, an edit with no clip at all, a disk that fills up.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

from lipcoach.errors import LipcoachError
from lipcoach.production.edit import EditPlan, LineChoice, TakeInfo
from lipcoach.production.edit_lists import (FORMATS, check_handles, fcpxml_spine_clips, frame_cut, listed_clips, read_edit,
                                            write_edit)

RATE = 25
TAKE_S = 10.0
SONG_S = 12.0
#: (index, text, start_s, end_s): four lines of a 12 s number.
LINES = [(0, "first light on the water", 0.5, 2.5), (1, "second, the wind", 3.0, 5.2),
         (2, "third: we row", 6.0, 8.0), (3, "fourth and home", 9.0, 11.0)]


@pytest.fixture(scope="module")
def take_files(tmp_path_factory) -> dict[str, Path]:
    """Two short drawn-face takes, 480×480 at 25 fps (one with an apostrophe in its file name)."""
    from lipcoach.testing.faces import write_take

    folder = tmp_path_factory.mktemp("takes")
    files = {}
    for name in ("juno-wide.mp4", "o'neil-close.mp4"):
        write_take(folder / name, duration_s=TAKE_S, mouths=[lambda t: 0.5 + 0.4 * ((t * 3) % 1 > 0.5)])
        files[name] = folder / name
    return files


def _take(take_id: int, path: Path, song_start_s: float, *, name: str | None = None, duration_s: float = TAKE_S) -> TakeInfo:
    return TakeInfo(id=take_id, name=name or path.name, path=str(path), song_start_s=song_start_s, duration_s=duration_s,
                    fps=RATE, score=80.0, verdict="in_sync", line_scores={i: 80.0 - i for i, *_ in LINES},
                    hidden_lines=set())


def _plan(chosen: list, *, title: str = "Boats at Dawn") -> EditPlan:
    """A plan that cuts line k from ``chosen[k]`` (a TakeInfo, or None for a hole)."""
    takes = list({t.id: t for t in chosen if t is not None}.values())
    choices = [LineChoice(i, text, start, end, take, 80.0 if take else 0.0, False, [], confirmed=True)
               for (i, text, start, end), take in zip(LINES, chosen)]
    return EditPlan(number_slug="boats-at-dawn", title=title, song_path="/nonexistent/song.wav",
                    song_duration_s=SONG_S, takes=takes, choices=choices, notes=[])


@pytest.fixture(scope="module")
def plan(take_files) -> EditPlan:
    """Lines 1-2 from juno-wide (placed on an exact half frame), 3-4 from o'neil-close; two clips per take."""
    juno = _take(1, take_files["juno-wide.mp4"], 0.5)  # 0.5 s = 12.5 frames: the half frame of issue 16
    oneil = _take(2, take_files["o'neil-close.mp4"], 2.0)
    return _plan([juno, juno, oneil, oneil])


def _write(plan, folder: Path, fmt: str) -> Path:
    return write_edit(plan, folder / f"cut{FORMATS[fmt][1]}", fmt=fmt, handles_s=0.5)


def _pycmx_events(path: Path):
    pycmx = pytest.importorskip("pycmx")
    with open(path, encoding="utf-8") as handle:
        edl = pycmx.parse_cmx3600(handle)
    return edl, [e for e in edl.events if e._edit_statements()]


def _frames(timecode: str) -> int:
    hh, mm, ss, ff = (int(x) for x in timecode.replace(";", ":").split(":"))
    return ((hh * 60 + mm) * 60 + ss) * RATE + ff


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_each_format_reads_back_with_one_clip_per_line_inside_its_take(plan, tmp_path, fmt):
    out = _write(plan, tmp_path, fmt)
    cut = frame_cut(plan, handles_s=0.5)
    timeline = read_edit(out, fmt, rate=RATE)
    clips = listed_clips(timeline, RATE)
    assert [name for name, *_ in clips] == ["L01 juno-wide", "L02 juno-wide", "L03 o'neil-close", "L04 o'neil-close"]
    take_frames = TAKE_S * RATE
    for (name, source_in, frames, record_in), clip_cut, (_, _, start_s, end_s) in zip(clips, cut.clips, LINES):
        tolerance = 1 if fmt == "fcpxml" else 0  # OTIO's FCPXML reader truncates 116/25 s to 115 frames
        assert 0 <= source_in and source_in + frames <= take_frames  # never before or after its media
        assert abs(frames - clip_cut.frames) <= tolerance and source_in == clip_cut.source_in
        take = clip_cut.choice.take
        # The clip holds its whole line, in take time (within the half frame of rounding).
        assert source_in <= (start_s - take.song_start_s) * RATE + 0.5
        assert source_in + frames >= (end_s - take.song_start_s) * RATE - 0.5 - tolerance
    if fmt == "edl":  # an EDL carries the picture only; its record runs from the first clip to the last
        _, events = _pycmx_events(out)
        assert _frames(events[-1].edits[0].record_out) == cut.clips[-1].record_out
        assert _frames(events[0].edits[0].record_in) == cut.clips[0].record_in
    else:
        assert timeline.duration() == otio.opentime.RationalTime(SONG_S * RATE, RATE)  # the song's length
        assert [record for *_, record in clips] == [c.record_in for c in cut.clips]


def test_every_format_is_the_same_cut(plan, tmp_path):
    cuts = {}
    for fmt in FORMATS:
        clips = listed_clips(read_edit(_write(plan, tmp_path, fmt), fmt, rate=RATE), RATE)
        first = clips[0][3]
        cuts[fmt] = [(name, source_in, record - first) for name, source_in, _frames, record in clips]
    cuts["fcpxml exact"] = [(n, s, r - fcpxml_spine_clips(tmp_path / "cut.fcpxml", Fraction(RATE))[0][3])
                            for n, s, _f, r in fcpxml_spine_clips(tmp_path / "cut.fcpxml", Fraction(RATE))]
    reference = cuts["otio"]
    assert len(reference) == 4
    for fmt, found in cuts.items():
        assert found == reference, fmt


def test_a_take_placed_on_a_half_frame_never_starts_before_its_media(take_files, tmp_path):
    # Line 1 starts where the take starts, on the half frame: the clip may not begin at frame -1.
    juno = _take(1, take_files["juno-wide.mp4"], 0.5)
    late = _take(2, take_files["o'neil-close.mp4"], 1.02, duration_s=9.98)  # ends 0.5 frame into frame 275
    plan = _plan([juno, juno, late, late])
    for fmt in FORMATS:
        clips = listed_clips(read_edit(_write(plan, tmp_path, fmt), fmt, rate=RATE), RATE)
        assert len(clips) == 4, fmt
        assert clips[0][1] == 0, fmt
        assert all(s >= 0 for _, s, _, _ in clips), fmt
        assert clips[3][1] + clips[3][2] <= int(9.98 * RATE), fmt  # 249 whole frames in the take
    _, events = _pycmx_events(tmp_path / "cut.edl")
    assert events[0].edits[0].source_in == "00:00:00:00"


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_an_edit_with_no_usable_take_is_an_empty_timeline_with_its_holes(tmp_path, fmt):
    plan = _plan([None, None, None, None])
    out = _write(plan, tmp_path, fmt)
    timeline = read_edit(out, fmt, rate=RATE)
    assert listed_clips(timeline, RATE) == []
    text = out.read_bytes()
    if fmt == "otio":
        assert list(timeline.metadata["lipcoach"]["lines_without_take"]) == [0, 1, 2, 3]
        assert [m.name for m in timeline.video_tracks()[0].markers] == [f"no take: line {k}" for k in (1, 2, 3, 4)]
        assert timeline.duration().to_seconds() == SONG_S
    elif fmt == "edl":
        lines = text.decode().splitlines()
        assert sum("LIPCOACH NO TAKE FOR LINE" in ln for ln in lines) == 4
        edl, events = _pycmx_events(out)
        assert [e.edits[0].black for e in events] == [True]  # one black event the length of the song
        assert _frames(events[0].edits[0].record_out) == SONG_S * RATE
    elif fmt == "aaf":
        import aaf2

        with aaf2.open(str(out)) as f:
            (mob,) = list(f.content.compositionmobs())
            assert "line 1: first light on the water" in dict(mob.comments.items())["No take"]
    else:
        assert text.count(b"no take for line") == 4


def test_the_holes_of_a_partial_edit_are_listed_in_every_format(take_files, tmp_path):
    juno = _take(1, take_files["juno-wide.mp4"], 0.5)
    plan = _plan([juno, None, juno, None])
    for fmt in FORMATS:
        out = _write(plan, tmp_path, fmt)
        assert len(listed_clips(read_edit(out, fmt, rate=RATE), RATE)) == 2, fmt
        data = out.read_bytes()
        if fmt == "aaf":
            assert "line 2: second, the wind; line 4: fourth and home".encode("utf-16-le") in data
        elif fmt == "otio":
            timeline = otio.adapters.read_from_file(str(out))
            assert list(timeline.metadata["lipcoach"]["lines_without_take"]) == [1, 3]
        else:
            assert data.lower().count(b"no take for line") == 2, fmt


def test_aaf_clips_keep_their_own_names_and_the_takes_frame_size(plan, tmp_path):
    import aaf2

    out = _write(plan, tmp_path, "aaf")
    names = [name for name, *_ in listed_clips(read_edit(out, "aaf", rate=RATE), RATE)]
    assert names == ["L01 juno-wide", "L02 juno-wide", "L03 o'neil-close", "L04 o'neil-close"]
    with aaf2.open(str(out)) as f:
        sizes = {(d["StoredWidth"].value, d["StoredHeight"].value, Fraction(str(d["ImageAspectRatio"].value)))
                 for m in f.content.sourcemobs() for d in [m.descriptor] if "StoredWidth" in d.keys()}
        comments = {m.name: dict(m.comments.items()) for m in f.content.mastermobs()}
    assert sizes == {(480, 480, 1)}
    assert comments["L02 juno-wide"]["Line"] == "2" and comments["L02 juno-wide"]["Take"] == "juno-wide.mp4"


def test_xml_specials_in_titles_and_names_survive_both_fcp_formats(take_files, tmp_path):
    title = "Juno's \"Boats\" <at> Dawn & Dusk"
    juno = _take(1, take_files["juno-wide.mp4"], 0.5)
    oneil = _take(2, take_files["o'neil-close.mp4"], 2.0)
    plan = _plan([juno, juno, oneil, oneil], title=title)
    for fmt in ("fcpxml", "fcp7xml", "otio", "aaf"):
        timeline = read_edit(_write(plan, tmp_path, fmt), fmt, rate=RATE)
        assert timeline.name == f"{title} (lipcoach best takes)", fmt
        assert [n for n, *_ in listed_clips(timeline, RATE)][2] == "L03 o'neil-close", fmt


def test_a_newline_in_a_take_name_cannot_add_an_edl_event(take_files, tmp_path):
    # A take called "x\n002  BL V C ..." must stay a name: one event per clip, names on one line.
    evil = "juno\n002  EVIL     V     C        00:00:00:00 00:00:09:00 00:00:00:00 00:00:09:00\n.mp4"
    juno = _take(1, take_files["juno-wide.mp4"], 0.5, name=evil)
    oneil = _take(2, take_files["o'neil-close.mp4"], 2.0)
    plan = _plan([juno, juno, oneil, oneil], title="Boats\n003  BL V C")
    out = _write(plan, tmp_path, "edl")
    edl, events = _pycmx_events(out)
    assert len(events) == 4 and not list(edl.unrecognized_statements)
    assert {e.edits[0].source for e in events} == {"juno002E", "oneilclo"}  # one reel per take
    assert "EVIL" not in {e.edits[0].source for e in events}
    assert edl.title.startswith("Boats 003")
    assert len(listed_clips(read_edit(out, "edl", rate=RATE), RATE)) == 4


def test_takes_whose_names_share_eight_letters_get_different_reels(take_files, tmp_path):
    a = _take(1, take_files["juno-wide.mp4"], 0.5, name="juno-wide-take-01.mp4")
    b = _take(2, take_files["o'neil-close.mp4"], 2.0, name="juno-wide-take-02.mp4")
    _, events = _pycmx_events(_write(_plan([a, a, b, b]), tmp_path, "edl"))
    reels = [e.edits[0].source for e in events]
    assert reels[0] == reels[1] and reels[2] == reels[3] and reels[0] != reels[2]


@pytest.mark.parametrize("handles", [float("nan"), float("inf"), -5, 61, "abc"])
def test_unusable_handles_are_refused(handles):
    with pytest.raises(LipcoachError, match="--handles"):
        check_handles(handles)


def test_a_short_write_keeps_the_old_edit_list(plan, tmp_path, monkeypatch):
    import lipcoach.fileio as fileio

    out = _write(plan, tmp_path, "otio")
    good = out.read_bytes()
    real_open = open

    class HalfWritten:
        """A file whose write stops half-way and says nothing, as a full disk under a careless writer."""

        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            return len(data)

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    monkeypatch.setattr(fileio, "open", lambda path, mode="r", *a, **k: HalfWritten(real_open(path, mode, *a, **k)),
                        raising=False)
    other = _plan([None, None, None, None])
    with pytest.raises(LipcoachError, match="disk is full"):
        write_edit(other, out, fmt="otio")
    assert out.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.otio"]  # no temporary file left


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs (needs root and a kernel that lets us mount; skipped otherwise)."""
    folder = tmp_path / "small"
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)  # a writer's handle still open


@pytest.mark.parametrize("fmt", ["otio", "aaf", "fcp7xml"])
def test_a_near_full_disk_fails_in_one_line_and_keeps_the_old_file(plan, small_disk, fmt):
    out = _write(plan, small_disk, fmt)
    good = out.read_bytes()
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    filler = small_disk / "filler.bin"
    with open(filler, "wb") as handle:  # leave a third of the list's size free
        handle.write(b"\0" * max(0, free - len(good) // 3))
    with pytest.raises(LipcoachError) as caught:
        write_edit(plan, out, fmt=fmt)
    assert "disk is full" in str(caught.value) and "\n" not in str(caught.value)
    assert out.read_bytes() == good
    assert sorted(p.name for p in small_disk.iterdir()) == sorted([out.name, "filler.bin"])


def test_fcpxml_assets_are_named_after_their_files(plan, tmp_path):
    import xml.etree.ElementTree as ET

    root = ET.parse(_write(plan, tmp_path, "fcpxml")).getroot()
    assert sorted(a.get("name") for a in root.iterfind("./resources/asset")) == ["juno-wide.mp4", "o'neil-close.mp4", "song.wav"]
    assert [(f.get("width"), f.get("height")) for f in root.iterfind("./resources/format")] == [("480", "480")]


@pytest.mark.parametrize("fps, rate", [(24000 / 1001, Fraction(24000, 1001)), (29.97, Fraction(30000, 1001)),
                                       (29.92, Fraction(30000, 1001)), (59.94, Fraction(60000, 1001)), (50.0, 50)])
def test_ntsc_and_phone_rates_cut_on_the_timecode_rate_in_every_format(take_files, tmp_path, fps, rate):
    import dataclasses

    juno = dataclasses.replace(_take(1, take_files["juno-wide.mp4"], 0.5), fps=fps)
    oneil = dataclasses.replace(_take(2, take_files["o'neil-close.mp4"], 2.0), fps=fps)
    plan = _plan([juno, juno, oneil, oneil])
    cut = frame_cut(plan)
    assert cut.rate == rate
    want = [(c.source_in, c.frames) for c in cut.clips]
    for fmt in FORMATS:
        clips = listed_clips(read_edit(_write(plan, tmp_path, fmt), fmt, rate=float(rate)), float(rate))
        assert len(clips) == 4, fmt
        if fmt == "fcpxml":  # OTIO's reader takes 29.97 for 29: read the times exactly
            clips = fcpxml_spine_clips(tmp_path / "cut.fcpxml", rate)
        assert [(s, n) for _, s, n, _ in clips] == want, fmt
    if rate in (Fraction(30000, 1001), Fraction(60000, 1001)):
        edl, events = _pycmx_events(tmp_path / "cut.edl")
        assert ";" in events[0].edits[0].record_out  # drop-frame timecode, as the FCM line says
        assert "FCM: DROP FRAME" in (tmp_path / "cut.edl").read_text()


def test_a_rate_without_timecode_is_refused_by_timecode_formats_only(take_files, tmp_path):
    import dataclasses

    juno = dataclasses.replace(_take(1, take_files["juno-wide.mp4"], 0.5), fps=12.5)
    plan = _plan([juno, juno, None, None])
    for fmt in ("edl", "fcp7xml"):
        with pytest.raises(LipcoachError, match="12.5 frames/s, which has no SMPTE timecode"):
            _write(plan, tmp_path, fmt)
    for fmt in ("otio", "fcpxml", "aaf"):
        assert len(listed_clips(read_edit(_write(plan, tmp_path, fmt), fmt, rate=12.5), 12.5)) == 2, fmt


@pytest.mark.parametrize("fmt", ["edl", "fcpxml", "otio"])
def test_a_list_that_does_not_read_back_as_the_cut_is_never_kept(plan, tmp_path, monkeypatch, fmt):
    from lipcoach.production import edit_lists

    out = _write(plan, tmp_path, fmt)
    good = out.read_bytes()
    real = edit_lists._WRITERS[fmt]

    def off_by_a_frame(timeline, cut, plan, tmp):  # a writer that loses one clip's last frame
        import dataclasses

        clip = list(timeline.video_tracks()[0].find_clips())[1]
        clip.source_range = otio.opentime.TimeRange(clip.source_range.start_time,
                                                    clip.source_range.duration - otio.opentime.RationalTime(1, RATE))
        clips = list(cut.clips)  # the FCPXML writer works from the frames themselves
        clips[1] = dataclasses.replace(clips[1], record_out=clips[1].record_out - 1)
        real(timeline, dataclasses.replace(cut, clips=clips), plan, tmp)

    monkeypatch.setitem(edit_lists._WRITERS, fmt, off_by_a_frame)
    with pytest.raises(LipcoachError, match="does not read back as the edit"):
        write_edit(plan, out, fmt=fmt)
    assert out.read_bytes() == good and sorted(p.name for p in tmp_path.iterdir()) == [out.name]
