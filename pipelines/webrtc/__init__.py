"""WebRTC media for live streams (aiortc): a WHEP relay that sends a stream's H.264 to viewers
without re-encoding, and a WHIP receiver that turns a publisher's tracks into RTMP-style frames.

Pure media: no HTTP, no database. Signalling (who holds which stream) is the control plane's.
"""

from pipelines.webrtc.errors import (
    BadOffer,
    SessionLimit,
    SessionNotFound,
    UnsupportedSource,
    WebRtcError,
)
from pipelines.webrtc.peers import IceServer
from pipelines.webrtc.relay import RelayLimits, Viewer, WhepRelay

__all__ = [
    "IceServer",
    "WhepRelay",
    "Viewer",
    "RelayLimits",
    "WebRtcError",
    "BadOffer",
    "SessionLimit",
    "SessionNotFound",
    "UnsupportedSource",
]
