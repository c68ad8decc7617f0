"""Server-wide bounds: connection count, and clean shutdown with live sessions."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from pipelines.sinks import StreamGrant
from rtmp import CollectingSink, RtmpLimits
from rtmp.handshake import client_handshake

Start = Callable[[list[str]], subprocess.Popen[bytes]]
Ingest = Any  # the ``ingest`` fixture's object (tests/rtmp/conftest.py)


@pytest.fixture
def ingest_limits() -> RtmpLimits:
    return RtmpLimits(
        max_connections=2,
        handshake_timeout_s=1.0,
        publish_timeout_s=3.0,
        idle_timeout_s=3.0,
        reconnect_window_s=1.0,
    )


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


def test_a_failing_sink_closes_only_its_own_connection(
    ingest: Ingest, publishers: Start, ffmpeg_args: Callable[..., list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    made: list[CollectingSink] = []

    def factory(grant: StreamGrant) -> CollectingSink:
        sink = CollectingSink(grant, max_frames=20 if grant.stream_id == "stream-2" else 100_000)
        made.append(sink)
        return sink

    ingest.server.registry.sink_factory = factory
    good = publishers(ffmpeg_args(ingest.url("key-one"), 2))
    bad = publishers(ffmpeg_args(ingest.url("key-two"), 2))
    assert bad.wait(15) != 0  # its sink raised: the server dropped that publisher
    assert good.wait(15) == 0
    assert ingest.wait_for(lambda: len(made) == 2 and all(s.closed == 1 for s in made), timeout=8)
    by_id = {s.grant.stream_id: s for s in made}
    assert len(by_id["stream-2"].video) + len(by_id["stream-2"].audio) == 20
    assert len(by_id["stream-1"].video) == 51
    assert "closing connection after an unexpected error" in caplog.text
    assert ingest.auth.states_of("stream-2") == ["connected", "live", "disconnected", "idle"]
