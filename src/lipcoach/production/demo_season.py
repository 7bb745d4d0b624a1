"""The demo season: generated songs (the synthetic singer) and a season file with one number of each kind.

Nothing here is third-party material. Four recordings are generated: "Paper Boats" (96 BPM,
in A), "Hold Your Breath" (120 BPM, shifted down to G), a second, slower recording of
"Paper Boats" (84 BPM, another voice seed) and an original. Their song maps are written from
the generator's exact truth (words, breaths, beats, entrances; phonemes from the
pronunciation dictionary), so building and scoring the demo needs no alignment run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from pathlib import Path
from typing import Optional

from lipcoach.progress import ProgressCallback, silent

PAPER_BOATS = """\
paper boats upon the river
carry all the words I never said
morning light across the water
every little wave will bring me home"""
HOLD_YOUR_BREATH = """\
hold your breath and count to seven
we can make the music last tonight
come and dance beside me baby
till the moon is falling from the sky"""
ORIGINAL = """\
lights are up and we are ready
every step we practised in the dark
take my hand and sing it with me
this is where the story gets its start"""

#: (id, title, lyrics, tempo BPM, seed, semitones the generated mix is shifted by, key)
DEMO_SONGS = [
    ("paper-boats", "Paper Boats", PAPER_BOATS, 96.0, 7, 0.0, "A"),
    ("hold-your-breath", "Hold Your Breath", HOLD_YOUR_BREATH, 120.0, 5, -2.0, "G"),
    ("paper-boats-slow", "Paper Boats (slow recording)", PAPER_BOATS, 84.0, 11, 0.0, "A"),
    ("lights-are-up", "Lights Are Up (original)", ORIGINAL, 100.0, 13, 0.0, "A"),
]

SEASON_YAML = """\
schema: lipcoach.season/1
id: demo
title: Paper Boats, season 1 (demo)
songs:
{songs}
episodes:
  - number: 1
    title: Pilot
    characters:
      - name: Nellie
        performer: Ana Ruiz
      - name: Sam
        performer: Ben Okafor
    numbers:
      - id: paper-boats
        title: Paper Boats
        kind: solo
        song: paper-boats
        singers: Nellie
      - id: hold-your-breath
        title: Hold Your Breath
        kind: duet
        song: hold-your-breath
        singers: [Nellie, Sam]
        lines:
          1: Nellie
          2: Sam
          3-4: [Nellie, Sam]
      - id: boats-and-breath
        title: Boats and Breath (mashup)
        kind: mashup
        tempo_bpm: 104
        key: A
        singers: [Nellie, Sam]
        sections:
          - song: paper-boats
            lines: 1-2
            singers: Nellie
          - song: hold-your-breath
            lines: 1-2
            singers: Sam
  - number: 2
    title: The River
    characters:
      - name: Nellie
        performer: Ana Ruiz
    numbers:
      - id: paper-boats-medley
        title: Paper Boats medley
        kind: medley
        tempo_bpm: 90
        singers: Nellie
        sections:
          - song: paper-boats
            lines: 1-2
          - song: paper-boats-slow
            lines: 3-4
      - id: lights-are-up
        title: Lights Are Up
        kind: original
        song: lights-are-up
        singers: Nellie
"""


def truth_songmap(song, audio_path: str | os.PathLike, *, semitones: float = 0.0):
    """A song map of a :class:`~lipcoach.testing.synthetic_song.SyntheticSong` from its exact truth."""
    from lipcoach.song.songmap import Breath, Entrance, Section
    from lipcoach.testing.clips import songmap_from_words

    starts = [min(w.start for w in song.words if w.line == i) for i in range(len(song.line_texts))]
    sm = songmap_from_words(song.vocals, sr=song.sr, words=[(w.start, w.end, w.text) for w in song.words],
                            line_breaks_s=[s - 0.01 for s in starts[1:]], source_path=str(audio_path), language=song.language)
    sm.tempo_bpm, sm.beats, sm.downbeats = song.tempo_bpm, list(song.beats), list(song.downbeats)
    for line, onset, beat in zip(sm.lines, starts, song.line_beats):
        line.entrance = Entrance.from_times(onset, beat)
    sm.breaths = [Breath(b.start, b.end, b.level_db, b.level_db > -30.0, "catch" if b.end - b.start < 0.35 else "full",
                         before_line=b.before_line) for b in song.breaths]
    sm.sections = [Section(start=0.0, end=song.duration, label="song")]
    sm.source.update({"name": Path(audio_path).name, "generator": "lipcoach synthetic singer (truth)",
                      "semitones_shifted": semitones})
    return sm


#: Files the demo writes for each song, in the song's folder.
SONG_FILES = ("mix.wav", "vocals.wav", "lyrics.txt", "truth.json", "song.json")


def demo_outputs(out_dir: str | os.PathLike, *, full: bool = False) -> list[Path]:
    """Every file ``lipcoach season demo --out out_dir`` (``--full``) writes, beside the catalogue's own files."""
    from lipcoach.production.edit import FORMATS

    out = Path(out_dir)
    season = out / "season" if full else out
    paths = [season / "season.yaml"] + [season / song[0] / name for song in DEMO_SONGS for name in SONG_FILES]
    if full:
        paths.append(out / "data" / "catalogue.sqlite")
        paths += [out / "takes" / slug / plan["name"] for slug, plans in DEMO_TAKES.items() for plan in plans]
        paths += [out / f"cut{suffix}" for _, suffix in FORMATS.values()] + [out / "contact-sheet.html"]
    return paths


