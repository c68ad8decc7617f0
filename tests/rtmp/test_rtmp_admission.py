"""Connection caps: per address, and on connections without an accepted publish.

Loopback has a whole /8, so connections from 127.0.0.2, 127.0.0.3, ... come from other addresses.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from rtmp import RtmpLimits
from rtmp.admission import address_of
from rtmp.errors import HandshakeError
from rtmp.handshake import client_handshake

Start = Callable[[list[str]], subprocess.Popen[bytes]]
Ingest = Any  # the ``ingest`` fixture's object (tests/rtmp/conftest.py)


@pytest.fixture
def ingest_limits() -> RtmpLimits:
    return RtmpLimits(
        max_connections=8,
        max_connections_per_address=2,
        max_unauthenticated=3,
        handshake_timeout_s=5.0,
        publish_timeout_s=5.0,
        idle_timeout_s=3.0,
        reconnect_window_s=1.0,
    )


async def _served(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """A connection from ``source`` that completes the handshake, or None when the server drops it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        await client_handshake(reader, writer, 2.0)
    except (HandshakeError, ConnectionError):
        writer.close()
        return None
    return reader, writer


def test_one_address_holds_at_most_its_share(ingest: Ingest) -> None:
    async def go() -> list[bool]:
        outcomes, held = [], []
        for source in ("127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.3"):
            conn = await _served(ingest.port, source)
            outcomes.append(conn is not None)
            if conn is not None:
                held.append(conn)
        for _, writer in held:
            writer.close()
        return outcomes

    assert ingest.loop.call(go()) == [True, True, False, True]
    assert ingest.server.admission.refused == {"address": 1}


def test_connections_that_never_publish_cannot_fill_the_server(
    ingest: Ingest, publishers: Start, ffmpeg_args: Callable[..., list[str]]
) -> None:
    proc = publishers(ffmpeg_args(ingest.url("key-one"), 6))
    assert ingest.wait_for(lambda: bool(ingest.sinks) and len(ingest.sinks[0].video) > 3)
    assert (ingest.server.connections, ingest.server.unauthenticated) == (1, 0)

    async def flood() -> tuple[list[bool], int, int]:
        outcomes, held = [], []
        for source in ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"):
            conn = await _served(ingest.port, source)
            outcomes.append(conn is not None)
            if conn is not None:
                held.append(conn)
        during = ingest.server.connections, ingest.server.unauthenticated
        for _, writer in held:
            writer.close()
        return outcomes, *during

    outcomes, connections, unauthenticated = ingest.loop.call(flood())
    assert outcomes == [True, True, True, False, False]
    assert (connections, unauthenticated) == (4, 3)
    assert ingest.server.admission.refused == {"unauthenticated": 2}
    frames = len(ingest.sinks[0].video)
    assert proc.wait(20) == 0
    assert len(ingest.sinks[0].video) == 151 > frames  # the decoder configuration and 6 s at 25 fps


@pytest.mark.parametrize(
    ("peer", "address"),
    [
        (("203.0.113.7", 50000), "203.0.113.7"),
        (("2001:db8:1:2:aaaa::1", 50000, 0, 0), "2001:db8:1:2::/64"),
        (("2001:db8:1:2:bbbb::9", 50000, 0, 0), "2001:db8:1:2::/64"),
        (("::ffff:198.51.100.4", 50000, 0, 0), "198.51.100.4"),
        (None, "unknown"),
    ],
)
def test_the_address_a_connection_counts_against(peer: object, address: str) -> None:
    assert address_of(peer) == address
