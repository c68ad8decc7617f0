"""Processing a video once its source is uploaded: probe, then (as the pipeline grows) transcode."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from control_plane.models import Job, Video
from pipelines import MediaLimits, probe
from workers import runtime
from workers.middleware import on_final_failure

__all__ = ["process"]

log = logging.getLogger(__name__)


def _set(video_id: str, **values: Any) -> None:
    with runtime.current().db.session() as session:
        video = session.get(Video, video_id)
        if video is not None:
            for name, value in values.items():
                setattr(video, name, value)


def process(job_id: str) -> dict[str, Any]:
    """Probe the source; a bad input fails the job (and the video) with the creator-facing reason."""
    ctx = runtime.current()
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        video_id = str(job.args["video_id"])
        video = session.get(Video, video_id)
        if video is None or not video.source_key:
            raise LookupError(f"video {video_id} has no source to process")
        source_key = video.source_key
    with tempfile.TemporaryDirectory(prefix="socialflow-video-") as tmp:
        source = Path(tmp) / "source"
        ctx.store.download(source_key, source)
        info = probe(source, MediaLimits())
    _set(video_id, duration=info.duration, progress=0.05)
    log.info("video probed", extra={"video_id": video_id, "duration": info.duration})
    return {"video_id": video_id, "duration": info.duration, "warnings": list(info.warnings)}


@on_final_failure("video.process")
def _mark_failed(session: Any, job: Job, reason: str) -> None:
    video = session.get(Video, job.args.get("video_id"))
    if video is not None:
        video.status, video.error = "failed", reason
