"""The ``lipcoach`` command line: a thin face over the library (no logic of its own).

Every command translates arguments, calls one library function and prints where the
result went. Bad input ends in one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperCommand, TyperGroup

from lipcoach.errors import LipcoachError


def _flags_as_flags(params: list) -> list:
    """Typer's rich help prints a value type for every option, flags included
    (``--breath-cues <bool>``); an empty metavar tells it a flag takes no value. Parsing is unchanged."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class _FlagCommand(TyperCommand):
    """A command whose help shows on/off flags (``--force``, ``--help``) as flags."""

    def get_params(self, ctx):
        return _flags_as_flags(super().get_params(ctx))


class _FlagGroup(TyperGroup):
    """The ``lipcoach`` group, whose ``--help`` shows as a flag too."""

    def get_params(self, ctx):
        return _flags_as_flags(super().get_params(ctx))


app = typer.Typer(cls=_FlagGroup, add_completion=False, no_args_is_help=True, help="lipcoach: a lip-sync coach for screen musicals.")
_typer_command = app.command


def _command(*args, cls=None, **kwargs):
    return _typer_command(*args, cls=cls or _FlagCommand, **kwargs)


app.command = _command  # every command, including ones added later, shows its flags as flags

FORCE_HELP = "Replace an existing output that lipcoach did not write (inputs are never replaced)."


def _say(message: str) -> None:
    typer.echo(message, err=True)


@app.callback()
def _options(
    progress: str = typer.Option(
        "auto", "--progress", metavar="MODE", envvar="LIPCOACH_PROGRESS",
        help="How long commands show progress: auto (a bar on a terminal, one line per step otherwise), bar, plain or none."),
) -> None:
    """lipcoach: a lip-sync coach for screen musicals."""
    from lipcoach.progress import set_mode

    set_mode(progress)


