"""The simple handshake against our own client, raw bytes and slow peers."""

from __future__ import annotations

import asyncio
import os

import pytest

from rtmp.errors import HandshakeError, Timeout
from rtmp.handshake import HANDSHAKE_SIZE, client_handshake, server_handshake


async def run_pair(client_bytes: bytes | None, timeout_s: float = 2.0) -> tuple[BaseException | None, bytes]:
    """Run ``server_handshake`` on a real socket; the client sends ``client_bytes`` (None: our client)."""
    outcome: list[BaseException | None] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await server_handshake(reader, writer, timeout_s)
            outcome.append(None)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(exc)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    received = b""
    if client_bytes is None:
        await client_handshake(reader, writer, timeout_s)
    else:
        writer.write(client_bytes)
        writer.write_eof()
        await writer.drain()
        received = await reader.read()
    writer.close()
    await writer.wait_closed()
    for _ in range(100):
        if outcome:
            break
        await asyncio.sleep(0.02)
    server.close()
    await server.wait_closed()
    return outcome[0], received


def test_good_handshake_and_s2_echoes_c1() -> None:
    c1 = os.urandom(HANDSHAKE_SIZE)
    error, _ = asyncio.run(run_pair(None))
    assert error is None

    async def raw() -> bytes:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server_handshake(reader, writer, 2.0)
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        writer.write(b"\x03" + c1)
        reply = await reader.readexactly(1 + 2 * HANDSHAKE_SIZE)
        writer.write(reply[1 : 1 + HANDSHAKE_SIZE])
        await writer.drain()
        await reader.read()
        writer.close()
        server.close()
        await server.wait_closed()
        return reply

    reply = asyncio.run(raw())
    assert reply[0] == 3
    s2 = reply[1 + HANDSHAKE_SIZE :]
    assert s2[:4] == c1[:4] and s2[8:] == c1[8:]


def test_wrong_version_is_refused() -> None:
    error, received = asyncio.run(run_pair(b"\x06" + os.urandom(HANDSHAKE_SIZE)))
    assert isinstance(error, HandshakeError) and "version 6" in str(error)
    assert received == b""


def test_short_handshake_is_refused() -> None:
    error, _ = asyncio.run(run_pair(b"\x03" + b"x" * 100))
    assert isinstance(error, HandshakeError) and error.code == "RTMP_BAD_HANDSHAKE"


def test_silent_client_times_out() -> None:
    async def go() -> BaseException | None:
        outcome: list[BaseException] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await server_handshake(reader, writer, 0.2)
            except Timeout as exc:
                outcome.append(exc)
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        writer.write(b"\x03")
        assert len(await reader.read()) == 1 + HANDSHAKE_SIZE
        writer.close()
        server.close()
        await server.wait_closed()
        return outcome[0] if outcome else None

    error = asyncio.run(go())
    assert isinstance(error, Timeout) and error.status == 408


@pytest.mark.parametrize("size", [0, 1])
def test_client_handshake_rejects_a_closed_server(size: int) -> None:
    async def go() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"\x03"[:size])
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        try:
            with pytest.raises(HandshakeError):
                await client_handshake(reader, writer, 1.0)
        finally:
            writer.close()
            server.close()
            await server.wait_closed()

    asyncio.run(go())
