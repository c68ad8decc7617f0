"""Hostile and broken clients: each is closed with a log line while a good stream goes on."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import struct
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from pipelines import amf0
from rtmp import control
from rtmp.chunks import ChunkWriter, Message
from rtmp.handshake import HANDSHAKE_SIZE, client_handshake

Start = Callable[[list[str]], subprocess.Popen[bytes]]
Args = Callable[..., list[str]]
Ingest = Any  # the ``ingest`` fixture's object (tests/rtmp/conftest.py)

_OUT = ChunkWriter()


def _command(*values: object) -> bytes:
    return _OUT.encode(Message(control.COMMAND_AMF0, 0, 0, amf0.encode(*values), 3))


CONNECT = _command("connect", 1, {"app": "live"})


async def hostile(port: int, steps: list[tuple[float, bytes]], *, handshake: bool = True) -> float:
    """Connect, optionally handshake, then send each ``(delay_s, data)``; return the seconds until
    the server closed the connection (6 s cap)."""
    start = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if handshake:
            await client_handshake(reader, writer, 2.0)
        for delay, data in steps:
            await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
        async with asyncio.timeout(6):
            while await reader.read(65536):
                pass
    except (ConnectionError, TimeoutError):
        pass
    finally:
        writer.close()
    return time.monotonic() - start


def _cases() -> dict[str, tuple[list[tuple[float, bytes]], bool, float, str]]:
    """name: (steps, handshake first, most seconds until closed, error code logged)."""
    garbage = random.Random(7).randbytes(4096)
    oversized = bytes([0x06]) + b"\x00\x00\x00" + (8 << 20).to_bytes(3, "big") + b"\x09"
    oversized += struct.pack("<I", 1)
    bad_amf = _OUT.encode(Message(control.COMMAND_AMF0, 0, 0, b"\x02\x00\x07conn", 3))
    early_video = _OUT.encode(Message(control.VIDEO, 1, 0, b"\x17\x01\x00\x00\x00\x00\x00\x00\x01\x65", 4))
    many_csids = b"".join(
        _OUT.encode(Message(control.VIDEO, 1, 0, b"x" * 200, csid))[:140] for csid in range(3, 60)
    )
    ping = _OUT.encode(control.user_control(control.PING_REQUEST, 1))
    return {
        "bad version": ([(0, b"\x06" + os.urandom(HANDSHAKE_SIZE))], False, 1.5, "RTMP_BAD_HANDSHAKE"),
        "slow handshake": ([(0.25, b"\x03")] * 8, False, 2.0, "RTMP_TIMEOUT"),
        "garbage chunks": ([(0, b"\xff" * 64)], True, 1.5, "RTMP_PROTOCOL_ERROR"),
        "random bytes": ([(0, garbage)], True, 3.5, "RTMP_"),
        "oversized message": ([(0, oversized)], True, 1.5, "RTMP_MESSAGE_TOO_LARGE"),
        "bad amf": ([(0, bad_amf)], True, 1.5, "RTMP_BAD_AMF"),
        "media before publish": ([(0, CONNECT + early_video)], True, 1.5, "RTMP_PROTOCOL_ERROR"),
        "too many chunk streams": ([(0, many_csids)], True, 1.5, "RTMP_LIMIT_REACHED"),
        "silent after handshake": ([], True, 3.5, "RTMP_TIMEOUT"),
        "pings but never publishes": ([(0, CONNECT)] + [(0.4, ping)] * 10, True, 3.5, "RTMP_TIMEOUT"),
    }


def test_hostile_clients_are_closed_and_a_good_stream_is_undisturbed(
    ingest: Ingest, publishers: Start, ffmpeg_args: Args, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rtmp")
    good = publishers(ffmpeg_args(ingest.url("key-two"), 3))
    assert ingest.wait_for(lambda: bool(ingest.sinks) and len(ingest.sinks[0].video) > 3)
    cases = _cases()

    async def attack() -> list[float]:
        attacks = (hostile(ingest.port, steps, handshake=h) for steps, h, _, _ in cases.values())
        return list(await asyncio.gather(*attacks))

    closed_after = ingest.loop.call(attack())
    for (name, (_, _, most, code)), seconds in zip(cases.items(), closed_after, strict=True):
        assert seconds <= most, f"{name}: closed after {seconds:.2f} s"
        assert code in caplog.text, f"{name}: no {code} logged"
    assert caplog.text.count("closing connection") >= len(cases)

    assert good.wait(20) == 0
    assert ingest.wait_for(lambda: ingest.sinks[0].closed == 1)
    (sink,) = ingest.sinks
    assert 74 <= len(sink.video) - 1 <= 76
    assert ingest.auth.states == [("stream-2", "connected"), ("stream-2", "live"), ("stream-2", "idle")]
    assert ingest.server.connections == 0
