"""Building a number's rehearsal track and its combined song map (mashups, medleys and single songs).

A number is a sequence of *sections*, each a span of whole lines of a source song. Each
section is cut on bar lines (the downbeat at or before its first line's breath, and the
first downbeat after its last word), time-stretched to the number's tempo and pitch-shifted
to its key with Rubber Band (pitch and formants kept), and joined to the next with a short
equal-power crossfade centred on the bar line. The section then occupies
``[start_s, start_s + (source_end_s - source_start_s) / speed)`` of the number, so a
source time ``t`` maps to ``start_s + (t - source_start_s) / speed``.

The **combined song map** is every word, phoneme, line, breath, beat, downbeat, onset,
entrance and loudness frame of each section mapped through that edit. Lines keep their
source song and singers in ``source["lines"]``, and the edit itself is kept in
``source["edit"]``, so the map validates as an ordinary song map (``lipcoach.songmap``) and practice,
scoring and the exports use it unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from lipcoach.errors import LipcoachError
from lipcoach.progress import ProgressCallback, silent, subrange
from lipcoach.song.songmap import Breath, Entrance, Line, Loudness, Phoneme, Section, SongMap, Word

#: Sample rate of built tracks, Hz.
BUILD_SR = 44100
#: Crossfade across each join, s of the number.
JOIN_FADE_S = 0.05
#: A section starts at least this long before its first word (room for the breath), s.
LEAD_S = 0.35
#: A section ends at least this long after its last word (the word's release), s.
TAIL_S = 0.1


@dataclasses.dataclass
class SectionCut:
    """Where a section comes from and where it lands (seconds)."""

    song: str  #: season song id
    title: str
    source_start_s: float
    source_end_s: float
    start_s: float  #: in the number
    speed: float  #: number tempo / song tempo (> 1: played faster)
    semitones: float
    first_line: int  #: 0-based, in the source song's map
    last_line: int
    singers: list[str]

    @property
    def end_s(self) -> float:
        return self.start_s + (self.source_end_s - self.source_start_s) / self.speed

    def to_number(self, t_s: float) -> float:
        """A source-song time mapped to number time, s."""
        return self.start_s + (t_s - self.source_start_s) / self.speed


@dataclasses.dataclass
class BuildResult:
    number_slug: str
    mix: np.ndarray  #: float32 (2, n) at :data:`BUILD_SR`
    vocals: Optional[np.ndarray]  #: float32 (n,) or None when a section's song has no stem
    songmap: SongMap
    lyrics_text: str
    cuts: list[SectionCut]
    join_beat_error_ms: list[float]  #: per join: beat interval across the join minus the beat period, ms
    song_id: Optional[int] = None  #: catalogue song holding the track, once stored
    map_version: Optional[int] = None


def beats_at_tempo(beats_s: list[float], downbeats_s: list[float], read_bpm: float,
                   true_bpm: float) -> tuple[list[float], list[float]]:
    """A beat grid read at a tempo octave (``read_bpm`` about twice or half ``true_bpm``) put right.

    Read at double time, every other beat is kept (the phase holding more downbeats, and the
    downbeats on it); read at half time, a beat is added midway between each pair. Any
    other ratio leaves the grid as it is. Times in s.
    """
    beats = np.asarray(beats_s, dtype=float)
    if read_bpm <= 0 or true_bpm <= 0 or beats.size < 2:
        return list(beats_s), list(downbeats_s)
    ratio = read_bpm / true_bpm
    if abs(ratio - 2.0) <= 0.2:
        down = np.asarray(downbeats_s, dtype=float)

        def on_beats(kept: np.ndarray) -> np.ndarray:
            return down[np.isin(np.round(down, 6), np.round(kept, 6))]

        phases = [beats[0::2], beats[1::2]]
        kept = max(phases, key=lambda k: on_beats(k).size)
        return [float(t) for t in kept], [float(t) for t in on_beats(kept)]
    if abs(ratio - 0.5) <= 0.05:
        mids = (beats[:-1] + beats[1:]) / 2
        return [float(t) for t in np.sort(np.concatenate([beats, mids]))], list(downbeats_s)
    return list(beats_s), list(downbeats_s)


def section_window(songmap: SongMap, first_line: int, last_line: int) -> tuple[float, float]:
    """The bar-line span (s) holding lines ``first_line..last_line`` (0-based) with their breath.

    Starts on the last downbeat at or before the first line's breath (or ``LEAD_S`` before
    its first word) and ends on the first downbeat at or after its last word plus ``TAIL_S``.
    Without downbeats the span is cut at those times themselves.
    """
    first, last = songmap.lines[first_line], songmap.lines[last_line]
    words_first = songmap.words_of_line(first_line)
    onset_s = min([first.start] + [w.start for w in words_first])
    breath_s = min([b.start for b in songmap.breaths if b.before_line == first_line] + [onset_s - LEAD_S])
    end_s = max([last.end] + [w.end for w in songmap.words_of_line(last_line)]) + TAIL_S
    if last_line + 1 < len(songmap.lines):
        # Never run into the next line's words.
        end_s = min(end_s, songmap.lines[last_line + 1].start - 0.02)
    down = np.asarray(songmap.downbeats, dtype=float)
    start = float(down[down <= breath_s + 1e-6].max()) if np.any(down <= breath_s + 1e-6) else max(0.0, breath_s)
    after = down[down >= end_s - 1e-6]
    end = float(after.min()) if after.size else min(songmap.duration, end_s)
    return start, min(end, songmap.duration)


def plan_cuts(sections, maps: dict[str, SongMap], *, titles: dict[str, str], keys: dict[str, Optional[str]],
              tempo_bpm: float, key: Optional[str], song_tempo_bpm: Optional[dict[str, float]] = None,
              stretch_confirmed: bool = False) -> list[SectionCut]:
    """Place every section of a number on its timeline (see module docstring).

    A song's tempo is ``song_tempo_bpm[song]`` when the season gives one, else its map's.
    Tempo and key changes are checked by :func:`lipcoach.production.season.stretch_problem`
    (the import checked them already; this catches a map made since, with another tempo).
    """
    from lipcoach.production.season import semitones_between, stretch_problem

    song_tempo_bpm = song_tempo_bpm or {}

    cuts: list[SectionCut] = []
    t = 0.0
    for k, sec in enumerate(sections):
        sm = maps[sec.song]
        n_lines = len(sm.lines)
        first = (sec.first_line or 1) - 1
        last = (sec.last_line or n_lines) - 1
        if n_lines == 0:
            raise LipcoachError(None, f"song {sec.song!r} has no lyrics lines in its map")
        if last >= n_lines:
            raise LipcoachError(None, f"section {k + 1} asks for line {last + 1} of {sec.song!r}, which has {n_lines} lines")
        if sec.first_line is None and sec.last_line is None and len(sections) == 1:
            a, b = 0.0, sm.duration  # a whole song sung as it is
        else:
            a, b = section_window(sm, first, last)
        song_bpm = song_tempo_bpm.get(sec.song) or sm.tempo_bpm
        speed = 1.0 if song_bpm <= 0 or tempo_bpm <= 0 else tempo_bpm / song_bpm
        semitones = semitones_between(keys.get(sec.song), key)
        problem = stretch_problem(song_bpm, tempo_bpm, semitones, confirmed=stretch_confirmed,
                                  tempo_from="the season" if sec.song in song_tempo_bpm else "its song map")
        if problem is not None:
            raise LipcoachError(None, f"section {k + 1} (song {sec.song!r}): {problem}; "
                                      "import the season again with --allow-stretch to confirm, or give the song's tempo_bpm")
        cut = SectionCut(song=sec.song, title=titles.get(sec.song, sec.song), source_start_s=a, source_end_s=b, start_s=t,
                         speed=speed, semitones=semitones, first_line=first,
                         last_line=last, singers=list(sec.singers))
        cuts.append(cut)
        t = cut.end_s
    return cuts


def render_cuts(cuts: list[SectionCut], audio: dict[str, np.ndarray], *, sr: int, fade_s: float = JOIN_FADE_S,
                quality: str = "high", report: Optional[ProgressCallback] = None) -> np.ndarray:
    """Stretch, shift and join the sections' audio (``(channels, n)`` per song at ``sr``) into one track."""
    from lipcoach.media.stretch import stretch_and_shift

    report = report or silent
    first = next(iter(audio.values()))
    channels = first.shape[0] if first.ndim == 2 else 0
    total = int(round(cuts[-1].end_s * sr))
    out = np.zeros((channels, total) if channels else total, np.float32)
    half = fade_s / 2
    for k, cut in enumerate(cuts):
        report(k / len(cuts), f"section {k + 1}: {cut.title}")
        src = audio[cut.song]
        n_src = src.shape[-1]
        pre = half if k > 0 else 0.0
        post = half if k < len(cuts) - 1 else 0.0
        a = int(round((cut.source_start_s - pre * cut.speed) * sr))
        b = int(round((cut.source_end_s + post * cut.speed) * sr))
        piece = src[..., max(0, a):min(n_src, b)]
        piece = np.concatenate([np.zeros(piece.shape[:-1] + (max(0, -a),), np.float32), piece,
                                np.zeros(piece.shape[:-1] + (max(0, b - n_src),), np.float32)], axis=-1)
        y = stretch_and_shift(piece, sr=sr, speed=cut.speed, semitones=cut.semitones, quality=quality)
        # Equal-power fades inside the overlap centred on each bar line.
        n_fade = int(round(fade_s * sr))
        gain = np.ones(y.shape[-1], np.float32)
        ramp = np.sin(np.linspace(0, np.pi / 2, n_fade, dtype=np.float32))
        if pre and n_fade:
            gain[:n_fade] = ramp
        if post and n_fade:
            gain[-n_fade:] = ramp[::-1]
        y = y * gain
        at = int(round((cut.start_s - pre) * sr))
        stop = min(total, at + y.shape[-1])
        out[..., at:stop] += y[..., : stop - at]
    report(1.0, "joined")
    return out


