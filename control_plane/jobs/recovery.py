"""Jobs whose message went with a stopped process, sent again (jobs are idempotent).

A job is *stranded* when it is ``queued`` or ``running`` and the process its message depends on
no longer runs: the process that held it in an in-process broker (the embedded default keeps
messages in memory), or, on a shared broker, the worker that was running it. A shared broker
redelivers a dead worker's message by itself (Redis after its heartbeat timeout, RabbitMQ when the
connection drops); sending again is then a backstop, and only one of the two runs: a sent message
becomes the job's ``message_id`` before it leaves, and the job-state middleware skips any other
message of the job. The switch is a compare-and-set on the row, so a redelivery that took the job
in the meantime wins and nothing is sent.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
import sqlalchemy as sa
from dramatiq.errors import ActorNotFound

from control_plane.core.db import Database
from control_plane.jobs.models import Job
from control_plane.jobs.processes import WorkerRegistry, holder

__all__ = ["ACTIVE", "stranded", "resend", "recover", "hand_back"]

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")


def _depends_on(job: Job) -> str | None:
    """The process whose stop loses the job's message, if any."""
    if job.held_by:
        return job.held_by
    return job.worker if job.status == "running" else None


def stranded(db: Database, lost_after: float, *, subject: str | None = None) -> list[Job]:
    """The stranded jobs (of ``subject`` only, when given), detached from any session.

    ``lost_after`` is seconds without a heartbeat after which a process is taken for stopped.
    """
    query = sa.select(Job).where(
        Job.status.in_(ACTIVE), sa.or_(Job.held_by.is_not(None), Job.status == "running")
    )
    if subject is not None:
        query = query.where(Job.subject == subject)
    with db.session() as session:
        jobs = list(session.scalars(query))
        for job in jobs:
            session.expunge(job)
    names = {name for job in jobs if (name := _depends_on(job))}
    liveness = WorkerRegistry(db).liveness(names, lost_after)
    return [
        job
        for job in jobs
        if (name := _depends_on(job)) is not None and liveness.stopped(name, job.started_at or job.created_at)
    ]


def _same(column: Any, value: str | None) -> sa.ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def resend(db: Database, broker: dramatiq.Broker, job: Job) -> bool:
    """Send ``job`` again as a new message, unless its row changed since ``job`` was read.

    The job becomes ``queued`` with the new message as its own (attempts are kept: a run that
    died counts). True if sent. A broker that refuses leaves the row as it was, for the next try.
    """
    try:
        message = broker.get_actor(job.kind).message_with_options(kwargs={"job_id": job.id})
    except ActorNotFound:
        log.warning("stranded job %s is of kind %s, unknown to this broker; left alone", job.id, job.kind)
        return False
    unchanged = sa.and_(
        Job.id == job.id,
        Job.status == job.status,
        _same(Job.message_id, job.message_id),
        _same(Job.worker, job.worker),
        _same(Job.held_by, job.held_by),
    )
    with db.session() as session:
        taken = session.execute(
            sa.update(Job)
            .where(unchanged)
            .values(status="queued", message_id=message.message_id, worker=None, held_by=holder(broker))
        )
        if not getattr(taken, "rowcount", 0):
            return False
    try:
        broker.enqueue(message)
    except Exception as exc:
        log.error("could not send stranded job %s (%s) again: %s", job.id, job.kind, exc)
        with db.session() as session:
            session.execute(
                sa.update(Job)
                .where(Job.id == job.id, Job.message_id == message.message_id)
                .values(status=job.status, message_id=job.message_id, worker=job.worker, held_by=job.held_by)
            )
        return False
    return True


def recover(
    db: Database, broker: dramatiq.Broker, lost_after: float, *, subject: str | None = None
) -> list[str]:
    """Send every stranded job (of ``subject`` only, when given) again; returns their ids."""
    sent = [job for job in stranded(db, lost_after, subject=subject) if resend(db, broker, job)]
    for job in sent:
        log.warning(
            "job %s (%s) was stranded by a stopped process; sent again",
            job.id,
            job.kind,
            extra={
                "job_id": job.id,
                "kind": job.kind,
                "subject": job.subject,
                "stopped_process": _depends_on(job),
            },
        )
    return [job.id for job in sent]


def hand_back(db: Database, name: str) -> list[Job]:
    """Jobs running under process ``name``, which stops without finishing them, go back to
    ``queued`` without counting that attempt; returns them (detached). Whoever holds their
    messages sends them again: a shared broker redelivers, a restarted process recovers them.

    Each job moves by a conditional UPDATE, so one that ends at this moment keeps its outcome."""
    with db.session() as session:
        running = list(session.scalars(sa.select(Job).where(Job.worker == name, Job.status == "running")))
        for job in running:
            session.expunge(job)
    handed = []
    for job in running:
        with db.session() as session:
            moved = session.execute(
                sa.update(Job)
                .where(Job.id == job.id, Job.worker == name, Job.status == "running")
                .values(
                    status="queued",
                    worker=None,
                    attempts=sa.case((Job.attempts > 0, Job.attempts - 1), else_=0),
                )
            )
        if getattr(moved, "rowcount", 0):
            handed.append(job)
    return handed
