"""What becomes of a finished live session's recording.

The ingest appends each session's FLV recording to a file under ``RECORDINGS_DIR`` (in the data
directory). When the session ends it is stored at ``live/{stream_id}/recordings/{video_id}.flv``
and handed over: the ``live.record`` job makes it a video of the streamer (status
``processing``, the recording as its source) and starts the normal ``video.process``, which
makes it ``ready`` with HLS and DASH like any upload.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from control_plane.core.db import Database, new_id
from control_plane.live.models import LiveStream
from control_plane.videos import VideoService
from storage import BlobStore

__all__ = [
    "Recording",
    "RecordingService",
    "recording_key",
    "recording_args",
    "store_recording",
    "MIN_RECORDING_S",
    "RECORDINGS_DIR",
]

log = logging.getLogger(__name__)

#: Recordings shorter than this (seconds) are dropped: nothing worth a video was sent.
MIN_RECORDING_S = 0.5
#: The folder, under the data directory, where an ingest appends its sessions' FLV recordings.
RECORDINGS_DIR = "live-recordings"


@dataclass(frozen=True)
class Recording:
    """A finished session's recording in storage. ``duration`` in seconds, ``size`` in bytes."""

    stream_id: str
    video_id: str
    key: str
    size: int
    duration: float

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> Recording:
        """The recording named by a ``live.record`` job's arguments (``recording_args``)."""
        return cls(
            stream_id=str(args["stream_id"]),
            video_id=str(args["video_id"]),
            key=str(args["source_key"]),
            size=int(args["size"]),
            duration=float(args["duration"]),
        )


def recording_key(stream_id: str, video_id: str) -> str:
    return f"live/{stream_id}/recordings/{video_id}.flv"


def recording_args(recording: Recording) -> dict[str, Any]:
    """The arguments of the ``live.record`` job that makes ``recording`` a video."""
    return {
        "stream_id": recording.stream_id,
        "video_id": recording.video_id,
        "source_key": recording.key,
        "size": recording.size,
        "duration": recording.duration,
    }


def store_recording(store: BlobStore, stream_id: str, path: Path, duration: float) -> Recording | None:
    """Upload the FLV recording at ``path`` (``duration`` seconds) under a new video id; None, and
    nothing stored, when it is shorter than ``MIN_RECORDING_S``. The file stays the caller's."""
    if duration < MIN_RECORDING_S:
        return None
    video_id = new_id()
    key = recording_key(stream_id, video_id)
    size = store.upload(path, key, content_type="video/x-flv")
    return Recording(stream_id, video_id, key, size, duration)


class RecordingService:
    """Stored recordings becoming videos. ``enqueue_job(kind, args=..., ...)`` is the jobs port's
    ``enqueue``: it raises ``EnqueueFailed`` when the queue is unreachable. The video itself is
    made, and its processing started, by the video domain (``videos``)."""

    def __init__(
        self, db: Database, store: BlobStore, enqueue_job: Callable[..., object], videos: VideoService
    ) -> None:
        self.db = db
        self.store = store
        self.enqueue_job = enqueue_job
        self.videos = videos

    def hand_over(self, recording: Recording) -> None:
        """Enqueue the ``live.record`` job that makes ``recording`` a video."""
        self.enqueue_job("live.record", args=recording_args(recording), subject=f"live:{recording.stream_id}")

    def make_video(self, recording: Recording) -> str | None:
        """The streamer's video of ``recording``, linked to its stream, its processing enqueued;
        returns its id. Idempotent: a second call finds the video and enqueues nothing more. When
        the stream is gone, its recording is deleted and None returned."""
        with self.db.session() as session:
            stream = session.get(LiveStream, recording.stream_id)
            if stream is None:
                log.info("live stream %s is gone; its recording is dropped", recording.stream_id)
                self.store.delete(recording.key)
                return None
            owner_id, title = stream.owner_id, stream.title
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        self.videos.add_recording(
            recording.video_id,
            owner_id,
            title=f"{title} (live, {when})",
            filename=f"live-{recording.stream_id}.flv",
            size=recording.size,
            source_key=recording.key,
        )
        with self.db.session(exclusive=True) as session:
            stream = session.get(LiveStream, recording.stream_id, with_for_update=True)
            if stream is not None:
                stream.recording_video_id = recording.video_id
        return recording.video_id
