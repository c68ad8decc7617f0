"""The authorizer interface the RTMP server is given, and nothing more of the platform.

``Authorizer`` is the control plane seen from ingest: it maps an app and stream key to a stream
(or refuses) and hears about state changes. Media goes to the neutral sinks of
``pipelines.sinks``: a ``SinkFactory`` makes one ``MediaSink`` per live session.

States reported through ``Authorizer.state_changed``:

- ``connected``: a publish was accepted (a new live session, or one resumed within the window);
- ``live``: the first media frame of that publish arrived;
- ``disconnected``: the publisher dropped without unpublishing; the reconnect window is open;
- ``idle``: the live session is over (clean unpublish, window expired, server stopped); its sink
  has been closed.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pipelines.sinks import StreamGrant

__all__ = ["StreamState", "Authorizer"]

StreamState = Literal["connected", "live", "idle", "disconnected"]


class Authorizer(Protocol):
    """Decides who may publish, and is told what happens to accepted streams."""

    async def authorize(self, app: str, stream_key: str) -> StreamGrant | None:
        """Return a grant for a valid key of ``app`` (e.g. ``live``), or ``None`` to refuse it."""
        ...

    async def state_changed(self, stream_id: str, state: StreamState) -> None:
        """Record that the stream ``stream_id`` entered ``state``; must not raise for unknown ids."""
        ...
