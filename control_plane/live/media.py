"""How the plane reaches live media held in its own process: the WHIP publishers it receives.

A WHIP publisher is held by the API process that received its offer. The media node that holds
it (aiortc, the LL-HLS sinks, the recording) is the process side's; the entry point that starts
the API hands one in (``create_app(services, whip=...)``), and the plane sees only this interface.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

__all__ = ["WhipHost"]


class WhipHost(Protocol):
    """Holds this process's WHIP publishers."""

    async def publish(self, stream_id: str, offer: str, on_end: Callable[[], None]) -> tuple[str, str]:
        """Open a WHIP session for an authorized stream: it goes live, gets LL-HLS, WHEP and a
        recording, as an RTMP publish would. Returns (session id, SDP answer). ``on_end`` is
        called, from any thread, once the session has ended. Raises ``BadOffer`` for an offer
        that cannot be answered; on any failure the stream is left idle."""
        ...

    async def unpublish(self, stream_id: str, session_id: str) -> bool:
        """End the session if this process holds it (its stream ends, its recording is kept);
        False when it does not."""
        ...
