"""The simple (unsigned) RTMP handshake, server side.

C0 is one version byte that must be 3; C1, S1, S2 and C2 are 1536 bytes each. The server sends
S0+S1 as soon as C0 arrives and S2 (an echo of C1) once C1 is complete, then waits for C2. C2 is
read but not compared with S1: clients that speak the digest ("complex") handshake fill it
differently, and S1's zeroed version field tells them not to expect a digest back, which is how
FFmpeg and OBS interoperate with simple servers.
"""

from __future__ import annotations

import asyncio
import os
import struct
import time
from typing import Final

from rtmp.errors import HandshakeError, Timeout

__all__ = ["RTMP_VERSION", "HANDSHAKE_SIZE", "server_handshake", "client_handshake"]

RTMP_VERSION: Final = 3
HANDSHAKE_SIZE: Final = 1536


def _packet(epoch_ms: int) -> bytes:
    return struct.pack(">II", epoch_ms & 0xFFFFFFFF, 0) + os.urandom(HANDSHAKE_SIZE - 8)


async def _read(reader: asyncio.StreamReader, size: int, what: str) -> bytes:
    try:
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError as exc:
        raise HandshakeError(f"connection closed during {what} ({len(exc.partial)} of {size} bytes)") from exc
    except ConnectionError as exc:
        raise HandshakeError(f"connection lost during {what}: {exc}") from exc


async def server_handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout_s: float
) -> None:
    """Run the server side of the handshake within ``timeout_s`` seconds.

    Raises ``HandshakeError`` for a version other than 3 or a short read, and ``Timeout`` when the
    whole exchange takes longer than ``timeout_s``.
    """
    try:
        async with asyncio.timeout(timeout_s):
            c0 = await _read(reader, 1, "C0")
            if c0[0] != RTMP_VERSION:
                raise HandshakeError(f"unsupported RTMP version {c0[0]} (only 3, unencrypted)")
            started = time.monotonic()
            writer.write(c0 + _packet(0))
            c1 = await _read(reader, HANDSHAKE_SIZE, "C1")
            elapsed_ms = int((time.monotonic() - started) * 1000)
            writer.write(c1[:4] + struct.pack(">I", elapsed_ms & 0xFFFFFFFF) + c1[8:])
            await writer.drain()
            await _read(reader, HANDSHAKE_SIZE, "C2")
    except TimeoutError as exc:
        raise Timeout(f"handshake not finished within {timeout_s} s") from exc


async def client_handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout_s: float
) -> None:
    """Run the client side (used by tests and tools): send C0+C1, check S0, echo S1 as C2."""
    try:
        async with asyncio.timeout(timeout_s):
            writer.write(bytes([RTMP_VERSION]) + _packet(0))
            await writer.drain()
            s0 = await _read(reader, 1, "S0")
            if s0[0] != RTMP_VERSION:
                raise HandshakeError(f"server answered version {s0[0]}")
            s1 = await _read(reader, HANDSHAKE_SIZE, "S1")
            await _read(reader, HANDSHAKE_SIZE, "S2")
            writer.write(s1)
            await writer.drain()
    except TimeoutError as exc:
        raise Timeout(f"handshake not finished within {timeout_s} s") from exc
