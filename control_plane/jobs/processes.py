"""The processes that hold and run jobs: their names, their heartbeats, and whether they still run.

A process that runs jobs registers in the ``job_workers`` table and beats there while it runs.
Another process judges it stopped when it said so, when it has not beaten for ``lost_after``
seconds, or at once when it lived on the same machine (same host, kernel boot and process
namespace) and its pid is gone. Names are unique per process start, so a restarted process that
gets the same pid (pid 1 in a container) is never taken for its predecessor.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import dramatiq
import sqlalchemy as sa
from dramatiq.brokers.stub import StubBroker

from control_plane.core.db import Database, utcnow
from control_plane.jobs.models import JobWorker

__all__ = ["process_name", "holder", "machine_id", "pid_alive", "WorkerRegistry", "Liveness"]

_name: tuple[int, str] | None = None


def process_name() -> str:
    """host:pid:token of this process; a new token after a fork, so each process has its own."""
    global _name
    pid = os.getpid()
    if _name is None or _name[0] != pid:
        _name = (pid, f"{socket.gethostname()}:{pid}:{secrets.token_hex(4)}")
    return _name[1]


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def holder(broker: dramatiq.Broker) -> str | None:
    """The process that holds a message sent on ``broker``: this one for the in-process (stub)
    broker, whose messages live in memory; None for a shared broker, which keeps them itself."""
    return process_name() if isinstance(broker, StubBroker) else None


@cache
def machine_id() -> str:
    """Where this process's pid means something: the host name, the kernel's boot id and the pid
    namespace (Linux), so two containers on one kernel, or one host before and after a reboot, differ."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}|{_read('/proc/sys/kernel/random/boot_id')}|{namespace}"[:255]


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this machine (it may not be ours to signal)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WorkerRegistry:
    """Heartbeats of job-running processes in the ``job_workers`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def beat(self, name: str) -> None:
        """Record that ``name`` (this process) runs now; registers it on the first beat."""
        now = utcnow()
        with self.db.session() as session:
            row = session.get(JobWorker, name)
            if row is None:
                session.add(
                    JobWorker(name=name, machine=machine_id(), pid=os.getpid(), started_at=now, seen_at=now)
                )
            else:
                row.seen_at, row.stopped_at = now, None

    def stopped(self, name: str) -> None:
        """Record that ``name`` stopped on purpose: the messages it held are gone with it."""
        with self.db.session() as session:
            row = session.get(JobWorker, name)
            if row is not None:
                row.stopped_at = utcnow()

    def prune(self, older_than: float) -> int:
        """Forget processes not seen for ``older_than`` seconds; returns how many were forgotten.

        A job still naming one is judged by its own age (see :class:`Liveness`)."""
        cutoff = utcnow() - timedelta(seconds=older_than)
        with self.db.session() as session:
            result = session.execute(sa.delete(JobWorker).where(JobWorker.seen_at < cutoff))
            return int(getattr(result, "rowcount", 0) or 0)

    def liveness(self, names: set[str], lost_after: float) -> Liveness:
        """A judge of the processes ``names``, from their rows as they are now."""
        with self.db.session() as session:
            rows = (
                session.scalars(sa.select(JobWorker).where(JobWorker.name.in_(names))).all() if names else []
            )
            for row in rows:
                session.expunge(row)
        return Liveness({row.name: row for row in rows}, lost_after, utcnow())


@dataclass
class Liveness:
    """Whether processes still run, judged from their heartbeat rows at one moment ``now``."""

    rows: dict[str, JobWorker]
    lost_after: float
    now: datetime

    def stopped(self, name: str, since: datetime) -> bool:
        """Whether the process ``name`` no longer runs; ``since`` is when the job naming it last
        changed hands (for a process with no row: stopped once that is ``lost_after`` ago)."""
        if name == process_name():
            return False
        lapse = timedelta(seconds=self.lost_after)
        row = self.rows.get(name)
        if row is None:
            return since < self.now - lapse
        if row.stopped_at is not None or row.seen_at < self.now - lapse:
            return True
        if row.machine != machine_id():
            return False
        # Our pid under another name is a predecessor of ours (a container's pid 1 restarted).
        return row.pid == os.getpid() or not pid_alive(row.pid)
