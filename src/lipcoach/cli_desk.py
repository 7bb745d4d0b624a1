"""The production desk's commands (``season``, ``number``, ``dailies``, ``edit``): thin faces over
:mod:`lipcoach.production`. Registered on the main app by :func:`register`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

DATA_HELP = "Catalogue folder (created if absent)."

season_app = typer.Typer(no_args_is_help=True, help="Seasons: episodes, numbers, performers.")
number_app = typer.Typer(no_args_is_help=True, help="A season's numbers: build their rehearsal tracks.")


def _say(message: str) -> None:
    typer.echo(message, err=True)


@season_app.command("import")
def season_import(
    season_file: Path = typer.Argument(..., metavar="FILE", help="A season file (YAML, lipcoach.season/1; see docs/season.md)."),
    data: Path = typer.Option(Path("lipcoach-data"), "--data", help=DATA_HELP),
    allow_stretch: bool = typer.Option(False, "--allow-stretch", help="Confirm tempo changes beyond ±25 % and key changes beyond ±5 semitones."),
    allow_outside: bool = typer.Option(False, "--allow-outside", help="Accept song files outside the season file's folder."),
) -> None:
    """Import a season file into the catalogue (importing again updates, never duplicates)."""
    from lipcoach.production.catalogue import Catalogue
    from lipcoach.production.season import check_season, import_season
    from lipcoach.progress import progress_bar, subrange

    with progress_bar(f"Importing {season_file.name}") as report:
        # The whole file is checked before the catalogue is even opened: a bad one stores nothing.
        checked = check_season(season_file, allow_outside=allow_outside, allow_stretch=allow_stretch,
                               report=subrange(report, 0.0, 0.3))
        cat = Catalogue(data)
        summary = import_season(cat, checked, report=subrange(report, 0.3, 1.0))
    numbers = [n.slug for ep in checked.spec.episodes for n in ep.numbers]
    _say(f"season {checked.spec.slug!r} imported into {cat.root}: {summary.episodes} episodes; songs {summary.songs_added} new, "
         f"{summary.songs_updated} updated; numbers {summary.numbers_added} new, {summary.numbers_updated} updated")
    for line in checked.stretches:
        _say(f"note: {line}")
    _say(f"catalogue: {cat.root / 'catalogue.sqlite'}")
    _say(f"numbers: {', '.join(numbers)}; next: lipcoach number build {numbers[0] if numbers else 'NUMBER'} --data {data}")


@season_app.command("demo")
def season_demo(
    out: Path = typer.Option(Path("demo-season"), "--out", help="Folder for the generated songs and season.yaml."),
    full: bool = typer.Option(False, "--full", help="Also import, build every number, shoot and score takes, and cut the mashup."),
    force: bool = typer.Option(False, "--force", help="Replace the demo's files in --out if they exist."),
) -> None:
    """Generate the demo season (synthetic singer, one number of each kind).

    Refuses a folder where it would replace a file (unless --force); an interrupted run removes what it wrote.
    """
    from lipcoach.production.demo_season import check_demo_out, run_demo_production, write_demo_season
    from lipcoach.progress import progress_bar

    check_demo_out(out, full=full, force=force)  # before the bar: a refused folder is one line
    with progress_bar("Demo season") as report:
        paths = (run_demo_production(out, force=force, report=report) if full
                 else {"season.yaml": write_demo_season(out, force=force, report=report)})
    _say(f"demo season written to {out}:")
    for name, path in paths.items():
        _say(f"  {name:28s} {path}")
    if full:
        _say(f"next: lipcoach serve --data {paths['data']}  (the season board is at /board)")
    else:
        _say(f"next: lipcoach season import {paths['season.yaml']} --data DIR")


@number_app.command("build")
def number_build(
    number: str = typer.Argument(..., metavar="NUMBER", help="The number's id in the season file (or SEASON/ID)."),
    data: Path = typer.Option(Path("lipcoach-data"), "--data", help=DATA_HELP),
    force: bool = typer.Option(False, "--force", help="Build again even if nothing changed."),
    quality: str = typer.Option("high", "--quality", help="Rubber Band quality: high, balanced or fast."),
) -> None:
    """Build a number's rehearsal track and combined song map (sections stretched, shifted, joined on bars)."""
    from lipcoach.production.build import build_number, built_files
    from lipcoach.production.catalogue import Catalogue
    from lipcoach.progress import progress_bar

    cat = Catalogue(data)
    with progress_bar(f"Building {number}") as report:
        result = build_number(cat, number, force=force, quality=quality, report=report)

    def say_where() -> None:
        for name, path in built_files(cat, number).items():
            _say(f"{name + ':':10s} {path}")

    if result is None:
        _say(f"{number}: up to date (use --force to build again)")
        say_where()
        return
    sm = result.songmap
    _say(f"{number}: {sm.duration:.1f} s at {sm.tempo_bpm:.0f} BPM, {len(result.cuts)} sections, {len(sm.lines)} lines, "
         f"{len(sm.words)} words; song {result.song_id}, map version {result.map_version}")
    for cut in result.cuts:
        _say(f"  {cut.start_s:7.2f}-{cut.end_s:7.2f} s  {cut.title}  from {cut.source_start_s:.2f}-{cut.source_end_s:.2f} s"
             f"  speed {cut.speed:.3f}  {cut.semitones:+.0f} st")
    say_where()


