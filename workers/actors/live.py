"""Turning a finished live session's recording into a video of the streamer; ending the live
streams whose ingest died.

The ingest stores the FLV recording and enqueues ``live.record``; this job has the live domain
make the Video (status ``processing``, the recording as its source), link it to the stream, and
enqueue the normal ``video.process``, which makes it ``ready`` with HLS and DASH like any upload.

``live.sweep`` (periodic) ends the live streams no ingest holds a lease on any more, and hands
over the recording each left, when this worker can reach it (same machine and data directory).
"""

from __future__ import annotations

import logging
from typing import Any

from control_plane.jobs.models import Job
from control_plane.live import (
    LEASE_TTL_S,
    RECORDINGS_DIR,
    Recording,
    RecordingService,
    StreamLeases,
    StreamService,
    ViewerCounter,
)
from workers import runtime
from workers.live.recovery import recover_recording

__all__ = ["record", "sweep"]

log = logging.getLogger(__name__)


def _args(job_id: str) -> dict[str, Any]:
    with runtime.current().db.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise LookupError(f"job {job_id} not found")
        return dict(job.args or {})


def _recordings(ctx: runtime.WorkerContext) -> RecordingService:
    assert ctx.broker is not None
    return RecordingService(ctx.db, ctx.store, ctx.enqueue, ctx.videos)


def record(job_id: str) -> dict[str, Any]:
    """Idempotent: a retried job finds the Video made by the first run and enqueues nothing more."""
    ctx = runtime.current()
    if ctx.broker is None:
        raise RuntimeError("this worker has no broker to enqueue video.process on")
    recording = Recording.from_args(_args(job_id))
    if _recordings(ctx).make_video(recording) is None:
        return {"video_id": None}
    return {"video_id": recording.video_id, "stream_id": recording.stream_id, "duration": recording.duration}


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
    for stream_id in StreamService(ctx.db, peaks=ViewerCounter(ctx.kv).peak).end_unheld(
        leases.held, grace_s=grace_s
    ):
        found = recover_recording(
            ctx.store, ctx.settings.data_dir / RECORDINGS_DIR, stream_id, quiet_s=grace_s
        )
        if isinstance(found, Recording) and ctx.broker is not None:
            _recordings(ctx).hand_over(found)
            outcome[stream_id] = {"recording_video_id": found.video_id}
        else:
            reason = found if isinstance(found, str) else "no broker to hand the recording to"
            log.info("lost live stream %s: no recording kept (%s)", stream_id, reason)
            outcome[stream_id] = {"recording_video_id": None, "reason": reason}
    return {"ended": outcome}