def _in(t: float, cut: SectionCut, *, slack_s: float = 1e-6) -> bool:
    return cut.source_start_s - slack_s <= t < cut.source_end_s - slack_s


def combine_maps(cuts: list[SectionCut], maps: dict[str, SongMap], *, tempo_bpm: float, singers_of_line,
                 performers: dict[str, str], language: Optional[str] = None) -> SongMap:
    """The number's song map: each section's map items mapped through the edit.

    Parameters
    ----------
    singers_of_line : callable (number_line_index, SectionCut) -> list of character names
    performers : dict character → performer
    """
    words: list[Word] = []
    lines: list[Line] = []
    breaths: list[Breath] = []
    beats: list[float] = []
    downbeats: list[float] = []
    onsets: list[float] = []
    activity: list[list[float]] = []
    sections: list[Section] = []
    line_source: list[dict] = []
    rate = max(maps[c.song].loudness.rate for c in cuts)
    duration = cuts[-1].end_s
    n_frames = int(np.ceil(duration * rate))
    frame_t = (np.arange(n_frames) + 0.5) / rate
    loud = np.full(n_frames, -100.0)
    refs = []
    for cut in cuts:
        sm = maps[cut.song]
        f = cut.to_number
        line_map: dict[int, int] = {}
        for li in range(cut.first_line, cut.last_line + 1):
            src = sm.lines[li]
            if not _in(src.start, cut):
                continue
            new_index = len(lines)
            line_map[li] = new_index
            entrance = None
            if src.entrance is not None:
                # The entrance's own onset (refined on the vocal when mapped), carried through the stretch.
                onset_s = src.entrance.beat_time + src.entrance.offset_ms / 1000.0
                entrance = Entrance.from_times(f(onset_s), f(src.entrance.beat_time))
            lines.append(Line(text=src.text, start=f(src.start), end=f(src.end), entrance=entrance, section=len(sections),
                              confidence=src.confidence, aligned=src.aligned))
            who = singers_of_line(new_index, cut)
            line_source.append({"song": cut.song, "source_line": li, "singers": who,
                                "performers": [performers.get(c, c) for c in who]})
        for w in sm.words:
            if w.line in line_map:
                words.append(Word(text=w.text, start=f(w.start), end=f(w.end), line=line_map[w.line],
                                  phonemes=[Phoneme(p.symbol, f(p.start), f(p.end), p.viseme) for p in w.phonemes],
                                  confidence=w.confidence, pitch_midi=w.pitch_midi))
        for b in sm.breaths:
            if _in(b.start, cut) and b.end <= cut.source_end_s + 1e-6:
                breaths.append(Breath(start=f(b.start), end=f(b.end), level_db=b.level_db, audible=b.audible, kind=b.kind,
                                      before_line=line_map.get(b.before_line) if b.before_line is not None else None))
        beats += [f(t) for t in sm.beats if _in(t, cut)]
        downbeats += [f(t) for t in sm.downbeats if _in(t, cut)]
        onsets += [f(t) for t in sm.onsets if _in(t, cut)]
        for a, b in sm.vocal_activity:
            lo, hi = max(a, cut.source_start_s), min(b, cut.source_end_s)
            if hi > lo:
                activity.append([f(lo), f(hi)])
        # Loudness: each number frame reads the source contour at its source time.
        sel = (frame_t >= cut.start_s) & (frame_t < cut.end_s)
        src_t = cut.source_start_s + (frame_t[sel] - cut.start_s) * cut.speed
        src_frames = (np.arange(len(sm.loudness.values)) + 0.5) / sm.loudness.rate
        if len(sm.loudness.values):
            loud[sel] = np.interp(src_t, src_frames, np.asarray(sm.loudness.values, dtype=float))
        refs.append(sm.loudness.reference_db)
        who = sorted({p for ls in line_source if ls["song"] == cut.song for p in ls["performers"]})
        sections.append(Section(start=cut.start_s, end=cut.end_s, label=f"{cut.title}" + (f" ({', '.join(who)})" if who else "")))
    first_map = maps[cuts[0].song]
    return SongMap(
        duration=duration, tempo_bpm=float(tempo_bpm), beats=beats, downbeats=downbeats, words=words, lines=lines,
        breaths=breaths, loudness=Loudness(rate=rate, values=[float(v) for v in loud], reference_db=float(np.median(refs))),
        onsets=onsets, vocal_activity=activity, sections=sections, language=language or first_map.language,
        source={"lines": line_source,
                "edit": [{"song": c.song, "title": c.title, "source_start_s": round(c.source_start_s, 4),
                          "source_end_s": round(c.source_end_s, 4), "start_s": round(c.start_s, 4),
                          "end_s": round(c.end_s, 4), "speed": round(c.speed, 6), "semitones": c.semitones}
                         for c in cuts]},
    )


