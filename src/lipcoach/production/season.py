"""Season files (``lipcoach.season/1``, YAML): reading, checking and importing into the catalogue.

A season lists its source songs (audio, lyrics, language, optional vocal stem, key and song
map, by path relative to the season file) and its episodes; each episode names its
characters and the performers who play them, and its numbers. A number is a ``solo``, a
``duet`` or ``group`` (who sings which line), a ``mashup`` (sections from two or more
songs), a ``medley`` (a sequence of sections, possibly from several recordings of the same
song) or an ``original``. See docs/season.md for the full format with an example.

Every problem is reported as one line ``<file>:<line>: <problem>`` before anything is
stored. Importing is idempotent: a season, song, episode or number is found again by its
``id`` (songs and numbers) or episode number, and updated in place.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Optional

from lipcoach.errors import LipcoachError, NotFound
from lipcoach.fileio import file_sha256

NAME = "lipcoach.season"
VERSION = 1
KINDS = ("solo", "duet", "group", "mashup", "medley", "original")
#: Kinds cut from one song, sung whole unless ``sections`` say otherwise.
SINGLE_SONG_KINDS = ("solo", "duet", "group", "original")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,119}$")
_KEY = re.compile(r"^([A-Ga-g])([#b♯♭]?)\s*(m|min|minor|maj|major)?$")
_PITCH = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


# -- YAML with line numbers --------------------------------------------------------------
class _Map(dict):
    """A mapping that remembers the (1-based) line of itself and of each key's value."""

    line: int = 0
    lines: dict


class _List(list):
    line: int = 0
    lines: list


def _convert(node) -> Any:
    import yaml

    if isinstance(node, yaml.MappingNode):
        out = _Map()
        out.line, out.lines = node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = _convert(key_node)
            if not isinstance(key, (str, int)):
                raise _Problem(key_node.start_mark.line + 1, "keys must be plain words or numbers")
            if key in out:
                raise _Problem(key_node.start_mark.line + 1, f"{key!r} is given twice")
            out[key] = _convert(value_node)
            out.lines[key] = value_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        out = _List(_convert(v) for v in node.value)
        out.line, out.lines = node.start_mark.line + 1, [v.start_mark.line + 1 for v in node.value]
        return out
    return _scalar(node)


def _scalar(node) -> Any:
    import yaml

    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


class _Problem(Exception):
    def __init__(self, line: int, problem: str):
        super().__init__(problem)
        self.line, self.problem = line, problem


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LipcoachError(path, "no such file") from None
    except UnicodeDecodeError:
        raise LipcoachError(path, "is not UTF-8 text") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        opened = ""
        if exc.context_mark is not None and exc.context_mark.line + 1 != line:
            opened = f"; {exc.context} on line {exc.context_mark.line + 1}"
        raise LipcoachError(f"{path}:{line}", f"not valid YAML ({exc.problem or exc.context}{opened})") from None
    except yaml.YAMLError as exc:
        raise LipcoachError(path, f"not valid YAML ({str(exc)[:100]})") from None
    if node is None:
        raise LipcoachError(path, "is empty")
    try:
        return _convert(node)
    except _Problem as p:
        raise LipcoachError(f"{path}:{p.line}", p.problem) from None


# -- the parsed season -------------------------------------------------------------------
@dataclasses.dataclass
class SongSpec:
    slug: str
    title: str
    artist: str
    audio: Path
    lyrics: Optional[Path]
    vocals: Optional[Path]
    language: str
    key: Optional[str]
    map: Optional[Path]
    lines: dict[str, int] = dataclasses.field(default_factory=dict)  #: field → line in the season file


@dataclasses.dataclass
class SectionSpec:
    """A span of a song: whole lines ``first_line..last_line`` (1-based, inclusive) or the whole song."""

    song: str
    first_line: Optional[int] = None
    last_line: Optional[int] = None
    singers: list[str] = dataclasses.field(default_factory=list)  #: characters; default the number's


