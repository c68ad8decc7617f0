"""The RTMP package's error tree.

Every error knows its wire form the way the control plane's errors do: a stable ``code`` string
and an HTTP ``status`` int, so a caller that surfaces one (an admin endpoint, a log line, a
metric label) never has to invent its own names. Inside the server an ``RtmpError`` always means
"close this one connection"; it never escapes to disturb another stream.
"""

from __future__ import annotations

from storage.errors import SocialFlowError

__all__ = [
    "RtmpError",
    "AmfError",
    "HandshakeError",
    "ProtocolError",
    "MessageTooLarge",
    "ResourceLimit",
    "PublishRefused",
    "StreamBusy",
    "Timeout",
]


class RtmpError(SocialFlowError):
    """Base of the tree. Subclasses set ``status``, ``code`` and ``title``; ``detail`` is per raise."""

    status = 400
    code = "RTMP_ERROR"
    title = "RTMP error"


class AmfError(RtmpError):
    """A command or data message holds AMF0 that is malformed, truncated, too deep, or claims more
    bytes than it has (raised from the codec's ``pipelines.errors.AmfError``)."""

    code = "RTMP_BAD_AMF"
    title = "Malformed AMF0 data"


class HandshakeError(RtmpError):
    """The peer's C0/C1/C2 is not a simple RTMP version 3 handshake."""

    code = "RTMP_BAD_HANDSHAKE"
    title = "Bad RTMP handshake"


class ProtocolError(RtmpError):
    """The chunk stream or a message breaks the RTMP specification."""

    code = "RTMP_PROTOCOL_ERROR"
    title = "RTMP protocol error"


class MessageTooLarge(ProtocolError):
    """A message header announces more bytes than ``RtmpLimits.max_message_size``."""

    status = 413
    code = "RTMP_MESSAGE_TOO_LARGE"
    title = "RTMP message too large"


class ResourceLimit(RtmpError):
    """A per-connection or per-server bound (buffers, chunk streams, connections) was reached."""

    status = 429
    code = "RTMP_LIMIT_REACHED"
    title = "RTMP resource limit reached"


class PublishRefused(RtmpError):
    """The authorizer refused the app or stream key."""

    status = 403
    code = "RTMP_PUBLISH_REFUSED"
    title = "Stream key refused"


class StreamBusy(RtmpError):
    """Another publisher is already live on that stream key."""

    status = 409
    code = "RTMP_STREAM_BUSY"
    title = "Stream already has a publisher"


class Timeout(RtmpError):
    """The peer was too slow: handshake, publish or idle deadline passed."""

    status = 408
    code = "RTMP_TIMEOUT"
    title = "RTMP peer timed out"
