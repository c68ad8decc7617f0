"""The job machinery: table-declared actors, retries, final failure, time limits, redelivery."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
from dramatiq import Worker

from control_plane.core import migrate
from control_plane.core.db import Database
from control_plane.core.settings import load_settings
from control_plane.jobs import enqueue
from control_plane.jobs.models import Job
from storage import LocalStore
from workers import jobs, runtime
from workers.broker import make_broker
from workers.middleware import on_final_failure

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
