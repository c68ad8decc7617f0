"""Sending one mail: the ``email.send`` job, off the request path, retried if the server fails."""

from __future__ import annotations

from typing import Any

from control_plane.core.mail import MailSeal, open_mailer
from control_plane.jobs.models import Job
from workers import runtime

__all__ = ["send"]


def send(job_id: str) -> dict[str, Any]:
    """Open the sealed message of the job, send it, then wipe it from the job's arguments.

    A retried job whose message was already wiped has nothing left to send and succeeds.
    """
    ctx = runtime.current()
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise LookupError(f"job {job_id} not found")
        sealed = job.args.get("sealed")
    if not sealed:
        return {"sent": False}
    settings = ctx.settings
    previous = [p.encode() for p in settings.previous_secret_keys]
    mail = MailSeal(settings.secret_bytes, previous).open(str(sealed))
    mailer = open_mailer(settings)
    mailer.send(mail)
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        if job is not None:
            job.args = {"sent": True}
    return {"sent": True, "via": mailer.name}
