"""The RTMP chunk stream: splitting messages into chunks and reassembling them.

A chunk is a basic header (fmt 0-3 and a chunk stream id 2..65599), a message header whose size
depends on fmt (11, 7, 3 or 0 bytes), an optional 4-byte extended timestamp, and at most
``chunk_size`` bytes of payload. The reader keeps per-chunk-stream state, applies Set Chunk Size
and Abort itself, counts bytes for acknowledgements, and bounds memory: a message longer than
``max_message_size`` is refused from its header (before any of it is buffered), the number of
chunk streams with state is bounded, and so are the bytes held in partly received messages.
Timestamps are milliseconds, modulo 2**32.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field

from rtmp.errors import MessageTooLarge, ProtocolError, ResourceLimit

__all__ = ["Message", "ChunkReader", "ChunkWriter", "SET_CHUNK_SIZE", "ABORT", "MAX_CHUNK_SIZE"]

SET_CHUNK_SIZE = 1
ABORT = 2
MAX_CHUNK_SIZE = 0x7FFFFFFF
_EXTENDED = 0xFFFFFF
_HEADER_SIZES = (11, 7, 3, 0)


@dataclass(slots=True)
class Message:
    """One reassembled RTMP message: ``timestamp`` in milliseconds, ``stream_id`` is the message stream."""

    type_id: int
    stream_id: int
    timestamp: int
    payload: bytes
    csid: int = 3


@dataclass(slots=True)
class _ChunkStream:
    timestamp: int = 0
    delta: int = 0
    length: int = 0
    type_id: int = 0
    stream_id: int = 0
    extended: bool = False
    remaining: int = 0
    buffer: bytearray = field(default_factory=bytearray)


class ChunkReader:
    """Reads whole messages from an ``asyncio.StreamReader``.

    ``max_message_size`` and ``max_buffered`` are bytes; ``max_chunk_streams`` counts chunk stream
    ids with state. Raises ``ProtocolError``, ``MessageTooLarge``, ``ResourceLimit`` or
    ``asyncio.IncompleteReadError`` (peer closed).
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        *,
        max_message_size: int,
        max_chunk_streams: int = 64,
        max_buffered: int | None = None,
    ):
        self._reader = reader
        self.max_message_size = max_message_size
        self.max_chunk_streams = max_chunk_streams
        self.max_buffered = max_buffered if max_buffered is not None else 2 * max_message_size
        self.chunk_size = 128
        self.bytes_received = 0
        self._streams: dict[int, _ChunkStream] = {}
        self._buffered = 0

    async def _read(self, size: int) -> bytes:
        data = await self._reader.readexactly(size)
        self.bytes_received += size
        return data

    async def read_message(self) -> Message:
        """Return the next complete message other than Set Chunk Size and Abort, which are applied."""
        while True:
            message = await self._read_chunk()
            if message is None:
                continue
            if message.stream_id == 0 and message.type_id == SET_CHUNK_SIZE:
                self._apply_chunk_size(message.payload)
            elif message.stream_id == 0 and message.type_id == ABORT:
                self._abort(message.payload)
            else:
                return message

    def _apply_chunk_size(self, payload: bytes) -> None:
        if len(payload) < 4:
            raise ProtocolError("Set Chunk Size shorter than 4 bytes")
        (size,) = struct.unpack(">I", payload[:4])
        size &= 0x7FFFFFFF
        if size < 1:
            raise ProtocolError("Set Chunk Size of 0")
        self.chunk_size = min(size, self.max_message_size)

    def _abort(self, payload: bytes) -> None:
        if len(payload) < 4:
            raise ProtocolError("Abort shorter than 4 bytes")
        (csid,) = struct.unpack(">I", payload[:4])
        stream = self._streams.get(csid)
        if stream is not None and stream.remaining:
            self._buffered -= len(stream.buffer)
            stream.buffer = bytearray()
            stream.remaining = 0

    async def _basic_header(self) -> tuple[int, int]:
        first = (await self._read(1))[0]
        fmt, csid = first >> 6, first & 0x3F
        if csid == 0:
            csid = 64 + (await self._read(1))[0]
        elif csid == 1:
            low, high = await self._read(2)
            csid = 64 + low + 256 * high
        return fmt, csid

    def _state(self, fmt: int, csid: int) -> _ChunkStream:
        stream = self._streams.get(csid)
        if stream is None:
            if fmt != 0:
                raise ProtocolError(f"first chunk on chunk stream {csid} has fmt {fmt}, not 0")
            if len(self._streams) >= self.max_chunk_streams:
                raise ResourceLimit(f"more than {self.max_chunk_streams} chunk streams")
            stream = self._streams[csid] = _ChunkStream()
        return stream

    async def _read_chunk(self) -> Message | None:
        fmt, csid = await self._basic_header()
        stream = self._state(fmt, csid)
        header = await self._read(_HEADER_SIZES[fmt]) if fmt < 3 else b""
        if fmt < 3:
            if stream.remaining:
                raise ProtocolError(f"new message header on chunk stream {csid} mid-message")
            ts_field = int.from_bytes(header[0:3], "big")
            stream.extended = ts_field == _EXTENDED
            if stream.extended:
                ts_field = int.from_bytes(await self._read(4), "big")
            if fmt <= 1:
                stream.length = int.from_bytes(header[3:6], "big")
                stream.type_id = header[6]
            if fmt == 0:
                stream.stream_id = int.from_bytes(header[7:11], "little")
                stream.timestamp = ts_field
            else:
                stream.timestamp = (stream.timestamp + ts_field) & 0xFFFFFFFF
            stream.delta = ts_field
            self._start(stream, csid)
        else:
            if stream.extended:
                await self._read(4)
            if not stream.remaining:
                stream.timestamp = (stream.timestamp + stream.delta) & 0xFFFFFFFF
                self._start(stream, csid)
        size = min(self.chunk_size, stream.remaining)
        if size:
            stream.buffer += await self._read(size)
            stream.remaining -= size
            self._buffered += size
        if stream.remaining:
            return None
        payload = bytes(stream.buffer)
        self._buffered -= len(payload)
        stream.buffer = bytearray()
        return Message(stream.type_id, stream.stream_id, stream.timestamp, payload, csid)

    def _start(self, stream: _ChunkStream, csid: int) -> None:
        if stream.length > self.max_message_size:
            raise MessageTooLarge(
                f"message of {stream.length} bytes on chunk stream {csid} (limit {self.max_message_size})"
            )
        if self._buffered + stream.length > self.max_buffered:
            raise ResourceLimit(f"more than {self.max_buffered} bytes in partly received messages")
        stream.remaining = stream.length


