"""A scoring function that records its worker's pid and then takes a minute (for the kill -9 test)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from lipcoach.production.dailies import TakeJob


def record_pid_and_wait(marker_dir: str, job: TakeJob) -> dict:
    """Write ``<take>.pid`` holding this worker's pid into ``marker_dir``, then sleep 60 s."""
    (Path(marker_dir) / f"{Path(job.path).name}.pid").write_text(str(os.getpid()))
    time.sleep(60)
    return {"error": "should have been killed"}