def check_demo_out(out_dir: str | os.PathLike, *, full: bool = False, force: bool = False) -> None:
    """Refuse (one line naming the file) an output folder where the demo would replace a file, unless ``force``.

    A folder that is a file, or a demo file that is a folder, is refused even with ``force``.
    """
    from lipcoach.errors import LipcoachError

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise LipcoachError(out, "is not a folder; give --out a folder for the demo season")
    for path in demo_outputs(out, full=full):
        for parent in list(reversed(path.relative_to(out).parents))[1:]:
            if (out / parent).exists() and not (out / parent).is_dir():
                raise LipcoachError(out / parent, "is in the way of the demo season (it must be a folder)")
        if path.is_dir():
            raise LipcoachError(path, "is a folder where the demo writes a file")
        if not force and (path.exists() or path.is_symlink()):
            raise LipcoachError(path, "already exists; the demo never replaces a file (choose another --out, or --force)")


class _Interrupt:
    """Set by Ctrl-C or SIGTERM during :func:`undo_if_unfinished`; checked at every progress step.

    The signal also raises KeyboardInterrupt at once, but one raised inside a C callback (the
    speech synthesiser's) is swallowed there: the flag makes the next step stop instead.
    """

    def __init__(self):
        self.signalled = False

    def check(self) -> None:
        if self.signalled:
            raise KeyboardInterrupt

    def checking(self, report: ProgressCallback) -> ProgressCallback:
        def checked(fraction: float, label: str) -> None:
            self.check()
            report(fraction, label)

        return checked


@contextlib.contextmanager
def undo_if_unfinished(out_dir: str | os.PathLike, entries: list[str], *, keep: tuple[str, ...] = ()):
    """Remove what the block wrote under ``out_dir`` when it fails or is interrupted (Ctrl-C, SIGTERM).

    ``entries`` are the top-level names the block writes. A folder that did not exist is
    removed whole; in one that did, only files that were not there before go (and folders left
    empty that were made by the block), so a user's own files are never touched. Entries in
    ``keep`` that existed before are left as they are (a catalogue cleans up after itself).
    Yields an :class:`_Interrupt` whose ``checking(report)`` stops the work at its next step.
    """
    import shutil
    import signal
    import threading

    out = Path(out_dir)
    out_existed = out.exists()
    before: set[Path] = set()
    for name in entries:
        top = out / name
        if top.exists():
            before.add(top)
            if top.is_dir():
                before.update(top.rglob("*"))

    interrupt = _Interrupt()

    def interrupted(_signum, _frame):
        interrupt.signalled = True
        raise KeyboardInterrupt

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) in (signal.SIG_DFL, signal.default_int_handler):  # an ignored signal stays ignored
                previous[sig] = signal.signal(sig, interrupted)
    try:
        yield interrupt
        interrupt.check()  # interrupted in a place that swallowed the exception: still undone
    except BaseException:
        if not out_existed:
            shutil.rmtree(out, ignore_errors=True)
        else:
            for name in entries:
                top = out / name
                if (name in keep and top in before) or not (top.exists() or top.is_symlink()):
                    continue
                if top not in before:
                    if top.is_dir() and not top.is_symlink():
                        shutil.rmtree(top, ignore_errors=True)
                    else:
                        top.unlink(missing_ok=True)
                    continue
                if top.is_dir():
                    for path in sorted(top.rglob("*"), key=lambda p: len(p.parts), reverse=True):
                        if path in before:
                            continue
                        if path.is_dir() and not path.is_symlink():
                            if not any(path.iterdir()):
                                path.rmdir()
                        else:
                            path.unlink(missing_ok=True)
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def write_demo_season(folder: str | os.PathLike, *, n_lines: Optional[int] = None, force: bool = False,
                      report: Optional[ProgressCallback] = None) -> Path:
    """Generate the demo songs, their maps and ``season.yaml`` into ``folder``; return the season file.

    ``n_lines`` keeps only the first lines of each song (short fixtures for tests). A file of
    the folder is never replaced unless ``force`` (:func:`check_demo_out`), and an interrupted
    run leaves nothing behind (:func:`undo_if_unfinished`).
    """
    check_demo_out(folder, force=force)
    with undo_if_unfinished(folder, ["season.yaml"] + [song[0] for song in DEMO_SONGS]) as interrupt:
        return _write_demo_season(Path(folder), n_lines=n_lines, report=interrupt.checking(report or silent))


