"""Records each job's state (queued, running, succeeded, failed with a reason) in the database.

Runs after Dramatiq's Retries middleware has decided a failed message's fate, so a failure is
recorded as final only when no retry remains. A message is skipped when its job already finished
(a broker redelivery after a worker died between commit and ack), or when it is not the job's
current message (the job was sent again after its worker stopped: see
``control_plane.jobs.recovery``), so no job runs twice. A job whose every attempt began and did
not end (each time its worker stopped under it) fails instead of starting once more.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import SkipMessage, TimeLimitExceeded
from sqlalchemy.orm import Session

from control_plane.core.db import utcnow
from control_plane.jobs.models import Job
from workers import runtime

__all__ = ["JobState", "on_final_failure", "failure_reason", "record_result"]

log = logging.getLogger(__name__)

FailureHook = Callable[[Session, Job, str], None]
_failure_hooks: dict[str, FailureHook] = {}


def on_final_failure(kind: str) -> Callable[[FailureHook], FailureHook]:
    """Register what to mark failed (a video, a stream) when a job of ``kind`` fails for good.

    The hook gets the reason to show people: a bad input's own words, never a stack detail.
    """

    def register(hook: FailureHook) -> FailureHook:
        _failure_hooks[kind] = hook
        return hook

    return register


def failure_reason(exc: BaseException, time_limit: float | None = None) -> str:
    """Words for the ``error`` field. Errors with a wire ``code`` already speak to people."""
    if isinstance(exc, TimeLimitExceeded):
        return f"The job ran past its time limit{f' of {time_limit:g} s' if time_limit else ''}."
    if isinstance(getattr(exc, "code", None), str):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


#: What people see of a failure that is not theirs to fix (the job row keeps the technical reason).
INTERNAL_FAILURE = "Processing failed because of a problem on our side; it has been logged."


def public_reason(exc: BaseException, reason: str) -> str:
    """The reason failure hooks show to people: the error's own words, or INTERNAL_FAILURE."""
    if isinstance(exc, TimeLimitExceeded) or isinstance(getattr(exc, "code", None), str):
        return reason
    return INTERNAL_FAILURE


def record_result(job_id: str, result: Any) -> None:
    """Store what a job returned (a JSON-able dict, or any value wrapped as ``{"value": ...}``)."""
    with runtime.current().db.session() as session:
        job = session.get(Job, job_id)
        if job is not None:
            job.result = result if isinstance(result, dict) else {"value": result}


def _give_up(session: Session, job: Job) -> None:
    """Fail a job with no attempt left, whose last attempt ended without a word (its worker stopped)
    or with an error whose retry was then lost with its process."""
    if job.status == "running":
        job.error = f"The job's worker stopped while running it, {job.attempts} times; no attempt is left."
    else:
        job.error = job.error or f"The job was tried {job.attempts} times; no attempt is left."
    job.status, job.finished_at = "failed", utcnow()
    hook = _failure_hooks.get(job.kind)
    if hook is not None:
        hook(session, job, INTERNAL_FAILURE)
    log.error("job %s (%s) failed for good: %s", job.id, job.kind, job.error)


def _job_id(message: MessageProxy) -> str | None:
    value = message.kwargs.get("job_id")
    return value if isinstance(value, str) else None


class JobState(dramatiq.Middleware):
    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        job_id = _job_id(message)
        if job_id is None:
            return
        with runtime.current().db.session(exclusive=True) as session:
            job = session.get(Job, job_id, with_for_update=True)
            if job is None:
                log.warning("message %s names unknown job %s; skipped", message.message_id, job_id)
                raise SkipMessage(job_id)
            if job.status in ("succeeded", "failed"):
                log.info("job %s already %s; redelivered message skipped", job_id, job.status)
                raise SkipMessage(job_id)
            if job.message_id is not None and job.message_id != message.message_id:
                log.info(
                    "message %s of job %s was superseded by %s; skipped",
                    message.message_id,
                    job_id,
                    job.message_id,
                )
                raise SkipMessage(job_id)
            exhausted = job.attempts >= job.max_attempts
            if exhausted:
                _give_up(session, job)
            else:
                job.status = "running"
                job.attempts += 1
                job.started_at = utcnow()
                job.worker = runtime.worker_name()
        if exhausted:  # raised once the failure is committed
            raise SkipMessage(job_id)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        job_id = _job_id(message)
        if job_id is None:
            return
        with runtime.current().db.session(exclusive=True) as session:
            job = session.get(Job, job_id, with_for_update=True)
            if job is None:
                return
            if exception is None:
                job.status = "succeeded"
                job.error = None
                job.finished_at = utcnow()
                return
            time_limit = message.options.get("time_limit") or broker.get_actor(
                message.actor_name
            ).options.get("time_limit")
            reason = failure_reason(exception, time_limit / 1000 if time_limit else None)
            job.error = reason
            if message.failed:
                job.status = "failed"
                job.finished_at = utcnow()
                hook = _failure_hooks.get(job.kind)
                if hook is not None:
                    hook(session, job, public_reason(exception, reason))
                log.error("job %s (%s) failed for good: %s", job.id, job.kind, reason)
            else:
                job.status = "queued"
                log.warning(
                    "job %s (%s) attempt %d failed, will retry: %s", job.id, job.kind, job.attempts, reason
                )