def join_beat_errors_ms(songmap: SongMap, cuts: list[SectionCut]) -> list[float]:
    """At each join: (interval between the beats either side of it) − (the number's beat period), ms."""
    beats = np.asarray(songmap.beats)
    period = 60.0 / songmap.tempo_bpm if songmap.tempo_bpm > 0 else 0.0
    errors = []
    for cut in cuts[1:]:
        before, after = beats[beats < cut.start_s - 1e-6], beats[beats >= cut.start_s - 1e-6]
        if before.size and after.size:
            errors.append(round(float((after[0] - before[-1] - period) * 1000.0), 1))
    return errors


def lyrics_of(songmap: SongMap) -> str:
    """Plain lyrics of a map: one line per line, a blank line between sections."""
    out: list[str] = []
    for i, ln in enumerate(songmap.lines):
        if i and ln.section != songmap.lines[i - 1].section:
            out.append("")
        out.append(ln.text)
    return "\n".join(out) + "\n"


# -- the catalogue side --------------------------------------------------------------------
def song_map(cat, song_row, *, report: Optional[ProgressCallback] = None) -> SongMap:
    """The source song's map: the stored one, or made now by :func:`lipcoach.song.analyze.analyze_song`."""
    from lipcoach.production import storage
    from lipcoach.song.analyze import analyze_song

    if song_row.map_file:
        return SongMap.load(cat.path("maps", song_row.map_file))
    if not song_row.lyrics_file:
        raise LipcoachError(None, f"song {song_row.slug!r} has neither lyrics nor a song map")
    sm = analyze_song(cat.path("files", song_row.audio_file), lyrics_path=cat.path("files", song_row.lyrics_file),
                      vocals_path=cat.path("files", song_row.stem_file) if song_row.stem_file else None,
                      language=song_row.language, report=report)
    name = f"seasonsong{song_row.id}-{song_row.audio_sha256[:16]}.json"
    sm.save(cat.path("maps", name))
    storage.note_stored("maps", name)
    song_row.map_file = name
    return sm


