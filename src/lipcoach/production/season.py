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
#: A number may change a song's speed by at most this fraction (±25 %) without ``--allow-stretch``:
#: beyond it a stretched voice no longer sounds like the performer's.
MAX_SPEED_CHANGE = 0.25
#: ...and shift its key by at most this many semitones.
MAX_SEMITONES = 5
#: A tempo beyond range is explained as a likely tempo octave when the song at double or half
#: its tempo is within this fraction of the number's.
OCTAVE_HINT_CHANGE = 0.2
#: Even with ``--allow-stretch``, speeds outside this range are refused (Rubber Band's usable range).
SPEED_LIMITS = (0.5, 2.0)
#: A number's line map may name lines up to this (a guard against ``1-99999999``).
MAX_NUMBER_LINES = 10_000


# -- YAML with line numbers, bounded ----------------------------------------------------
#: A season file larger than this is refused before it is parsed, bytes (a 40-episode
#: season with a hundred songs is under 100 KiB).
MAX_SEASON_BYTES = 1024 * 1024
#: Anchors and aliases are allowed (``characters: *cast``), but a file may use at most this
#: many aliases...
MAX_ALIASES = 100
#: ...and the whole document, aliases expanded, at most this many values (an alias bomb
#: of a kilobyte expands to billions).
MAX_VALUES = 100_000
#: Mappings and lists nest at most this deep (a season needs seven levels)...
MAX_DEPTH = 24
#: ...and its lines are indented at most this many columns (it needs about 14).
MAX_INDENT = 120
#: The YAML tags a season file may hold (the plain ones the format uses).
_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")}


class _Map(dict):
    """A mapping that remembers the (1-based) line of itself, of each key and of each key's value."""

    line: int = 0
    lines: dict  #: key → line of its value
    keylines: dict  #: key → line of the key itself


class _List(list):
    line: int = 0
    lines: list


class _Problem(Exception):
    def __init__(self, line: int, problem: str):
        super().__init__(problem)
        self.line, self.problem = line, problem


class _Converter:
    """Turns the composed node graph into :class:`_Map`/:class:`_List`/scalars, within the bounds above."""

    def __init__(self):
        self.values = 0
        self.open: set[int] = set()  #: nodes being converted (a node met again inside itself is a recursive alias)

    def convert(self, node, depth: int = 0) -> Any:
        import yaml

        line = node.start_mark.line + 1
        self.values += 1
        if self.values > MAX_VALUES:
            raise _Problem(line, f"the file expands to more than {MAX_VALUES:,} values (aliases of aliases?); "
                                 "write the values out or use fewer aliases")
        if depth > MAX_DEPTH:
            raise _Problem(line, f"lists and mappings nest more than {MAX_DEPTH} deep")
        if node.tag == "tag:yaml.org,2002:merge":
            raise _Problem(line, "merge keys ('<<') are not supported in a season file; write the fields out")
        if node.tag not in _PLAIN_TAGS:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise _Problem(line, f"the YAML tag {tag!r} is not allowed in a season file (plain values, lists and mappings only)")
        if isinstance(node, yaml.ScalarNode):
            return _scalar(node, line)
        if id(node) in self.open:
            raise _Problem(line, "an alias refers to the mapping or list it is inside (a recursive alias)")
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                out = _Map()
                out.line, out.lines, out.keylines = line, {}, {}
                for key_node, value_node in node.value:
                    key_line = key_node.start_mark.line + 1
                    key = self.convert(key_node, depth + 1)
                    if not isinstance(key, (str, int)) or isinstance(key, bool):
                        raise _Problem(key_line, "keys must be plain words or numbers")
                    if key in out:
                        raise _Problem(key_line, f"{key!r} is given twice")
                    out[key] = self.convert(value_node, depth + 1)
                    out.lines[key] = value_node.start_mark.line + 1
                    out.keylines[key] = key_line
                return out
            out = _List(self.convert(v, depth + 1) for v in node.value)
            out.line, out.lines = line, [v.start_mark.line + 1 for v in node.value]
            return out
        finally:
            self.open.discard(id(node))


