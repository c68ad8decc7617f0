"""Where a live session's media goes: the ``MediaSink`` interface and the grant it is made for.

An ingest (the RTMP server, a WHIP receiver) accepts a publisher for a stream and is given a
``StreamGrant`` naming it; a ``SinkFactory`` makes one ``MediaSink`` per live session from that
grant (per live session, not per connection: a publisher that returns within a reconnect window
keeps its sink). The ingest then hands the sink every frame of the session, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pipelines.frames import AudioFrame, VideoFrame

__all__ = ["StreamGrant", "MediaSink", "SinkFactory"]


@dataclass(frozen=True, slots=True)
class StreamGrant:
    """What an accepted stream key maps to: the control plane's id of the live stream."""

    stream_id: str


class MediaSink(Protocol):
    """Consumes one live session. Calls are sequential; timestamps never go backwards across
    a resumed publisher (the ingest rebases them). ``on_close`` is called exactly once."""

    async def on_metadata(self, metadata: dict[str, Any]) -> None: ...

    async def on_video(self, frame: VideoFrame) -> None: ...

    async def on_audio(self, frame: AudioFrame) -> None: ...

    async def on_close(self) -> None: ...


SinkFactory = Callable[[StreamGrant], MediaSink]
