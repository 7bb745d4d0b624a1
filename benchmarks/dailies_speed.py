"""Dailies speed: takes scored per minute on 1 process, 2 processes and a 2-worker local Dask cluster.

Usage: ``python benchmarks/dailies_speed.py [--takes 6] [--json out.json]``

Material is generated (nothing third-party): the demo season's mashup is built and
``--takes`` drawn-face takes of it are written (15 s each, 640x360, 25 fps, the playback as
scratch sound, at staggered places in the song). Each mode scores the same folder into a
fresh catalogue (so nothing is skipped); the clock includes starting the worker processes
(and, for Dask, the cluster's workers on loopback), as a user waits for them. Scaling ratios
are against the 1-process run of the same invocation. The machine's load average is printed
beside each figure: other work on the machine slows every mode.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def _prepare(tmp: Path, n_takes: int):
    from lipcoach.media.decode import load_audio
    from lipcoach.production.build import build_number
    from lipcoach.production.catalogue import Catalogue, Song
    from lipcoach.production.demo_season import TakePlan, write_demo_season, write_plan_take
    from lipcoach.production.season import import_season

    season = write_demo_season(tmp / "season", n_lines=4)
    cat = Catalogue(tmp / "template")
    import_season(cat, season)
    result = build_number(cat, "boats-and-breath")
    with cat.session() as s:
        song = s.get(Song, result.song_id)
    audio, _ = load_audio(cat.path("files", song.audio_file), sr=16000)
    folder = tmp / "takes"
    folder.mkdir()
    for k in range(n_takes):
        start = 0.5 + (k * 3.0) % 14.0
        write_plan_take(result.songmap, audio, TakePlan(name=f"take{k:02d}.mp4", song_start_s=start, duration_s=15.0,
                                                        late_ms=40.0 * (k % 4), seed=k), folder / f"take{k:02d}.mp4")
    return cat.root, folder


def _run(template: Path, folder: Path, work: Path, **kwargs) -> dict:
    from lipcoach.production.catalogue import Catalogue
    from lipcoach.production.dailies import run_dailies

    root = work / "data"
    shutil.copytree(template, root)
    cat = Catalogue(root)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    summary = run_dailies(cat, folder, "boats-and-breath", **kwargs)
    wall = time.perf_counter() - t0
    n = summary.scored
    return {"takes": n, "failed": len(summary.failed), "wall_s": round(wall, 2),
            "takes_per_min": round(60.0 * n / wall, 2), "load_before": round(load, 2),
            "scores": {r["name"]: r["score"] for r in summary.rows}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takes", type=int, default=6)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    results = {}
    with tempfile.TemporaryDirectory(prefix="lc-dailies-") as tmp:
        tmp = Path(tmp)
        template, folder = _prepare(tmp, args.takes)
        for mode, kwargs in (("1 process", {"workers": 1}), ("2 processes", {"workers": 2})):
            work = tmp / mode.replace(" ", "-")
            work.mkdir()
            results[mode] = _run(template, folder, work, **kwargs)
            print(mode, json.dumps({k: v for k, v in results[mode].items() if k != "scores"}), flush=True)
        from distributed import LocalCluster

        work = tmp / "dask"
        work.mkdir()
        t0 = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                          silence_logs=40) as cluster:
            started = time.perf_counter() - t0
            results["dask 2 workers"] = _run(template, folder, work, dask_address=cluster.scheduler_address)
            results["dask 2 workers"]["cluster_start_s"] = round(started, 2)
        print("dask 2 workers", json.dumps({k: v for k, v in results["dask 2 workers"].items() if k != "scores"}), flush=True)
    base = results["1 process"]["takes_per_min"]
    for r in results.values():
        r["ratio_vs_1_process"] = round(r["takes_per_min"] / base, 3) if base else None
    same = len({json.dumps(r["scores"], sort_keys=True) for r in results.values()}) == 1
    summary = {"benchmark": "dailies_speed", "n_takes": args.takes, "take_duration_s": 15.0, "cpu_count": os.cpu_count(),
               "same_scores_in_every_mode": same, "modes": results}
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