def _scalar(node, line: int) -> Any:
    import yaml

    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        raise _Problem(line, f"value {node.value[:40]!r} cannot be read ({str(exc).splitlines()[0][:80]})") from None
    finally:
        loader.dispose()


def _check_nesting(text: str, path: Path) -> None:
    """Refuse nesting deeper than the format needs before the YAML scanner sees it: its cost
    grows with the square of the nesting (15,000 ``[`` or ``- - - …`` take it a minute).
    Brackets nest at most :data:`MAX_DEPTH` deep, lines start at most :data:`MAX_INDENT`
    columns in (counting ``- ``, ``? `` and ``: `` before the first value)."""
    for m in re.finditer(r"^[ \t?:-]*", text, flags=re.M):
        if len(m.group()) > MAX_INDENT:
            raise LipcoachError(f"{path}:{text.count(chr(10), 0, m.start()) + 1}",
                                f"indented more than {MAX_INDENT} columns (a season file nests a few levels deep)")
    depth = 0
    for m in re.finditer(r"[\[\]{}]", text):
        depth = depth + 1 if m.group() in "[{" else max(0, depth - 1)  # a stray closer (in a string) never hides depth
        if depth > MAX_DEPTH:
            raise LipcoachError(f"{path}:{text.count(chr(10), 0, m.start()) + 1}", f"lists and mappings nest more than {MAX_DEPTH} deep")


def _count_aliases(text: str, path: Path) -> None:
    """Refuse a file with more than :data:`MAX_ALIASES` aliases, counted on the token stream (cheap)."""
    import yaml

    count = 0
    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        if isinstance(token, yaml.AliasToken):
            count += 1
            if count > MAX_ALIASES:
                raise LipcoachError(f"{path}:{token.start_mark.line + 1}",
                                    f"more than {MAX_ALIASES} aliases ('*name'); a season file needs few, if any")


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        size = path.stat().st_size
        if not path.is_file():
            raise LipcoachError(path, "is not a file")
        if size > MAX_SEASON_BYTES:
            raise LipcoachError(path, f"is {size / 1024 / 1024:.1f} MiB; a season file is at most {MAX_SEASON_BYTES // 1024} KiB")
        with open(path, "rb") as f:
            data = f.read(MAX_SEASON_BYTES + 1)  # the file may grow after stat
        if len(data) > MAX_SEASON_BYTES:
            raise LipcoachError(path, f"is larger than {MAX_SEASON_BYTES // 1024} KiB, the limit for a season file")
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise LipcoachError(path, "no such file") from None
    except UnicodeDecodeError:
        raise LipcoachError(path, "is not UTF-8 text") from None
    except OSError as exc:
        raise LipcoachError(path, f"cannot be read ({exc.strerror or exc})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    _check_nesting(text, path)
    try:
        _count_aliases(text, path)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        opened = ""
        if exc.context_mark is not None and exc.context_mark.line + 1 != line:
            opened = f"; {exc.context} on line {exc.context_mark.line + 1}"
        raise LipcoachError(f"{path}:{line}", f"not valid YAML ({exc.problem or exc.context}{opened})") from None
    except yaml.YAMLError as exc:
        raise LipcoachError(path, f"not valid YAML ({str(exc).splitlines()[0][:100]})") from None
    except RecursionError:
        raise LipcoachError(path, f"lists and mappings nest more than {MAX_DEPTH} deep") from None
    if node is None:
        raise LipcoachError(path, "is empty")
    try:
        return _Converter().convert(node)
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
    tempo_bpm: Optional[float] = None  #: the song's tempo as the season gives it (overrides the one read from the audio)
    line: int = 0  #: the line of the song's id in the season file


@dataclasses.dataclass
class SectionSpec:
    """A span of a song: whole lines ``first_line..last_line`` (1-based, inclusive) or the whole song."""

    song: str
    first_line: Optional[int] = None
    last_line: Optional[int] = None
    singers: list[str] = dataclasses.field(default_factory=list)  #: characters; default the number's
    #: Lines in the season file (``"song"``, ``"lines"``, ``"section"``); not stored with the number.
    where: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)


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
    #: Tempo (BPM) of each song the season gives one for; the build stretches from it instead of the tempo read.
    song_tempo_bpm: dict[str, float] = dataclasses.field(default_factory=dict)
    #: Tempo or key changes beyond :data:`MAX_SPEED_CHANGE` / :data:`MAX_SEMITONES` confirmed at import (``--allow-stretch``).
    stretch_confirmed: bool = False
    #: Lines in the season file (field → line, ``"number"``: its id, ``"line_keys"``: line-map key → line).
    where: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def to_json(self) -> str:
        """The stored form: the spec without its season-file lines (and without empty new fields,
        so numbers imported by an older lipcoach read as unchanged)."""
        d = dataclasses.asdict(self)
        d.pop("where")
        for sec in d["sections"]:
            sec.pop("where")
        if not d["song_tempo_bpm"]:
            d.pop("song_tempo_bpm")
        if not d["stretch_confirmed"]:
            d.pop("stretch_confirmed")
        return json.dumps(d, sort_keys=True)


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

    def __init__(self, path: Path, *, allow_outside: bool = False):
        self.path = path
        self.allow_outside = allow_outside
        self.folder = path.parent.resolve()

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
        if not isinstance(value, (str, int)) or isinstance(value, bool) or not _SLUG.match(str(value)):
            self.fail(line, f"{what} {value!r} must be a short id (ASCII letters and digits, '-', '_' or '.'; "
                            "it names files and is typed on the command line)")
        return str(value)

    def file(self, m: _Map, key: str, what: str, *, required: bool = False) -> Optional[Path]:
        name = self.text(m, key, what)
        if name is None:
            if required:
                self.fail(m.line, f"{what} needs {key!r}")
            return None
        if "\x00" in name:
            self.fail(m.lines[key], f"{what}: {key} {name!r} is not a file name")
        p = Path(name).expanduser()
        p = p if p.is_absolute() else self.path.parent / p
        try:
            real = p.resolve()  # symlinks followed before the folder check: a link inside may point outside
        except (OSError, RuntimeError):
            self.fail(m.lines[key], f"{what}: {key} file {name!r} cannot be followed (a symlink loop?)")
        if not self.allow_outside and not real.is_relative_to(self.folder):
            self.fail(m.lines[key], f"{what}: {key} file {name!r} is outside the season's folder {self.folder.name}/"
                                    f"{' (it is a symlink to ' + str(real) + ')' if real != p.absolute() else ''}; "
                                    "move it into that folder or import with --allow-outside")
        if not real.is_file():
            self.fail(m.lines[key], f"{what}: {key} file {name!r} not found")
        return real

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


