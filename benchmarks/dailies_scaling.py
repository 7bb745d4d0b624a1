"""Dailies scaling: one folder of takes scored on 1 process, 2 processes and a 2-worker local Dask cluster.

Usage: ``python benchmarks/dailies_scaling.py [--takes 12] [--json benchmarks/results/dailies_scaling.json]``

Material is generated (nothing third-party): the demo season's mashup is built and ``--takes``
drawn-face takes of it are written by the project's test-data makers (15 s each, 640x360,
25 fps, the playback as scratch sound, at staggered places in the number, some late). Each
mode scores the same folder into a fresh copy of the same catalogue, so nothing is skipped:

- ``1 process``: scored in the benchmark's own process;
- ``2 processes``: ``run_dailies(workers=2)`` (spawned worker processes, started inside the clock);
- ``dask 2 workers``: ``dask.distributed.LocalCluster`` (2 worker processes, 1 thread each, on
  127.0.0.1); the cluster's start-up is timed apart and not counted, the workers' first
  imports are.

For each mode: wall time, the speed-up against ``1 process`` (its wall time divided by the
mode's), and the CPU time of this process and every process it started (``getrusage``; the
Dask figure covers the cluster's whole life, start-up included, and ``workers_cpu_s`` is the
two workers' own CPU time while they scored). On a shared machine the CPU seconds are the
figure to compare: wall time depends on what else runs. The reports every mode
stored are compared whole (every field of every take's ``lipcoach.takereport``, with the
catalogue's own folder taken out of ``song.path``): ``same_reports`` says whether all three
agree. The machine's load average before and after each mode is recorded: on a shared machine
other work slows every mode, the parallel ones most.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

NUMBER = "boats-and-breath"


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and of its children that have ended."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _own_cpu_s() -> float:
    """CPU seconds of the calling process alone (run on each Dask worker)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _reports(cat) -> dict[str, dict]:
    """Every stored report of the number by take name, with the catalogue's folder taken out of paths."""
    from sqlalchemy import select

    from lipcoach.production.tables import DailyTake

    out = {}
    with cat.session() as s:
        for row in s.scalars(select(DailyTake)):
            doc = json.loads(cat.path("reports", row.report_file).read_text(encoding="utf-8"))
            doc["song"]["path"] = Path(doc["song"]["path"]).name  # same stored name, another copy of the catalogue
            out[row.name] = doc
    return out


def _differences(a, b, where: str = "") -> list[str]:
    """Paths where two JSON values differ (first few)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            out += _differences(a.get(key), b.get(key), f"{where}/{key}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for k, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{where}[{k}]")]
    return [] if a == b else [where]


def _score(template: Path, folder: Path, work: Path, **kwargs) -> tuple[dict, dict]:
    from lipcoach.production.catalogue import Catalogue
    from lipcoach.production.dailies import run_dailies

    root = work / "data"
    shutil.copytree(template, root)
    cat = Catalogue(root, start_up=False)
    load_before = os.getloadavg()[0]
    cpu0, t0 = _cpu_s(), time.perf_counter()
    summary = run_dailies(cat, folder, NUMBER, **kwargs)
    wall_s, cpu_s = time.perf_counter() - t0, _cpu_s() - cpu0
    return ({"takes_scored": summary.scored, "failed": [f"{n}: {p}" for n, p in summary.failed],
             "still_copying": [n for n, _ in summary.arriving], "wall_s": round(wall_s, 2), "cpu_s": round(cpu_s, 2),
             "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}, _reports(cat))


def main() -> None:
    from dailies_speed import _prepare  # the same generated number and takes as the speed benchmark

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takes", type=int, default=12)
    parser.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "results" / "dailies_scaling.json")
    args = parser.parse_args()
    if args.takes < 12:
        parser.error("--takes: at least 12 (two workers need several takes each for a fair figure)")

    modes: dict[str, dict] = {}
    reports: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="lc-dailies-scaling-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        template, folder = _prepare(tmp, args.takes)
        prepare_s = time.perf_counter() - t0
        time.sleep(2.5)  # the newest take is older than the dailies' settle time: no mode waits for it
        for mode, kwargs in (("1 process", {"workers": 1}), ("2 processes", {"workers": 2})):
            work = tmp / mode.replace(" ", "-")
            work.mkdir()
            modes[mode], reports[mode] = _score(template, folder, work, **kwargs)
            print(mode, json.dumps(modes[mode]), flush=True)

        from distributed import Client, LocalCluster

        work = tmp / "dask"
        work.mkdir()
        cpu0, t0 = _cpu_s(), time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                          silence_logs=40) as cluster, Client(cluster) as client:
            started_s = time.perf_counter() - t0
            workers_before = client.run(_own_cpu_s)
            modes["dask 2 workers"], reports["dask 2 workers"] = _score(template, folder, work,
                                                                         dask_address=cluster.scheduler_address)
            workers_after = client.run(_own_cpu_s)
        modes["dask 2 workers"].update(
            cluster_start_s=round(started_s, 2), cpu_s=round(_cpu_s() - cpu0, 2),
            cpu_s_covers="the cluster's whole life, start-up and shut-down included",
            workers_cpu_s=round(sum(workers_after[w] - workers_before.get(w, 0.0) for w in workers_after), 2))
        print("dask 2 workers", json.dumps(modes["dask 2 workers"]), flush=True)

    base = modes["1 process"]["wall_s"]
    for m in modes.values():
        m["speedup_vs_1_process"] = round(base / m["wall_s"], 3) if m["wall_s"] else None
    reference = reports["1 process"]
    differences = {mode: sorted({d for name in set(reference) | set(r) for d in _differences(reference.get(name), r.get(name), name)})[:20]
                   for mode, r in reports.items() if mode != "1 process"}
    all_scored = all(m["takes_scored"] == args.takes and not m["failed"] for m in modes.values())
    result = {
        "benchmark": "dailies_scaling",
        "command": f"nice -n 10 python benchmarks/dailies_scaling.py --takes {args.takes}",
        "n_takes": args.takes, "take_duration_s": 15.0, "number": NUMBER, "prepare_s": round(prepare_s, 1),
        "cpu_count": os.cpu_count(),
        "niceness": os.nice(0),
        "every_take_scored_in_every_mode": all_scored,
        "same_reports": all_scored and not any(differences.values()),
        "report_differences": differences,
        "modes": modes,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "modes"}))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
