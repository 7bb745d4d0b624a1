"""Practice tracks for the phone: a song (or a loop of it) slowed down, repeated, with clicks.

``lipcoach practice-track SONG_OR_SONGMAP --speed 0.75 --loop 0:43-0:58 --repeat 8
--ramp 0.7:1.0 --count-in 1 --breath-cues -o drill.mp3`` calls :func:`render_practice_track`.
Times are seconds of the original song unless a name says ``out`` (seconds of the rendered
track); speeds are fractions of the original tempo (0.75 = 75 %).
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from lipcoach.errors import LipcoachError
from lipcoach.media import stretch
from lipcoach.progress import ProgressCallback, silent, subrange

#: Formats we write, by file suffix.
OUTPUT_SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".ogg")
#: Longest track we render, seconds of output (a phone drill, not an album).
MAX_OUTPUT_S = 60 * 60.0
#: Silence between passes without a count-in, seconds of output.
PASS_GAP_S = 0.75
#: A breath cue sounds this long before the breath starts, seconds of output.
BREATH_CUE_LEAD_S = 0.3
#: Levels of the added sounds, dB re full scale.
CLICK_DB = -6.0
BREATH_TICK_DB = -20.0


@dataclasses.dataclass
class PracticeTrack:
    """What :func:`render_practice_track` wrote.

    Attributes
    ----------
    path : Path
    duration_s : float
        Length of the rendered file, seconds.
    sr : int
        Sample rate, Hz.
    speeds : list of float
        Speed of each pass.
    pass_starts_s : list of float
        Where each pass's music starts in the output (after its count-in), seconds.
    loop : (float, float)
        The part of the song rendered, seconds of the original.
    clicks_out_s : list of float
        Times of count-in clicks in the output, seconds.
    breath_cues_out_s : list of float
        Times of breath cues in the output, seconds.
    """

    path: Path
    duration_s: float
    sr: int
    speeds: list[float]
    pass_starts_s: list[float]
    loop: tuple[float, float]
    clicks_out_s: list[float]
    breath_cues_out_s: list[float]


# -- argument parsing helpers (shared by the CLI and the web app) ---------------------------


def parse_time(text: str) -> float:
    """Seconds from ``"43"``, ``"43.5"``, ``"0:43"``, ``"0:43.25"`` or ``"1:02:03"``."""
    text = text.strip()
    if not re.fullmatch(r"(\d+:){0,2}\d+(\.\d+)?", text):
        raise LipcoachError(None, f"cannot read time {text!r} (use seconds or m:ss)")
    value = 0.0
    for part in text.split(":"):
        value = value * 60.0 + float(part)
    return value


def parse_loop(text: str) -> tuple[float, float]:
    """``"0:43-0:58"`` → ``(43.0, 58.0)`` seconds."""
    start, sep, end = text.partition("-")
    if not sep:
        raise LipcoachError(None, f"cannot read loop {text!r} (use START-END, e.g. 0:43-0:58)")
    a, b = parse_time(start), parse_time(end)
    if b <= a:
        raise LipcoachError(None, f"loop {text!r} ends before it starts")
    return a, b


def parse_ramp(text: str) -> tuple[float, float]:
    """``"0.7:1.0"`` (or ``"70:100"`` in percent) → ``(0.7, 1.0)``."""
    m = re.fullmatch(r"\s*([\d.]+)\s*[:\-]\s*([\d.]+)\s*", text)
    if not m:
        raise LipcoachError(None, f"cannot read ramp {text!r} (use START:END speeds, e.g. 0.7:1.0)")
    a, b = float(m.group(1)), float(m.group(2))
    if a > 2.0 and b > 2.0:  # given in percent
        a, b = a / 100.0, b / 100.0
    return a, b


# -- the song and its map --------------------------------------------------------------------


def resolve_inputs(song_or_songmap: str | os.PathLike):
    """Return ``(song_path, songmap_or_None)`` for a song file or a song map JSON file.

    A song map names its song in ``source.path`` (relative paths are taken from the map's
    folder, then the map's folder plus ``source.name``). A song given directly uses a map found
    beside it as ``<song>.json``, ``<song stem>.json`` or ``song.json`` when one names it.
    """
    from lipcoach.song.songmap import SongMap

    p = Path(song_or_songmap)
    if not p.exists():
        raise LipcoachError(p, "no such file")
    if p.suffix.lower() == ".json":
        songmap = SongMap.load(p)
        source = songmap.source or {}
        candidates = []
        if source.get("path"):
            sp = Path(source["path"])
            candidates += [sp] if sp.is_absolute() else [p.parent / sp, Path.cwd() / sp]
        if source.get("name"):
            candidates.append(p.parent / source["name"])
        for c in candidates:
            if c.is_file():
                return c, songmap
        raise LipcoachError(p, "the song this map was made from is not found (source.path); pass the song file instead")
    for c in (p.with_name(p.name + ".json"), p.with_suffix(".json"), p.parent / "song.json"):
        if c.is_file():
            try:
                songmap = SongMap.load(c)
            except LipcoachError:
                continue
            if Path(str(songmap.source.get("name", ""))).name == p.name:
                return p, songmap
    return p, None



def check_practice_track(song_or_songmap: Path, *, output: Path, force: bool = False) -> None:
    """Pre-flight of ``lipcoach practice-track``: the track can be written and replaces neither the song nor its map."""
    from lipcoach.fileio import check_outputs

    song_path, _songmap = resolve_inputs(song_or_songmap)
    check_outputs([(output, OUTPUT_SUFFIXES, "practice track")], inputs=[song_or_songmap, song_path], force=force)

def beats_per_bar(beats: Sequence[float], downbeats: Sequence[float], *, default: int = 4) -> int:
    """Median count of beats between consecutive downbeats (``default`` when unknown)."""
    b = np.asarray(beats, dtype=float)
    d = np.asarray(downbeats, dtype=float)
    if len(d) < 2 or len(b) < 2:
        return default
    counts = [int(np.sum((b >= lo - 1e-3) & (b < hi - 1e-3))) for lo, hi in zip(d[:-1], d[1:])]
    counts = [c for c in counts if 2 <= c <= 12]
    return int(np.median(counts)) if counts else default


def count_in_times(
    *,
    loop_start_s: float,
    beats: Sequence[float],
    tempo_bpm: float,
    speed: float,
    n_clicks: int,
) -> np.ndarray:
    """Count-in click times relative to the start of the (stretched) loop, seconds of output.

    The clicks continue the song's own beat grid backwards from the first beat at or after
    ``loop_start_s``, so the music enters exactly where the next click would fall. Times are
    negative when they fall before the loop's first sample.
    """
    if tempo_bpm <= 0:
        raise LipcoachError(None, "the song has no tempo, so a count-in cannot be placed")
    period_s = 60.0 / tempo_bpm
    b = np.asarray(beats, dtype=float)
    later = b[b >= loop_start_s - 0.02]
    first = float(later[0]) if len(later) else loop_start_s
    if first - loop_start_s > period_s:  # no beat near the loop start: count straight into it
        first = loop_start_s
    first_out = (first - loop_start_s) / speed
    return first_out - np.arange(n_clicks, 0, -1) * period_s / speed


# -- rendering -------------------------------------------------------------------------------


def pass_speeds(*, speed: Optional[float], repeat: int, ramp: Optional[tuple[float, float]]) -> list[float]:
    """Speed of each pass: constant (``speed``, default 1.0), or a straight ramp from ``ramp[0]`` to ``ramp[1]``.

    Speeds are rounded to 1 % so that passes at the same speed share one stretch.

    Raises
    ------
    LipcoachError
        Both a speed and a ramp (one would silently lose), fewer than one pass, or a speed
        out of range.
    """
    if repeat < 1:
        raise LipcoachError(None, f"repeat must be at least 1, not {repeat}")
    if ramp is not None and speed is not None:
        raise LipcoachError(None, "give --speed or --ramp, not both: the ramp sets the speed of every pass")
    if ramp is None:
        speeds = [1.0 if speed is None else float(speed)] * repeat
    else:
        a, b = ramp
        speeds = [a + (b - a) * (k / (repeat - 1) if repeat > 1 else 0.0) for k in range(repeat)]
    for s in speeds:
        stretch.check_speed(s)
    return [round(s, 2) for s in speeds]


def render_practice_track(
    song_or_songmap_path: str | os.PathLike,
    *,
    speed: Optional[float] = None,
    loop: Optional[tuple[float, float]] = None,
    repeat: int = 1,
    ramp: Optional[tuple[float, float]] = None,
    count_in_bars: int = 0,
    breath_cues: bool = False,
    out_path: str | os.PathLike,
    quality: str = "high",
    vocal_level: Optional[float] = None,
    report: Optional[ProgressCallback] = None,
) -> PracticeTrack:
    """Render a practice track: the song or a loop of it, slowed, repeated, with clicks.

    Parameters
    ----------
    song_or_songmap_path : path
        A song (any format FFmpeg reads) or a song map JSON whose ``source.path`` is the song.
    speed : float, optional
        Speed of every pass, 0.25..2.0 (0.75 = 75 %); default 1.0. Not with ``ramp``.
    loop : (start_s, end_s), optional
        Part of the song to drill, seconds of the original. Default: the whole song.
    repeat : int
        Number of passes.
    ramp : (start_speed, end_speed), optional
        Speeds of the first and last pass; passes in between step evenly. Not with ``speed``.
    count_in_bars : int
        Bars of clicks at the song's tempo (scaled by each pass's speed) before every pass.
    breath_cues : bool
        A soft tick :data:`BREATH_CUE_LEAD_S` before each breath of the song map.
    out_path : path
        ``.wav``, ``.flac``, ``.mp3``, ``.m4a`` or ``.ogg``; written atomically.
    quality : {"high", "balanced", "fast"}
        Rubber Band preset (see :data:`lipcoach.media.stretch.QUALITY`).
    vocal_level : float, optional
        The singer against the band: 0 = singer muted, 1 = as recorded (default), 2 = the
        guide vocal alone (see :func:`lipcoach.media.stems.balance_gains`). The song's vocal
        stem is separated once (Spleeter's network) and cached for the next track.
    report : ProgressCallback, optional

    Returns
    -------
    PracticeTrack
    """
    from lipcoach.media.decode import load_audio, playback_sr, probe

    report = report or silent
    out_path = Path(out_path)
    if out_path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise LipcoachError(out_path, f"unsupported output format (use {', '.join(OUTPUT_SUFFIXES)})")
    if count_in_bars < 0 or count_in_bars > 8:
        raise LipcoachError(None, f"count-in must be 0..8 bars, not {count_in_bars}")
    speeds = pass_speeds(speed=speed, repeat=repeat, ramp=ramp)
    if vocal_level is not None:
        from lipcoach.media.stems import balance_gains

        balance_gains(vocal_level)  # a level out of range is refused before any long work
    song_path, songmap = resolve_inputs(song_or_songmap_path)
    if breath_cues and songmap is None:
        raise LipcoachError(song_path, "breath cues need a song map; pass the song map JSON instead of the song")

    report(0.0, "decoding")
    info = probe(song_path)
    if not info.has_audio:
        raise LipcoachError(song_path, "has no audio stream")
    audio, sr = load_audio(song_path, sr=playback_sr(info.audio_rate), mono=False)
    if vocal_level is not None and vocal_level != 1.0:
        from lipcoach.media.stems import balanced_mix

        audio = balanced_mix(song_path, audio, sr=sr, vocal_level=vocal_level, report=subrange(report, 0.0, 0.05))
    duration_s = audio.shape[1] / sr
    a_s, b_s = (0.0, duration_s) if loop is None else (float(loop[0]), float(loop[1]))
    if not (0.0 <= a_s < b_s) or a_s >= duration_s:
        raise LipcoachError(song_path, f"loop {a_s:.2f}-{b_s:.2f} s is outside the song (0-{duration_s:.2f} s)")
    b_s = min(b_s, duration_s)
    if b_s - a_s < 0.5:
        raise LipcoachError(song_path, "loop is shorter than half a second")
    segment = stretch.fade_edges(audio[:, int(round(a_s * sr)) : int(round(b_s * sr))], sr=sr)
    total_out_s = sum((b_s - a_s) / s for s in speeds)
    if total_out_s > MAX_OUTPUT_S:
        raise LipcoachError(None, f"the track would last {total_out_s / 60:.0f} min; the limit is {MAX_OUTPUT_S / 60:.0f} min")

    # Count-in grid: the song map's, else a beat track of the song itself.
    beats: Sequence[float] = []
    tempo_bpm, bpb = 0.0, 4
    if count_in_bars:
        if songmap is not None and songmap.tempo_bpm > 0:
            beats, tempo_bpm = songmap.beats, songmap.tempo_bpm
            bpb = beats_per_bar(songmap.beats, songmap.downbeats)
        else:
            tempo_bpm, beats, bpb = _beat_grid_of(song_path)
    breath_starts = [br.start for br in songmap.breaths if a_s <= br.start < b_s] if breath_cues else []

    stretched: dict[float, np.ndarray] = {}
    distinct = sorted(set(speeds))
    for k, s in enumerate(distinct):
        stretched[s] = stretch.time_stretch(segment, sr=sr, speed=s, quality=quality,
                                            report=subrange(report, 0.05 + 0.8 * k / len(distinct), 0.05 + 0.8 * (k + 1) / len(distinct)))
        report(0.05 + 0.8 * (k + 1) / len(distinct), f"stretched {s:.0%}")

    click_hi, click_lo = stretch.click(sr=sr, accent=True), stretch.click(sr=sr)
    tick = stretch.breath_tick(sr=sr)
    blocks, pass_starts, clicks_out, cues_out = [], [], [], []
    t_out = 0.0
    for k, s in enumerate(speeds):
        body = stretched[s]
        if count_in_bars:
            rel = count_in_times(loop_start_s=a_s, beats=beats, tempo_bpm=tempo_bpm, speed=s, n_clicks=count_in_bars * bpb)
            lead_s = max(0.0, -float(rel[0])) + 0.05
        else:
            rel = np.zeros(0)
            lead_s = PASS_GAP_S if k > 0 else 0.0
        lead = np.zeros((body.shape[0], int(round(lead_s * sr))), dtype=np.float32)
        block = np.concatenate([lead, body], axis=1)
        click_times = lead_s + rel
        accents = [(len(rel) - i) % bpb == 0 for i in range(len(rel))]
        stretch.mix_at(block, click_hi, [t for t, acc in zip(click_times, accents) if acc], sr=sr, gain_db=CLICK_DB)
        stretch.mix_at(block, click_lo, [t for t, acc in zip(click_times, accents) if not acc], sr=sr, gain_db=CLICK_DB)
        cue_times = [lead_s + (t - a_s) / s - BREATH_CUE_LEAD_S for t in breath_starts]
        cue_times = [t for t in cue_times if t >= 0]
        stretch.mix_at(block, tick, cue_times, sr=sr, gain_db=BREATH_TICK_DB)
        clicks_out += [t_out + t for t in click_times]
        cues_out += [t_out + t for t in cue_times]
        pass_starts.append(t_out + lead_s)
        blocks.append(block)
        t_out += block.shape[1] / sr
    track = np.concatenate(blocks, axis=1)
    peak = float(np.abs(track).max()) if track.size else 0.0
    if peak > 0.999:  # clicks on top of a loud master: lower the whole track rather than clip
        track *= np.float32(0.999 / peak)

    report(0.9, "encoding")
    write_audio(out_path, track, sr=sr)
    report(1.0, "done")
    return PracticeTrack(
        path=out_path,
        duration_s=track.shape[1] / sr,
        sr=sr,
        speeds=speeds,
        pass_starts_s=[round(t, 4) for t in pass_starts],
        loop=(a_s, b_s),
        clicks_out_s=[round(t, 4) for t in clicks_out],
        breath_cues_out_s=[round(t, 4) for t in cues_out],
    )


def _beat_grid_of(song_path: Path) -> tuple[float, list[float], int]:
    """Tempo (BPM), beat times (s) and beats per bar of a song that has no song map."""
    from lipcoach.media.decode import load_audio

    mono16, sr = load_audio(song_path, sr=16000)
    try:
        from lipcoach.song.rhythm import beat_grid
    except ImportError:  # the song-map rhythm module is optional here: plain librosa will do
        import librosa

        tempo, frames = librosa.beat.beat_track(y=mono16, sr=sr, hop_length=512)
        beats = librosa.frames_to_time(frames, sr=sr, hop_length=512)
        return float(np.atleast_1d(tempo)[0]), [float(b) for b in beats], 4
    tempo_bpm, beats, downbeats = beat_grid(mono16, sr=sr)
    return float(tempo_bpm), [float(b) for b in beats], beats_per_bar(beats, downbeats)


def write_audio(path: str | os.PathLike, audio: np.ndarray, *, sr: int, bitrate_kbps: int = 192) -> None:
    """Write float audio ``(channels, n)`` or ``(n,)`` by suffix (wav/flac/mp3/m4a/ogg), atomically.

    mp3, ogg, flac and wav go through pedalboard's encoders (LAME, Vorbis, libFLAC);
    m4a through PyAV's AAC encoder.
    """
    from lipcoach.fileio import atomic_path

    path = Path(path)
    suffix = path.suffix.lower()
    x = np.asarray(audio, dtype=np.float32)
    x = x[None, :] if x.ndim == 1 else x
    x = np.clip(x, -1.0, 1.0)
    if suffix not in OUTPUT_SUFFIXES:
        raise LipcoachError(path, f"unsupported output format (use {', '.join(OUTPUT_SUFFIXES)})")
    with atomic_path(path) as tmp:
        if suffix == ".m4a":
            _write_m4a(tmp, x, sr=sr, bitrate_kbps=bitrate_kbps)
            return
        from pedalboard.io import AudioFile

        kwargs = {}
        if suffix == ".mp3":
            kwargs["quality"] = f"{bitrate_kbps}"  # constant bit rate, kbit/s
        if suffix == ".wav":
            kwargs["bit_depth"] = 16
        plain = tmp.with_name(tmp.name[: -len(suffix)] + ".untagged" + suffix)
        try:
            with AudioFile(str(plain), "w", sr, x.shape[0], **kwargs) as f:
                f.write(x)
            _copy_with_tag(plain, tmp)
        finally:
            plain.unlink(missing_ok=True)


def _copy_with_tag(src: Path, dst: Path) -> None:
    """Copy an audio file's packets unchanged into ``dst``, adding lipcoach's comment tag.

    pedalboard's encoders write no tags; the tag lets lipcoach recognise the file as its own
    before it replaces it (:mod:`lipcoach.fileio`).
    """
    import av

    from lipcoach.fileio import WRITTEN_BY

    with av.open(str(src)) as source, av.open(str(dst), "w", format=source.format.name.split(",")[0]) as out:
        s_in = source.streams.audio[0]
        s_out = out.add_stream_from_template(s_in)
        out.metadata["comment"] = WRITTEN_BY
        for packet in source.demux(s_in):
            if packet.dts is None:  # the demuxer's final flush packet
                continue
            packet.stream = s_out
            out.mux(packet)


def _write_m4a(path: Path, x: np.ndarray, *, sr: int, bitrate_kbps: int) -> None:
    import av

    from lipcoach.media.encode import mux_audio

    layout = "mono" if x.shape[0] == 1 else "stereo"
    x = x[:2]
    from lipcoach.fileio import WRITTEN_BY

    with av.open(str(path), "w", format="mp4") as container:
        container.metadata["comment"] = WRITTEN_BY
        stream = container.add_stream("aac", rate=sr)
        stream.bit_rate = bitrate_kbps * 1000
        stream.layout = layout
        mux_audio(container, stream, x, sr=sr, block=1024 * 16)