def read_season(path: str | os.PathLike, *, allow_outside: bool = False) -> SeasonSpec:
    """Read and check a season file on its own; raises :class:`LipcoachError` ``"<file>:<line>: <problem>"``.

    Files the songs name must lie in the season file's folder (symlinks resolved) unless
    ``allow_outside``. :func:`check_against_songs` then checks the numbers against the songs.
    """
    path = Path(path)
    doc = _read_yaml(path)
    c = _Checker(path, allow_outside=allow_outside)
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
        line = raw_songs.keylines[song_slug]
        s = c.slug(song_slug, line, "song id")
        raw = c.mapping(raw, line, f"song {s!r}")
        raw.line = line  # "song 'x' needs ..." points at the song's id
        what = f"song {s!r}"
        c.allowed(raw, {"title", "artist", "audio", "lyrics", "vocals", "language", "key", "map", "tempo_bpm"}, what)
        songs[s] = SongSpec(slug=s, title=c.text(raw, "title", what) or s, artist=c.text(raw, "artist", what) or "",
                            audio=c.file(raw, "audio", what, required=True), lyrics=c.file(raw, "lyrics", what),
                            vocals=c.file(raw, "vocals", what), language=c.text(raw, "language", what, default="en"),
                            key=c.key(raw, "key", what), map=c.file(raw, "map", what), lines=dict(raw.lines),
                            tempo_bpm=c.number(raw, "tempo_bpm", what, low=30, high=300), line=line)
        if songs[s].lyrics is None and songs[s].map is None:
            c.fail(line, f"{what} needs 'lyrics' (or a song 'map' with its words)")

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
    where = {k: num.lines[k] for k in num}
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
            sections.append(SectionSpec(song=song, first_line=first, last_line=last, singers=sec_singers,
                                        where={"section": sec_line, "song": sec.lines.get("song", sec_line),
                                               "lines": sec.lines.get("lines", sec_line)}))
        if "song" in num:
            c.fail(num.lines["song"], f"{what}: give either 'song' or 'sections', not both")
    elif "song" in num:
        sections.append(SectionSpec(song=song_ref(num["song"], num.lines["song"], what),
                                    where={"section": num.lines["song"], "song": num.lines["song"], "lines": num.lines["song"]}))
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
    line_keys: dict[str, int] = {}
    if "lines" in num:
        raw_lines = c.mapping(num["lines"], num.lines["lines"], f"{what}: lines")
        for key, value in raw_lines.items():
            ln = raw_lines.keylines[key]
            first, last = c.line_range(key, ln, f"{what}: lines")
            if last > MAX_NUMBER_LINES:
                c.fail(ln, f"{what}: lines {key!r} goes beyond line {MAX_NUMBER_LINES}")
            who = c.names(value, raw_lines.lines[key], f"{what}: line {key}", characters)
            line_keys[f"{first}-{last}"] = ln
            for k in range(first, last + 1):
                lines[k] = who
    tempo = c.number(num, "tempo_bpm", what, low=30, high=300)
    key = c.key(num, "key", what)
    where.update(number=num.lines["id"], line_keys=line_keys)
    song_tempos = {sec.song: songs[sec.song].tempo_bpm for sec in sections if songs[sec.song].tempo_bpm}
    return NumberSpec(slug=slug, title=c.text(num, "title", what) or slug, kind=kind, sections=sections,
                      singers=singers, lines=lines, tempo_bpm=tempo, key=key, song_tempo_bpm=song_tempos, where=where)