@app.command()
def analyze(
    song: Path = typer.Argument(..., help="Song: any audio or video file (mp3, m4a, wav, flac, ogg, mp4, mov, mkv, webm)."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the song map (JSON)."),
    lyrics: Optional[Path] = typer.Option(None, "--lyrics", help="Lyrics: plain text, LRC, SRT or VTT."),
    vocals: Optional[Path] = typer.Option(None, "--vocals", help="An isolated vocal stem of the same song."),
    language: str = typer.Option("en", "--language", help="Language of the lyrics (en, fr, es, de, ...)."),
    separation: str = typer.Option("auto", "--separation", help="Vocal guide without a stem: auto (Spleeter's 2-stem network, packaged), spleeter, classical (fast), none."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also draw the song map (png, svg or pdf)."),
    model: Optional[Path] = typer.Option(
        None, "--model", help="A CTranslate2 Whisper model folder to align with (default: the packaged tiny.en / base; env LIPCOACH_WHISPER_MODEL)."
    ),
    aligner: str = typer.Option(
        "auto", "--aligner", help="Untimed lyrics: auto (hybrid on a mix, pocketsphinx with --vocals), hybrid (Whisper + phone pass), whisper, or pocketsphinx."
    ),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Map a song: words, phonemes, mouth shapes, breaths, beats, entrances, loudness."""
    from lipcoach.figures.songmap_plot import PLOT_SUFFIXES
    from lipcoach.fileio import staged_outputs
    from lipcoach.progress import progress_bar
    from lipcoach.song.analyze import analyze_song, check_analyze

    check_analyze(song, output=output, lyrics=lyrics, vocals=vocals, also_written=[(plot, PLOT_SUFFIXES, "plot")], force=force)
    with progress_bar(f"Mapping {song.name}") as report:
        songmap = analyze_song(
            song, lyrics_path=lyrics, vocals_path=vocals, language=language, separation=separation, aligner=aligner, model_dir=model, report=report
        )
    # The map and its plot replace earlier ones together, or not at all.
    with staged_outputs(*[p for p in (output, plot) if p is not None]) as staged:
        songmap.save(staged[0])
        if plot is not None:
            from lipcoach.media.decode import load_audio
            from lipcoach.song.analyze import ANALYSIS_SR
            from lipcoach.figures.songmap_plot import plot_songmap

            plot_songmap(songmap, staged[1], audio=load_audio(song, sr=ANALYSIS_SR)[0], sr=ANALYSIS_SR)
    _say(f"song map: {output}  ({len(songmap.words)} words, {len(songmap.lines)} lines, {len(songmap.breaths)} breaths, {songmap.tempo_bpm:.1f} BPM)")
    if songmap.source.get("vocal_guide") == "classical" and separation == "auto" and songmap.source.get("aligner") == "pocketsphinx":
        _say("note: Spleeter's packaged model is not installed, so the classical vocal guide was used (reinstall lipcoach)")
    from lipcoach.song.confidence import flagged_lines_message

    warning = flagged_lines_message(songmap.lines)
    if warning:
        _say(f"warning: {warning}")
    if plot is not None:
        _say(f"plot: {plot}")


@app.command()
def export(
    songmap_path: Path = typer.Argument(..., metavar="SONG_JSON", help="A song map written by `lipcoach analyze`."),
    fmt: str = typer.Option(..., "--format", "-f", help="lrc, ass, vtt or ultrastar."),
    output: Optional[Path] = typer.Option(
        None, "-o", "--output", help="Output file (default: beside the song map: song.lrc, song.ass, song.vtt, song.ultrastar.txt)."),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Export a song map as karaoke lyrics (enhanced LRC, ASS, WebVTT, UltraStar)."""
    from lipcoach.formats.karaoke import FORMATS, check_export, write_export

    if fmt not in FORMATS:
        raise LipcoachError(None, f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    from lipcoach.song.songmap import SongMap

    songmap = SongMap.load(songmap_path)
    output = check_export(songmap_path, songmap, fmt, output, force=force)
    write_export(songmap, fmt, output)
    _say(f"{fmt}: {output}")


@app.command()
def demo(
    out: Path = typer.Option(Path("out"), "--out", help="Folder for the demo's files."),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Generate the built-in demo number and map it end to end."""
    from lipcoach.demo import run_demo
    from lipcoach.progress import progress_bar

    with progress_bar("Demo number") as report:
        paths = run_demo(out, force=force, report=report)
    _say("demo written:")
    for name, path in paths.items():
        _say(f"  {name:20s} {path}")


@app.command()
def score(
    take: Path = typer.Argument(..., help="The take: a video (mp4, mov, mkv, webm, avi, mpg), with or without sound."),
    song: Path = typer.Option(..., "--song", help="The song map of the number (from `lipcoach analyze`)."),
    output: Path = typer.Option(..., "-o", "--output", help="The coach's report (HTML)."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Also write the report as JSON (lipcoach.takereport/2)."),
    face: Optional[int] = typer.Option(None, "--face", help="Score this face id (default: the face that follows the vocal best)."),
    performer: Optional[list[str]] = typer.Option(None, "--performer", help="Who is in the take (repeat for several); in a number whose lines name their performers, the take covers only their lines (default: told from whose lines each face mouths)."),
    song_audio: Optional[Path] = typer.Option(None, "--song-audio", help="The song's audio, if it moved since it was analysed."),
    data: Optional[Path] = typer.Option(None, "--data", help="A studio folder (`lipcoach serve --data`): add the take to a number's history."),
    number: Optional[int] = typer.Option(None, "--number", help="The number (its id in the studio) the take joins; with --data."),
    max_take_minutes: float = typer.Option(
        30.0, "--max-take-minutes", min=0.1, max=24 * 60.0,
        help="Refuse a longer take before tracking it (its container's length), minutes."),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Score a lip-sync take: timing per word and line, missed words, m/b/p closures, breaths."""
    from lipcoach.production.catalogue import open_for_take
    from lipcoach.fileio import staged_outputs
    from lipcoach.progress import progress_bar
    from lipcoach.song.songmap import SongMap
    from lipcoach.take.score import check_score, save_json, score, write_report_html

    songmap = SongMap.load(song)
    max_take_s = max_take_minutes * 60.0
    check_score(take, song, songmap, output=output, json_path=json_path, song_audio=song_audio, force=force, max_take_s=max_take_s)
    catalogue = open_for_take(data, number, songmap)  # a wrong number fails now, not after scoring
    with progress_bar(f"Scoring {take.name}") as report:
        result = score(take, songmap, face=face, performers=performer, song_audio=song_audio, report=report, max_take_s=max_take_s)
    # The page and its JSON replace earlier ones together, or not at all.
    with staged_outputs(*[p for p in (output, json_path) if p is not None]) as staged:
        write_report_html(result, staged[0])
        if json_path is not None:
            save_json(result, staged[1])
    doc = result.doc
    offset = doc["sync"]["offset_ms"]  # None when not lip-syncing: no offset is given then
    _say(f"verdict: {doc['verdict']}  offset {'–' if offset is None else f'{offset:+.0f}'} ms  score {doc['score']:.0f}/100")
    if doc.get("verdict_reason") and doc["verdict"] != "in_sync":
        _say(f"  ({doc['verdict_reason']})")
    if doc["placement"].get("unsure"):
        _say(f"  placement unsure: the take has no sound and its mouth placed it at {doc['placement']['song_start_s']:.2f} s "
             f"with confidence {doc['placement']['confidence']:.2f} (under {doc['placement']['unsure_bar']}); check it by eye")
    for who in doc.get("performers", []):
        if who.get("in_take"):
            points = "–" if who["score"] is None else f"{who['score']:.0f}"
            _say(f"  {who['performer']} (face {who['face']}): {who['verdict']}, score {points}")
        else:
            _say(f"  {who['performer']}: not in this take (lines {', '.join(str(i + 1) for i in who['lines'])} not covered)")
    for note in doc.get("notes", []):
        _say(note)
    _say(f"report: {output}" + (f"  json: {json_path}" if json_path else ""))
    if catalogue is not None:
        with catalogue.session() as s:
            added = catalogue.add_scored_take(s, number, take, doc, songmap)
            s.commit()
            _say(f"studio: take {added.id} added to the history of number {number} in {data}")


@app.command("practice-track")
def practice_track(
    song: Path = typer.Argument(..., metavar="SONG_OR_SONGMAP", help="A song file, or a song map JSON (its song is used)."),
    output: Path = typer.Option(..., "-o", "--output", help="The drill track (mp3, m4a, wav, flac, ogg)."),
    speed: Optional[float] = typer.Option(None, "--speed", help="Playback speed, 0.25 to 1.0; pitch is kept. [default: 1.0; not with --ramp]"),
    loop: Optional[str] = typer.Option(None, "--loop", help="Only this part, e.g. 0:43-0:58."),
    repeat: int = typer.Option(1, "--repeat", help="Number of passes."),
    ramp: Optional[str] = typer.Option(None, "--ramp", help="Speed from the first pass to the last, e.g. 0.7:1.0 (instead of --speed)."),
    count_in: int = typer.Option(0, "--count-in", help="Bars of count-in clicks before each pass."),
    breath_cues: bool = typer.Option(False, "--breath-cues", help="A soft tick before each breath (needs a song map)."),
    quality: str = typer.Option("high", "--quality", help="Rubber Band quality: high, balanced or fast."),
    vocal_level: Optional[float] = typer.Option(
        None, "--vocal-level", help="The singer against the band: 0 = singer muted, 1 = as recorded, 2 = guide vocal only (anything between)."
    ),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Render a practice track for the phone: slowed, looped, counted in, with breath cues, the vocal turned up or down."""
    from lipcoach.practice import check_practice_track, parse_loop, parse_ramp, pass_speeds, render_practice_track
    from lipcoach.progress import progress_bar

    pass_speeds(speed=speed, repeat=repeat, ramp=parse_ramp(ramp) if ramp else None)  # --speed with --ramp: refused now
    if vocal_level is not None:
        from lipcoach.media.stems import balance_gains

        balance_gains(vocal_level)  # out of range: one line, before any work
    check_practice_track(song, output=output, force=force)
    with progress_bar(f"Rendering {output.name}") as report:
        result = render_practice_track(
            song, speed=speed, loop=parse_loop(loop) if loop else None, repeat=repeat, ramp=parse_ramp(ramp) if ramp else None,
            count_in_bars=count_in, breath_cues=breath_cues, out_path=output, quality=quality, vocal_level=vocal_level, report=report,
        )
    _say(f"practice track: {result.path}  ({result.duration_s:.1f} s, speeds {', '.join(f'{s:.0%}' for s in result.speeds)})")


@app.command()
def serve(
    data: Path = typer.Option(Path("lipcoach-data"), "--data", help="Catalogue folder (created if absent)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind; anything but loopback requires a token."),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="Port to listen on (1-65535)."),
    demo: bool = typer.Option(False, "--demo", help="Add the built-in demo number to an empty catalogue."),
    token: Optional[str] = typer.Option(None, "--token", help="Access token (generated when binding beyond loopback)."),
    render_quality: str = typer.Option("high", "--render-quality", help="Slowed-down renders: high, balanced or fast."),
    https: bool = typer.Option(False, "--https", help="Serve over HTTPS with a self-signed certificate made here, "
                               "so a phone on the same network can open its camera (binds every interface, with a token)."),
) -> None:
    """Run the practice studio (a local web app) until Ctrl-C."""
    from lipcoach.web.app import serve as run_server

    run_server(data, host, port, demo=demo, token=token, render_quality=render_quality, https=https)


from lipcoach.cli_desk import register as _register_desk  # noqa: E402  (season, number, dailies, edit)

_register_desk(app)


#: The click that typer actually runs on (typer >= 0.20 bundles its own copy as ``typer._click``;
#: older typer uses the ``click`` package): usage errors are instances of *its* classes.
_click_errors = sys.modules[typer.BadParameter.__module__]
#: ``lipcoach`` or ``lipcoach season`` alone: the help is the answer (click < 8.2 has no such class).
_NoArgsIsHelp = getattr(_click_errors, "NoArgsIsHelpError", ())
#: Exit code of a command interrupted by Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def _data_option(args: list[str]) -> Optional[str]:
    """The ``--data`` folder a command line names (to name it when its disk refuses a write), or None."""
    args = [str(a) for a in args]
    for k, arg in enumerate(args):
        if arg == "--data" and k + 1 < len(args):
            return args[k + 1]
        if arg.startswith("--data="):
            return arg.split("=", 1)[1]
    return None


def usage_line(error) -> str:
    """Click's usage error as one line: what is wrong, and where the command's help is."""
    ctx = getattr(error, "ctx", None)
    command = ctx.command_path if ctx is not None else "lipcoach"
    message = " ".join(error.format_message().split())
    return f"lipcoach: {message} (see `{command} --help`)"


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: every ending is an exit code and at most one line on stderr.

    0 done; 2 bad input (:class:`LipcoachError`) or a usage error (a bad option value, a
    missing option, an unknown command); 130 interrupted (Ctrl-C); 3 an unexpected error.
    """
    try:
        code = app(args=argv, prog_name="lipcoach", standalone_mode=False)
    except LipcoachError as error:
        _say(f"lipcoach: {error}")
        sys.exit(2)
    except KeyboardInterrupt:  # outside the command (typer turns one inside into exit code 130)
        code = EXIT_INTERRUPTED
    except _NoArgsIsHelp as error:
        error.show()
        sys.exit(error.exit_code)
    except _click_errors.UsageError as error:
        _say(usage_line(error))
        sys.exit(2)
    except (_click_errors.ClickException, typer.Abort) as error:
        if isinstance(error, typer.Abort):  # end of input at a prompt
            _say("lipcoach: aborted")
            sys.exit(1)
        else:
            _say(f"lipcoach: {' '.join(error.format_message().split())}")
            sys.exit(error.exit_code)
    except Exception as error:  # anything unexpected: one line, no traceback
        from lipcoach.errors import storage_problem

        problem = storage_problem(error, _data_option(sys.argv[1:] if argv is None else argv))
        if problem is not None:  # a full disk or a read-only folder is the user's to fix, not a bug
            _say(f"lipcoach: {problem}")
            sys.exit(2)
        if os.environ.get("LIPCOACH_DEBUG"):
            raise
        _say(f"lipcoach: internal error: {type(error).__name__}: {error} (set LIPCOACH_DEBUG=1 for details)")
        sys.exit(3)
    if code == EXIT_INTERRUPTED:
        _say("lipcoach: interrupted (Ctrl-C)")
    if isinstance(code, int) and code:
        sys.exit(code)