def build_number(cat, ref: str, *, force: bool = False, quality: str = "high",
                 report: Optional[ProgressCallback] = None) -> BuildResult | None:
    """Build the number ``ref`` (see :func:`lipcoach.production.season.find_number`) and store it.

    The track (and vocal stem, when every section's song has one), its lyrics and the
    combined map become the catalogue number's song and a new map version (origin
    ``"build"``). Returns None when nothing changed since the last build (unless ``force``).
    """
    from sqlalchemy import select

    from lipcoach.media.decode import load_audio
    from lipcoach.production.catalogue import Song, storing
    from lipcoach.production.season import number_spec, find_number
    from lipcoach.production.tables import Episode, SeasonSong

    report = report or silent
    with cat.session() as s:
        row = find_number(cat, s, ref)
        spec = number_spec(row)
        characters = json.loads(s.get(Episode, row.episode_id).characters)
        songs = {sl: s.scalar(select(SeasonSong).where(SeasonSong.season_id == row.season_id, SeasonSong.slug == sl))
                 for sl in {sec.song for sec in spec.sections}}
        missing = [sl for sl, r in songs.items() if r is None]
        if missing:
            raise LipcoachError(None, f"number {spec.slug!r} uses songs not in the catalogue: {', '.join(missing)}")
        maps = {}
        for k, (sl, song_row) in enumerate(sorted(songs.items())):
            with storing(cat):
                maps[sl] = song_map(cat, song_row, report=subrange(report, 0.3 * k / len(songs), 0.3 * (k + 1) / len(songs)))
                s.commit()  # each song's analysis is kept as soon as it is made (minutes of work)
        inputs = json.dumps([row.spec, characters, sorted((sl, r.audio_sha256, r.stem_sha256, r.map_file, r.key)
                                                           for sl, r in songs.items()), quality, JOIN_FADE_S]).encode()
        built_from = hashlib.sha256(inputs).hexdigest()
        existing = s.scalar(select(Song).where(Song.number_id == row.number_id).order_by(Song.id.desc()).limit(1))
        if not force and existing is not None and row.built_from == built_from:
            report(1.0, "up to date")
            return None
        song_files = {sl: (cat.path("files", r.audio_file), cat.path("files", r.stem_file) if r.stem_file else None)
                      for sl, r in songs.items()}
        titles = {sl: r.title for sl, r in songs.items()}
        keys = {sl: r.key for sl, r in songs.items()}
        number_id, slug = row.number_id, spec.slug

    for sl, true_bpm in spec.song_tempo_bpm.items():  # the season gives the song's tempo: its beat grid follows
        if sl in maps:
            sm = maps[sl]
            sm.beats, sm.downbeats = beats_at_tempo(sm.beats, sm.downbeats, sm.tempo_bpm, true_bpm)
            sm.tempo_bpm = float(true_bpm)
    first_song = spec.sections[0].song
    tempo_bpm = spec.tempo_bpm or spec.song_tempo_bpm.get(first_song) or maps[first_song].tempo_bpm
    key = spec.key or keys.get(first_song)
    cuts = plan_cuts(spec.sections, maps, titles=titles, keys=keys, tempo_bpm=tempo_bpm, key=key,
                     song_tempo_bpm=spec.song_tempo_bpm, stretch_confirmed=spec.stretch_confirmed)
    for cut in cuts:
        cut.singers = cut.singers or list(spec.singers)

    def singers_of_line(index: int, cut: SectionCut) -> list[str]:
        return list(spec.lines.get(index + 1) or cut.singers)

    songmap = combine_maps(cuts, maps, tempo_bpm=tempo_bpm, singers_of_line=singers_of_line, performers=characters)
    beyond = sorted(k for k in spec.lines if k > len(songmap.lines))
    if beyond:
        raise LipcoachError(None, f"number {slug!r}: 'lines' gives line {beyond[0]} a singer, but the number has "
                                  f"{len(songmap.lines)} lines")
    report(0.35, "decoding")
    mixes = {sl: load_audio(paths[0], sr=BUILD_SR, mono=False)[0] for sl, paths in song_files.items()}
    mix = render_cuts(cuts, mixes, sr=BUILD_SR, quality=quality, report=subrange(report, 0.4, 0.75))
    vocals = None
    if all(paths[1] is not None for paths in song_files.values()):
        stems = {sl: load_audio(paths[1], sr=BUILD_SR)[0] for sl, paths in song_files.items()}
        vocal_step = subrange(report, 0.75, 0.95)
        vocals = render_cuts(cuts, stems, sr=BUILD_SR, quality=quality,
                             report=lambda fraction, label: vocal_step(fraction, f"vocal stem, {label}"))
    result = BuildResult(number_slug=slug, mix=mix, vocals=vocals, songmap=songmap, lyrics_text=lyrics_of(songmap),
                         cuts=cuts, join_beat_error_ms=join_beat_errors_ms(songmap, cuts))
    report(0.95, "storing")
    with storing(cat):  # a failed store leaves no copies behind; the replaced track is released on commit
        _store(cat, number_id, result, built_from=built_from)
    report(1.0, "done")
    return result