# -- checking the numbers against their songs --------------------------------------------
def stretch_problem(song_bpm: float, number_bpm: float, semitones: float, *, confirmed: bool,
                    tempo_from: str = "") -> Optional[str]:
    """What is wrong with playing a song at ``song_bpm`` as a number at ``number_bpm``, shifted by
    ``semitones``; None when nothing is.

    Changes beyond ±:data:`MAX_SPEED_CHANGE` of the speed or ±:data:`MAX_SEMITONES` need
    ``confirmed`` (``--allow-stretch``); speeds outside :data:`SPEED_LIMITS` are refused always.
    When the song's tempo read at double or half time would bring the speed within
    :data:`OCTAVE_HINT_CHANGE`, the problem says so (a tempo octave: the beat tracker counted
    eighths or half notes). ``tempo_from`` says where the song's tempo came from ("its map").
    """
    if song_bpm > 0 and number_bpm > 0:
        speed = number_bpm / song_bpm
        beyond = abs(speed - 1.0) > MAX_SPEED_CHANGE + 1e-9
        hard = not (SPEED_LIMITS[0] <= speed <= SPEED_LIMITS[1])
        if hard or (beyond and not confirmed):
            text = (f"the song is at {song_bpm:.0f} BPM{f' (from {tempo_from})' if tempo_from else ''}, so {number_bpm:.0f} BPM would play it at {speed:.2f}x speed "
                    + (f"(outside {SPEED_LIMITS[0]:g}x to {SPEED_LIMITS[1]:g}x, refused)" if hard else
                       f"(more than ±{MAX_SPEED_CHANGE:.0%} needs --allow-stretch)"))
            for factor, how in ((0.5, "double"), (2.0, "half")):
                if abs(number_bpm / (song_bpm * factor) - 1.0) <= OCTAVE_HINT_CHANGE:
                    text += (f"; {song_bpm:.0f} BPM may be a tempo octave (the beat counted at {how} time): if the song "
                             f"is at {song_bpm * factor:.0f} BPM, give the song tempo_bpm: {song_bpm * factor:.0f}")
                    break
            return text
    if abs(semitones) > MAX_SEMITONES and not confirmed:
        return (f"shifting the song {semitones:+.0f} semitones is more than ±{MAX_SEMITONES} "
                "(needs --allow-stretch)")
    return None