@dataclasses.dataclass
class NumberSpec:
    slug: str
    title: str
    kind: str
    sections: list[SectionSpec]
    singers: list[str]  #: characters singing in the number
    lines: dict[int, list[str]]  #: number line (1-based) → characters, for duets and groups
    tempo_bpm: Optional[float]
    key: Optional[str]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


@dataclasses.dataclass
class EpisodeSpec:
    index: int
    title: str
    characters: dict[str, str]  #: character → performer
    numbers: list[NumberSpec]


@dataclasses.dataclass
class SeasonSpec:
    slug: str
    title: str
    songs: dict[str, SongSpec]
    episodes: list[EpisodeSpec]
    path: Path


def semitones_between(from_key: Optional[str], to_key: Optional[str]) -> float:
    """The smallest pitch shift (−6..+5 semitones) taking tonic ``from_key`` to ``to_key``; 0 when either is unknown."""
    if not from_key or not to_key:
        return 0.0
    a, b = _tonic(from_key), _tonic(to_key)
    shift = (b - a) % 12
    return float(shift - 12 if shift > 5 else shift)


def _tonic(key: str) -> int:
    m = _KEY.match(key.strip())
    if m is None:
        raise ValueError(key)
    pitch = _PITCH[m.group(1).lower()]
    pitch += {"#": 1, "♯": 1, "b": -1, "♭": -1}.get(m.group(2), 0)
    return pitch % 12


