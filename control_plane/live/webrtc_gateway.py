"""The API side of WHIP and WHEP: checks against the database, then the media work.

WHEP offers and deletions are forwarded over pub/sub to whichever process holds the stream's
media (``signalling.ask``). A WHIP publisher is held by the API process that received its offer:
it gets a live session of that process's own ingest (LL-HLS, recording, WHEP relay), exactly as an
RTMP publish would, and its ``WebRtcNode`` answers later requests for it.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
from collections.abc import Awaitable
from typing import TypeVar

from control_plane.live.ingest import StreamLeases
from control_plane.live.runner import Ingest, build_ingest
from control_plane.live.service import StreamService
from control_plane.live.signalling import DELETE_TIMEOUT_S, OFFER_TIMEOUT_S, ask
from control_plane.live.webrtc_errors import (
    BadOffer,
    MediaUnreachable,
    SessionNotFound,
    StreamAlreadyLive,
    StreamNotLive,
)
from control_plane.services import Services
from pipelines.sinks import StreamGrant
from pipelines.webrtc import BadOffer as UnusableOffer
from pipelines.webrtc import WebRtcError
from pipelines.webrtc.peers import offered_kinds

__all__ = ["WebRtcGateway"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def checked_offer(sdp: str) -> str:
    """The offer, once it parses with audio or video (``BadOffer`` otherwise)."""
    try:
        offered_kinds(sdp)
    except UnusableOffer as exc:
        raise BadOffer(str(exc)) from exc
    return sdp


class WebRtcGateway:
    """One per API process. The WHIP ingest (and its node thread) is made on the first WHIP offer."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.streams = StreamService(services.db)
        self._ingest: Ingest | None = None
        self._lock = threading.Lock()
        self._publishing: set[str] = set()

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

    # -- WHEP -----------------------------------------------------------------------------------

    async def play(self, stream_id: str, offer: str) -> tuple[str, str]:
        """(session id, SDP answer) for a viewer of a live stream."""
        checked_offer(offer)
        view = await asyncio.to_thread(self.streams.view, stream_id)
        if view.status != "live":
            raise StreamNotLive("The stream is not live; WebRTC playback starts when it does.")
        reply = await ask(self.services.pubsub, "whep_offer", stream_id, timeout_s=OFFER_TIMEOUT_S, sdp=offer)
        return reply.session, reply.sdp

    async def stop_playing(self, stream_id: str, session_id: str) -> None:
        view = await asyncio.to_thread(self.streams.view, stream_id)
        if view.status != "live":
            raise SessionNotFound("The stream is not live: its WebRTC sessions have ended.")
        await self._delete("whep_delete", stream_id, session_id)

    # -- WHIP -----------------------------------------------------------------------------------

    async def publish(self, stream_id: str, offer: str) -> tuple[str, str]:
        """Start a WHIP session on this process; (session id, SDP answer)."""
        checked_offer(offer)
        view = await asyncio.to_thread(self.streams.view, stream_id)
        # An ingest holds the stream's lease from the moment a publisher connects, before it is live.
        held = await asyncio.to_thread(StreamLeases(self.services.kv).held, stream_id)
        if view.status == "live" or held or stream_id in self._publishing:
            raise StreamAlreadyLive("The stream is live already; end that publish first.")
        self._publishing.add(stream_id)
        try:
            return await self._open(stream_id, offer)
        except BaseException:
            self._publishing.discard(stream_id)
            raise

    async def _open(self, stream_id: str, offer: str) -> tuple[str, str]:
        ingest = await asyncio.to_thread(lambda: self.ingest)
        node, authorizer = ingest.webrtc, ingest.authorizer
        assert node is not None

        async def on_node(coro: Awaitable[T]) -> T:
            # The authorizer keeps per-loop state (its lease heartbeat): every call on the node's loop.
            result: T = await asyncio.wrap_future(node.submit(coro))
            return result

        await on_node(authorizer.state_changed(stream_id, "connected"))
        sink = await asyncio.to_thread(ingest.sinks, StreamGrant(stream_id))

        async def on_media() -> None:  # on the node's loop, as is on_end
            await authorizer.state_changed(stream_id, "live")

        async def on_end() -> None:
            self._publishing.discard(stream_id)
            await authorizer.state_changed(stream_id, "idle")

        try:
            return await on_node(node.open_whip(stream_id, offer, sink, on_media, on_end))
        except BaseException as exc:
            await on_node(sink.on_close())
            await on_node(authorizer.state_changed(stream_id, "idle"))
            if isinstance(exc, UnusableOffer):
                raise BadOffer(str(exc)) from exc
            if isinstance(exc, WebRtcError):
                log.warning("WHIP offer for %s failed: %s", stream_id, exc)
            raise

    async def stop_publishing(self, stream_id: str, session_id: str) -> None:
        node = self._ingest.webrtc if self._ingest is not None else None
        session = node.whip.get(session_id) if node is not None else None
        if node is not None and session is not None and session.stream_id == stream_id:
            await asyncio.wrap_future(node.submit(session.receiver.close()))
            return
        view = await asyncio.to_thread(self.streams.view, stream_id)
        if view.status != "live":  # another process's session that never went live is not asked for
            raise SessionNotFound("No such WHIP session (the stream is not live).")
        await self._delete("whip_delete", stream_id, session_id)

    async def _delete(self, op: str, stream_id: str, session_id: str) -> None:
        try:
            await ask(self.services.pubsub, op, stream_id, timeout_s=DELETE_TIMEOUT_S, session=session_id)
        except MediaUnreachable as exc:  # no process holds it: the session is gone
            raise SessionNotFound("No such WebRTC session (it may have ended).") from exc