def _write_demo_season(folder: Path, *, n_lines: Optional[int], report: ProgressCallback) -> Path:
    from lipcoach.fileio import write_text_atomic
    from lipcoach.media.stretch import stretch_and_shift
    from lipcoach.testing.synthetic_song import make_song

    entries = []
    for k, (slug, title, lyrics, tempo, seed, shift, key) in enumerate(DEMO_SONGS):
        report(k / len(DEMO_SONGS), f"singing {title}")
        song = make_song(lyrics=lyrics, tempo_bpm=tempo, seed=seed, n_lines=n_lines, accompaniment_db=-16.0)
        if shift:
            song.mix = stretch_and_shift(song.mix, sr=song.sr, speed=1.0, semitones=shift)
            song.vocals = stretch_and_shift(song.vocals, sr=song.sr, speed=1.0, semitones=shift)
        paths = song.write(folder / slug)
        sm = truth_songmap(song, paths["mix.wav"], semitones=shift)
        sm.save(folder / slug / "song.json")
        entries.append(f"  {slug}:\n    title: {title}\n    artist: the lipcoach synthetic singer\n"
                       f"    audio: {slug}/mix.wav\n    vocals: {slug}/vocals.wav\n    lyrics: {slug}/lyrics.txt\n"
                       f"    language: en\n    key: {key}\n    map: {slug}/song.json")
    season = folder / "season.yaml"
    write_text_atomic(season, SEASON_YAML.format(songs="\n".join(entries)))
    report(1.0, "done")
    return season


@dataclasses.dataclass
class TakePlan:
    """A generated take of a number: a drawn face (or two) mouthing the song from ``song_start_s``."""

    name: str
    song_start_s: float
    duration_s: float
    late_ms: float = 0.0  #: the performer's mouth is this late on the vocal
    forget_lines: tuple[int, ...] = ()  #: 0-based lines the performer does not mouth
    hidden_lines: tuple[int, ...] = ()  #: 0-based lines during which every face is turned away
    faces: tuple[Optional[tuple[int, ...]], ...] = (None,)  #: per face, the lines it sings (None: all)
    seed: int = 0


def write_plan_take(songmap, song_audio_16k, plan: TakePlan, path: str | os.PathLike) -> Path:
    """Write the take ``plan`` of ``songmap`` (song audio at 16 kHz mono for the scratch track) to ``path``."""
    import numpy as np

    from lipcoach.testing.faces import SR, articulated_mouth, write_take

    # The drawn performer mouths the lyrics' sounds (never the vocal's level, which sync
    # measures the mouth against), takes each sound's shape and moves 30 ms ahead of it.
    shaped = articulated_mouth([(p.start, p.end, p.viseme) for w in songmap.words for p in w.phonemes],
                               start_s=plan.song_start_s, shift_s=plan.late_ms / 1000.0, lead_s=0.03)
    spans = [(ln.start - 0.15, ln.end + 0.15) for ln in songmap.lines]

    def line_at(song_t: float) -> Optional[int]:
        for index, (a, b) in enumerate(spans):
            if a <= song_t <= b:
                return index
        return None

    def face(sings: Optional[tuple[int, ...]]):
        def mouth(t: float):
            song_t = t + plan.song_start_s
            index = line_at(song_t)
            if index is not None and index in plan.hidden_lines:
                return None
            if index is not None and (index in plan.forget_lines or (sings is not None and index not in sings)):
                return 0.02
            opening, rounding = shaped(t)
            return 1.2 * opening, rounding

        return mouth

    rng = np.random.default_rng(plan.seed)
    start = int(plan.song_start_s * SR)
    scratch = 0.5 * song_audio_16k[start:start + int(plan.duration_s * SR)]
    scratch = (scratch + rng.normal(0, 0.01, scratch.size)).astype(np.float32)
    write_take(Path(path), duration_s=plan.duration_s, mouths=[face(f) for f in plan.faces], size=(640, 360),
               face_scale=0.8 if len(plan.faces) == 1 else 0.6, audio=scratch, seed=plan.seed)
    return Path(path)


