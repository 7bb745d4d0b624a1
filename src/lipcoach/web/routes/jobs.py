"""Background jobs and their progress (the pages poll them)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from lipcoach.production.catalogue import Job
from lipcoach.web.deps import StudioDep, row_or_404
from lipcoach.web.models import RowId

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


@router.get("/{job_id}")
def job_info(studio: StudioDep, job_id: RowId) -> dict:
    with studio.cat.session() as s:
        return row_or_404(s, Job, job_id, "job").to_dict()


@router.get("")
def list_jobs(studio: StudioDep, active: bool = False) -> list[dict]:
    """The last 50 jobs, newest first; with ``active`` the queued and running ones, in order."""
    with studio.cat.session() as s:
        q = select(Job).order_by(Job.id.desc()).limit(50)
        if active:
            q = select(Job).where(Job.state.in_(("queued", "running"))).order_by(Job.id)
        return [j.to_dict() for j in s.scalars(q)]
