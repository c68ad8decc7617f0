"""The job machinery: table-declared actors, retries, final failure, time limits, redelivery, and
jobs sent again after their process stopped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
from dramatiq import Worker

from control_plane.core import migrate
from control_plane.core.db import Database, utcnow
from control_plane.core.settings import load_settings
from control_plane.jobs import enqueue
from control_plane.jobs.models import Job, JobWorker
from control_plane.jobs.processes import process_name
from control_plane.jobs.recovery import recover, resend
from storage import LocalStore
from workers import jobs, runtime
from workers.broker import make_broker
from workers.middleware import on_final_failure
from workers.middleware.jobstate import INTERNAL_FAILURE

GONE = "elsewhere:1:0badcafe"  # a process on another machine that stopped

TEST_JOBS = {
    "flaky": jobs.JobSpec(
        "flaky",
        "support.actors:flaky",
        queue="default",
        attempts=2,
        time_limit=10,
        min_backoff=0.01,
        max_backoff=0.05,
    ),
    "broken": jobs.JobSpec(
        "broken",
        "support.actors:broken",
        queue="default",
        attempts=3,
        time_limit=10,
        min_backoff=0.01,
        max_backoff=0.05,
    ),
    "slow": jobs.JobSpec("slow", "support.actors:slow", queue="default", attempts=1, time_limit=0.3),
    "touch": jobs.JobSpec("touch", "support.actors:touch", queue="default", attempts=1, time_limit=10),
}


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Database, dramatiq.Broker]]:
    monkeypatch.setattr(jobs, "JOBS", TEST_JOBS)
    monkeypatch.setattr("workers.broker.JOBS", TEST_JOBS)
    settings = load_settings(data_dir=tmp_path)
    db = Database(settings.effective_database_url)
    migrate.upgrade(db)
    runtime.configure(
        runtime.WorkerContext(settings=settings, db=db, store=LocalStore(tmp_path / "blobs", b"k" * 32))
    )
    broker = make_broker(None)
    broker.emit_after("process_boot")
    worker = Worker(broker, worker_threads=2, worker_timeout=50)
    worker.start()
    yield db, broker
    worker.stop()
    runtime.reset()
    db.dispose()


def wait(
    db: Database, job_id: str, states: tuple[str, ...] = ("succeeded", "failed"), timeout: float = 10
) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        with db.session() as s:
            job = s.get(Job, job_id)
            assert job is not None
            if job.status in states or time.monotonic() > deadline:
                return job
        time.sleep(0.02)


def test_retry_then_success(setup) -> None:
    db, broker = setup
    job = enqueue(db, broker, "flaky")
    done = wait(db, job.id)
    assert (done.status, done.attempts, done.error, done.result) == ("succeeded", 2, None, {"attempts": 2})


def test_final_failure_records_a_readable_reason_and_runs_the_hook(setup) -> None:
    db, broker = setup
    seen: list[tuple[str, str]] = []

    @on_final_failure("broken")
    def mark(session, job, reason):  # type: ignore[no-untyped-def]
        seen.append((job.id, reason))

    job = enqueue(db, broker, "broken", subject="video:1")
    done = wait(db, job.id)
    assert done.status == "failed" and done.attempts == 3
    assert done.error == "The file is empty."
    assert seen == [(job.id, "The file is empty.")]


def test_time_limit_fails_the_job(setup) -> None:
    db, broker = setup
    job = enqueue(db, broker, "slow")
    done = wait(db, job.id)
    assert done.status == "failed"
    assert done.error == "The job ran past its time limit of 0.3 s."


def test_a_redelivered_finished_job_does_not_run_again(setup) -> None:
    db, broker = setup
    job = enqueue(db, broker, "touch")
    assert wait(db, job.id).status == "succeeded"
    store = runtime.current().store
    store.delete(f"touched/{job.id}")
    broker.get_actor("touch").send_with_options(kwargs={"job_id": job.id})  # as a broker redelivery would
    time.sleep(0.5)
    done = wait(db, job.id)
    assert done.attempts == 1 and not store.exists(f"touched/{job.id}")


def test_unknown_kind_is_refused(setup) -> None:
    db, broker = setup
    with pytest.raises(KeyError, match="unknown job kind"):
        enqueue(db, broker, "nope")


def job_row(db: Database, kind: str, **values: object) -> str:
    """A job row as a process that is gone left it (no message of it is in the broker)."""
    with db.session() as s:
        fields: dict = {"status": "queued", "attempts": 0, "max_attempts": 1, "args": {}, **values}
        job = Job(kind=kind, queue="default", **fields)
        s.add(job)
    return job.id


def test_a_superseded_message_is_skipped_and_the_current_one_runs_once(setup) -> None:
    db, broker = setup
    job_id = job_row(db, "touch", status="running", attempts=0, worker=GONE, message_id="an-old-message")
    broker.get_actor("touch").send_with_options(kwargs={"job_id": job_id})  # not the job's message
    time.sleep(0.5)
    assert wait(db, job_id, ("succeeded",), timeout=0.5).status == "running"
    assert not runtime.current().store.exists(f"touched/{job_id}")
    with db.session() as s:
        stale = s.get(Job, job_id)
        assert stale is not None
        s.expunge(stale)
    assert resend(db, broker, stale) and not resend(db, broker, stale)  # the second saw the row change
    done = wait(db, job_id)
    assert (done.status, done.attempts) == ("succeeded", 1)


def test_a_job_whose_worker_stopped_on_every_attempt_fails(setup) -> None:
    db, broker = setup
    seen: list[tuple[str, str]] = []

    @on_final_failure("broken")
    def mark(session, job, reason):  # type: ignore[no-untyped-def]
        seen.append((job.id, reason))

    job_id = job_row(db, "broken", status="running", attempts=3, max_attempts=3, worker=GONE)
    broker.get_actor("broken").send_with_options(kwargs={"job_id": job_id})  # as a redelivery would
    done = wait(db, job_id)
    assert (done.status, done.attempts) == ("failed", 3)
    assert done.error == "The job's worker stopped while running it, 3 times; no attempt is left."
    assert seen == [(job_id, INTERNAL_FAILURE)]


def test_recovery_sends_again_the_jobs_of_a_stopped_holder(setup) -> None:
    db, broker = setup
    with db.session() as s:
        s.add(JobWorker(name=GONE, machine="elsewhere||", pid=1, seen_at=utcnow(), stopped_at=utcnow()))
    lost = job_row(db, "touch", held_by=GONE, message_id="lost-with-its-process")
    kept = job_row(db, "touch", held_by=process_name(), message_id="still-in-this-process")
    assert recover(db, broker, lost_after=60) == [lost]
    assert wait(db, lost).status == "succeeded"
    assert wait(db, kept, timeout=0.3).status == "queued"
    assert recover(db, broker, lost_after=60) == []