class _Checker:
    """Walks the YAML tree; every complaint names the file and the line."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, line: int, problem: str):
        raise LipcoachError(f"{self.path}:{line}", problem)

    def mapping(self, value, line: int, what: str) -> _Map:
        if not isinstance(value, _Map):
            self.fail(line, f"{what} must be a mapping (key: value lines)")
        return value

    def sequence(self, value, line: int, what: str) -> _List:
        if not isinstance(value, _List):
            self.fail(line, f"{what} must be a list (lines starting with '- ')")
        return value

    def allowed(self, m: _Map, keys: set[str], what: str) -> None:
        for k in m:
            if k not in keys:
                self.fail(m.lines[k], f"unknown field {k!r} in {what} (expected one of: {', '.join(sorted(keys))})")

    def required(self, m: _Map, key: str, what: str):
        if key not in m or m[key] in (None, ""):
            self.fail(m.line, f"{what} needs {key!r}")
        return m[key]

    def text(self, m: _Map, key: str, what: str, *, default: Optional[str] = None) -> Optional[str]:
        if key not in m or m[key] is None:
            return default
        if not isinstance(m[key], (str, int, float)) or isinstance(m[key], bool):
            self.fail(m.lines[key], f"{what}: {key!r} must be text")
        return str(m[key]).strip()

    def slug(self, value, line: int, what: str) -> str:
        if not isinstance(value, (str, int)) or not _SLUG.match(str(value)):
            self.fail(line, f"{what} {value!r} must be a short id (letters, digits, '-', '_' or '.')")
        return str(value)

    def file(self, m: _Map, key: str, what: str, *, required: bool = False) -> Optional[Path]:
        name = self.text(m, key, what)
        if name is None:
            if required:
                self.fail(m.line, f"{what} needs {key!r}")
            return None
        p = Path(name).expanduser()
        p = p if p.is_absolute() else self.path.parent / p
        if not p.is_file():
            self.fail(m.lines[key], f"{what}: {key} file {name!r} not found")
        return p

    def key(self, m: _Map, key: str, what: str) -> Optional[str]:
        value = self.text(m, key, what)
        if value is not None and _KEY.match(value) is None:
            self.fail(m.lines[key], f"{what}: key {value!r} is not a key such as C, F#, Bb or Am")
        return value

    def number(self, m: _Map, key: str, what: str, *, low: float, high: float) -> Optional[float]:
        if key not in m or m[key] is None:
            return None
        v = m[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (low <= v <= high):
            self.fail(m.lines[key], f"{what}: {key} must be a number from {low:g} to {high:g}")
        return float(v)

    def names(self, value, line: int, what: str, known: dict[str, str]) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            self.fail(line, f"{what} must name one or more characters")
        out = []
        for item in items:
            if not isinstance(item, str) or item not in known:
                self.fail(line, f"{what}: {item!r} is not a character of this episode ({', '.join(known) or 'none listed'})")
            out.append(item)
        return out

    def line_range(self, value, line: int, what: str) -> tuple[int, int]:
        text = str(value).strip()
        m = re.fullmatch(r"(\d+)\s*(?:-\s*(\d+))?", text)
        if m is None:
            self.fail(line, f"{what}: lines {text!r} must be a line number or a range such as 3-6")
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        if first < 1 or last < first:
            self.fail(line, f"{what}: lines {text!r} must count from 1 upwards")
        return first, last


def read_season(path: str | os.PathLike) -> SeasonSpec:
    """Read and check a season file; raises :class:`LipcoachError` ``"<file>:<line>: <problem>"``."""
    path = Path(path)
    doc = _read_yaml(path)
    c = _Checker(path)
    top = c.mapping(doc, getattr(doc, "line", 1), "a season file")
    c.allowed(top, {"schema", "id", "title", "songs", "episodes"}, "the season")
    tag = c.required(top, "schema", "the season")
    m = re.fullmatch(r"lipcoach\.season/(\d+)", str(tag))
    if m is None:
        c.fail(top.lines["schema"], f"schema must be '{NAME}/{VERSION}', not {tag!r}")
    if int(m.group(1)) > VERSION:
        c.fail(top.lines["schema"], f"{tag} is newer than this lipcoach reads ({NAME}/{VERSION}); upgrade lipcoach")
    season_title = c.text(top, "title", "the season") or path.stem
    slug = c.slug(top.get("id", re.sub(r"[^A-Za-z0-9_.-]+", "-", season_title).strip("-")[:120] or "season"),
                  top.lines.get("id", top.line), "the season id")

    songs: dict[str, SongSpec] = {}
    raw_songs = c.mapping(c.required(top, "songs", "the season"), top.lines.get("songs", top.line), "songs")
    for song_slug, raw in raw_songs.items():
        line = raw_songs.lines[song_slug]
        s = c.slug(song_slug, line, "song id")
        raw = c.mapping(raw, line, f"song {s!r}")
        what = f"song {s!r}"
        c.allowed(raw, {"title", "artist", "audio", "lyrics", "vocals", "language", "key", "map"}, what)
        songs[s] = SongSpec(slug=s, title=c.text(raw, "title", what) or s, artist=c.text(raw, "artist", what) or "",
                            audio=c.file(raw, "audio", what, required=True), lyrics=c.file(raw, "lyrics", what),
                            vocals=c.file(raw, "vocals", what), language=c.text(raw, "language", what, default="en"),
                            key=c.key(raw, "key", what), map=c.file(raw, "map", what), lines=dict(raw.lines))
        if songs[s].lyrics is None and songs[s].map is None:
            c.fail(raw.line, f"{what} needs 'lyrics' (or a song 'map' with its words)")

    episodes: list[EpisodeSpec] = []
    seen_numbers: dict[str, int] = {}
    raw_eps = c.sequence(c.required(top, "episodes", "the season"), top.lines.get("episodes", top.line), "episodes")
    seen_eps: set[int] = set()
    for raw, line in zip(raw_eps, raw_eps.lines):
        ep = c.mapping(raw, line, "an episode")
        c.allowed(ep, {"number", "title", "characters", "numbers"}, "an episode")
        index = c.required(ep, "number", "an episode")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            c.fail(ep.lines["number"], f"episode number {index!r} must be a whole number")
        if index in seen_eps:
            c.fail(ep.lines["number"], f"episode {index} is listed twice")
        seen_eps.add(index)
        what = f"episode {index}"
        characters: dict[str, str] = {}
        raw_chars = c.sequence(c.required(ep, "characters", what), ep.lines.get("characters", ep.line), f"{what}: characters")
        for ch, ch_line in zip(raw_chars, raw_chars.lines):
            ch = c.mapping(ch, ch_line, f"{what}: a character")
            c.allowed(ch, {"name", "performer"}, f"{what}: a character")
            name = str(c.required(ch, "name", f"{what}: a character")).strip()
            if name in characters:
                c.fail(ch_line, f"{what}: character {name!r} is listed twice")
            characters[name] = str(c.required(ch, "performer", f"{what}: character {name!r}")).strip()
        numbers: list[NumberSpec] = []
        raw_nums = c.sequence(c.required(ep, "numbers", what), ep.lines.get("numbers", ep.line), f"{what}: numbers")
        for num, num_line in zip(raw_nums, raw_nums.lines):
            numbers.append(_read_number(c, num, num_line, what, characters, songs, seen_numbers))
        episodes.append(EpisodeSpec(index=index, title=c.text(ep, "title", what) or f"Episode {index}",
                                    characters=characters, numbers=numbers))
    return SeasonSpec(slug=slug, title=season_title, songs=songs, episodes=episodes, path=path)


def _read_number(c: _Checker, raw, line: int, episode: str, characters: dict[str, str],
                 songs: dict[str, SongSpec], seen: dict[str, int]) -> NumberSpec:
    num = c.mapping(raw, line, f"{episode}: a number")
    c.allowed(num, {"id", "title", "kind", "song", "sections", "singers", "lines", "tempo_bpm", "key"}, f"{episode}: a number")
    slug = c.slug(c.required(num, "id", f"{episode}: a number"), num.lines.get("id", line), "number id")
    if slug in seen:
        c.fail(num.lines["id"], f"number id {slug!r} is already used at line {seen[slug]}")
    seen[slug] = num.lines["id"]
    what = f"number {slug!r}"
    kind = c.text(num, "kind", what)
    if kind not in KINDS:
        c.fail(num.lines.get("kind", num.line), f"{what}: kind must be one of {', '.join(KINDS)} (got {kind!r})")
    singers = c.names(c.required(num, "singers", what), num.lines.get("singers", num.line), f"{what}: singers", characters)

    def song_ref(value, ln: int, label: str) -> str:
        if not isinstance(value, str) or value not in songs:
            c.fail(ln, f"{label}: song {value!r} is not in the season's songs ({', '.join(songs)})")
        return value

    sections: list[SectionSpec] = []
    if "sections" in num:
        raw_secs = c.sequence(num["sections"], num.lines["sections"], f"{what}: sections")
        for k, (sec, sec_line) in enumerate(zip(raw_secs, raw_secs.lines)):
            label = f"{what}: section {k + 1}"
            sec = c.mapping(sec, sec_line, label)
            c.allowed(sec, {"song", "lines", "singers"}, label)
            song = song_ref(c.required(sec, "song", label), sec.lines.get("song", sec_line), label)
            first = last = None
            if "lines" in sec:
                first, last = c.line_range(sec["lines"], sec.lines["lines"], label)
            sec_singers = (c.names(sec["singers"], sec.lines["singers"], f"{label}: singers", characters)
                           if "singers" in sec else [])
            sections.append(SectionSpec(song=song, first_line=first, last_line=last, singers=sec_singers))
        if "song" in num:
            c.fail(num.lines["song"], f"{what}: give either 'song' or 'sections', not both")
    elif "song" in num:
        sections.append(SectionSpec(song=song_ref(num["song"], num.lines["song"], what)))
    else:
        c.fail(num.line, f"{what} needs 'song' (or 'sections')")

    if kind == "mashup" and len({s.song for s in sections}) < 2:
        c.fail(num.lines.get("sections", num.line), f"{what}: a mashup takes sections from two or more songs")
    if kind == "medley" and len(sections) < 2:
        c.fail(num.lines.get("sections", num.line), f"{what}: a medley is a sequence of two or more sections")
    if kind in ("duet", "group") and len(singers) < 2:
        c.fail(num.lines["singers"], f"{what}: a {kind} needs two or more singers")
    if kind == "solo" and len(singers) != 1:
        c.fail(num.lines["singers"], f"{what}: a solo has one singer")

    lines: dict[int, list[str]] = {}
    if "lines" in num:
        raw_lines = c.mapping(num["lines"], num.lines["lines"], f"{what}: lines")
        for key, value in raw_lines.items():
            ln = raw_lines.lines[key]
            first, last = c.line_range(key, ln, f"{what}: lines")
            who = c.names(value, ln, f"{what}: line {key}", characters)
            for k in range(first, last + 1):
                lines[k] = who
    tempo = c.number(num, "tempo_bpm", what, low=30, high=300)
    key = c.key(num, "key", what)
    return NumberSpec(slug=slug, title=c.text(num, "title", what) or slug, kind=kind, sections=sections,
                      singers=singers, lines=lines, tempo_bpm=tempo, key=key)


# -- import ------------------------------------------------------------------------------
@dataclasses.dataclass
class ImportSummary:
    season_id: int
    songs_added: int = 0
    songs_updated: int = 0
    numbers_added: int = 0
    numbers_updated: int = 0
    episodes: int = 0


def check_media(spec: SeasonSpec) -> None:
    """Probe every song's audio and stem (FFmpeg, no decoding); a bad one names the season file's line."""
    from lipcoach.media.decode import MAX_DURATION_S, check_duration, probe

    for slug, song in spec.songs.items():
        for field, path in (("audio", song.audio), ("vocals", song.vocals)):
            if path is None:
                continue
            try:
                info = probe(path)
                check_duration(info, MAX_DURATION_S, what="it")  # by the container's length, before any decoding
            except LipcoachError as exc:
                raise LipcoachError(f"{spec.path}:{song.lines[field]}", f"song {slug!r}: {field} {path.name}: {exc.problem}") from None
            if not info.has_audio:
                raise LipcoachError(f"{spec.path}:{song.lines[field]}", f"song {slug!r}: {field} {path.name} has no audio")


def import_season(cat, path: str | os.PathLike, *, report=None) -> ImportSummary:
    """Read ``path`` (checked completely first) and fill the catalogue; importing again updates.

    Files are stored in the catalogue (``files/``) only when their content changed; a song
    map given by path is validated and stored under ``maps/``.
    """
    from sqlalchemy import select

    from lipcoach.production import storage
    from lipcoach.production.catalogue import Number
    from lipcoach.production.tables import Episode, Season, SeasonNumber, SeasonSong
    from lipcoach.progress import silent
    from lipcoach.song.songmap import SongMap

    report = report or silent
    spec = read_season(path)
    check_media(spec)
    maps = {}
    for slug, song in spec.songs.items():  # checked before anything is stored
        if song.map is not None:
            try:
                maps[slug] = SongMap.load(song.map)
            except LipcoachError as exc:
                raise LipcoachError(f"{spec.path}:{song.lines['map']}", f"song {slug!r}: map: {exc}") from None

    with cat.session() as s:
        season = s.scalar(select(Season).where(Season.slug == spec.slug))
        if season is None:
            season = Season(slug=spec.slug, title=spec.title)
            s.add(season)
        season.title, season.source_path = spec.title, str(spec.path.resolve())
        s.flush()
        summary = ImportSummary(season_id=season.id)
        for k, song in enumerate(spec.songs.values()):
            report(k / max(1, len(spec.songs)), f"song {song.slug}")
            row = s.scalar(select(SeasonSong).where(SeasonSong.season_id == season.id, SeasonSong.slug == song.slug))
            was_new = changed = row is None
            if row is None:
                row = SeasonSong(season_id=season.id, slug=song.slug)
                s.add(row)
                summary.songs_added += 1
            audio_sha = file_sha256(song.audio)
            if row.audio_sha256 != audio_sha:
                with open(song.audio, "rb") as f:
                    try:
                        row.audio_file, row.duration_s = storage.store_media(f, cat.root, what="the song")
                    except LipcoachError as exc:
                        raise LipcoachError(song.audio, exc.problem) from None
                row.audio_sha256, row.map_file, changed = audio_sha, None, True
            for attr, src, store in (("stem", song.vocals, "media"), ("lyrics", song.lyrics, "lyrics")):
                sha = file_sha256(src) if src is not None else None
                if getattr(row, f"{attr}_sha256") != sha:
                    name = None
                    if src is not None:
                        with open(src, "rb") as f:
                            try:
                                name = (storage.store_media(f, cat.root, what="the vocal stem")[0] if store == "media"
                                        else storage.store_lyrics(f, cat.root))
                            except LipcoachError as exc:
                                raise LipcoachError(src, exc.problem) from None
                    setattr(row, f"{attr}_file", name)
                    setattr(row, f"{attr}_sha256", sha)
                    row.map_file, changed = None, True
            if song.slug in maps:
                doc = json.dumps(maps[song.slug].to_dict(), sort_keys=True).encode()
                name = f"season{season.id}-{song.slug}-{hashlib.sha256(doc).hexdigest()[:16]}.json"
                if row.map_file != name:
                    maps[song.slug].save(cat.path("maps", name))
                    row.map_file, changed = name, True
            before = (row.title, row.artist, row.language, row.key, row.audio_label)
            row.title, row.artist, row.language, row.key = song.title, song.artist, song.language, song.key
            row.audio_label = song.audio.name
            if not changed and before != (row.title, row.artist, row.language, row.key, row.audio_label):
                changed = True
            if changed and not was_new:
                summary.songs_updated += 1
            s.flush()

        for episode in spec.episodes:
            ep = s.scalar(select(Episode).where(Episode.season_id == season.id, Episode.index == episode.index))
            if ep is None:
                ep = Episode(season_id=season.id, index=episode.index)
                s.add(ep)
            ep.title, ep.characters = episode.title, json.dumps(episode.characters)
            s.flush()
            summary.episodes += 1
            for position, number in enumerate(episode.numbers):
                row = s.scalar(select(SeasonNumber).where(SeasonNumber.season_id == season.id, SeasonNumber.slug == number.slug))
                performer = cat.performer(s, episode.characters[number.singers[0]])
                if row is None:
                    catalogue_number = Number(title=number.title, performer=performer)
                    s.add(catalogue_number)
                    s.flush()
                    row = SeasonNumber(season_id=season.id, slug=number.slug, number_id=catalogue_number.id)
                    s.add(row)
                    summary.numbers_added += 1
                else:
                    catalogue_number = s.get(Number, row.number_id)
                    catalogue_number.title, catalogue_number.performer = number.title, performer
                    if (row.spec, row.kind, row.episode_id) != (number.to_json(), number.kind, ep.id):
                        summary.numbers_updated += 1
                row.episode_id, row.position, row.kind, row.spec = ep.id, position, number.kind, number.to_json()
                s.flush()
        s.commit()
    report(1.0, "done")
    return summary


def number_spec(row) -> NumberSpec:
    """The :class:`NumberSpec` stored on a :class:`~lipcoach.production.tables.SeasonNumber` row."""
    d = row.spec_dict()
    return NumberSpec(slug=d["slug"], title=d["title"], kind=d["kind"], sections=[SectionSpec(**x) for x in d["sections"]],
                      singers=list(d["singers"]), lines={int(k): list(v) for k, v in d["lines"].items()},
                      tempo_bpm=d.get("tempo_bpm"), key=d.get("key"))


#: Largest row id SQLite can hold (signed 64 bit); a larger "id" names no row.
MAX_ROW_ID = 2**63 - 1


def is_row_id(text: str) -> bool:
    """True when ``text`` is a catalogue row id: ASCII digits of a number SQLite can hold."""
    return text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ROW_ID


def find_number(cat, s, ref: str):
    """The :class:`SeasonNumber` named ``ref``: its id in a season file, ``season/id``, or a catalogue number id."""
    from sqlalchemy import select

    from lipcoach.production.tables import Season, SeasonNumber

    ref = str(ref).strip()
    query = select(SeasonNumber)
    if "/" in ref:
        season_slug, _, ref = ref.partition("/")
        query = query.join(Season, Season.id == SeasonNumber.season_id).where(Season.slug == season_slug)
    rows = list(s.scalars(query.where(SeasonNumber.slug == ref)))
    if not rows and is_row_id(ref):
        rows = list(s.scalars(select(SeasonNumber).where(SeasonNumber.number_id == int(ref))))
    if not rows:
        known = ", ".join(sorted(s.scalars(select(SeasonNumber.slug)))) or "none; run `lipcoach season import` first"
        shown = ref if len(ref) <= 80 else ref[:77] + "..."
        raise NotFound(None, f"no number {shown!r} in the catalogue (numbers: {known})")
    if len(rows) > 1:
        qualified = " or ".join(f"{s.get(Season, r.season_id).slug}/{ref}" for r in rows)
        raise LipcoachError(None, f"number {ref!r} is in several seasons; name it as SEASON/{ref}: {qualified}")
    return rows[0]


def assign_line(cat, ref: str, line_index: int, singers: list[str], *, base_version: Optional[int] = None) -> dict:
    """Give line ``line_index`` (0-based) of number ``ref`` to ``singers`` (characters of its episode).

    The number's spec remembers it (a later build keeps it) and its current song map gets a
    new version whose ``source.lines`` say who sings the line. Both are read and written under
    the catalogue's write lock, so a concurrent edit (a person's word times, another line's
    singers) is never buried. Returns the line's entry.

    Parameters
    ----------
    base_version : int, optional
        The map version the person saw. When another version was saved since,
        :class:`~lipcoach.production.catalogue.StaleMap` is raised and nothing changes
        (the web app answers 409). None: the latest, whatever it is when the lock is taken.
    """
    from sqlalchemy import select

    from lipcoach.production.catalogue import Song, StaleMap
    from lipcoach.production.tables import Episode

    with cat.session() as s:
        cat.write_lock(s)  # first: every read below sees the latest map and spec, and no one writes until commit
        row = find_number(cat, s, ref)
        characters = json.loads(s.get(Episode, row.episode_id).characters)
        unknown = [c for c in singers if c not in characters]
        if not singers or unknown:
            raise LipcoachError(None, f"sing it with characters of the episode ({', '.join(characters)}); not {', '.join(unknown) or 'nobody'}")
        song = s.scalar(select(Song).where(Song.number_id == row.number_id).order_by(Song.id.desc()).limit(1))
        version = cat.latest_map(s, song.id) if song is not None else None
        if version is None:
            raise LipcoachError(None, f"number {row.slug!r} has no track yet; run `lipcoach number build {row.slug}` first")
        if base_version is not None and base_version != version.version:
            if cat.map_version(s, song.id, base_version) is None:
                raise LipcoachError(None, f"number {row.slug!r} has no song map version {base_version}")
            raise StaleMap(base_version, version.version)
        songmap = cat.load_map(version)
        entries = songmap.source.get("lines") or []
        if not 0 <= line_index < len(songmap.lines) or len(entries) != len(songmap.lines):
            raise LipcoachError(None, f"number {row.slug!r} has no line {line_index + 1} (it has {len(songmap.lines)})")
        entries[line_index] = dict(entries[line_index], singers=list(singers), performers=[characters[c] for c in singers])
        spec = row.spec_dict()
        spec["lines"] = {**spec.get("lines", {}), str(line_index + 1): list(singers)}
        row.spec = json.dumps(spec, sort_keys=True)
        cat.add_map_version(s, song.id, songmap, origin="edit", note=f"line {line_index + 1} sung by {', '.join(singers)}",
                            base_version=version.version)
        s.commit()
        return entries[line_index]
