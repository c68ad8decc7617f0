"""A worker process killed in the middle of a transcode (Redis broker): the job runs again on
another worker and the published video has no duplicate or orphan files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg
import m3u8
import redis
from support.platform import Platform, production

from control_plane.jobs.models import Job
from control_plane.videos.models import Video

SOCIALFLOW = str(Path(sys.executable).with_name("socialflow"))


def worker(settings) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALFLOW_")}
    for name in ("data_dir", "database_url", "broker_url", "redis_url", "storage_url", "secret_key"):
        env[f"SOCIALFLOW_{name.upper()}"] = str(getattr(settings, name))
    env.update(SOCIALFLOW_WORKER_HEARTBEAT_TIMEOUT="3", SOCIALFLOW_WORKER_MAINTENANCE_CHANCE="1000000")
    return subprocess.Popen(
        [SOCIALFLOW, "worker", "--processes", "1", "--threads", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def job_of(platform: Platform, video_id: str) -> Job | None:
    with platform.services.db.session() as session:
        for job in session.query(Job).filter(Job.kind == "video.process"):
            if job.args.get("video_id") == video_id:
                session.expunge(job)
                return job
    return None


def test_killed_worker_job_runs_again_without_duplicates(
    tmp_path: Path,
    postgres_url: str,
    redis_url: str,
    s3_bucket_url: str,
    platform_factory: Callable[..., Platform],
) -> None:
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
    clip = tmp_path / "long.mp4"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=30:d=24",
            "-f",
            "lavfi",
            "-i",
            "sine=d=24",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-shortest",
            str(clip),
        ],
        check=True,
    )
    headers = platform.user("creator")
    video_id = platform.upload(headers, clip.read_bytes())

    first = worker(settings)
    try:
        deadline = time.monotonic() + 60
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

    second = worker(settings)
    try:
        deadline = time.monotonic() + 180
        while True:
            video = platform.client.get(f"/api/v1/videos/{video_id}", headers=headers).json()
            if video["status"] in ("ready", "failed"):
                break
            assert time.monotonic() < deadline, video
            time.sleep(0.2)
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=60)
    assert video["status"] == "ready", video
    job = job_of(platform, video_id)
    assert job is not None and job.status == "succeeded" and job.attempts == 2

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
