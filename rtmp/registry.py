"""Live sessions by stream id: one publisher at a time, sinks kept across a reconnect window.

A live session starts when a publish is accepted for a stream with no session, and ends (the
sink's ``on_close``, state ``idle``) on a clean unpublish, when a dropped publisher has not come
back within ``reconnect_window_s`` seconds, or when the server stops. A publisher that returns in
the window resumes the same session and sink; its timestamps are rebased so that the sink sees
time continue from where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from pipelines.sinks import MediaSink, SinkFactory, StreamGrant
from rtmp.errors import StreamBusy
from rtmp.interfaces import Authorizer, StreamState

__all__ = ["LiveSession", "LiveRegistry"]

log = logging.getLogger(__name__)

_RESUME_GAP_MS = 40


@dataclass(eq=False)
class LiveSession:
    """One live session. ``last_ts_ms`` is the latest presentation time handed to the sink."""

    grant: StreamGrant
    sink: MediaSink
    publisher: object | None = None
    last_ts_ms: int = -1
    resumed: bool = False
    ts_offset_ms: int = 0
    rebase_pending: bool = False
    expiry: asyncio.Task[None] | None = field(default=None, repr=False)

    def rebase(self, ts_ms: int, cts_ms: int = 0) -> int:
        """Map a publisher decode time to the session's timeline (milliseconds).

        ``last_ts_ms`` tracks the latest presentation time handed out, so that a resumed
        publisher starts after every frame already shown, B-frames included.
        """
        if self.rebase_pending:
            self.ts_offset_ms = self.last_ts_ms + _RESUME_GAP_MS - ts_ms
            self.rebase_pending = False
        out = ts_ms + self.ts_offset_ms
        self.last_ts_ms = max(self.last_ts_ms, out + max(cts_ms, 0))
        return out


class LiveRegistry:
    """Owns every live session of one server."""

    def __init__(self, authorizer: Authorizer, sink_factory: SinkFactory, reconnect_window_s: float):
        self.authorizer = authorizer
        self.sink_factory = sink_factory
        self.reconnect_window_s = reconnect_window_s
        self._sessions: dict[str, LiveSession] = {}
        self.shutting_down = False

    @property
    def sessions(self) -> dict[str, LiveSession]:
        """Live sessions by stream id, including those waiting in their reconnect window."""
        return dict(self._sessions)

    async def report(self, stream_id: str, state: StreamState) -> None:
        """Tell the authorizer; its failures are logged, never allowed to break ingest."""
        try:
            await self.authorizer.state_changed(stream_id, state)
        except Exception:
            log.exception("authorizer failed to record state %s of stream %s", state, stream_id)

    async def acquire(self, grant: StreamGrant, publisher: object) -> LiveSession:
        """Attach ``publisher`` to the stream's session, creating or resuming it.

        Raises ``StreamBusy`` when another publisher holds the stream.
        """
        session = self._sessions.get(grant.stream_id)
        if session is not None and session.publisher is not None:
            raise StreamBusy(f"stream {grant.stream_id} already has a publisher")
        if session is None:
            session = LiveSession(grant, self.sink_factory(grant))
            self._sessions[grant.stream_id] = session
        else:
            if session.expiry is not None:
                session.expiry.cancel()
                session.expiry = None
            session.resumed = True
            session.rebase_pending = session.last_ts_ms >= 0
            log.info("stream %s resumed within the reconnect window", grant.stream_id)
        session.publisher = publisher
        await self.report(grant.stream_id, "connected")
        return session

    async def release(self, session: LiveSession, *, clean: bool) -> None:
        """Detach the publisher: end the session now if ``clean``, else open the reconnect window."""
        session.publisher = None
        if clean or self.shutting_down or self.reconnect_window_s <= 0:
            await self._end(session)
            return
        await self.report(session.grant.stream_id, "disconnected")
        session.expiry = asyncio.create_task(self._expire(session))

    async def _expire(self, session: LiveSession) -> None:
        await asyncio.sleep(self.reconnect_window_s)
        session.expiry = None
        log.info("stream %s not back within %.1f s", session.grant.stream_id, self.reconnect_window_s)
        await self._end(session)

    async def _end(self, session: LiveSession) -> None:
        if self._sessions.get(session.grant.stream_id) is not session:
            return
        del self._sessions[session.grant.stream_id]
        try:
            await session.sink.on_close()
        except Exception:
            log.exception("sink of stream %s failed to close", session.grant.stream_id)
        await self.report(session.grant.stream_id, "idle")

    async def close_all(self) -> None:
        """End every session (server shutdown); later releases end their session at once."""
        self.shutting_down = True
        for session in list(self._sessions.values()):
            if session.expiry is not None:
                session.expiry.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await session.expiry
                session.expiry = None
            session.publisher = None
            await self._end(session)