@dataclasses.dataclass
class SongFacts:
    """What the import knows of a song before any analysis: its lines and its tempo."""

    n_lines: int
    lines_from: str  #: where the count comes from, e.g. "its lyrics l.txt"
    tempo_bpm: Optional[float] = None  #: None until needed (see :func:`check_against_songs`)
    tempo_from: str = ""


def estimate_tempo_bpm(audio_path: Path) -> float:
    """The tempo ``lipcoach analyze`` would read from a song's audio (same decoding, same beat tracker), BPM."""
    from lipcoach.media.decode import load_audio
    from lipcoach.song.analyze import ANALYSIS_SR
    from lipcoach.song.rhythm import beat_grid

    stereo, sr = load_audio(audio_path, sr=ANALYSIS_SR, mono=False)
    return float(beat_grid(stereo.mean(axis=0).astype("float32"), sr=sr)[0])


def check_against_songs(spec: SeasonSpec, maps: dict, *, allow_stretch: bool = False,
                        report=None) -> list[str]:
    """Check every number against the songs it names; raises ``"<file>:<line>: <problem>"``.

    Section line ranges against each song's lines (from its map, else its lyrics), each duet
    or group line map against the number's lines, and each section's tempo and key change
    against :func:`stretch_problem`. A song's tempo is the season's ``tempo_bpm``, else its
    map's, else read from its audio (only for songs a number changes the tempo of). With
    ``allow_stretch`` the numbers that need it are marked ``stretch_confirmed``, and the
    changes so confirmed are returned, one line each (``"<file>:<line>: <what>"``).
    """
    from lipcoach.formats.lyrics import read_lyrics
    from lipcoach.progress import silent

    report = report or silent
    c = _Checker(spec.path)
    confirmed: list[str] = []
    facts: dict[str, SongFacts] = {}
    for slug, song in spec.songs.items():
        if slug in maps:
            sm = maps[slug]
            facts[slug] = SongFacts(len(sm.lines), f"its map {song.map.name}", sm.tempo_bpm or None, "its map")
        else:
            try:
                lyrics = read_lyrics(song.lyrics)
            except LipcoachError as exc:
                c.fail(song.lines["lyrics"], f"song {slug!r}: lyrics {song.lyrics.name}: {exc.problem}")
            facts[slug] = SongFacts(len(lyrics.lines), f"its lyrics {song.lyrics.name}")
        if song.tempo_bpm:
            facts[slug].tempo_bpm, facts[slug].tempo_from = song.tempo_bpm, "its tempo_bpm"

    needs_tempo = [n for ep in spec.episodes for n in ep.numbers
                   if n.tempo_bpm is not None or len({s.song for s in n.sections}) > 1]
    to_read = sorted({s.song for n in needs_tempo for s in n.sections if facts[s.song].tempo_bpm is None and s.song not in maps})
    for k, slug in enumerate(to_read):
        report(k / max(1, len(to_read)), f"reading the tempo of {slug}")
        facts[slug].tempo_bpm, facts[slug].tempo_from = estimate_tempo_bpm(spec.songs[slug].audio), "its audio"

    for episode in spec.episodes:
        for number in episode.numbers:
            what = f"number {number.slug!r}"
            total = 0
            for k, sec in enumerate(number.sections):
                f = facts[sec.song]
                label = f"{what}: section {k + 1}" if len(number.sections) > 1 or sec.first_line else what
                if f.n_lines == 0:
                    c.fail(sec.where["song"], f"{label}: song {sec.song!r} has no lyrics lines ({f.lines_from})")
                if sec.first_line is not None and sec.last_line > f.n_lines:
                    span = f"{sec.first_line}-{sec.last_line}" if sec.last_line != sec.first_line else f"{sec.first_line}"
                    c.fail(sec.where["lines"], f"{label}: lines {span}, but song {sec.song!r} has {f.n_lines} lines ({f.lines_from})")
                total += f.n_lines if sec.first_line is None else sec.last_line - sec.first_line + 1
            for key, line in number.where.get("line_keys", {}).items():
                first, last = (int(x) for x in key.split("-"))
                if last > total:
                    span = f"{first}-{last}" if first != last else f"{first}"
                    c.fail(line, f"{what}: lines: {span} gives line {last} a singer, but the number has {total} lines")

            first_song = number.sections[0].song
            number_bpm = number.tempo_bpm or facts[first_song].tempo_bpm or 0.0
            number_key = number.key or spec.songs[first_song].key
            needed = False
            for k, sec in enumerate(number.sections):
                f = facts[sec.song]
                song_bpm = f.tempo_bpm if (number.tempo_bpm is not None or sec.song != first_song) else number_bpm
                shift = semitones_between(spec.songs[sec.song].key, number_key)
                problem = stretch_problem(song_bpm or 0.0, number_bpm, shift, confirmed=False, tempo_from=f.tempo_from)
                if problem is None:
                    continue
                needed = True
                speed_problem = stretch_problem(song_bpm or 0.0, number_bpm, 0.0, confirmed=False) is not None
                line = (number.where.get("tempo_bpm") if speed_problem else number.where.get("key")) or sec.where["song"]
                label = f"{what}: section {k + 1} (song {sec.song!r})" if len(number.sections) > 1 else f"{what} (song {sec.song!r})"
                if stretch_problem(song_bpm or 0.0, number_bpm, shift, confirmed=allow_stretch) is None:
                    confirmed.append(f"{spec.path}:{line}: {label}: {problem}; confirmed")
                    continue
                c.fail(line, f"{label}: {problem}")
            number.stretch_confirmed = needed and allow_stretch
    report(1.0, "checked")
    return confirmed