class ChunkWriter:
    """Encodes messages as chunks: a fmt 0 chunk, then fmt 3 continuations of ``chunk_size`` bytes."""

    def __init__(self, chunk_size: int = 128):
        self.chunk_size = chunk_size

    @staticmethod
    def _basic_header(fmt: int, csid: int) -> bytes:
        if not 2 <= csid <= 65599:
            raise ValueError(f"chunk stream id {csid} outside 2..65599")
        if csid < 64:
            return bytes([(fmt << 6) | csid])
        if csid < 320:
            return bytes([fmt << 6, csid - 64])
        return bytes([(fmt << 6) | 1, (csid - 64) & 0xFF, (csid - 64) >> 8])

    def encode(self, message: Message) -> bytes:
        """Return the chunks carrying ``message``; the payload must fit 24 bits of length."""
        if len(message.payload) > 0xFFFFFF:
            raise ValueError("message payload longer than 16 MiB")
        timestamp = message.timestamp & 0xFFFFFFFF
        extended = timestamp >= _EXTENDED
        ext = struct.pack(">I", timestamp) if extended else b""
        out = bytearray(self._basic_header(0, message.csid))
        out += (min(timestamp, _EXTENDED)).to_bytes(3, "big")
        out += len(message.payload).to_bytes(3, "big") + bytes([message.type_id])
        out += struct.pack("<I", message.stream_id) + ext
        continuation = self._basic_header(3, message.csid) + ext
        payload = message.payload
        for start in range(0, max(len(payload), 1), self.chunk_size):
            if start:
                out += continuation
            out += payload[start : start + self.chunk_size]
        return bytes(out)
