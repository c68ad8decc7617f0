"""WebRTC signalling between API processes and the processes holding live media, over pub/sub.

A request is published on ``REQUESTS`` with a fresh reply channel; the ``WebRtcNode`` that holds
the stream (or the WHIP session) performs it and publishes one ``Reply`` there. Nodes that do not
hold it stay silent, so a request nobody answers in time means no process holds the media.
Operations: ``whep_offer`` (stream, sdp) -> (session, sdp); ``whep_delete`` (stream, session);
``whip_delete`` (stream, session).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import asdict, dataclass

from control_plane.core.pubsub import PubSub
from control_plane.live.webrtc_errors import MediaUnreachable, from_wire

__all__ = ["REQUESTS", "Reply", "ask", "OFFER_TIMEOUT_S", "DELETE_TIMEOUT_S"]

REQUESTS = "live:webrtc:requests"
#: Seconds to wait for an answer to an offer (the holder gathers ICE candidates before answering).
OFFER_TIMEOUT_S = 12.0
#: Seconds to wait for a session deletion.
DELETE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Reply:
    ok: bool
    session: str = ""
    sdp: str = ""
    code: str = ""
    detail: str = ""

    def dump(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def load(cls, text: str) -> Reply:
        data = json.loads(text)
        return cls(**{key: data[key] for key in ("ok", "session", "sdp", "code", "detail") if key in data})


async def ask(pubsub: PubSub, op: str, stream_id: str, *, timeout_s: float, **fields: str) -> Reply:
    """Send one request and wait for its reply. A reply that failed is raised as the control
    plane's error of its code; no reply within ``timeout_s`` raises ``MediaUnreachable``."""
    channel = f"live:webrtc:reply:{secrets.token_urlsafe(16)}"
    ready = asyncio.Event()
    messages = pubsub.subscribe(channel, ready)

    async def first() -> str | None:
        async for message in messages:
            return message
        return None

    waiting = asyncio.ensure_future(first())
    try:
        await asyncio.wait_for(ready.wait(), timeout_s)
        request = {"op": op, "stream": stream_id, "reply": channel, **fields}
        await asyncio.to_thread(pubsub.publish, REQUESTS, json.dumps(request))
        text = await asyncio.wait_for(asyncio.shield(waiting), timeout_s)
    except TimeoutError as exc:
        raise MediaUnreachable("No server holding this stream's media answered in time.") from exc
    finally:
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await messages.aclose()  # type: ignore[attr-defined]
    if text is None:
        raise MediaUnreachable("The signalling channel closed before an answer came.")
    reply = Reply.load(text)
    if not reply.ok:
        raise from_wire(reply.code, reply.detail)
    return reply
