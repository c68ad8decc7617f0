"""The WHIP publishers an API process holds, on a live ingest of that process's own.

The plane's WHIP routes reach them through ``control_plane.live.WhipHost``; the entry point hands
a ``WhipIngest`` to the app. The ingest (sinks, authorizer, and the WebRTC node thread that holds
the publishers) is made on the first offer, so an API that never gets one never starts it.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from control_plane.live.webrtc_errors import BadOffer
from control_plane.services import Services
from pipelines.sinks import StreamGrant
from pipelines.webrtc import BadOffer as UnusableOffer
from pipelines.webrtc import WebRtcError
from workers.live.runner import Ingest, build_ingest

__all__ = ["WhipIngest"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class WhipIngest:
    """Implements ``control_plane.live.WhipHost`` over an ingest built from ``services``."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._ingest: Ingest | None = None
        self._lock = threading.Lock()

    @property
    def ingest(self) -> Ingest:
        with self._lock:
            if self._ingest is None:
                self._ingest = build_ingest(self.services)
                # The app has no shutdown hook: WHIP sessions end (recordings kept) when the process does.
                atexit.register(self.close)
            return self._ingest

    def close(self) -> None:
        """End this process's WHIP sessions (sinks closed, recordings handed over)."""
        if self._ingest is not None and self._ingest.webrtc is not None:
            self._ingest.webrtc.stop()

    async def publish(self, stream_id: str, offer: str, on_end: Callable[[], None]) -> tuple[str, str]:
        ingest = await asyncio.to_thread(lambda: self.ingest)
        node, authorizer = ingest.webrtc, ingest.authorizer
        assert node is not None

        async def on_node(coro: Awaitable[T]) -> T:
            # The authorizer keeps per-loop state (its lease heartbeat): every call on the node's loop.
            result: T = await asyncio.wrap_future(node.submit(coro))
            return result

        await on_node(authorizer.state_changed(stream_id, "connected"))
        sink = await asyncio.to_thread(ingest.sinks, StreamGrant(stream_id))

        async def on_media() -> None:  # on the node's loop, as is ended
            await authorizer.state_changed(stream_id, "live")

        async def ended() -> None:
            on_end()
            await authorizer.state_changed(stream_id, "idle")

        try:
            return await on_node(node.open_whip(stream_id, offer, sink, on_media, ended))
        except BaseException as exc:
            await on_node(sink.on_close())
            await on_node(authorizer.state_changed(stream_id, "idle"))
            if isinstance(exc, UnusableOffer):
                raise BadOffer(str(exc)) from exc
            if isinstance(exc, WebRtcError):
                log.warning("WHIP offer for %s failed: %s", stream_id, exc)
            raise

    async def unpublish(self, stream_id: str, session_id: str) -> bool:
        node = self._ingest.webrtc if self._ingest is not None else None
        session = node.whip.get(session_id) if node is not None else None
        if node is None or session is None or session.stream_id != stream_id:
            return False
        await asyncio.wrap_future(node.submit(session.receiver.close()))
        return True