#: Demo takes per number: (plan keyword arguments), placed on the built number's line times.
DEMO_TAKES = {
    "boats-and-breath": [dict(name="take01.mp4", song_start_s=1.0, duration_s=16.0),
                         dict(name="take02.mp4", song_start_s=4.0, duration_s=25.0, forget_lines=(1,)),
                         dict(name="take03.mp4", song_start_s=12.0, duration_s=18.0, late_ms=150.0)],
    "hold-your-breath": [dict(name="two-shot-01.mp4", song_start_s=1.0, duration_s=-1.5, faces=((0, 2, 3), (1, 2, 3))),
                         dict(name="two-shot-02.mp4", song_start_s=1.0, duration_s=-1.5, faces=((0, 2, 3), (2, 3)))],
}


def run_demo_production(out_dir: str | os.PathLike, *, force: bool = False,
                        report: Optional[ProgressCallback] = None) -> dict[str, Path]:
    """The whole desk on the demo season: generate, import, build every number, shoot and score
    takes of the mashup and the duet, and cut the mashup (OTIO, EDL, FCP XML, AAF, contact sheet).

    Returns the paths written, by name. Takes with a negative ``duration_s`` in
    :data:`DEMO_TAKES` run to that many seconds before the end of the number. No file of
    ``out_dir`` is replaced unless ``force`` (checked before any work), and an interrupted run
    removes what it wrote.
    """
    from lipcoach.production.edit import FORMATS

    check_demo_out(out_dir, full=True, force=force)
    entries = ["season", "data", "takes", "contact-sheet.html"] + [f"cut{suffix}" for _, suffix in FORMATS.values()]
    # An existing catalogue (--force) keeps what it committed; a new one goes whole.
    keep = ("data",) if (Path(out_dir) / "data" / "catalogue.sqlite").exists() else ()
    with undo_if_unfinished(out_dir, entries, keep=keep) as interrupt:
        return _run_demo_production(Path(out_dir), force=force, report=interrupt.checking(report or silent))


def _run_demo_production(out: Path, *, force: bool, report: ProgressCallback) -> dict[str, Path]:
    from lipcoach.media.decode import load_audio
    from lipcoach.production.build import build_number
    from lipcoach.production.catalogue import Catalogue, Song
    from lipcoach.production.contact_sheet import write_contact_sheet
    from lipcoach.production.dailies import run_dailies
    from lipcoach.production.edit import FORMATS, cut_number, write_edit
    from lipcoach.production.season import import_season, read_season
    from lipcoach.progress import subrange

    season = write_demo_season(out / "season", force=force, report=subrange(report, 0.0, 0.15))
    cat = Catalogue(out / "data")
    report(0.15, "importing the season")
    import_season(cat, season)
    numbers = [n.slug for ep in read_season(season).episodes for n in ep.numbers]
    built = {}
    for k, slug in enumerate(numbers):
        step = subrange(report, 0.17 + 0.23 * k / len(numbers), 0.17 + 0.23 * (k + 1) / len(numbers))
        built[slug] = build_number(cat, slug, force=True, report=lambda f, label, slug=slug, step=step: step(f, f"building {slug}: {label}"))
    paths = {"season.yaml": season, "data": cat.root}
    for k, (slug, plans) in enumerate(DEMO_TAKES.items()):
        result = built[slug]
        with cat.session() as s:
            song_path = cat.path("files", s.get(Song, result.song_id).audio_file)
        audio, _ = load_audio(song_path, sr=16000)
        folder = out / "takes" / slug
        folder.mkdir(parents=True, exist_ok=True)
        for seed, plan in enumerate(plans):
            report(0.4 + 0.25 * k, f"shooting {slug}/{plan['name']}")
            plan = dict(plan)
            if plan["duration_s"] < 0:
                plan["duration_s"] = result.songmap.duration - plan["song_start_s"] + plan["duration_s"]
            write_plan_take(result.songmap, audio, TakePlan(**plan, seed=seed), folder / plan["name"])
        dailies_step = subrange(report, 0.4 + 0.25 * k, 0.4 + 0.25 * (k + 1))
        run_dailies(cat, folder, slug, workers=1, report=lambda f, label, slug=slug, step=dailies_step: step(f, f"dailies of {slug}: {label}"))
        paths[f"takes/{slug}"] = folder
    report(0.9, "cutting boats-and-breath")
    plan, paths["cut.otio"] = cut_number(cat, "boats-and-breath", out / "cut.otio")
    for fmt, (_, suffix) in FORMATS.items():
        if fmt != "otio":
            paths[f"cut{suffix}"] = write_edit(plan, out / f"cut{suffix}", fmt=fmt)
    paths["contact-sheet.html"] = out / "contact-sheet.html"
    write_contact_sheet(plan, paths["contact-sheet.html"], report=subrange(report, 0.92, 1.0))
    report(1.0, "done")
    return paths