def built_files(cat, ref: str) -> dict[str, Path]:
    """Where the number ``ref``'s current build is: ``track``, ``vocals`` (when built), ``lyrics``
    and ``song map`` (its latest map version) in the catalogue; empty before the first build."""
    from sqlalchemy import select

    from lipcoach.production.catalogue import Song
    from lipcoach.production.season import find_number

    with cat.session() as s:
        row = find_number(cat, s, ref)
        song = s.scalar(select(Song).where(Song.number_id == row.number_id).order_by(Song.id.desc()).limit(1))
        if song is None:
            return {}
        out = {"track": cat.path("files", song.audio_file)}
        if song.stem_file:
            out["vocals"] = cat.path("files", song.stem_file)
        if song.lyrics_file:
            out["lyrics"] = cat.path("files", song.lyrics_file)
        version = cat.latest_map(s, song.id)
        if version is not None:
            out["song map"] = cat.path("maps", version.file)
        return out


def _store(cat, number_id: int, result: BuildResult, *, built_from: str) -> None:
    """Store the built files as the number's song and its map as a new version (files first, then rows)."""
    from sqlalchemy import select

    from lipcoach.media.decode import write_wav
    from lipcoach.production import storage
    from lipcoach.production.catalogue import Song
    from lipcoach.production.tables import SeasonNumber
    from lipcoach.fileio import file_sha256

    with tempfile.TemporaryDirectory(dir=cat.root / "tmp") as tmp:
        mix_path = Path(tmp) / "mix.wav"
        write_wav(mix_path, result.mix, BUILD_SR)
        with open(mix_path, "rb") as f:
            audio_name, duration_s = storage.store_media(f, cat.root, what="the built track")
        stem_name = None
        if result.vocals is not None:
            stem_path = Path(tmp) / "vocals.wav"
            write_wav(stem_path, result.vocals, BUILD_SR)
            with open(stem_path, "rb") as f:
                stem_name, _ = storage.store_media(f, cat.root, what="the built vocal stem")
    lyrics_name = storage.store_text(result.lyrics_text, cat.root)
    audio_path = cat.path("files", audio_name)
    result.songmap.source.update({
        "path": str(audio_path), "name": f"{result.number_slug}.wav", "sha256": file_sha256(audio_path),
        "vocals": str(cat.path("files", stem_name)) if stem_name else None, "lyrics": str(cat.path("files", lyrics_name)),
        "vocal_guide": "stem" if stem_name else "none", "generator": "lipcoach number build",
    })
    with cat.session() as s:
        song = s.scalar(select(Song).where(Song.number_id == number_id).order_by(Song.id.desc()).limit(1))
        if song is None:
            song = Song(number_id=number_id, audio_file=audio_name)
            s.add(song)
        song.audio_file, song.audio_label, song.stem_file, song.lyrics_file = audio_name, f"{result.number_slug}.wav", stem_name, lyrics_name
        song.language, song.duration_s = result.songmap.language, duration_s
        s.flush()
        version = cat.add_map_version(s, song.id, result.songmap, origin="build", note="number build")
        row = s.scalar(select(SeasonNumber).where(SeasonNumber.number_id == number_id))
        row.built_from = built_from
        s.commit()
        result.song_id, result.map_version = song.id, version.version
