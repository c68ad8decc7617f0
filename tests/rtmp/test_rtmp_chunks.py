"""Chunk stream reader and writer: header formats, extended timestamps, control, limits."""

from __future__ import annotations

import asyncio
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtmp import control
from rtmp.chunks import ChunkReader, ChunkWriter, Message
from rtmp.errors import MessageTooLarge, ProtocolError, ResourceLimit


def read_all(data: bytes, count: int, **limits: int) -> tuple[list[Message], ChunkReader]:
    async def go() -> tuple[list[Message], ChunkReader]:
        stream = asyncio.StreamReader()
        stream.feed_data(data)
        stream.feed_eof()
        reader = ChunkReader(stream, max_message_size=limits.pop("max_message_size", 1 << 20), **limits)
        return [await reader.read_message() for _ in range(count)], reader

    return asyncio.run(go())


messages = st.builds(
    Message,
    type_id=st.sampled_from([8, 9, 18, 20]),
    stream_id=st.integers(0, 5),
    timestamp=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=700),
    csid=st.sampled_from([3, 4, 63, 64, 300, 65599]),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(messages, min_size=1, max_size=6), st.sampled_from([1, 128, 4096]))
def test_writer_reader_round_trip(sent: list[Message], chunk_size: int) -> None:
    writer = ChunkWriter(128)
    data = writer.encode(control.set_chunk_size(chunk_size))
    writer.chunk_size = chunk_size
    data += b"".join(writer.encode(m) for m in sent)
    got, reader = read_all(data, len(sent))
    assert got == sent
    assert reader.chunk_size == chunk_size
    assert reader.bytes_received == len(data)


def test_compressed_headers_fmt1_fmt2_fmt3_accumulate_deltas() -> None:
    body = b"x" * 10
    data = (
        bytes([0x04])
        + (1000).to_bytes(3, "big")
        + (10).to_bytes(3, "big")
        + b"\x09"
        + struct.pack("<I", 1)
        + body
        + bytes([0x44])
        + (40).to_bytes(3, "big")
        + (4).to_bytes(3, "big")
        + b"\x08"
        + b"abcd"
        + bytes([0x84])
        + (20).to_bytes(3, "big")
        + b"wxyz"
        + bytes([0xC4])
        + b"1234"
    )
    got, _ = read_all(data, 4)
    assert [(m.type_id, m.stream_id, m.timestamp, m.payload) for m in got] == [
        (9, 1, 1000, body),
        (8, 1, 1040, b"abcd"),
        (8, 1, 1060, b"wxyz"),
        (8, 1, 1080, b"1234"),
    ]


def small_chunks() -> tuple[ChunkWriter, bytes]:
    """A writer with 4-byte chunks and the Set Chunk Size that tells the reader so."""
    return ChunkWriter(4), ChunkWriter(128).encode(control.set_chunk_size(4))


def test_extended_timestamp_is_repeated_on_continuation_chunks() -> None:
    writer, data = small_chunks()
    message = Message(9, 1, 0x12345678, b"0123456789", 6)
    data += writer.encode(message)
    assert data.count(struct.pack(">I", 0x12345678)) == 3
    got, _ = read_all(data, 1)
    assert got == [message]


def test_abort_discards_the_partial_message() -> None:
    writer, data = small_chunks()
    partial = writer.encode(Message(9, 1, 0, b"AAAAAAAA", 5))[:16]
    data += partial + writer.encode(control.abort(5)) + writer.encode(Message(9, 1, 7, b"BB", 5))
    got, _ = read_all(data, 1)
    assert got[0].payload == b"BB"


def test_oversized_message_is_refused_from_its_header() -> None:
    header = bytes([0x04]) + b"\x00\x00\x00" + (5_000_000).to_bytes(3, "big") + b"\x09" + struct.pack("<I", 1)
    with pytest.raises(MessageTooLarge):
        read_all(header, 1, max_message_size=1 << 20)


def test_first_chunk_must_be_fmt0() -> None:
    with pytest.raises(ProtocolError):
        read_all(bytes([0xC7]) + b"junk", 1)


def test_new_header_mid_message_is_a_protocol_error() -> None:
    writer, data = small_chunks()
    first = writer.encode(Message(9, 1, 0, b"AAAAAAAA", 5))[:16]
    with pytest.raises(ProtocolError):
        read_all(data + first + writer.encode(Message(9, 1, 0, b"B", 5)), 1)


def test_chunk_stream_count_is_bounded() -> None:
    writer = ChunkWriter(2)
    data = ChunkWriter(128).encode(control.set_chunk_size(2))
    data += b"".join(writer.encode(Message(9, 1, 0, b"xyz", csid))[:14] for csid in range(3, 20))
    with pytest.raises(ResourceLimit):
        read_all(data, 1, max_chunk_streams=8)


def test_control_builders_and_parsers() -> None:
    assert control.parse_user_control(control.user_control(control.PING_REQUEST, 77).payload) == (6, 77)
    assert control.parse_u32(control.window_ack_size(2_500_000).payload, "w") == 2_500_000
    assert control.set_peer_bandwidth(1000).payload == b"\x00\x00\x03\xe8\x02"
    with pytest.raises(ProtocolError):
        control.parse_u32(b"\x00", "ack")
    with pytest.raises(ValueError):
        control.set_chunk_size(0)
