"""Errors of WHIP ingest and WHEP playback, in the control plane's error tree.

Errors raised where a stream's media is held travel back to the API process that got the request
as ``(code, detail)``; ``from_wire`` turns them into the same errors there.
"""

from __future__ import annotations

from control_plane.core.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PayloadTooLarge,
    ProblemError,
    ServiceUnavailable,
    Unauthorized,
)

__all__ = [
    "StreamNotLive",
    "StreamAlreadyLive",
    "UnsupportedSource",
    "BadOffer",
    "NotSdp",
    "OfferTooLarge",
    "SessionNotFound",
    "SessionLimit",
    "MediaUnreachable",
    "TrickleNotSupported",
    "StreamKeyInvalid",
    "from_wire",
]


class StreamNotLive(Conflict):
    """WHEP to a stream that exists but is not live now: 409."""

    code, title = "LIVE_STREAM_NOT_LIVE", "The stream is not live"


class UnsupportedSource(Conflict):
    """WHEP to a live stream whose video cannot be relayed (HEVC, AV1): 409; play the HLS URL."""

    code, title = "WEBRTC_UNSUPPORTED_SOURCE", "The stream cannot be played over WebRTC"


class StreamAlreadyLive(Conflict):
    """WHIP to a stream that is live already (over RTMP or another WHIP session): 409."""

    code, title = "LIVE_STREAM_ALREADY_LIVE", "The stream is live already"


class BadOffer(BadRequest):
    """An SDP offer that cannot be parsed or answered (no audio/video, no common codec): 400."""

    code, title = "WEBRTC_BAD_OFFER", "Unusable SDP offer"


class NotSdp(ProblemError):
    """The body is not ``application/sdp``: 415."""

    status, code, title = 415, "WEBRTC_NOT_SDP", "The offer must be application/sdp"


class OfferTooLarge(PayloadTooLarge):
    code, title = "WEBRTC_OFFER_TOO_LARGE", "SDP offer too large"


class SessionNotFound(NotFound):
    """No WHIP or WHEP session of that id on that stream (ended, or never made): 404."""

    code, title = "WEBRTC_SESSION_NOT_FOUND", "No such WebRTC session"


class SessionLimit(ServiceUnavailable):
    """The stream has as many WebRTC viewers as it allows: 503 (play the HLS URL instead)."""

    code, title = "WEBRTC_SESSION_LIMIT", "Too many WebRTC sessions"


class MediaUnreachable(ServiceUnavailable):
    """The stream is live but no process holding its media answered in time: 503."""

    code, title = "WEBRTC_UNAVAILABLE", "The stream's media server did not answer"


class TrickleNotSupported(ProblemError):
    """PATCH on a session: candidates are gathered in full before answering, so no trickle ICE: 405."""

    status, code, title = 405, "WEBRTC_TRICKLE_NOT_SUPPORTED", "Trickle ICE is not supported"


class StreamKeyInvalid(Unauthorized):
    """WHIP with a stream key as Bearer token that is not this stream's current key: 401."""

    code, title = "LIVE_STREAM_KEY_INVALID", "Invalid stream key"


#: By wire code; ``pipelines.webrtc``'s errors share these codes (``WEBRTC_BAD_OFFER``, ...).
_BY_CODE: dict[str, type[ProblemError]] = {
    cls.code: cls
    for cls in (StreamNotLive, BadOffer, SessionNotFound, SessionLimit, StreamAlreadyLive, UnsupportedSource)
}


def from_wire(code: str, detail: str) -> ProblemError:
    """The control plane error of a reply's ``code``; unknown codes become 503 ``WEBRTC_UNAVAILABLE``."""
    cls = _BY_CODE.get(code) or MediaUnreachable
    return cls(detail)
