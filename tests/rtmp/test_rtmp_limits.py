"""Server-wide bounds: connection count, and clean shutdown with live sessions."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from rtmp import RtmpLimits
from rtmp.handshake import client_handshake

Start = Callable[[list[str]], subprocess.Popen[bytes]]
Ingest = Any  # the ``ingest`` fixture's object (tests/rtmp/conftest.py)


@pytest.fixture
def ingest_limits() -> RtmpLimits:
    return RtmpLimits(max_connections=2, handshake_timeout_s=1.0, publish_timeout_s=3.0, idle_timeout_s=3.0)


def test_connections_beyond_the_limit_are_closed_on_accept(ingest: Ingest) -> None:
    async def go() -> tuple[int, bytes]:
        held = [await asyncio.open_connection("127.0.0.1", ingest.port) for _ in range(2)]
        for reader, writer in held:
            await client_handshake(reader, writer, 2.0)
        served = ingest.server.connections
        reader, writer = await asyncio.open_connection("127.0.0.1", ingest.port)
        try:
            writer.write(b"\x03")
            extra = await asyncio.wait_for(reader.read(), 2)
        except ConnectionResetError:
            extra = b""
        for _, held_writer in held + [(reader, writer)]:
            held_writer.close()
        return served, extra

    served, extra = ingest.loop.call(go())
    assert served == 2
    assert extra == b""


def test_stop_ends_live_sessions(
    ingest: Ingest, publishers: Start, ffmpeg_args: Callable[..., list[str]]
) -> None:
    proc = publishers(ffmpeg_args(ingest.url("key-one"), 20))
    assert ingest.wait_for(lambda: bool(ingest.sinks) and len(ingest.sinks[0].video) > 3)
    ingest.loop.call(ingest.server.stop())
    assert ingest.sinks[0].closed == 1
    assert ingest.auth.states_of("stream-1") == ["connected", "live", "idle"]
    assert proc.wait(10) != 0
