"""The control plane's one door into the workers: record a job, then send its message."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq

from control_plane.core.db import Database, utcnow
from control_plane.core.errors import ProblemError
from control_plane.jobs.models import Job
from workers.jobs import spec

__all__ = ["enqueue", "EnqueueFailed"]

log = logging.getLogger(__name__)


class EnqueueFailed(ProblemError):
    code = "BROKER_UNAVAILABLE"
    status = 503
    title = "Job queue unavailable"


def enqueue(
    db: Database,
    broker: dramatiq.Broker,
    kind: str,
    *,
    args: dict[str, Any] | None = None,
    owner_id: str | None = None,
    subject: str | None = None,
    delay: float | None = None,
) -> Job:
    """Insert the job as ``queued`` (committed first, so a fast worker finds it), then send it.

    ``delay`` is seconds. Raises EnqueueFailed, with the job marked failed, if the broker refuses.
    """
    job_spec = spec(kind)
    with db.session() as session:
        job = Job(
            kind=kind,
            queue=job_spec.queue,
            status="queued",
            attempts=0,
            max_attempts=job_spec.attempts,
            owner_id=owner_id,
            subject=subject,
            args=args or {},
        )
        session.add(job)
    try:
        message = broker.get_actor(kind).send_with_options(
            kwargs={"job_id": job.id}, delay=int(delay * 1000) if delay else None
        )
    except Exception as exc:
        log.error("could not enqueue %s job %s: %s", kind, job.id, exc)
        with db.session() as session:
            row = session.get(Job, job.id)
            if row is not None:
                row.status, row.error, row.finished_at = (
                    "failed",
                    "The job queue could not be reached.",
                    utcnow(),
                )
        raise EnqueueFailed("the job queue could not be reached; try again shortly") from exc
    with db.session() as session:
        row = session.get(Job, job.id)
        if row is not None and row.message_id is None:
            row.message_id = message.message_id
    job.message_id = message.message_id
    return job
