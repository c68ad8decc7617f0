"""Enqueueing a job: its row committed first, then its message sent on the broker handed in."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
import sqlalchemy as sa
from dramatiq.brokers.stub import StubBroker
from dramatiq.errors import ActorNotFound
from dramatiq.middleware import Retries

from control_plane.core.db import Database, utcnow
from control_plane.jobs.errors import BrokerUnavailable, EnqueueFailed
from control_plane.jobs.models import Job
from control_plane.jobs.processes import WorkerRegistry, holder
from control_plane.jobs.recovery import ACTIVE, recover

__all__ = ["JobQueue", "enqueue", "ping_broker"]

log = logging.getLogger(__name__)

#: Seconds after which a silent worker process is forgotten (7 days).
FORGET_AFTER = 7 * 24 * 3600.0


def _declared(broker: dramatiq.Broker, kind: str) -> tuple[str, int]:
    """(queue, attempts) of ``kind`` as declared on ``broker``; KeyError for an unknown kind."""
    try:
        actor = broker.get_actor(kind)
    except ActorNotFound:
        known = ", ".join(sorted(broker.get_declared_actors()))
        raise KeyError(f"unknown job kind {kind!r}; known: {known}") from None
    retries = actor.options.get("max_retries")
    if retries is None:  # declared without a limit of its own: the broker's Retries default applies
        retries = next((m.max_retries for m in broker.middleware if isinstance(m, Retries)), 0)
    return actor.queue_name, int(retries) + 1


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

    ``kind`` must be declared on ``broker`` (KeyError otherwise); its queue and attempts are the
    declared ones. ``delay`` is seconds. Raises EnqueueFailed, with the job marked failed, if the
    broker refuses.
    """
    queue, attempts = _declared(broker, kind)
    with db.session() as session:
        job = Job(
            kind=kind,
            queue=queue,
            status="queued",
            attempts=0,
            max_attempts=attempts,
            owner_id=owner_id,
            subject=subject,
            args=args or {},
            held_by=holder(broker),
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


def ping_broker(broker: dramatiq.Broker) -> None:
    """Raise BrokerUnavailable if the broker's server does not answer (a stub broker always does)."""
    try:
        if isinstance(broker, StubBroker):
            return
        client = getattr(broker, "client", None)
        if client is not None:
            client.ping()
            return
        connection = getattr(broker, "connection", None)
        if connection is not None and not connection.is_open:
            raise BrokerUnavailable("the RabbitMQ connection is closed")
    except BrokerUnavailable:
        raise
    except Exception as exc:
        raise BrokerUnavailable(f"broker unreachable: {exc}") from exc


class JobQueue:
    """The port bound to one database and broker, as the process's services hold it.

    ``lost_after`` is seconds without a heartbeat after which a worker process is taken for
    stopped (``SOCIALFLOW_WORKER_HEARTBEAT_TIMEOUT``).
    """

    def __init__(self, db: Database, broker: dramatiq.Broker, *, lost_after: float = 60.0) -> None:
        self.db = db
        self.broker = broker
        self.lost_after = lost_after

    def enqueue(self, kind: str, **options: Any) -> Job:
        """:func:`enqueue` on this queue's database and broker; same options and errors."""
        return enqueue(self.db, self.broker, kind, **options)

    def recover(self, subject: str | None = None) -> list[str]:
        """Send the stranded jobs (of ``subject`` only, when given) again; returns their ids
        (see ``control_plane.jobs.recovery``)."""
        return recover(self.db, self.broker, self.lost_after, subject=subject)

    def sweep(self) -> list[str]:
        """:meth:`recover` every stranded job, and forget processes silent for a week (a job that
        still names one is judged by its own age). Returns the ids of the jobs sent again."""
        sent = self.recover()
        WorkerRegistry(self.db).prune(older_than=FORGET_AFTER)
        return sent

    def active(self, subject: str) -> set[str]:
        """The kinds of the jobs about ``subject`` that are queued or running."""
        with self.db.session() as session:
            kinds = session.scalars(
                sa.select(Job.kind).where(Job.subject == subject, Job.status.in_(ACTIVE)).distinct()
            )
            return set(kinds)

    def states(self, subject: str) -> dict[str, str]:
        """The status of the latest job of each kind about ``subject``."""
        with self.db.session() as session:
            rows = session.execute(
                sa.select(Job.kind, Job.status).where(Job.subject == subject).order_by(Job.created_at)
            ).all()
        return {kind: status for kind, status in rows}

    def ping(self) -> None:
        """:func:`ping_broker` on this queue's broker."""
        ping_broker(self.broker)
