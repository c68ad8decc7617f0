"""Making an aiortc peer connection answer an SDP offer, the way WHIP and WHEP use it: the whole
offer in, the whole answer out, ICE candidates gathered before answering (no trickle)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.sdp import SessionDescription

from pipelines.webrtc.errors import BadOffer

__all__ = [
    "IceServer",
    "no_ice_servers",
    "offered_kinds",
    "new_peer",
    "answer",
    "prefer_h264",
    "MAX_SDP_BYTES",
]

log = logging.getLogger(__name__)

#: Offers longer than this are refused before parsing (a browser's offer is 3-8 KB).
MAX_SDP_BYTES = 32 * 1024
#: Seconds allowed to gather ICE candidates and answer.
ANSWER_TIMEOUT_S = 10.0


def offered_kinds(sdp: str) -> list[str]:
    """The media kinds of an offer's m-lines (``audio``/``video``); ``BadOffer`` when it cannot be
    parsed, carries no audio or video, or offers an m-line kind more than once."""
    if len(sdp.encode()) > MAX_SDP_BYTES:
        raise BadOffer(f"The SDP offer is larger than {MAX_SDP_BYTES} bytes.")
    if not sdp.startswith("v=0"):
        raise BadOffer("The body is not an SDP offer (it must start with 'v=0').")
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser raises whatever its field parsing hits
        raise BadOffer(f"The SDP offer cannot be parsed ({type(exc).__name__}).") from exc
    kinds = [media.kind for media in parsed.media if media.kind in ("audio", "video")]
    if not kinds:
        raise BadOffer("The SDP offer has no audio or video.")
    if len(set(kinds)) != len(kinds):
        raise BadOffer("The SDP offer has more than one audio or video section; send one of each.")
    if any(
        media.ice is None or not media.ice.usernameFragment or media.dtls is None for media in parsed.media
    ):
        raise BadOffer("The SDP offer lacks ICE credentials or a DTLS fingerprint.")
    return kinds


@dataclass(frozen=True, slots=True)
class IceServer:
    """A STUN or TURN server (``stun:``/``turn:`` URL) for our own peers; TURN servers need a
    ``username`` and ``credential``."""

    url: str
    username: str | None = None
    credential: str | None = None


def no_ice_servers() -> tuple[IceServer, ...]:
    return ()


def new_peer(ice_servers: Sequence[IceServer] = ()) -> RTCPeerConnection:
    """A peer connection using only ``ice_servers``; none means host candidates only."""
    servers = [RTCIceServer(s.url, s.username, s.credential) for s in ice_servers]
    return RTCPeerConnection(RTCConfiguration(iceServers=servers))


def prefer_h264(transceiver: RTCRtpTransceiver) -> None:
    """Negotiate H.264 only on a video transceiver (pre-encoded H.264 is all a relay can send)."""
    codecs = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType.lower() == "video/h264"]
    transceiver.setCodecPreferences(codecs)


async def set_offer(pc: RTCPeerConnection, sdp: str) -> None:
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
    except Exception as exc:  # aiortc raises ValueError/InvalidStateError/... for offers it rejects
        raise BadOffer(f"The SDP offer was rejected: {exc}") from exc


async def answer(pc: RTCPeerConnection) -> str:
    """Create and apply the answer, gathering every ICE candidate first; returns its SDP."""
    try:
        description = await pc.createAnswer()
        await asyncio.wait_for(pc.setLocalDescription(description), ANSWER_TIMEOUT_S)
    except TimeoutError:
        raise
    except Exception as exc:  # no common codec, unsupported direction, ...
        raise BadOffer(f"The SDP offer cannot be answered: {exc}") from exc
    local = pc.localDescription
    assert local is not None
    return local.sdp
