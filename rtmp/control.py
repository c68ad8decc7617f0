"""RTMP message type ids and the protocol control messages (chunk stream 2, message stream 0).

Builders return ``Message`` objects for ``ChunkWriter.encode``; parsers take payload bytes and
raise ``ProtocolError`` when a payload is shorter than its type requires. Sizes are bytes.
"""

from __future__ import annotations

import struct
from typing import Final

from rtmp.chunks import ABORT, SET_CHUNK_SIZE, Message
from rtmp.errors import ProtocolError

__all__ = [
    "SET_CHUNK_SIZE",
    "ABORT",
    "ACKNOWLEDGEMENT",
    "USER_CONTROL",
    "WINDOW_ACK_SIZE",
    "SET_PEER_BANDWIDTH",
    "AUDIO",
    "VIDEO",
    "DATA_AMF3",
    "COMMAND_AMF3",
    "DATA_AMF0",
    "COMMAND_AMF0",
    "STREAM_BEGIN",
    "STREAM_EOF",
    "SET_BUFFER_LENGTH",
    "PING_REQUEST",
    "PING_RESPONSE",
    "set_chunk_size",
    "abort",
    "acknowledgement",
    "window_ack_size",
    "set_peer_bandwidth",
    "user_control",
    "parse_u32",
    "parse_user_control",
]

ACKNOWLEDGEMENT: Final = 3
USER_CONTROL: Final = 4
WINDOW_ACK_SIZE: Final = 5
SET_PEER_BANDWIDTH: Final = 6
AUDIO: Final = 8
VIDEO: Final = 9
DATA_AMF3: Final = 15
COMMAND_AMF3: Final = 17
DATA_AMF0: Final = 18
COMMAND_AMF0: Final = 20

STREAM_BEGIN: Final = 0
STREAM_EOF: Final = 1
SET_BUFFER_LENGTH: Final = 3
PING_REQUEST: Final = 6
PING_RESPONSE: Final = 7

_CONTROL_CSID: Final = 2


def _control(type_id: int, payload: bytes) -> Message:
    return Message(type_id, 0, 0, payload, _CONTROL_CSID)


def set_chunk_size(size: int) -> Message:
    """Set Chunk Size: ``size`` bytes, 1..2**31-1."""
    if not 1 <= size <= 0x7FFFFFFF:
        raise ValueError(f"chunk size {size} outside 1..2**31-1")
    return _control(SET_CHUNK_SIZE, struct.pack(">I", size))


def abort(csid: int) -> Message:
    """Abort: drop the partly sent message on chunk stream ``csid``."""
    return _control(ABORT, struct.pack(">I", csid))


def acknowledgement(sequence: int) -> Message:
    """Acknowledgement: ``sequence`` is the number of bytes received so far, modulo 2**32."""
    return _control(ACKNOWLEDGEMENT, struct.pack(">I", sequence & 0xFFFFFFFF))


def window_ack_size(size: int) -> Message:
    """Window Acknowledgement Size: the peer should acknowledge every ``size`` bytes."""
    return _control(WINDOW_ACK_SIZE, struct.pack(">I", size))


def set_peer_bandwidth(size: int, limit_type: int = 2) -> Message:
    """Set Peer Bandwidth: ``size`` bytes; ``limit_type`` 0 hard, 1 soft, 2 dynamic."""
    return _control(SET_PEER_BANDWIDTH, struct.pack(">IB", size, limit_type))


def user_control(event: int, *values: int) -> Message:
    """User Control event with 32-bit arguments (stream id, timestamp or buffer length in ms)."""
    return _control(USER_CONTROL, struct.pack(">H", event) + b"".join(struct.pack(">I", v) for v in values))


def parse_u32(payload: bytes, what: str) -> int:
    """The leading big-endian 32-bit value of a control message."""
    if len(payload) < 4:
        raise ProtocolError(f"{what} shorter than 4 bytes")
    return int(struct.unpack(">I", payload[:4])[0])


def parse_user_control(payload: bytes) -> tuple[int, int]:
    """Return ``(event, first argument)`` of a User Control message (argument 0 if absent)."""
    if len(payload) < 2:
        raise ProtocolError("User Control shorter than 2 bytes")
    (event,) = struct.unpack(">H", payload[:2])
    value = int(struct.unpack(">I", payload[2:6])[0]) if len(payload) >= 6 else 0
    return int(event), value
