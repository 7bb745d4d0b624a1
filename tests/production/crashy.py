"""A scoring function whose worker process dies once, mid-take (for the retry tests)."""

from __future__ import annotations

import os
from pathlib import Path

from lipcoach.production.dailies import TakeJob, score_one

VICTIM = "take02.mp4"


def die_once(marker_dir: str, job: TakeJob) -> dict:
    """Kill this worker process the first time it gets :data:`VICTIM`; score normally otherwise."""
    marker = Path(marker_dir) / f"{Path(job.path).name}.died"
    if Path(job.path).name == VICTIM and not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(17)  # as the OOM killer or a kill -9 would: no clean-up, no result
    return score_one(job)