def dailies(
    folder: Path = typer.Argument(..., metavar="FOLDER", help="A folder of takes (mp4, mov, mkv, webm, avi, mpg)."),
    number: str = typer.Option(..., "--number", help="The number the takes are of (id in the season file)."),
    data: Path = typer.Option(Path("lipcoach-data"), "--data", help=DATA_HELP),
    workers: Optional[int] = typer.Option(None, "--workers", help="Processes (default: all cores)."),
    dask: Optional[str] = typer.Option(None, "--dask", help="Run on a Dask cluster instead, e.g. tcp://127.0.0.1:8786."),
) -> None:
    """Score every take of a shoot day (skips takes already scored) and store the reports.

    Takes still being copied are left for the next run. Exits 1 when a take could not be scored.
    """
    from lipcoach.production.catalogue import Catalogue
    from lipcoach.production.dailies import run_dailies
    from lipcoach.progress import progress_bar

    cat = Catalogue(data)
    with progress_bar(f"Dailies {folder.name}") as report:
        summary = run_dailies(cat, folder, number, workers=workers, dask_address=dask, report=report)
    _say(f"{summary.scored} scored, {summary.skipped} already scored, {len(summary.failed)} failed"
         + (f", {len(summary.arriving)} still being copied" if summary.arriving else ""))
    for name, why in summary.arriving:
        _say(f"  not scored: {name}: {why}")
    for name, problem in summary.failed:
        _say(f"  failed: {name}: {problem}")
    for row in summary.rows:
        _say(f"  {row['score']:5.1f}  {row['verdict']:16s} {row['name']}")
    _say(f"reports: {cat.root / 'reports'} (the season board shows them: lipcoach serve --data {data}, /board); "
         f"next: lipcoach edit {number} --data {data} -o cut.otio")
    if summary.failed:
        raise SystemExit(1)  # a script running the dailies must see that takes were not scored


def edit(
    number: str = typer.Argument(..., metavar="NUMBER", help="The number to cut (id in the season file)."),
    data: Path = typer.Option(Path("lipcoach-data"), "--data", help=DATA_HELP),
    output: Path = typer.Option(..., "-o", "--output", help="The timeline to write (cut.otio, cut.edl, cut.fcpxml, cut.xml, cut.aaf)."),
    fmt: Optional[str] = typer.Option(None, "--format", help="otio, edl, fcpxml, fcp7xml or aaf (default: from the suffix)."),
    handles_s: str = typer.Option("0.5", "--handles", help="Seconds of each take kept before and after its line, where free (0 to 60)."),
    pin: list[str] = typer.Option([], "--pin", help="LINE=TAKE: use this take (id or file name) for this line (1-based); remembered."),
    contact_sheet: Optional[Path] = typer.Option(None, "--contact-sheet", help="Also write the contact sheet (HTML)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file that lipcoach did not write."),
) -> None:
    """Pick the best take per line and write the edit (OTIO, EDL, FCP XML, AAF)."""
    from lipcoach.errors import LipcoachError
    from lipcoach.production.catalogue import Catalogue
    from lipcoach.production.edit import check_handles, cut_number
    from lipcoach.progress import progress_bar

    handles = check_handles(handles_s)
    pins = {}
    for item in pin:
        line_text, _, take_text = item.partition("=")
        if not line_text.strip().isdigit() or int(line_text) < 1 or not take_text.strip():
            raise LipcoachError(None, f"--pin {item!r}: write LINE=TAKE with LINE from 1, e.g. 3=take07.mp4")
        pins[int(line_text) - 1] = take_text.strip()
    cat = Catalogue(data)
    with progress_bar(f"Cutting {number}") as report:
        plan, written = cut_number(cat, number, output, fmt=fmt, handles_s=handles, pins=pins,
                                   contact_sheet=contact_sheet, force=force, report=report)
    for c in plan.choices:
        flags = (", pinned" if c.pinned else "") + (", sync not confirmed" if c.take and not c.confirmed else "")
        who = f"take {c.take.id} {c.take.name} ({c.score:.0f}{flags})" if c.take else "no take covers it"
        _say(f"  line {c.line_index + 1:2d}  {who}")
    for note in plan.notes:
        _say(f"  note: {note}")
    _say(f"edit: {written}  ({len(plan.choices)} lines, {len({c.take.id for c in plan.choices if c.take})} takes)")
    if contact_sheet is not None:
        _say(f"contact sheet: {contact_sheet}")


def register(app: typer.Typer) -> None:
    """Add the desk's commands to the main ``lipcoach`` app."""
    app.add_typer(season_app, name="season")
    app.add_typer(number_app, name="number")
    app.command("dailies")(dailies)
    app.command("edit")(edit)
