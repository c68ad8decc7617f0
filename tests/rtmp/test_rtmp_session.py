"""The command exchange byte by byte, from a hand-driven client: replies, acks, pings, unpublish."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from typing import Any

from pipelines import amf0
from rtmp import StaticAuthorizer, control, serve
from rtmp.chunks import ChunkReader, ChunkWriter, Message
from rtmp.handshake import client_handshake
from rtmp.memory import CollectingSink

Ingest = Any  # the ``ingest`` fixture's object (tests/rtmp/conftest.py)

AVCC = bytes([1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, 1, 0x67, 1, 0, 1, 0x68])


class Client:
    """A minimal publisher over a real socket, reading the server's messages with our ChunkReader."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.writer = writer
        self.out = ChunkWriter()
        self.chunks = ChunkReader(reader, max_message_size=1 << 20)

    @classmethod
    async def open(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await client_handshake(reader, writer, 2.0)
        return cls(reader, writer)

    async def send(self, *messages: Message) -> None:
        for message in messages:
            self.writer.write(self.out.encode(message))
        await self.writer.drain()

    async def command(self, stream_id: int, *values: object, amf3: bool = False) -> None:
        payload = amf0.encode(*values)
        kind = control.COMMAND_AMF3 if amf3 else control.COMMAND_AMF0
        await self.send(Message(kind, stream_id, 0, (b"\x00" if amf3 else b"") + payload, 3))

    async def receive(self) -> Message:
        return await asyncio.wait_for(self.chunks.read_message(), 3)

    async def until_command(self) -> list[Any]:
        while True:
            message = await self.receive()
            if message.type_id == control.COMMAND_AMF0:
                return amf0.decode(message.payload)


def test_full_publish_exchange(ingest: Ingest) -> None:
    async def go() -> dict[str, Any]:
        client = await Client.open(ingest.port)
        seen: dict[str, Any] = {}
        await client.command(0, "connect", 1, {"app": "live", "tcUrl": "rtmp://x/live"}, amf3=True)
        controls = [await client.receive() for _ in range(2)]
        seen["controls"] = [(m.type_id, m.payload) for m in controls]
        seen["connect"] = await client.until_command()
        seen["chunk_size"] = client.chunks.chunk_size  # Set Chunk Size is applied by the reader
        await client.command(0, "releaseStream", 2, None, "key-one")
        seen["release"] = await client.until_command()
        await client.command(0, "createStream", 3, None)
        seen["create"] = await client.until_command()
        await client.send(control.window_ack_size(1000))
        await client.send(control.user_control(control.PING_REQUEST, 1234))
        seen["pong"] = (await client.receive()).payload
        await client.command(1, "publish", 4, None, "key-one?token=abc", "live")
        begin = await client.receive()
        seen["begin"] = (begin.type_id, begin.payload)
        seen["publish"] = await client.until_command()
        data = amf0.encode("@setDataFrame", "onMetaData", amf0.EcmaArray(width=64.0, height=48.0))
        await client.send(Message(control.DATA_AMF0, 1, 0, data, 4))
        await client.send(Message(control.VIDEO, 1, 0, b"\x17\x00\x00\x00\x00" + AVCC, 6))
        for i in range(30):
            body = b"\x17" if i % 10 == 0 else b"\x27"
            await client.send(Message(control.VIDEO, 1, 40 * i, body + b"\x01\x00\x00\x28" + b"n" * 100, 6))
        acks = []
        while not acks:
            message = await client.receive()
            if message.type_id == control.ACKNOWLEDGEMENT:
                acks.append(struct.unpack(">I", message.payload)[0])
        seen["ack"] = acks[0]
        await client.command(1, "FCUnpublish", 5, None, "key-one")
        seen["unpublish"] = await client.until_command()
        await client.command(1, "deleteStream", 6, None, 1.0)
        await client.send(Message(control.VIDEO, 1, 4000, b"\x27\x01\x00\x00\x00late", 6))
        await client.send(control.user_control(control.PING_REQUEST, 99))
        seen["alive"] = (await client.receive()).payload  # the client, not the server, hangs up
        client.writer.close()
        return seen

    seen = ingest.loop.call(go())
    assert seen["controls"] == [
        (control.WINDOW_ACK_SIZE, struct.pack(">I", 2_500_000)),
        (control.SET_PEER_BANDWIDTH, struct.pack(">IB", 2_500_000, 2)),
    ]
    assert seen["chunk_size"] == 4096
    name, txn, props, info = seen["connect"]
    assert (name, txn, props["capabilities"]) == ("_result", 1.0, 31.0)
    assert (info["code"], info["objectEncoding"]) == ("NetConnection.Connect.Success", 0)
    assert seen["release"][:2] == ["_result", 2.0]
    assert seen["create"] == ["_result", 3.0, None, 1.0]
    assert seen["pong"] == struct.pack(">HI", control.PING_RESPONSE, 1234)
    assert seen["begin"] == (control.USER_CONTROL, struct.pack(">HI", control.STREAM_BEGIN, 1))
    assert seen["publish"][0] == "onStatus" and seen["publish"][3]["code"] == "NetStream.Publish.Start"
    assert seen["ack"] >= 1000
    assert seen["unpublish"][:2] == ["_result", 5.0]
    assert seen["alive"] == struct.pack(">HI", control.PING_RESPONSE, 99)
    assert ingest.wait_for(lambda: bool(ingest.sinks) and ingest.sinks[0].closed == 1)
    sink = ingest.sinks[0]
    assert sink.metadata == [{"width": 64.0, "height": 48.0}]
    assert sink.video[0].is_config and sink.video[0].data == AVCC
    assert [f.ts_ms for f in sink.video[1:]] == [40 * i for i in range(30)]  # nothing after unpublish
    assert [f.cts_ms for f in sink.video[1:]] == [40] * 30
    assert ingest.auth.states_of("stream-1") == ["connected", "live", "idle"]


def test_serve_runs_until_stopped() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    auth = StaticAuthorizer({"k": "s"})
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    done = threading.Event()

    async def main() -> None:
        await serve("127.0.0.1", port, auth, CollectingSink, stop)
        done.set()

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    try:

        async def hello() -> list[Any]:
            client = await Client.open(port)
            await client.command(0, "connect", 1, {"app": "live"})
            reply = await client.until_command()
            client.writer.close()
            return reply

        reply: list[Any] = []
        for _ in range(50):
            try:
                reply = asyncio.run(hello())
                break
            except OSError:
                done.wait(0.05)
        assert reply[0] == "_result"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(5)
        loop.close()
    assert done.is_set()
