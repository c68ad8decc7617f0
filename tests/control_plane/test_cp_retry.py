"""`POST /api/v1/videos/{id}/retry`: the owner runs a failed or stuck video's processing again,
through the video service, and nobody else can; a video being processed is refused."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.platform import Platform, embedded
from support.serve import make_clip

from control_plane.core.db import utcnow
from control_plane.jobs.models import Job, JobWorker
from workers.inprocess import start_inprocess_workers

GONE = "elsewhere:4242:0badcafe"  # a process that held the jobs' messages and stopped


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=4, size="320x240").read_bytes()


def wait_status(platform: Platform, headers: dict[str, str], video_id: str, until: set[str]) -> dict:
    deadline = time.monotonic() + 120
    while True:
        video = platform.client.get(f"/api/v1/videos/{video_id}", headers=headers).json()
        if video["status"] in until:
            return dict(video)
        assert time.monotonic() < deadline, video
        time.sleep(0.1)


def video_jobs(platform: Platform, video_id: str) -> list[Job]:
    with platform.services.db.session() as session:
        jobs = list(
            session.scalars(sa.select(Job).where(Job.subject == f"video:{video_id}").order_by(Job.created_at))
        )
        for job in jobs:
            session.expunge(job)
    return jobs


def test_a_stuck_video_is_retried_by_its_owner_only(
    tmp_path: Path, clip: bytes, platform_factory: Callable[..., Platform]
) -> None:
    platform = platform_factory(embedded(tmp_path), inprocess_workers=False)
    owner, other = platform.user("owner"), platform.user("other")
    moderator = platform.user("mod", role="moderator")
    video_id = platform.upload(owner, clip)
    # Its messages were held by a process that stopped: gone with it, the jobs left queued.
    platform.services.broker.flush_all()
    with platform.services.db.session() as session:
        session.add(
            JobWorker(name=GONE, machine="elsewhere||", pid=4242, seen_at=utcnow(), stopped_at=utcnow())
        )
        session.execute(sa.update(Job).where(Job.subject == f"video:{video_id}").values(held_by=GONE))
    stuck = {job.id: job.message_id for job in video_jobs(platform, video_id)}
    assert len(stuck) == 2

    r = platform.client.post(f"/api/v1/videos/{video_id}/retry", headers=other)
    assert r.status_code == 404 and r.json()["code"] == "VIDEO_NOT_FOUND"
    r = platform.client.post(f"/api/v1/videos/{video_id}/retry", headers=moderator)
    assert r.status_code == 403 and r.json()["code"] == "NOT_OWNER"
    assert {job.id: job.message_id for job in video_jobs(platform, video_id)} == stuck

    r = platform.client.post(f"/api/v1/videos/{video_id}/retry", headers=owner)
    assert r.status_code == 202 and r.json()["status"] == "processing", r.text
    resent = video_jobs(platform, video_id)
    assert {job.id for job in resent} == set(stuck)  # the same jobs, sent again
    assert all(job.message_id != stuck[job.id] and job.held_by != GONE for job in resent)

    r = platform.client.post(f"/api/v1/videos/{video_id}/retry", headers=owner)
    assert r.status_code == 409 and r.json()["code"] == "VIDEO_PROCESSING"

    worker = start_inprocess_workers(platform.services.broker, 2)
    try:
        assert wait_status(platform, owner, video_id, {"ready", "failed"})["status"] == "ready"
    finally:
        worker.stop()
    r = platform.client.post(f"/api/v1/videos/{video_id}/retry", headers=owner)
    assert r.status_code == 409 and r.json()["code"] == "VIDEO_NOT_RETRYABLE"
    assert r.headers["content-type"].startswith("application/problem+json")


def test_a_video_whose_jobs_were_lost_before_they_were_sent_starts_anew(
    tmp_path: Path, clip: bytes, platform_factory: Callable[..., Platform]
) -> None:
    platform = platform_factory(embedded(tmp_path), inprocess_workers=False)
    owner = platform.user("owner")
    video_id = platform.upload(owner, clip)
    platform.services.broker.flush_all()
    with platform.services.db.session() as session:  # the process stopped between upload and enqueue
        session.execute(sa.delete(Job).where(Job.subject == f"video:{video_id}"))
    r = platform.client.post(f"/api/v1/videos/{video_id}/retry", headers=owner)
    assert r.status_code == 202, r.text
    assert [job.kind for job in video_jobs(platform, video_id)] == ["video.process"]
    worker = start_inprocess_workers(platform.services.broker, 2)
    try:
        assert wait_status(platform, owner, video_id, {"ready", "failed"})["status"] == "ready"
    finally:
        worker.stop()


def test_a_failed_video_runs_again(platform: Platform) -> None:
    owner = platform.user("owner")
    video_id = platform.upload(owner, b"this is not a video at all" * 100)
    failed = wait_status(platform, owner, video_id, {"failed"})
    assert failed["error"]
    deadline = time.monotonic() + 60  # its Content-ID match (which skips unreadable media) may still run
    while platform.services.jobs.active(f"video:{video_id}"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    r = platform.client.post(f"/api/v1/videos/{video_id}/retry", headers=owner)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "processing" and r.json()["error"] is None and r.json()["progress"] == 0.0
    again = wait_status(platform, owner, video_id, {"failed"})
    assert again["error"] == failed["error"]  # a bad input stays bad, with the same words
    kinds = [job.kind for job in video_jobs(platform, video_id)]
    assert kinds.count("video.process") == 2 and kinds.count("contentid.match") == 1
