"""In-memory implementations of the server's interfaces, for tests, tools and the embedded default.

``StaticAuthorizer`` grants a fixed table of stream keys and records every state change;
``CollectingSink`` keeps everything it is given (bounded by ``max_frames``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pipelines.frames import AudioFrame, VideoFrame
from pipelines.sinks import StreamGrant
from rtmp.interfaces import StreamState

__all__ = ["StaticAuthorizer", "CollectingSink"]


class StaticAuthorizer:
    """Grants ``keys[stream_key]`` as the stream id for any app in ``apps``."""

    def __init__(self, keys: dict[str, str], apps: frozenset[str] = frozenset({"live"})):
        self.keys = dict(keys)
        self.apps = apps
        self.states: list[tuple[str, StreamState]] = []
        self.changed = asyncio.Event()

    async def authorize(self, app: str, stream_key: str) -> StreamGrant | None:
        if app not in self.apps or stream_key not in self.keys:
            return None
        return StreamGrant(self.keys[stream_key])

    async def state_changed(self, stream_id: str, state: StreamState) -> None:
        self.states.append((stream_id, state))
        self.changed.set()

    def states_of(self, stream_id: str) -> list[StreamState]:
        """The states reported for ``stream_id``, oldest first."""
        return [state for sid, state in self.states if sid == stream_id]


class CollectingSink:
    """Keeps metadata and frames in lists; raises ``OverflowError`` past ``max_frames`` frames."""

    def __init__(self, grant: StreamGrant, max_frames: int = 100_000):
        self.grant = grant
        self.max_frames = max_frames
        self.metadata: list[dict[str, Any]] = []
        self.video: list[VideoFrame] = []
        self.audio: list[AudioFrame] = []
        self.closed = 0

    def _check(self) -> None:
        if len(self.video) + len(self.audio) >= self.max_frames:
            raise OverflowError(f"more than {self.max_frames} frames collected")

    async def on_metadata(self, metadata: dict[str, Any]) -> None:
        self.metadata.append(metadata)

    async def on_video(self, frame: VideoFrame) -> None:
        self._check()
        self.video.append(frame)

    async def on_audio(self, frame: AudioFrame) -> None:
        self._check()
        self.audio.append(frame)

    async def on_close(self) -> None:
        self.closed += 1
