"""The season board: episodes × numbers × performers, with each number's state and latest scores.

States, in the order a number goes through them: ``imported`` → ``track ready`` (built:
the number has a song with a map) → ``rehearsed`` (a practice take was scored in the
studio) → ``shot`` (dailies scored) → ``cut`` (an edit was written after the last dailies).
"""

from __future__ import annotations

import json
from typing import Any

STATES = ("imported", "track ready", "rehearsed", "shot", "cut")


def season_board(cat) -> list[dict[str, Any]]:
    """Every season in the catalogue as plain data for the board (JSON-ready)."""
    from sqlalchemy import func, select

    from lipcoach.production.catalogue import Number, Report, Song, Take
    from lipcoach.production.tables import DailyTake, Episode, Season, SeasonNumber

    out = []
    with cat.session() as s:
        for season in s.scalars(select(Season).order_by(Season.id)):
            episodes = []
            for ep in s.scalars(select(Episode).where(Episode.season_id == season.id).order_by(Episode.index)):
                characters = json.loads(ep.characters or "{}")
                numbers = []
                for row in s.scalars(select(SeasonNumber).where(SeasonNumber.episode_id == ep.id).order_by(SeasonNumber.position)):
                    spec = row.spec_dict()
                    song = s.scalar(select(Song).where(Song.number_id == row.number_id).order_by(Song.id.desc()).limit(1))
                    version = cat.latest_map(s, song.id) if song is not None else None
                    rehearsal = None
                    if song is not None:
                        rehearsal = s.execute(select(func.count(Report.id), func.max(Report.score)).join(Take, Take.id == Report.take_id)
                                              .where(Take.song_id == song.id)).one()
                    dailies = list(s.scalars(select(DailyTake).where(DailyTake.number_id == row.number_id)))
                    best_line: dict[str, float] = {}
                    for d in dailies:
                        for line, score in json.loads(d.line_scores or "{}").items():
                            best_line[line] = max(best_line.get(line, 0.0), score)
                    last_daily = max((d.scored_at for d in dailies), default=None)
                    state = "imported"
                    if version is not None:
                        state = "track ready"
                    if rehearsal and rehearsal[0]:
                        state = "rehearsed"
                    if dailies:
                        state = "shot"
                    if row.cut_at is not None and (last_daily is None or row.cut_at >= last_daily):
                        state = "cut"
                    numbers.append({
                        "id": row.slug, "ref": f"{season.slug}/{row.slug}",  # ref: the name the board's routes take
                        "title": s.get(Number, row.number_id).title, "kind": row.kind,
                        "singers": spec.get("singers", []),
                        "performers": [characters.get(c, c) for c in spec.get("singers", [])],
                        "state": state, "song_id": song.id if song is not None and version is not None else None,
                        "map_version": version.version if version is not None else None,
                        "rehearsal": {"takes": rehearsal[0], "best": rehearsal[1]} if rehearsal and rehearsal[0] else None,
                        "dailies": {"takes": len(dailies), "best": max(d.score for d in dailies),
                                    "best_per_line_mean": round(sum(best_line.values()) / len(best_line), 1) if best_line else None}
                        if dailies else None,
                    })
                episodes.append({"number": ep.index, "title": ep.title, "characters": characters, "numbers": numbers})
            performers = sorted({p for ep in episodes for p in ep["characters"].values()})
            out.append({"id": season.slug, "title": season.title, "performers": performers, "episodes": episodes,
                        "states": list(STATES)})
    return out


def number_lines(cat, ref: str) -> dict:
    """One number line by line for the board: singers, performers, chosen take and candidates."""
    from sqlalchemy import select

    from lipcoach.errors import LipcoachError
    from lipcoach.production.catalogue import Song
    from lipcoach.production.edit import choose_takes, plan_dict
    from lipcoach.production.season import find_number
    from lipcoach.production.tables import Episode, Season

    with cat.session() as s:
        row = find_number(cat, s, ref)
        qualified = f"{s.get(Season, row.season_id).slug}/{row.slug}"
        characters = json.loads(s.get(Episode, row.episode_id).characters)
        song = s.scalar(select(Song).where(Song.number_id == row.number_id).order_by(Song.id.desc()).limit(1))
        version = cat.latest_map(s, song.id) if song is not None else None
    if version is None:
        raise LipcoachError(None, f"number {row.slug!r} has no track yet; run `lipcoach number build {row.slug}` first")
    songmap = cat.load_map(version)
    try:
        plan = plan_dict(choose_takes(cat, qualified))
    except LipcoachError:  # no takes yet: the lines alone
        plan = {"notes": [], "lines": [{"index": i, "text": ln.text, "start_s": ln.start, "end_s": ln.end, "chosen": None,
                                        "candidates": []} for i, ln in enumerate(songmap.lines)]}
    who = songmap.source.get("lines") or [{} for _ in songmap.lines]
    for line, entry in zip(plan["lines"], who):
        line["singers"], line["performers"] = entry.get("singers", []), entry.get("performers", [])
    # map_version: the version these lines were read from; a change sent back with it as base_version
    # is refused (409) if another version was saved since.
    return {"number": row.slug, "ref": qualified, "kind": row.kind, "characters": characters, "song_id": song.id,
            "map_version": version.version, **plan}
