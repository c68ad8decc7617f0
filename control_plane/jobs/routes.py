"""Jobs: their state as workers report it, and the operator's canary job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from control_plane.core.errors import NotFound
from control_plane.http.deps import AdminDep, PrincipalDep, ServicesDep
from control_plane.jobs.models import Job

router = APIRouter(prefix="/api/v1", tags=["jobs"])


class JobOut(BaseModel):
    id: str
    kind: str
    queue: str
    status: str
    attempts: int
    max_attempts: int
    error: str | None
    result: dict[str, Any] | None
    worker: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            kind=job.kind,
            queue=job.queue,
            status=job.status,
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            error=job.error,
            result=job.result,
            worker=job.worker,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: str, principal: PrincipalDep, services: ServicesDep) -> JobOut:
    """A job's state. Only its owner, or an admin, may see it; others get 404 as if it did not exist."""
    with services.db.session() as session:
        job = session.get(Job, job_id)
        if job is None or not (job.owner_id == principal.user.id or principal.has_role("admin")):
            raise NotFound("No such job.", code="JOB_NOT_FOUND")
        return JobOut.of(job)


@router.post("/ops/canary", status_code=202, response_model=JobOut)
def run_canary(services: ServicesDep, principal: AdminDep) -> JobOut:
    """Enqueue a canary job: a worker writes, reads back and deletes a blob and pings the database."""
    job = services.jobs.enqueue("canary", owner_id=principal.user.id, subject="ops:canary")
    return JobOut.of(job)
