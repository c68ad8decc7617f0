"""Telling a stopped job process from a busy one: heartbeats, a clean stop, a pid gone from this
machine, a predecessor that had our pid, and a process that never registered."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from control_plane.core import migrate
from control_plane.core.db import Database, utcnow
from control_plane.jobs.models import JobWorker
from control_plane.jobs.processes import WorkerRegistry, machine_id, process_name


def registry(tmp_path: Path) -> WorkerRegistry:
    db = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    migrate.upgrade(db)
    return WorkerRegistry(db)


def add(reg: WorkerRegistry, name: str, *, machine: str, pid: int, seen_ago: float = 0.0) -> None:
    seen = utcnow() - timedelta(seconds=seen_ago)
    with reg.db.session() as session:
        session.add(JobWorker(name=name, machine=machine, pid=pid, started_at=seen, seen_at=seen))


def test_liveness_rules(tmp_path: Path) -> None:
    reg = registry(tmp_path)
    dead_pid = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    here = machine_id()
    add(reg, "here:busy", machine=here, pid=os.getppid())  # a live process on this machine
    add(reg, "here:gone", machine=here, pid=int(dead_pid.stdout))  # it has exited
    add(reg, "here:predecessor", machine=here, pid=os.getpid())  # our pid under another name
    add(reg, "there:busy", machine="another|host|", pid=1)
    add(reg, "there:silent", machine="another|host|", pid=1, seen_ago=120)
    add(reg, "there:stopped", machine="another|host|", pid=1)
    reg.stopped("there:stopped")
    reg.beat(process_name())
    names = {"here:busy", "here:gone", "here:predecessor", "there:busy", "there:silent", "there:stopped"}
    judge = reg.liveness(names | {"never:registered", process_name()}, lost_after=60)
    now, long_ago = utcnow(), utcnow() - timedelta(seconds=600)
    assert {name for name in names if judge.stopped(name, now)} == {
        "here:gone",
        "here:predecessor",
        "there:silent",
        "there:stopped",
    }
    assert not judge.stopped(process_name(), long_ago)
    assert not judge.stopped("never:registered", now)  # it may be starting; judged by the job's age
    assert judge.stopped("never:registered", long_ago)


def test_a_beat_revives_and_prune_forgets(tmp_path: Path) -> None:
    reg = registry(tmp_path)
    add(reg, "old", machine="another|host|", pid=1, seen_ago=8 * 24 * 3600)
    add(reg, "fresh", machine="another|host|", pid=1)
    reg.stopped("fresh")
    assert reg.liveness({"fresh"}, lost_after=60).stopped("fresh", utcnow())
    reg.beat("fresh")  # it beats again: no longer stopped
    assert not reg.liveness({"fresh"}, lost_after=60).stopped("fresh", utcnow())
    assert reg.prune(older_than=7 * 24 * 3600) == 1
    assert set(reg.liveness({"old", "fresh"}, lost_after=60).rows) == {"fresh"}
