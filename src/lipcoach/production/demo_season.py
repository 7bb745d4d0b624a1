"""The demo season: generated songs (the synthetic singer) and a season file with one number of each kind.

Nothing here is third-party material. Four recordings are generated: "Paper Boats" (96 BPM,
in A), "Hold Your Breath" (120 BPM, shifted down to G), a second, slower recording of
"Paper Boats" (84 BPM, another voice seed) and an original. Their song maps are written from
the generator's exact truth (words, breaths, beats, entrances; phonemes from the
pronunciation dictionary), so building and scoring the demo needs no alignment run.
"""

from __future__ import annotations

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


def write_demo_season(folder: str | os.PathLike, *, n_lines: Optional[int] = None,
                      report: Optional[ProgressCallback] = None) -> Path:
    """Generate the demo songs, their maps and ``season.yaml`` into ``folder``; return the season file.

    ``n_lines`` keeps only the first lines of each song (short fixtures for tests).
    """
    from lipcoach.fileio import write_text_atomic
    from lipcoach.media.stretch import stretch_and_shift
    from lipcoach.testing.synthetic_song import make_song

    report = report or silent
    folder = Path(folder)
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


def run_demo_production(out_dir: str | os.PathLike, *, report: Optional[ProgressCallback] = None) -> dict[str, Path]:
    """The whole desk on the demo season: generate, import, build every number, shoot and score
    takes of the mashup and the duet, and cut the mashup (OTIO, EDL, FCP XML, AAF, contact sheet).

    Returns the paths written, by name. Takes with a negative ``duration_s`` in
    :data:`DEMO_TAKES` run to that many seconds before the end of the number.
    """
    from lipcoach.media.decode import load_audio
    from lipcoach.production.build import build_number
    from lipcoach.production.catalogue import Catalogue, Song
    from lipcoach.production.contact_sheet import write_contact_sheet
    from lipcoach.production.dailies import run_dailies
    from lipcoach.production.edit import FORMATS, cut_number, write_edit
    from lipcoach.production.season import import_season, read_season
    from lipcoach.progress import subrange

    report = report or silent
    out = Path(out_dir)
    season = write_demo_season(out / "season", report=subrange(report, 0.0, 0.15))
    cat = Catalogue(out / "data")
    import_season(cat, season)
    numbers = [n.slug for ep in read_season(season).episodes for n in ep.numbers]
    built = {}
    for k, slug in enumerate(numbers):
        report(0.15 + 0.25 * k / len(numbers), f"building {slug}")
        built[slug] = build_number(cat, slug, force=True)
    paths = {"season.yaml": season, "data": cat.root}
    for k, (slug, plans) in enumerate(DEMO_TAKES.items()):
        result = built[slug]
        with cat.session() as s:
            song_path = cat.path("files", s.get(Song, result.song_id).audio_file)
        audio, _ = load_audio(song_path, sr=16000)
        folder = out / "takes" / slug
        folder.mkdir(parents=True, exist_ok=True)
        for seed, plan in enumerate(plans):
            plan = dict(plan)
            if plan["duration_s"] < 0:
                plan["duration_s"] = result.songmap.duration - plan["song_start_s"] + plan["duration_s"]
            write_plan_take(result.songmap, audio, TakePlan(**plan, seed=seed), folder / plan["name"])
        run_dailies(cat, folder, slug, workers=1, report=subrange(report, 0.4 + 0.25 * k, 0.4 + 0.25 * (k + 1)))
        paths[f"takes/{slug}"] = folder
    plan, paths["cut.otio"] = cut_number(cat, "boats-and-breath", out / "cut.otio")
    for fmt, (_, suffix) in FORMATS.items():
        if fmt != "otio":
            paths[f"cut{suffix}"] = write_edit(plan, out / f"cut{suffix}", fmt=fmt)
    paths["contact-sheet.html"] = out / "contact-sheet.html"
    write_contact_sheet(plan, paths["contact-sheet.html"])
    report(1.0, "done")
    return paths
