"""The platform side of RTMP ingest: the ``rtmp.Authorizer`` backed by the database.

A publish to ``rtmp://HOST:PORT/live/{stream_key}`` is accepted when the key is a stream's current
key. State changes go to ``StreamService.record_state``. When a session ends (``idle``) its FLV
recording is uploaded to ``live/{stream_id}/recordings/{video_id}.flv`` and ``on_recording``
is called (in production wiring: enqueue the ``live.record`` job, which makes the Video).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from control_plane.live.service import StreamService
from control_plane.live.sinks import StoreLiveSinks
from control_plane.models import new_id
from rtmp import StreamGrant, StreamState
from storage import BlobStore

__all__ = ["DatabaseAuthorizer", "Recording", "LIVE_APP", "recording_key"]

log = logging.getLogger(__name__)

LIVE_APP = "live"
#: Recordings shorter than this (seconds) are dropped: nothing worth a video was sent.
MIN_RECORDING_S = 0.5


@dataclass(frozen=True)
class Recording:
    """A finished session's recording in storage. ``duration`` in seconds, ``size`` in bytes."""

    stream_id: str
    video_id: str
    key: str
    size: int
    duration: float


def recording_key(stream_id: str, video_id: str) -> str:
    return f"live/{stream_id}/recordings/{video_id}.flv"


class DatabaseAuthorizer:
    """Implements ``rtmp.Authorizer`` over ``StreamService``; hands recordings to ``on_recording``."""

    def __init__(
        self,
        streams: StreamService,
        store: BlobStore,
        sinks: StoreLiveSinks,
        on_recording: Callable[[Recording], None],
    ) -> None:
        self.streams = streams
        self.store = store
        self.sinks = sinks
        self.on_recording = on_recording

    async def authorize(self, app: str, stream_key: str) -> StreamGrant | None:
        if app != LIVE_APP:
            return None
        stream_id = await asyncio.to_thread(self.streams.find_by_key, stream_key)
        if stream_id is None:
            log.info("live publish refused: unknown key", extra={"app": app})
            return None
        return StreamGrant(stream_id)

    async def state_changed(self, stream_id: str, state: StreamState) -> None:
        try:
            await asyncio.to_thread(self.streams.record_state, stream_id, state)
            if state == "idle":
                await asyncio.to_thread(self._hand_over, stream_id)
        except Exception:  # the ingest must keep serving other streams; the failure is logged
            log.exception("live state %s of stream %s could not be recorded", state, stream_id)

    def _hand_over(self, stream_id: str) -> None:
        sink = self.sinks.take(stream_id)
        if sink is None:
            return
        path, duration = sink.recording_path, sink.recorder.duration_s
        try:
            if not path.exists() or duration < MIN_RECORDING_S:
                log.info("live session of %s too short to keep (%.2f s)", stream_id, duration)
                return
            video_id = new_id()
            key = recording_key(stream_id, video_id)
            size = self.store.upload(path, key, content_type="video/x-flv")
            self.on_recording(Recording(stream_id, video_id, key, size, duration))
            log.info("live recording stored", extra={"stream_id": stream_id, "key": key, "bytes": size})
        finally:
            path.unlink(missing_ok=True)
