"""Videos made through the API for tests: uploaded, then waited on until processing is over."""

from __future__ import annotations

import time

import sqlalchemy as sa

from control_plane.jobs.models import Job
from support.platform import Platform

__all__ = ["jobs_done", "ready_video"]


def ready_video(platform: Platform, headers: dict[str, str], data: bytes, timeout: float = 120) -> str:
    """Upload ``data`` as the user of ``headers`` and wait until the video is ready (failing the
    test if it fails or takes longer than ``timeout`` seconds); returns the video's id."""
    video_id = platform.upload(headers, data)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        video = platform.client.get(f"/api/v1/videos/{video_id}", headers=headers).json()
        if video["status"] in ("ready", "failed"):
            assert video["status"] == "ready", video
            return video_id
        time.sleep(0.1)
    raise AssertionError(f"video {video_id} not ready")


def jobs_done(platform: Platform, video_id: str) -> bool:
    """Whether every job about the video (transcode, Content-ID) has ended."""
    with platform.services.db.session() as session:
        pending = session.scalar(
            sa.select(sa.func.count())
            .select_from(Job)
            .where(Job.subject == f"video:{video_id}", Job.status.in_(("queued", "running")))
        )
    return pending == 0
