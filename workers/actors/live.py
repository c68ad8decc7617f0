"""Turning a finished live session's recording into a video of the streamer; ending the live
streams whose ingest died.

The ingest stores the FLV recording and enqueues ``live.record``; this job makes the Video
(status ``processing``, the recording as its source), links it to the stream, and enqueues the
normal ``video.process``, which makes it ``ready`` with HLS and DASH like any upload.

``live.sweep`` (periodic) ends the live streams no ingest holds a lease on any more, and hands
over the recording each left, when this worker can reach it (same machine and data directory).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from control_plane.jobs import enqueue
from control_plane.live.ingest import (
    LEASE_TTL_S,
    RECORDINGS_DIR,
    Recording,
    StreamLeases,
    recording_args,
    recover_recording,
)
from control_plane.live.service import StreamService
from control_plane.models import Job, LiveStream, Video
from workers import runtime

__all__ = ["record", "sweep"]

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


def sweep(job_id: str) -> dict[str, Any]:
    """End unheld live streams; per stream, the recording's video id or why there is none.

    ``grace_s`` (job argument, seconds; the ingests' lease TTL by default) is how long a stream
    must have been live, and its recording untouched, before the sweep acts on it.
    """
    ctx = runtime.current()
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        grace_s = float((job.args or {}).get("grace_s", LEASE_TTL_S)) if job is not None else LEASE_TTL_S
    leases = StreamLeases(ctx.kv)
    outcome: dict[str, Any] = {}
    for stream_id in StreamService(ctx.db).end_unheld(leases.held, grace_s=grace_s):
        found = recover_recording(
            ctx.store, ctx.settings.data_dir / RECORDINGS_DIR, stream_id, quiet_s=grace_s
        )
        if isinstance(found, Recording) and ctx.broker is not None:
            enqueue(
                ctx.db, ctx.broker, "live.record", args=recording_args(found), subject=f"live:{stream_id}"
            )
            outcome[stream_id] = {"recording_video_id": found.video_id}
        else:
            reason = found if isinstance(found, str) else "no broker to hand the recording to"
            log.info("lost live stream %s: no recording kept (%s)", stream_id, reason)
            outcome[stream_id] = {"recording_video_id": None, "reason": reason}
    return {"ended": outcome}
