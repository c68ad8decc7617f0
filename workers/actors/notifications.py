"""The notifications jobs: drain the mailbox (every intake's events), ingest the items of an
older job, fan out to an audience in batches, push to devices, send the digests that are due,
sweep old notifications."""

from __future__ import annotations

from typing import Any

from control_plane.core.db import utcnow
from control_plane.jobs.models import Job
from control_plane.notifications.push import PushRetry
from workers import runtime

__all__ = ["digests", "drain", "fanout", "ingest", "push", "sweep"]


def _args(job_id: str) -> dict[str, Any]:
    with runtime.current().db.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise LookupError(f"job {job_id} not found")
        return dict(job.args)


def drain(job_id: str) -> dict[str, Any]:
    """Make the notifications of whatever waits in the mailbox, chunk by chunk, until it is empty
    (no arguments: nothing of the job's row to read)."""
    notifications = runtime.current().notifications
    drained = notifications.service.drain(notifications.mailbox)
    return {
        "rows": drained.rows,
        "items": drained.items,
        "made": drained.made,
        "removed": drained.removed,
        "failed": drained.failed,
    }


def ingest(job_id: str) -> dict[str, Any]:
    """Make the notifications the job's items ask for (a job an intake sent before the mailbox);
    returns how many were made and removed."""
    made = runtime.current().notifications.service.ingest(_args(job_id)["items"])
    return {
        "made": len(made.notifications),
        "pushes": len(made.pushes),
        "mails": len(made.mails),
        "removed": made.removed,
    }


def fanout(job_id: str) -> dict[str, Any]:
    """Notify one batch of the audience, then enqueue the next batch (a new job) if there is one."""
    ctx = runtime.current()
    args = _args(job_id)
    told, after = ctx.notifications.service.fanout(args["item"], args.get("after"))
    if after is not None:
        ctx.enqueue("notifications.fanout", args={"item": args["item"], "after": after})
    return {"told": told, "more": after is not None}


def push(job_id: str) -> dict[str, Any]:
    """Push the job's items. Devices that failed in a way that may pass are kept in the job's
    arguments and tried again (the job's retries, with backoff); a gone device is forgotten."""
    ctx = runtime.current()
    args = _args(job_id)
    outcome = ctx.notifications.pusher.run(args["items"], args.get("devices"))
    if outcome.retry:
        with ctx.db.session() as session:
            job = session.get(Job, job_id)
            if job is not None:
                job.args = {"items": [i for i, _ in outcome.retry], "devices": [d for _, d in outcome.retry]}
        raise PushRetry(f"{sum(len(d) for _, d in outcome.retry)} push(es) failed and will be tried again")
    return {"sent": outcome.sent, "gone": outcome.gone}


def digests(job_id: str) -> dict[str, Any]:
    return {"posted": runtime.current().notifications.digests.run(utcnow())}


def sweep(job_id: str) -> dict[str, Any]:
    ctx = runtime.current()
    return {"removed": ctx.notifications.service.sweep(ctx.settings.notification_retention)}
