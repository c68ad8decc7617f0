"""Turning a finished live session's recording into a video of the streamer.

The ingest stores the FLV recording and enqueues ``live.record``; this job makes the Video
(status ``processing``, the recording as its source), links it to the stream, and enqueues the
normal ``video.process``, which makes it ``ready`` with HLS and DASH like any upload.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from control_plane.models import Job, LiveStream, Video
from workers import runtime
from workers.enqueue import enqueue

__all__ = ["record"]

log = logging.getLogger(__name__)


def record(job_id: str) -> dict[str, Any]:
    """Idempotent: a retried job finds the Video made by the first run and enqueues nothing more."""
    ctx = runtime.current()
    if ctx.broker is None:
        raise RuntimeError("this worker has no broker to enqueue video.process on")
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise LookupError(f"job {job_id} not found")
        args = dict(job.args)
        stream_id, video_id = str(args["stream_id"]), str(args["video_id"])
        stream = session.get(LiveStream, stream_id)
        if stream is None:
            log.info("live stream %s is gone; its recording is dropped", stream_id)
            ctx.store.delete(str(args["source_key"]))
            return {"video_id": None}
        owner_id = stream.owner_id
        created = session.get(Video, video_id) is None
        if created:
            when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
            session.add(
                Video(
                    id=video_id,
                    owner_id=owner_id,
                    title=f"{stream.title} (live, {when})"[:200],
                    filename=f"live-{stream_id}.flv",
                    status="processing",
                    progress=0.0,
                    size=int(args["size"]),
                    source_key=str(args["source_key"]),
                )
            )
            session.flush()
        stream.recording_video_id = video_id
    if created:
        enqueue(
            ctx.db,
            ctx.broker,
            "video.process",
            args={"video_id": video_id},
            owner_id=owner_id,
            subject=f"video:{video_id}",
        )
    return {"video_id": video_id, "stream_id": stream_id, "duration": float(args["duration"])}