@dataclasses.dataclass
class CheckedSeason:
    """A season file read and checked whole (:func:`check_season`), ready to import."""

    spec: SeasonSpec
    maps: dict  #: song id → its given :class:`~lipcoach.song.songmap.SongMap`
    stretches: list[str] = dataclasses.field(default_factory=list)  #: changes confirmed by ``allow_stretch``, one line each


def check_season(path: str | os.PathLike, *, allow_outside: bool = False, allow_stretch: bool = False,
                 report=None) -> CheckedSeason:
    """Everything :func:`import_season` checks, before anything is stored (or the catalogue opened):
    the file itself, its paths, its media, its song maps and every number against its songs."""
    from lipcoach.song.songmap import SongMap

    spec = read_season(path, allow_outside=allow_outside)
    check_media(spec)
    maps = {}
    for slug, song in spec.songs.items():
        if song.map is not None:
            try:
                maps[slug] = SongMap.load(song.map)
            except LipcoachError as exc:
                raise LipcoachError(f"{spec.path}:{song.lines['map']}", f"song {slug!r}: map {song.map.name}: {exc.problem}") from None
    stretches = check_against_songs(spec, maps, allow_stretch=allow_stretch, report=report)
    return CheckedSeason(spec=spec, maps=maps, stretches=stretches)


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


def import_season(cat, path: str | os.PathLike | CheckedSeason, *, allow_outside: bool = False,
                  allow_stretch: bool = False, report=None) -> ImportSummary:
    """Read ``path`` (checked completely first, see :func:`check_season`; or a season already
    checked) and fill the catalogue; importing again updates.

    Files are stored in the catalogue (``files/``) only when their content changed; a song
    map given by path is validated and stored under ``maps/``.
    """
    from sqlalchemy import select

    from lipcoach.production import storage
    from lipcoach.production.catalogue import Number, storing
    from lipcoach.production.tables import Episode, Season, SeasonNumber, SeasonSong
    from lipcoach.progress import silent, subrange

    report = report or silent
    checked = path if isinstance(path, CheckedSeason) else check_season(
        path, allow_outside=allow_outside, allow_stretch=allow_stretch, report=subrange(report, 0.0, 0.3))
    spec, maps = checked.spec, checked.maps
    report = subrange(report, 0.3, 1.0)

    with storing(cat), cat.session() as s:  # a failed import leaves no copies behind
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
                    storage.note_stored("maps", name)
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
                      tempo_bpm=d.get("tempo_bpm"), key=d.get("key"), song_tempo_bpm=dict(d.get("song_tempo_bpm") or {}),
                      stretch_confirmed=bool(d.get("stretch_confirmed")))


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
