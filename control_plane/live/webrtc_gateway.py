"""The API side of WHIP and WHEP: checks against the database, then the media work.

WHEP offers and deletions are forwarded over pub/sub to whichever process holds the stream's
media (``signalling.ask``). A WHIP publisher is held by the API process that received its offer:
the ``WhipHost`` handed to the app gives it a live session of that process's own ingest (LL-HLS,
recording, WHEP relay), exactly as an RTMP publish would, and answers later requests for it.
"""

from __future__ import annotations

import asyncio
import logging

from control_plane.live.leases import StreamLeases
from control_plane.live.media import WhipHost
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
from pipelines.webrtc import BadOffer as UnusableOffer
from pipelines.webrtc.peers import offered_kinds

__all__ = ["WebRtcGateway"]

log = logging.getLogger(__name__)


def checked_offer(sdp: str) -> str:
    """The offer, once it parses with audio or video (``BadOffer`` otherwise)."""
    try:
        offered_kinds(sdp)
    except UnusableOffer as exc:
        raise BadOffer(str(exc)) from exc
    return sdp


class WebRtcGateway:
    """One per API process. ``whip`` holds the WHIP publishers it receives; without one, WHIP
    publishes answer 503 ``WEBRTC_UNAVAILABLE``."""

    def __init__(self, services: Services, whip: WhipHost | None = None) -> None:
        self.services = services
        self.whip = whip
        self.streams = StreamService(services.db)
        self._publishing: set[str] = set()

    # -- WHEP -----------------------------------------------------------------------------------

    async def play(self, stream_id: str, offer: str) -> tuple[str, str]:
        """(session id, SDP answer) for a viewer of a live stream. The stream is checked before
        the offer: no such stream is 404, one not live 409, and only then a bad offer 400."""
        view = await asyncio.to_thread(self.streams.view, stream_id)
        if view.status != "live":
            raise StreamNotLive(
                "The stream is not live; WebRTC playback starts when it does.", headers={"Retry-After": "1"}
            )
        checked_offer(offer)
        reply = await ask(self.services.pubsub, "whep_offer", stream_id, timeout_s=OFFER_TIMEOUT_S, sdp=offer)
        return reply.session, reply.sdp

    async def stop_playing(self, stream_id: str, session_id: str) -> None:
        view = await asyncio.to_thread(self.streams.view, stream_id)
        if view.status != "live":
            raise SessionNotFound("The stream is not live: its WebRTC sessions have ended.")
        await self._delete("whep_delete", stream_id, session_id)

    # -- WHIP -----------------------------------------------------------------------------------

    async def publish(self, stream_id: str, offer: str) -> tuple[str, str]:
        """Start a WHIP session on this process; (session id, SDP answer). As for ``play``, the
        stream's state is checked before the offer."""
        view = await asyncio.to_thread(self.streams.view, stream_id)
        # An ingest holds the stream's lease from the moment a publisher connects, before it is live.
        held = await asyncio.to_thread(StreamLeases(self.services.kv).held, stream_id)
        if view.status == "live" or held or stream_id in self._publishing:
            raise StreamAlreadyLive("The stream is live already; end that publish first.")
        if self.whip is None:
            raise MediaUnreachable("This server does not hold live media: publish over RTMP.")
        checked_offer(offer)
        self._publishing.add(stream_id)
        try:
            return await self.whip.publish(stream_id, offer, lambda: self._publishing.discard(stream_id))
        except BaseException:
            self._publishing.discard(stream_id)
            raise

    async def stop_publishing(self, stream_id: str, session_id: str) -> None:
        if self.whip is not None and await self.whip.unpublish(stream_id, session_id):
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
