"""A worker process killed in the middle of a transcode (Redis broker): the job runs again on
another worker and the published video has no duplicate or orphan files. The jobs sweep agrees:
it sends the job again when its message was lost with the worker, and when the broker redelivers
the message as well only one of the two runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import m3u8
import pytest
import redis
from support.platform import Platform, production
from support.serve import make_clip

from control_plane.jobs.models import Job
from control_plane.videos.models import Video

SOCIALFLOW = str(Path(sys.executable).with_name("socialflow"))


def worker(settings, threads: int = 1, log: Path | None = None) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALFLOW_")}
    for name in ("data_dir", "database_url", "broker_url", "redis_url", "storage_url", "secret_key"):
        env[f"SOCIALFLOW_{name.upper()}"] = str(getattr(settings, name))
    env.update(SOCIALFLOW_WORKER_HEARTBEAT_TIMEOUT="3", SOCIALFLOW_WORKER_MAINTENANCE_CHANCE="1000000")
    output = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - the child holds it
    return subprocess.Popen(
        [SOCIALFLOW, "worker", "--processes", "1", "--threads", str(threads)],
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def job_of(platform: Platform, video_id: str) -> Job | None:
    with platform.services.db.session() as session:
        for job in session.query(Job).filter(Job.kind == "video.process"):
            if job.args.get("video_id") == video_id:
                session.expunge(job)
                return job
    return None


@dataclass
class Killed:
    """A platform whose only worker was SIGKILLed in the middle of a video's transcode."""

    platform: Platform
    settings: Any
    headers: dict[str, str]
    video_id: str
    broker_url: str


@pytest.fixture
def killed(
    tmp_path: Path,
    postgres_url: str,
    redis_url: str,
    s3_bucket_url: str,
    platform_factory: Callable[..., Platform],
) -> Killed:
    broker_url = redis_url.rsplit("/", 1)[0] + "/4"
    redis.Redis.from_url(broker_url).flushdb()
    settings = production(
        tmp_path,
        database_url=postgres_url,
        broker_url=broker_url,
        storage_url=s3_bucket_url,
        redis_url=redis_url,
        worker_heartbeat_timeout=3,
        worker_maintenance_chance=1_000_000,
    )
    platform = platform_factory(settings, inprocess_workers=False)
    clip = make_clip(tmp_path / "long.mp4", seconds=24)
    headers = platform.user("creator")
    video_id = platform.upload(headers, clip.read_bytes())

    first = worker(settings)
    try:
        deadline = time.monotonic() + 180
        while True:  # wait until the transcode is really under way
            video = platform.client.get(f"/api/v1/videos/{video_id}", headers=headers).json()
            if video["progress"] > 0.1:
                break
            assert time.monotonic() < deadline, video
            time.sleep(0.1)
        assert video["status"] == "processing"
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    job = job_of(platform, video_id)
    assert job is not None and job.status == "running" and job.attempts == 1
    return Killed(platform, settings, headers, video_id, broker_url)


def run_to_the_end(killed: Killed, log: Path, threads: int = 1) -> dict:
    """Start a fresh worker (its output to ``log``) and wait until the video is ready or failed
    and its job has ended."""
    second = worker(killed.settings, threads, log)
    try:
        deadline = time.monotonic() + 180
        while True:
            video = killed.platform.client.get(
                f"/api/v1/videos/{killed.video_id}", headers=killed.headers
            ).json()
            job = job_of(killed.platform, killed.video_id)
            # the video is marked ready inside the job, a moment before the job is marked done
            if video["status"] in ("ready", "failed") and job is not None and job.status != "running":
                return dict(video)
            assert time.monotonic() < deadline, (video, log.read_text()[-3000:])
            time.sleep(0.2)
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=60)


def sweep_until_sent(killed: Killed) -> Job:
    """Run the jobs sweep as ``serve`` does (every heartbeat timeout / 2) until it sends the job."""
    jobs = killed.platform.services.jobs
    deadline = time.monotonic() + 30
    while killed.platform.services.jobs.sweep() == []:
        assert time.monotonic() < deadline, job_of(killed.platform, killed.video_id)
        time.sleep(jobs.lost_after / 2)
    job = job_of(killed.platform, killed.video_id)
    assert job is not None and job.status == "queued" and job.worker is None and job.held_by is None
    return job


def test_killed_worker_job_runs_again_without_duplicates(killed: Killed, tmp_path: Path) -> None:
    platform, video_id = killed.platform, killed.video_id
    video = run_to_the_end(killed, tmp_path / "worker.log")
    assert video["status"] == "ready", video
    job = job_of(platform, video_id)
    assert job is not None and job.status == "succeeded" and job.attempts == 2
    assert_no_orphans(platform, video_id)


def test_sweep_sends_again_a_job_whose_message_was_lost(killed: Killed, tmp_path: Path) -> None:
    redis.Redis.from_url(killed.broker_url).flushdb()  # the broker lost the message with the worker
    before = job_of(killed.platform, killed.video_id)
    assert before is not None
    assert sweep_until_sent(killed).message_id != before.message_id
    video = run_to_the_end(killed, tmp_path / "worker.log")
    assert video["status"] == "ready", video
    job = job_of(killed.platform, killed.video_id)
    assert job is not None and job.status == "succeeded" and job.attempts == 2
    assert_no_orphans(killed.platform, killed.video_id)


def test_sweep_and_broker_redelivery_run_the_job_once(killed: Killed, tmp_path: Path) -> None:
    sweep_until_sent(killed)  # the broker still holds the old message and redelivers it too
    log = tmp_path / "worker.log"
    video = run_to_the_end(killed, log, threads=2)
    assert video["status"] == "ready", video
    job = job_of(killed.platform, killed.video_id)
    assert job is not None and job.status == "succeeded" and job.attempts == 2  # one run, not two
    text = log.read_text()
    assert "was superseded by" in text or "already succeeded; redelivered message skipped" in text, text[
        -3000:
    ]
    assert_no_orphans(killed.platform, killed.video_id)


def assert_no_orphans(platform: Platform, video_id: str) -> None:
    # Every published key is referenced by a playlist, the DASH manifest or the stills: no orphans.
    store, prefix = platform.services.store, f"videos/{video_id}/"
    keys = {info.key.removeprefix(prefix) for info in store.list(prefix)}
    referenced = {"master.m3u8", "manifest.mpd"}
    master = m3u8.loads(store.read(prefix + "master.m3u8").decode())
    playlists = [p.uri for p in master.playlists] + [m.uri for m in master.media if m.uri]
    for uri in playlists:
        referenced.add(uri)
        folder = uri.rsplit("/", 1)[0]
        playlist = m3u8.loads(store.read(prefix + uri).decode())
        referenced |= {f"{folder}/{playlist.segment_map[0].uri}"} | {
            f"{folder}/{s.uri}" for s in playlist.segments
        }
    stills = {k for k in keys if k.startswith(("thumbnails/", "storyboard/"))}
    assert keys == referenced | stills, keys ^ (referenced | stills)
    with platform.services.db.session() as session:
        row = session.get(Video, video_id)
        assert row is not None and row.renditions and len(row.renditions) == len(master.playlists) + 1
