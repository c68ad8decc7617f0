"""Stopping the in-process workers of ``serve``: say what is waited for and how long, and stop at
once on a second Ctrl-C.

Jobs are idempotent and a stopped process's jobs are sent again when the platform next starts
(``control_plane.jobs.recovery``), so a job cut short loses only the time it had run.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

import sqlalchemy as sa
from dramatiq import Worker

from control_plane.core.db import Database, utcnow
from control_plane.jobs.models import Job
from control_plane.jobs.processes import WorkerRegistry, process_name
from control_plane.jobs.recovery import hand_back

__all__ = ["stop_workers", "describe"]

log = logging.getLogger(__name__)

#: Seconds idle worker threads get to notice that they should stop.
IDLE_STOP = 5.0


def _running(db: Database) -> list[Job]:
    with db.session() as session:
        jobs = list(
            session.scalars(sa.select(Job).where(Job.worker == process_name(), Job.status == "running"))
        )
        for job in jobs:
            session.expunge(job)
    return jobs


def describe(jobs: list[Job]) -> str:
    """``video.process of video:ab12 (running for 12 s)``, joined with commas."""
    now = utcnow()
    parts = []
    for job in jobs:
        ran = f" (running for {(now - job.started_at).total_seconds():.0f} s)" if job.started_at else ""
        parts.append(f"{job.kind}{f' of {job.subject}' if job.subject else ''}{ran}")
    return ", ".join(parts)


def _on_signals(handler: Callable[[int, FrameType | None], None]) -> dict[int, object]:
    """Install ``handler`` for SIGINT and SIGTERM (main thread only); returns what it replaced."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}


def stop_workers(worker: Worker, db: Database, grace: float) -> bool:
    """Stop ``worker``, waiting up to ``grace`` seconds for the jobs its threads are running.

    Logs what it waits for and for how long. A second Ctrl-C (or SIGTERM) stops the wait at
    once. Returns True when every job ended; False when some were still running: they are then
    handed back (``queued``, that attempt not counted) and this process is recorded as stopped,
    and the caller must end the process at once (``os._exit``) so that no thread touches them.
    """
    running = _running(db)
    if not running:
        worker.stop(timeout=int(IDLE_STOP * 1000))
        return True
    log.warning(
        "waiting up to %g s for %d running job(s) to finish: %s; press Ctrl-C again to stop now "
        "(they run again on the next start)",
        grace,
        len(running),
        describe(running),
        extra={"jobs": len(running), "grace_s": grace},
    )
    stopped, again = threading.Event(), threading.Event()

    def stop() -> None:
        worker.stop(timeout=int(grace * 1000))
        stopped.set()

    previous = _on_signals(lambda signum, frame: again.set())
    try:
        threading.Thread(target=stop, name="stop-workers", daemon=True).start()
        deadline = time.monotonic() + grace
        while not (stopped.is_set() or again.is_set()) and time.monotonic() < deadline:
            stopped.wait(0.1)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
    left = hand_back(db, process_name())
    WorkerRegistry(db).stopped(process_name())
    if not left:
        return True
    why = "on a second signal" if again.is_set() else f"after {grace:g} s"
    log.warning("stopped %s without waiting for %s; they run again on the next start", why, describe(left))
    return False
