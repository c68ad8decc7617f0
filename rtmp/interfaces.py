"""The two small interfaces the RTMP server is given, and nothing more of the platform.

``Authorizer`` is the control plane seen from ingest: it maps an app and stream key to a stream
(or refuses) and hears about state changes. ``MediaSink`` receives one live session's media; a
``SinkFactory`` makes one per live session (not per TCP connection: a publisher that returns
within the reconnect window keeps its sink).

States reported through ``Authorizer.state_changed``:

- ``connected``: a publish was accepted (a new live session, or one resumed within the window);
- ``live``: the first media frame of that publish arrived;
- ``disconnected``: the publisher dropped without unpublishing; the reconnect window is open;
- ``idle``: the live session is over (clean unpublish, window expired, server stopped); its sink
  has been closed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from rtmp.media import AudioFrame, VideoFrame

__all__ = ["StreamGrant", "StreamState", "Authorizer", "MediaSink", "SinkFactory"]

StreamState = Literal["connected", "live", "idle", "disconnected"]


@dataclass(frozen=True, slots=True)
class StreamGrant:
    """What an accepted stream key maps to: the control plane's id of the live stream."""

    stream_id: str


class Authorizer(Protocol):
    """Decides who may publish, and is told what happens to accepted streams."""

    async def authorize(self, app: str, stream_key: str) -> StreamGrant | None:
        """Return a grant for a valid key of ``app`` (e.g. ``live``), or ``None`` to refuse it."""
        ...

    async def state_changed(self, stream_id: str, state: StreamState) -> None:
        """Record that the stream ``stream_id`` entered ``state``; must not raise for unknown ids."""
        ...


class MediaSink(Protocol):
    """Consumes one live session. Calls are sequential; timestamps never go backwards across
    a resumed publisher (the server rebases them). ``on_close`` is called exactly once."""

    async def on_metadata(self, metadata: dict[str, Any]) -> None: ...

    async def on_video(self, frame: VideoFrame) -> None: ...

    async def on_audio(self, frame: AudioFrame) -> None: ...

    async def on_close(self) -> None: ...


SinkFactory = Callable[[StreamGrant], MediaSink]
